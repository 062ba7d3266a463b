// A phone whose microphone the test steers, and a meter of what it hears over time.
//
// Chromium's --use-file-for-fake-audio-capture loops one file from getUserMedia time, which a test cannot time. Instead an
// init script replaces navigator.mediaDevices.getUserMedia with a WebAudio graph: a MediaStreamAudioDestinationNode that is
// quiet (a -70 dBFS noise floor) until the test plays a WAV (espeak-ng speech, a tone) into it. The meter samples the RMS of the far side's audio
// (every remote track, as PhonePage.heardAudio listens) every 20 ms into a timeline the test reads.
import type { Browser, Page } from 'playwright-core';
import { PhonePage } from './phone.js';

export interface EnergySample {
  /** Page time (performance.now(), ms). */
  t: number;
  rms: number;
}

/** Runs in the page before its own scripts. */
function install(): void {
  type W = typeof window & { __mic: unknown; __meter: unknown };
  const w = window as W;
  let ctx: AudioContext | null = null;
  let dest: MediaStreamAudioDestinationNode | null = null;
  let playing = 0;
  const graph = () => {
    if (!ctx) {
      ctx = new AudioContext({ sampleRate: 48_000 });
      dest = ctx.createMediaStreamDestination();
      dest.channelCount = 1;
      // A microphone's noise floor (-70 dBFS hum): with nothing connected Chromium delivers no audio at all, so its RTP
      // clock stops while the "caller" is quiet, which no real microphone does (and recordings placed by it would skew).
      const floor = ctx.createOscillator();
      floor.frequency.value = 150;
      const level = ctx.createGain();
      level.gain.value = 0.0003;
      floor.connect(level).connect(dest);
      floor.start();
    }
    return { ctx, dest: dest! };
  };
  navigator.mediaDevices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
    if (!constraints?.audio || constraints.video) throw new DOMException('only audio is faked', 'NotSupportedError');
    const g = graph();
    await g.ctx.resume();
    // A clone per call: the widget stops its tracks when a call ends; the graph outlives them.
    return new MediaStream(g.dest.stream.getAudioTracks().map((t) => t.clone()));
  };
  w.__mic = {
    /** Plays WAV bytes (base64) into the microphone; resolves with the page times it started and ended. */
    async play(base64: string, gain = 1): Promise<{ startedAt: number; endedAt: number; seconds: number }> {
      const g = graph();
      await g.ctx.resume();
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const buffer = await g.ctx.decodeAudioData(bytes.buffer);
      const source = g.ctx.createBufferSource();
      source.buffer = buffer;
      const amp = g.ctx.createGain();
      amp.gain.value = gain;
      source.connect(amp).connect(g.dest);
      playing++;
      const startedAt = performance.now();
      const ended = new Promise<void>((r) => (source.onended = () => r()));
      source.start();
      await ended;
      playing--;
      amp.disconnect();
      return { startedAt, endedAt: performance.now(), seconds: buffer.duration };
    },
    playing: () => playing > 0,
  };

  const samples: { t: number; rms: number }[] = [];
  let meterCtx: AudioContext | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  const connected = new Set<string>();
  w.__meter = {
    start(): void {
      if (timer) return;
      meterCtx = new AudioContext();
      void meterCtx.resume();
      const analyser = meterCtx.createAnalyser();
      analyser.fftSize = 1024; // ~21 ms at 48 kHz: one sample per tick
      const wave = new Float32Array(analyser.fftSize);
      timer = setInterval(() => {
        const phone = document.getElementById('phone') as unknown as { client?: { remoteStream?: MediaStream | null } } | null;
        for (const track of phone?.client?.remoteStream?.getAudioTracks() ?? []) {
          if (connected.has(track.id)) continue;
          connected.add(track.id);
          meterCtx!.createMediaStreamSource(new MediaStream([track])).connect(analyser);
        }
        analyser.getFloatTimeDomainData(wave);
        let sum = 0;
        for (const v of wave) sum += v * v;
        samples.push({ t: performance.now(), rms: Math.sqrt(sum / wave.length) });
      }, 20);
    },
    samples: (from = 0): { t: number; rms: number }[] => samples.filter((s) => s.t >= from),
    now: () => performance.now(),
  };
}

