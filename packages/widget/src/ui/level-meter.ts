// Microphone level meter: an AnalyserNode on the client's local stream, sampled once per animation frame.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { sharedAudioContext, tryResume } from './audio.js';

const FLOOR_DB = -60; // quieter than this shows as empty
const DECAY = 0.85; // per frame, so peaks fall back smoothly

/** Exposes `level` (0..1) for whatever stream `getStream()` returns, re-rendering the host as it moves. */
export class LevelMeterController implements ReactiveController {
  /** Current microphone level, 0..1 (0 with no stream). */
  level = 0;
  private stream: MediaStream | null = null;
  private track: MediaStreamTrack | undefined;
  private source: MediaStreamAudioSourceNode | null = null;
  private analyser: AnalyserNode | null = null;
  private sink: GainNode | null = null;
  private buffer: Float32Array<ArrayBuffer> | null = null;
  private frame = 0;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly getStream: () => MediaStream | null,
  ) {
    host.addController(this);
  }

  hostUpdate(): void {
    const stream = this.getStream();
    // A switched microphone may keep its stream and change the track.
    if (stream !== this.stream || stream?.getAudioTracks()[0] !== this.track) this.attach(stream);
  }

  hostDisconnected(): void {
    this.attach(null);
  }

  private attach(stream: MediaStream | null): void {
    this.detach();
    this.stream = stream;
    this.track = stream?.getAudioTracks()[0];
    if (!stream || !this.track) return;
    const ctx = sharedAudioContext();
    if (!ctx) return;
    void tryResume(ctx);
    try {
      this.source = ctx.createMediaStreamSource(stream);
    } catch {
      return; // e.g. an ended track
    }
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.buffer = new Float32Array(this.analyser.fftSize);
    // a silent sink keeps the graph pulled in every browser without playing the mic back
    this.sink = ctx.createGain();
    this.sink.gain.value = 0;
    this.source.connect(this.analyser);
    this.analyser.connect(this.sink);
    this.sink.connect(ctx.destination);
    this.frame = requestAnimationFrame(this.sample);
  }

  private detach(): void {
    cancelAnimationFrame(this.frame);
    this.source?.disconnect();
    this.analyser?.disconnect();
    this.sink?.disconnect();
    this.source = this.analyser = this.sink = null;
    this.buffer = null;
    this.level = 0;
  }

  private readonly sample = (): void => {
    if (!this.analyser || !this.buffer) return;
    this.analyser.getFloatTimeDomainData(this.buffer);
    let sum = 0;
    for (const v of this.buffer) sum += v * v;
    const rms = Math.sqrt(sum / this.buffer.length);
    const db = rms > 0 ? 20 * Math.log10(rms) : -Infinity;
    const target = Math.min(1, Math.max(0, (db - FLOOR_DB) / -FLOOR_DB));
    const next = Math.max(target, this.level * DECAY);
    if (Math.abs(next - this.level) > 0.01 || (next === 0 && this.level !== 0)) {
      this.level = next < 0.005 ? 0 : next;
      this.host.requestUpdate();
    }
    this.frame = requestAnimationFrame(this.sample);
  };
}
