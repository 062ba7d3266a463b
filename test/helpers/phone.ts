// PhonePage: drives one <astral-phone> on a page and measures what it hears.
import type { Browser, Page } from 'playwright-core';
import type { PhoneState } from '@astral/protocol';

/** How far (Hz) the peak heard may be from the tone the far side plays. */
export const TONE_TOLERANCE_HZ = 25;

export interface HeardAudio {
  /** Frequency (Hz) of the strongest spectral peak in the received audio. */
  peakHz: number;
  /** RMS of the received waveform (0..1). */
  rms: number;
}

export interface PageEvent {
  type: string;
  detail: Record<string, unknown>;
}

export class PhonePage {
  private constructor(readonly page: Page) {}

  /** Wraps a page that already holds a configured `<astral-phone id="phone">` (e.g. engine="sip"). */
  static of(page: Page): PhonePage {
    return new PhonePage(page);
  }

  /** Opens the customer page and points its phone at the server with a token (or `{tokenUrl}`). */
  static async open(browser: Browser, siteUrl: string, server: string, auth: string | { tokenUrl: string }): Promise<PhonePage> {
    const page = await browser.newPage();
    await page.goto(siteUrl);
    const [name, value] = typeof auth === 'string' ? ['token', auth] : ['token-url', auth.tokenUrl];
    await page.evaluate(
      ([server, name, value]) => {
        const phone = document.getElementById('phone')!;
        phone.setAttribute('server', server!);
        phone.setAttribute(name!, value!);
      },
      [server, name, value],
    );
    return new PhonePage(page);
  }

  async waitState(state: PhoneState, timeoutMs = 10_000): Promise<void> {
    await this.page.waitForFunction((s) => (document.getElementById('phone') as unknown as { state: string }).state === s, state, {
      timeout: timeoutMs,
    });
  }

  state(): Promise<string> {
    return this.page.evaluate(() => (document.getElementById('phone') as unknown as { state: string }).state);
  }

  /** Calls a method of the element in the page. */
  invoke(method: string, ...args: unknown[]): Promise<unknown> {
    return this.page.evaluate(
      ([method, args]) => (document.getElementById('phone') as unknown as Record<string, (...a: unknown[]) => unknown>)[method as string]!(...(args as unknown[])),
      [method, args] as const,
    );
  }

  events(type?: string): Promise<PageEvent[]> {
    return this.page.evaluate((t) => (window as unknown as { astralEvents: PageEvent[] }).astralEvents.filter((e) => !t || e.type === t), type);
  }

  async waitEvent(type: string, timeoutMs = 10_000): Promise<PageEvent> {
    await this.page.waitForFunction((t) => (window as unknown as { astralEvents: PageEvent[] }).astralEvents.some((e) => e.type === t), type, {
      timeout: timeoutMs,
    });
    const events = await this.events(type);
    return events[events.length - 1]!;
  }

  stats(): Promise<Record<string, number>> {
    return this.invoke('getStats') as Promise<Record<string, number>>;
  }

  /** Waits (up to 15 s) until the widget has received `packets` RTP packets. */
  async receivesRtp(packets: number): Promise<void> {
    for (let i = 0; i < 150; i++) {
      if (((await this.stats()).packetsReceived ?? 0) >= packets) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the widget received fewer than ${packets} RTP packets: ${JSON.stringify(await this.stats())}`);
  }

  /** Listens until the far side carries `hz` (media follows signaling by a moment), failing after ~4 s. */
  async expectTone(hz: number, toleranceHz = TONE_TOLERANCE_HZ): Promise<HeardAudio> {
    let heard: HeardAudio = { peakHz: 0, rms: 0 };
    for (let attempt = 0; attempt < 5; attempt++) {
      heard = await this.heardAudio(800);
      if (heard.rms > 0.01 && Math.abs(heard.peakHz - hz) < toleranceHz) return heard;
    }
    throw new Error(`expected to hear ${hz} Hz, heard ${JSON.stringify(heard)}`);
  }

  /** Listens to the far side for `ms` and reports the dominant frequency and loudness. */
  async heardAudio(ms = 1500): Promise<HeardAudio> {
    // In-call comes first; the far side's track follows once its microphone is producing.
    await this.page.waitForFunction(
      () => ((document.getElementById('phone') as unknown as { client: { remoteStream: MediaStream | null } }).client.remoteStream?.getAudioTracks().length ?? 0) > 0,
      undefined,
      { timeout: 5000 },
    );
    return this.page.evaluate(async (ms) => {
      const phone = document.getElementById('phone') as unknown as { client: { remoteStream: MediaStream | null } };
      const stream = phone.client.remoteStream;
      if (!stream) throw new Error('no remote stream');
      const ctx = new AudioContext();
      await ctx.resume();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      analyser.smoothingTimeConstant = 0;
      // One source per track: a MediaStreamAudioSourceNode only plays a stream's first audio track.
      for (const track of stream.getAudioTracks()) ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      await new Promise((r) => setTimeout(r, ms));
      const spectrum = new Float32Array(analyser.frequencyBinCount);
      analyser.getFloatFrequencyData(spectrum);
      let peak = 0;
      for (let i = 1; i < spectrum.length; i++) if (spectrum[i]! > spectrum[peak]!) peak = i;
      const wave = new Float32Array(analyser.fftSize);
      analyser.getFloatTimeDomainData(wave);
      const rms = Math.sqrt(wave.reduce((sum, v) => sum + v * v, 0) / wave.length);
      const peakHz = (peak * ctx.sampleRate) / analyser.fftSize;
      await ctx.close();
      return { peakHz, rms };
    }, ms);
  }

  /** Hangs up a live call (so the server has ended it before the next test dials), then closes the page. */
  async close(): Promise<void> {
    const state = await this.state().catch(() => 'disconnected');
    if (['incoming', 'dialing', 'ringing', 'in-call'].includes(state)) {
      await this.invoke('hangup').catch(() => undefined);
      await this.waitState('ready', 3000).catch(() => undefined);
    }
    await this.page.close();
  }
}

/** `caller` calls `to` and `callee` answers (once `caller` rings, with `ringing`); resolves with the call id once both are in the call. */
export async function connectedCall(caller: PhonePage, callee: PhonePage, to: string, opts: { ringing?: boolean } = {}): Promise<string> {
  const callId = (await caller.invoke('call', to)) as string;
  await callee.waitState('incoming');
  if (opts.ringing) await caller.waitState('ringing');
  await callee.invoke('answer');
  await Promise.all([caller.waitState('in-call'), callee.waitState('in-call')]);
  return callId;
}

/** Closes and forgets `pages` (between tests), whatever state they are in. */
export async function closePages(pages: PhonePage[]): Promise<void> {
  await Promise.all(pages.splice(0).map((p) => p.close().catch(() => undefined)));
}
