// Ringtone (incoming) and ringback (outgoing, far end ringing) tones synthesised with WebAudio oscillators.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { PhoneState } from '@astral/protocol';
import { canChooseOutput } from '../client/devices.js';
import { resumeOnGesture, sharedAudioContext, tryResume } from './audio.js';

export type ToneKind = 'ring' | 'ringback';

export interface TonePattern {
  /** Sine frequencies mixed together, Hz. */
  freqs: number[];
  /** Alternating on/off durations of one cycle, seconds, starting with "on". */
  cadence: number[];
  /** Peak gain of the mix, 0..1. */
  level: number;
}

export const TONE_PATTERNS: Record<ToneKind, TonePattern> = {
  // a soft double ring (C5 + E5), like a desk phone
  ring: { freqs: [523.25, 659.25], cadence: [0.4, 0.2, 0.4, 2.0], level: 0.2 },
  // the North American ringback: 440 + 480 Hz, 2 s on, 4 s off
  ringback: { freqs: [440, 480], cadence: [2, 4], level: 0.08 },
};

const RAMP_S = 0.015; // fades each burst in and out so it does not click
const LOOKAHEAD_S = 1.5;
const SCHEDULE_EVERY_MS = 250;

/** Loops one pattern on an AudioContext until stopped; schedules ahead so timer jitter is inaudible. */
class TonePlayer {
  private readonly gain: GainNode;
  private readonly oscillators: OscillatorNode[];
  private readonly cycle: number;
  private next: number;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly ctx: AudioContext,
    private readonly pattern: TonePattern,
    output: AudioNode = ctx.destination,
  ) {
    this.gain = ctx.createGain();
    this.gain.gain.value = 0;
    this.gain.connect(output);
    this.oscillators = pattern.freqs.map((f) => {
      const osc = ctx.createOscillator();
      osc.type = 'sine';
      osc.frequency.value = f;
      osc.connect(this.gain);
      osc.start();
      return osc;
    });
    this.cycle = pattern.cadence.reduce((a, b) => a + b, 0);
    this.next = ctx.currentTime + 0.03;
    this.schedule();
    this.timer = setInterval(() => this.schedule(), SCHEDULE_EVERY_MS);
  }

  private schedule(): void {
    const g = this.gain.gain;
    const peak = this.pattern.level / Math.max(1, this.pattern.freqs.length);
    // a suspended context's clock stands still, so at most one cycle is queued until it runs
    while (this.next < this.ctx.currentTime + LOOKAHEAD_S) {
      let t = this.next;
      this.pattern.cadence.forEach((dur, i) => {
        if (i % 2 === 0) {
          g.setValueAtTime(0, t);
          g.linearRampToValueAtTime(peak, t + RAMP_S);
          g.setValueAtTime(peak, t + dur - RAMP_S);
          g.linearRampToValueAtTime(0, t + dur);
        }
        t += dur;
      });
      this.next += this.cycle;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    const now = this.ctx.currentTime;
    const g = this.gain.gain;
    g.cancelScheduledValues(now);
    g.setValueAtTime(g.value, now);
    g.linearRampToValueAtTime(0, now + RAMP_S);
    for (const osc of this.oscillators) {
      try {
        osc.stop(now + 2 * RAMP_S);
      } catch {
        // already stopped
      }
    }
    setTimeout(() => this.gain.disconnect(), 100);
  }
}

/**
 * Plays one tone at a time. When the autoplay policy keeps audio suspended it stays silent (the UI
 * still shows a visual ring) and starts sounding on the user's next pointerdown/keydown.
 */
export class Ringtone {
  /** The tone requested, or null when quiet. */
  kind: ToneKind | null = null;
  /** True once the tone is actually audible (the AudioContext runs). */
  audible = false;
  private player: TonePlayer | null = null;
  private cancelGesture: (() => void) | null = null;
  private generation = 0;
  /** The output device the tone plays on (`''`: the default), and the element that plays it there. */
  private sink = '';
  private sinkElement: HTMLAudioElement | null = null;

  constructor(
    private readonly onChange: () => void = () => undefined,
    private readonly context: () => AudioContext | null = sharedAudioContext,
  ) {}

  /** Starts `kind` (replacing any other tone); resolves once it is known whether it is audible. */
  async play(kind: ToneKind): Promise<void> {
    if (this.kind === kind) return;
    this.stop();
    this.kind = kind;
    const gen = this.generation;
    const ctx = this.context();
    if (!ctx) return; // no WebAudio: visual ring only
    this.player = new TonePlayer(ctx, TONE_PATTERNS[kind], this.output(ctx));
    const running = await tryResume(ctx);
    if (gen !== this.generation) return; // stopped meanwhile
    if (running) {
      this.audible = true;
    } else {
      this.cancelGesture = resumeOnGesture(ctx, () => {
        if (gen !== this.generation) return;
        this.audible = true;
        this.sinkElement?.play().catch(() => undefined);
        this.onChange();
      });
    }
    this.onChange();
  }

  /** Plays the tones on output `deviceId` (`''`: default), switching a tone already playing. */
  setSink(deviceId: string): void {
    if (deviceId === this.sink) return;
    this.sink = deviceId;
    const kind = this.kind;
    if (!kind) return;
    this.stop();
    void this.play(kind);
  }

  /** Where the tone goes: the context's own output, or a media element playing on the chosen device. */
  private output(ctx: AudioContext): AudioNode {
    if (!this.sink || !canChooseOutput()) return ctx.destination;
    const stream = ctx.createMediaStreamDestination();
    const element = new Audio();
    element.srcObject = stream.stream;
    // A device gone since it was chosen: the element stays on the default output.
    element.setSinkId(this.sink).catch(() => undefined);
    element.play().catch(() => undefined);
    this.sinkElement = element;
    return stream;
  }

  /** Silences the tone at once. */
  stop(): void {
    this.generation++;
    this.player?.stop();
    this.player = null;
    this.cancelGesture?.();
    this.cancelGesture = null;
    this.sinkElement?.pause();
    this.sinkElement = null;
    this.kind = null;
    this.audible = false;
  }
}

/** The tone a phone state calls for: ring while incoming, ringback while the far end rings. */
export function toneFor(state: PhoneState): ToneKind | null {
  return state === 'incoming' ? 'ring' : state === 'ringing' ? 'ringback' : null;
}

/** Keeps a Ringtone in step with the host's phone state, checked before every render. */
export class RingtoneController implements ReactiveController {
  readonly ringtone: Ringtone;

  constructor(
    host: ReactiveControllerHost,
    private readonly getState: () => PhoneState,
    /** The output device chosen for the ringtone (`''`: default). */
    private readonly getSink: () => string = () => '',
  ) {
    this.ringtone = new Ringtone(() => host.requestUpdate());
    host.addController(this);
  }

  hostUpdate(): void {
    this.ringtone.setSink(this.getSink());
    const want = toneFor(this.getState());
    if (want === this.ringtone.kind) return;
    if (want) void this.ringtone.play(want);
    else this.ringtone.stop();
  }

  hostDisconnected(): void {
    this.ringtone.stop();
  }
}
