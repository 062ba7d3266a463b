// Mouth-to-ear latency on loopback: a tone pulse played into one phone's microphone (test/helpers/mic.ts) → the pulse's
// onset detected in the audio the other phone receives, through the real server and SFU; p50/p95 over many pulses.
import type { Browser, Page } from 'playwright-core';
import wavefile from 'wavefile';
import { openCallerPhone } from '../test/helpers/mic.js';
import { mintToken, type RunningServer } from '../test/helpers/server.js';
import type { Site } from '../test/helpers/site.js';
import { latencyRow, percentile, row } from './stats.js';

export const MOUTH_TO_EAR_TARGET_MS = 80;
const PULSE_HZ = 1000;
const PULSE_MS = 100;
const PULSE_GAP_MS = 600;
/** Frames per ScriptProcessor callback on the ear side (5.3 ms at 48 kHz): the detection's resolution. */
const EAR_FRAMES = 256;

function pulseWav(): Uint8Array {
  const rate = 48_000;
  const samples = new Int16Array((rate * PULSE_MS) / 1000);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(0.5 * 32767 * Math.sin((2 * Math.PI * PULSE_HZ * i) / rate));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, rate, '16', samples);
  return wav.toBuffer();
}

/**
 * Runs in a page: timestamps (epoch ms) every onset of sound after ≥ 150 ms of quiet in the remote audio, or (`local`)
 * in the page's own microphone: the detector's own delay, without the network.
 */
function installDetector(frames: number, local: boolean): void {
  const ctx = new AudioContext({ sampleRate: 48_000 });
  void ctx.resume();
  const node = ctx.createScriptProcessor(frames, 1, 1);
  const onsets: number[] = [];
  let quietSince = 0;
  let lastLoud = -Infinity;
  node.onaudioprocess = (e) => {
    const now = performance.timeOrigin + performance.now();
    const data = e.inputBuffer.getChannelData(0);
    for (let i = 0; i < data.length; i++) {
      // The buffer's last sample is (about) now; sample i is (length - i) frames older.
      const t = now - ((data.length - i) / ctx.sampleRate) * 1000;
      if (Math.abs(data[i]!) < 0.05) {
        if (t - lastLoud > 150 && quietSince === 0) quietSince = t;
        continue;
      }
      if (quietSince !== 0) onsets.push(t);
      quietSince = 0;
      lastLoud = t;
    }
  };
  node.connect(ctx.destination);
  const connected = new Set<string>();
  if (local) void navigator.mediaDevices.getUserMedia({ audio: true }).then((mic) => ctx.createMediaStreamSource(mic).connect(node));
  else setInterval(() => {
    const phone = document.getElementById('phone') as unknown as { client?: { remoteStream?: MediaStream | null } };
    for (const track of phone.client?.remoteStream?.getAudioTracks() ?? []) {
      if (connected.has(track.id)) continue;
      connected.add(track.id);
      ctx.createMediaStreamSource(new MediaStream([track])).connect(node);
    }
  }, 20);
  (window as unknown as { __onsets: () => number[] }).__onsets = () => onsets;
}

const detect = (page: Page, local: boolean) =>
  // As source text: tsx's esbuild wraps named functions in __name(), which the page does not have.
  page.evaluate(`(() => { const __name = (f) => f; (${installDetector.toString()})(${EAR_FRAMES}, ${local}); })()`);
const onsetsOf = (page: Page) => page.evaluate(() => (window as unknown as { __onsets: () => number[] }).__onsets()) as Promise<number[]>;

/** The ear's jitter buffer so far: total delay (s) and samples emitted, over its consumers' inbound RTP (NetEq). */
function jitterBuffer(page: Page): Promise<{ delay: number; emitted: number }> {
  return page.evaluate(async () => {
    type Consumer = { getStats(): Promise<RTCStatsReport> };
    const client = (document.getElementById('phone') as unknown as { client: { media: { consumers: Map<string, Consumer> } } }).client;
    let delay = 0;
    let emitted = 0;
    for (const consumer of client.media.consumers.values()) {
      (await consumer.getStats()).forEach((s: { type: string; jitterBufferDelay?: number; jitterBufferEmittedCount?: number }) => {
        if (s.type !== 'inbound-rtp') return;
        delay += s.jitterBufferDelay ?? 0;
        emitted += s.jitterBufferEmittedCount ?? 0;
      });
    }
    return { delay, emitted };
  });
}

/** For each pulse sent, the delay to the first onset heard after it (within the gap). */
function delays(sent: number[], onsets: number[]): number[] {
  return sent.flatMap((at) => {
    const heard = onsets.find((t) => t >= at && t < at + PULSE_GAP_MS);
    return heard === undefined ? [] : [heard - at];
  });
}

/** Calls between two steerable-mic phones of `browser`, pulses `count` times, and returns the result rows. */
export async function runMouthToEar(
  browser: Browser,
  server: RunningServer,
  site: Site,
  count: number,
  track: (c: { close(): Promise<void> }) => void,
): Promise<string[]> {
  const mouth = await openCallerPhone(browser, site.url, server.url, await mintToken(server, 'mte-mouth'));
  track({ close: () => mouth.phone.close() });
  const ear = await openCallerPhone(browser, site.url, server.url, await mintToken(server, 'mte-ear'));
  track({ close: () => ear.phone.close() });
  await Promise.all([mouth.phone.waitState('ready', 15_000), ear.phone.waitState('ready', 15_000)]);
  await mouth.phone.invoke('call', 'mte-ear');
  await ear.phone.waitState('incoming');
  await ear.phone.invoke('answer');
  await Promise.all([mouth.phone.waitState('in-call'), ear.phone.waitState('in-call')]);
  await detect(ear.phone.page, false);
  await detect(mouth.phone.page, true);
  await new Promise((r) => setTimeout(r, 1500)); // the consumer is flowing and the jitter buffer has settled
  const origin = (await mouth.phone.page.evaluate(() => performance.timeOrigin)) as number;
  const wav = pulseWav();
  const sent: number[] = [];
  const buffered = await jitterBuffer(ear.phone.page);
  for (let i = 0; i < count; i++) {
    const { startedAt } = await mouth.audio.say(wav);
    sent.push(origin + startedAt);
    await new Promise((r) => setTimeout(r, PULSE_GAP_MS));
  }
  const after = await jitterBuffer(ear.phone.page);
  const latencies = delays(sent, await onsetsOf(ear.phone.page));
  const local = delays(sent, await onsetsOf(mouth.phone.page));
  await mouth.phone.invoke('hangup');
  const jitterMs = after.emitted > buffered.emitted ? (1000 * (after.delay - buffered.delay)) / (after.emitted - buffered.emitted) : NaN;
  const verdict = latencies.length && percentile(latencies, 95) <= MOUTH_TO_EAR_TARGET_MS ? 'met' : 'missed';
  return [
    latencyRow('mouth-to-ear, pulse into A\'s mic → B hears it', latencies, `target p95 <= ${MOUTH_TO_EAR_TARGET_MS} ms (${verdict})`),
    latencyRow('  A hears its own mic, same detector (no network)', local),
    row('  of it: B\'s jitter buffer, mean delay', `${jitterMs.toFixed(1)} ms (NetEq jitterBufferDelay / emitted samples over the pulses)`),
    `${latencies.length}/${count} pulses detected`,
  ];
}
