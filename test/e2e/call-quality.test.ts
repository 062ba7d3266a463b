// End to end: call-quality warnings raised by a real network fault and cleared once it is gone, and the preflight test
// against the real server. The server runs in a network namespace with separate signalling and media links
// (test/helpers/netns.ts): the media link from the server is squeezed with tc tbf (a real bottleneck: what does not
// fit its rate is dropped, so the browsers lose packets) and then cut (link down) while signalling stays up; a steerable
// microphone (test/helpers/mic.ts) that delivers only its noise floor stands for one muted at the OS.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import wavefile from 'wavefile';
import { openCallerPhone } from '../helpers/mic.js';
import { splitNetwork, type SplitNetwork } from '../helpers/netns.js';
import { connectedCall, type PageEvent, type PhonePage } from '../helpers/phone.js';
import { mintToken } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';

const ALICE_HZ = 440;
const BOB_HZ = 1000;
/** Below one Opus stream's ~50 kbit/s on the wire, and the link carries two: most packets do not fit. */
const SQUEEZE_KBIT = 32;
/** Generous bounds for slow machines: 3-of-5 one-second samples raise, five clean ones clear; ICE loss takes seconds to notice. */
const RAISE_TIMEOUT_MS = 20_000;
const ICE_TIMEOUT_MS = 40_000;

let net: SplitNetwork | undefined;
let stage: Stage | undefined;

interface Report {
  callQuality: string;
  mos: { average: number } | null;
  rtt: { average: number } | null;
  jitter: { average: number } | null;
  packetLoss: number;
  packetsSent: number;
  packetsReceived: number;
  codec: string | null;
  iceCandidates: { local: string; remote: string; protocol: string } | null;
  isTurnRequired: boolean;
}

/** A `seconds`-long sine at `hz` as WAV bytes (played into the steerable microphone). */
function toneWav(hz: number, seconds: number): Uint8Array {
  const rate = 48_000;
  const samples = new Int16Array(rate * seconds);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(0.4 * 32767 * Math.sin((2 * Math.PI * hz * i) / rate));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, rate, '16', samples);
  return wav.toBuffer();
}

const names = (events: PageEvent[]) => events.map((e) => String(e.detail.name));

/** Resolves once the phone has dispatched `type` for warning `name` (after `since` earlier ones of it). */
async function waitWarning(phone: PhonePage, type: 'astral-warning' | 'astral-warning-cleared', name: string, timeoutMs: number): Promise<void> {
  await phone.page.waitForFunction(
    ([type, name]) => (window as unknown as { astralEvents: PageEvent[] }).astralEvents.some((e) => e.type === type && e.detail.name === name),
    [type, name] as const,
    { timeout: timeoutMs },
  );
}