/** The microphone and meter of one page. */
export class CallerAudio {
  constructor(readonly page: Page) {}

  /** Plays WAV bytes into the microphone and waits until they have played. */
  say(wav: Uint8Array, gain = 1): Promise<{ startedAt: number; endedAt: number; seconds: number }> {
    return this.page.evaluate(
      ([b64, gain]) => (window as unknown as { __mic: { play(b: string, g: number): Promise<{ startedAt: number; endedAt: number; seconds: number }> } }).__mic.play(b64 as string, gain as number),
      [Buffer.from(wav).toString('base64'), gain] as const,
    );
  }

  /** Starts sampling what the phone hears (idempotent; picks up remote tracks as they arrive). */
  startMeter(): Promise<void> {
    return this.page.evaluate(() => (window as unknown as { __meter: { start(): void } }).__meter.start());
  }

  now(): Promise<number> {
    return this.page.evaluate(() => (window as unknown as { __meter: { now(): number } }).__meter.now());
  }

  samples(from = 0): Promise<EnergySample[]> {
    return this.page.evaluate((from) => (window as unknown as { __meter: { samples(f: number): EnergySample[] } }).__meter.samples(from), from);
  }

  /** Mean RMS heard in page time [from, to). */
  async energy(from: number, to: number): Promise<number> {
    const s = (await this.samples(from)).filter((x) => x.t < to);
    return s.length ? s.reduce((a, x) => a + x.rms, 0) / s.length : 0;
  }

  /** Waits until the phone hears audio above `rms` for `ms` in a row; returns the page time it started. */
  async waitForSound(opts: { rms?: number; ms?: number; from?: number; timeoutMs?: number } = {}): Promise<number> {
    return this.waitFor((s) => s.rms >= (opts.rms ?? 0.01), opts.ms ?? 200, opts.from ?? 0, opts.timeoutMs ?? 10_000, 'sound');
  }

  /** Waits until the phone hears (near) silence below `rms` for `ms` in a row; returns the page time it started. */
  async waitForSilence(opts: { rms?: number; ms?: number; from?: number; timeoutMs?: number } = {}): Promise<number> {
    return this.waitFor((s) => s.rms < (opts.rms ?? 0.003), opts.ms ?? 400, opts.from ?? 0, opts.timeoutMs ?? 10_000, 'silence');
  }

  private async waitFor(pred: (s: EnergySample) => boolean, ms: number, from: number, timeoutMs: number, what: string): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const samples = await this.samples(from);
      let runStart: number | null = null;
      for (const s of samples) {
        if (!pred(s)) runStart = null;
        else {
          runStart ??= s.t;
          if (s.t - runStart >= ms) return runStart;
        }
      }
      if (Date.now() > deadline) {
        const tail = samples.slice(-25).map((s) => s.rms.toFixed(4)).join(' ');
        throw new Error(`no ${ms} ms of ${what} within ${timeoutMs} ms (last RMS samples: ${tail})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Opens the customer page in `browser` with a steerable microphone and a phone signed in with `token`. */
export async function openCallerPhone(browser: Browser, siteUrl: string, serverUrl: string, token: string): Promise<{ phone: PhonePage; audio: CallerAudio }> {
  const page = await browser.newPage();
  // As source text: tsx's esbuild wraps named functions in __name(), which the page does not have.
  await page.addInitScript({ content: `(() => { const __name = (f) => f; (${install.toString()})(); })();` });
  await page.goto(siteUrl);
  await page.evaluate(
    ([server, token]) => {
      const phone = document.getElementById('phone')!;
      phone.setAttribute('server', server!);
      phone.setAttribute('token', token!);
    },
    [serverUrl, token],
  );
  return { phone: PhonePage.of(page), audio: new CallerAudio(page) };
}
