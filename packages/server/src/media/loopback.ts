// Loopback: a widget's preflight test — its microphone produced on its own send transport and consumed straight back
// on its own receive transport (a round trip through the SFU, outside any call), closed when ended or after LOOPBACK_MAX_MS.
import type { types } from 'mediasoup';
import { AppError } from '../util/errors.js';

/** A preflight runs seconds; one left open (the widget went quiet) closes by itself after this long. */
export const LOOPBACK_MAX_MS = 60_000;

export class Loopback {
  private readonly timer: ReturnType<typeof setTimeout>;

  private constructor(
    readonly producer: types.Producer,
    readonly consumer: types.Consumer,
    onClose: () => void,
  ) {
    this.timer = setTimeout(() => this.close(), LOOPBACK_MAX_MS);
    this.timer.unref();
    // Closing the transports (a new media:setup, the session leaving) closes both.
    producer.observer.once('close', () => (clearTimeout(this.timer), consumer.close(), onClose()));
  }

  /** Produces `rtpParameters` on `send` and consumes it on `recv`, unpaused; refused when the browser cannot receive it. */
  static async open(
    send: types.WebRtcTransport,
    recv: types.WebRtcTransport,
    router: types.Router,
    rtpParameters: types.RtpParameters,
    rtpCapabilities: types.RtpCapabilities | null,
    onClose: () => void,
  ): Promise<Loopback> {
    if (!rtpCapabilities) throw new AppError('invalid_state', 'send media:capabilities before a preflight');
    // Not a call's producer: no callId, so call control and the recorders never see it, and no one else can consume it.
    const producer = await send.produce({ kind: 'audio', rtpParameters, appData: { preflight: true } });
    try {
      if (!router.canConsume({ producerId: producer.id, rtpCapabilities })) {
        throw new AppError('media_error', 'this browser cannot receive the codec it sends');
      }
      const consumer = await recv.consume({ producerId: producer.id, rtpCapabilities, paused: false, appData: { preflight: true } });
      return new Loopback(producer, consumer, onClose);
    } catch (err) {
      producer.close();
      throw err;
    }
  }

  get offer(): { producerId: string; consumerId: string; rtpParameters: unknown } {
    return { producerId: this.producer.id, consumerId: this.consumer.id, rtpParameters: this.consumer.rtpParameters };
  }

  close(): void {
    this.producer.close(); // its observer closes the consumer
  }
}