async function callCount(): Promise<number> {
  const res = await fetch(`${stage!.server.url}/api/v1/calls`, { headers: { 'x-api-key': stage!.server.apiKey } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { total: number }).total;
}

describe('call quality: warnings from a degraded network, preflight', { timeout: 240_000 }, () => {
  before(async () => {
    net = await splitNetwork();
    stage = await startStage({
      browsers: { alice: ALICE_HZ, bob: BOB_HZ },
      env: { ASTRAL_LISTEN_IP: net.mediaIp, ASTRAL_ANNOUNCED_IP: net.mediaIp },
      placement: { netns: net.name, host: net.signallingIp },
    });
  });

  after(async () => {
    await net?.unthrottleMedia().catch(() => undefined);
    await stage?.close().catch(() => undefined);
    await net?.close();
  });

  test('preflight on a clean path: excellent or great, no loss, host candidates, progress events, no call on record', async (t) => {
    const alice = await stage!.phone('alice', await mintToken(stage!.server, 'alice'));
    const callsBefore = await callCount();
    const report = (await alice.invoke('preflight', { durationMs: 5000 })) as Report;
    t.diagnostic(`preflight: ${JSON.stringify(report)}`);
    assert.ok(['excellent', 'great'].includes(report.callQuality), `verdict ${report.callQuality}`);
    assert.equal(report.packetLoss, 0, 'nothing lost on the loopback');
    assert.ok(report.packetsReceived > 100 && report.packetsSent >= report.packetsReceived, `packets ${report.packetsSent} → ${report.packetsReceived}`);
    assert.ok(report.mos && report.mos.average > 4.2, 'MOS of a clean path');
    assert.ok(report.rtt && report.rtt.average >= 0 && report.rtt.average < 400, `RTT ${report.rtt?.average} ms under the warning threshold`);
    assert.ok(report.jitter && report.jitter.average < 30, 'jitter under the warning threshold');
    assert.equal(report.codec?.toLowerCase(), 'opus');
    assert.deepEqual(report.iceCandidates, { local: 'host', remote: 'host', protocol: 'udp' });
    assert.equal(report.isTurnRequired, false);
    const progress = await alice.events('astral-preflight-progress');
    assert.ok(progress.length >= 3, `progress once a second (${progress.length})`);
    assert.equal(await callCount(), callsBefore, 'a preflight is not a call');
    assert.equal(await alice.state(), 'ready');
    // The same phone calls normally right after (the loopback was closed).
    const bob = await stage!.phone('bob', await mintToken(stage!.server, 'bob'));
    await alice.invoke('call', 'bob');
    await bob.waitState('incoming');
    await bob.invoke('answer');
    await alice.expectTone(BOB_HZ);
    await assert.rejects(alice.invoke('preflight'), /in-call, not ready/, 'no preflight during a call');
    await stage!.closePhones();
  });

  test('a squeezed media link raises high-packet-loss (and low-mos) in the call, cleared once lifted; a cut link raises ice-connectivity-lost', async (t) => {
    const alice = await stage!.phone('alice', await mintToken(stage!.server, 'alice'));
    const bob = await stage!.phone('bob', await mintToken(stage!.server, 'bob'));
    await connectedCall(alice, bob, 'bob');
    await Promise.all([alice.expectTone(BOB_HZ), bob.expectTone(ALICE_HZ)]);
    assert.deepEqual(names(await alice.events('astral-warning')).filter((n) => n !== 'constant-audio-input-level'), [], 'a clean call raises no network warning');
    const clean = (await alice.stats()) as unknown as { mos: number | null; codec: string | null; inputLevel: number };
    assert.ok(clean.mos !== null && clean.mos > 4.2, `MOS of a clean call (${clean.mos})`);
    assert.equal(clean.codec?.toLowerCase(), 'opus');
    assert.ok(clean.inputLevel > 0.1, `the microphone's level (${clean.inputLevel})`);

    await net!.throttleMedia(SQUEEZE_KBIT);
    await Promise.all([alice, bob].map((p) => waitWarning(p, 'astral-warning', 'high-packet-loss', RAISE_TIMEOUT_MS)));
    const squeezed = (await alice.stats()) as unknown as { packetsLost: number; mos: number | null };
    t.diagnostic(`squeezed: alice warnings ${names(await alice.events('astral-warning'))}, lost ${squeezed.packetsLost}, MOS ${squeezed.mos}`);
    const indicator = await alice.page.evaluate(() => document.getElementById('phone')!.shadowRoot!.querySelector('[part~="quality-warning"]')?.getAttribute('data-warnings'));
    assert.ok(indicator?.includes('high-packet-loss'), `the indicator shows it (${indicator})`);
    assert.equal(await alice.state(), 'in-call', 'the call goes on');

    await net!.unthrottleMedia();
    await Promise.all([alice, bob].map((p) => waitWarning(p, 'astral-warning-cleared', 'high-packet-loss', RAISE_TIMEOUT_MS)));
    await alice.expectTone(BOB_HZ);

    await net!.cutMedia();
    await Promise.all([alice, bob].map((p) => waitWarning(p, 'astral-warning', 'ice-connectivity-lost', ICE_TIMEOUT_MS)));
    await net!.restoreMedia();
    await Promise.all([alice, bob].map((p) => waitWarning(p, 'astral-warning-cleared', 'ice-connectivity-lost', ICE_TIMEOUT_MS)));
    await Promise.all([alice.waitState('in-call', ICE_TIMEOUT_MS), bob.waitState('in-call', ICE_TIMEOUT_MS)]);
    await alice.expectTone(BOB_HZ);
    assert.equal((await alice.events('astral-call-ended')).length, 0, 'the call never ended');
    await alice.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    const indicatorAfter = await alice.page.evaluate(() => document.getElementById('phone')!.shadowRoot!.querySelector('[part~="quality-warning"]'));
    assert.equal(indicatorAfter, null, 'no indicator once the call is over');
  });

  test('a microphone that delivers only its noise floor (muted at the OS) raises constant-audio-input-level; speaking clears it', async () => {
    const caller = await openCallerPhone(stage!.browsers.alice!, stage!.site.url, stage!.server.url, await mintToken(stage!.server, 'quiet-carol'));
    const bob = await stage!.phone('bob', await mintToken(stage!.server, 'bob'));
    await caller.phone.waitState('ready');
    await caller.phone.invoke('call', 'bob');
    await bob.waitState('incoming');
    await bob.invoke('answer');
    await caller.phone.waitState('in-call');
    // Ten one-second samples of a flat level, plus the first (no interval yet) and slack for a slow machine.
    await waitWarning(caller.phone, 'astral-warning', 'constant-audio-input-level', 30_000);
    const speech = caller.audio.say(toneWav(600, 3));
    await waitWarning(caller.phone, 'astral-warning-cleared', 'constant-audio-input-level', 10_000);
    await speech;
    await stage!.closePhones();
    await caller.phone.close();
  });
});
