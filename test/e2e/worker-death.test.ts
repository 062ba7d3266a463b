// End to end: a mediasoup worker is SIGKILLed under a live call between two widgets; the call's media moves to the live
// worker (the region-move path), both sides hear each other again, /healthz and /readyz recover, and new calls work.
// A trunk call (SIPp as the carrier), an IVR call and a call with the local AI agent lose both their workers one after
// the other: the server rebuilds the SIP leg, the prompt and the agent leg itself.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import alawmulaw from 'alawmulaw';
import { buildRtp } from '../../packages/server/src/media/rtp.js';
import { defaultInstanceId, turnsOf, v1, waitServiceCall } from '../helpers/agents.js';
import { openCallerPhone } from '../helpers/mic.js';
import { connectedCall, TONE_TOLERANCE_HZ, type PhonePage } from '../helpers/phone.js';
import { hasTone, writeRtpPcap } from '../helpers/rtp-capture.js';
import { mintToken, type RunningServer } from '../helpers/server.js';
import { freeMediaPort, startSipp, type RunningSipp } from '../helpers/sipp.js';
import { speak } from '../helpers/speech.js';
import { ALICE_HZ, BOB_HZ, startCallStage, stageSuiteHooks, startStage, type CallStage, type Stage } from '../helpers/stage.js';
import { toneFile, tonePower } from '../helpers/tone.js';
import wavefile from 'wavefile';
import { api, captureAtCarrier, configureTrunk, startTrunkStage, trunkSuiteHooks, type TrunkStage } from '../helpers/trunks.js';

let stage: CallStage;
let server: RunningServer;

/** The server process's mediasoup worker children. */
function workerPids(server: RunningServer): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(server.process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes('mediasoup-work'))
    .map((l) => Number.parseInt(l.trim(), 10));
}

/** SIGKILLs the mediasoup worker `pid` and waits until the server has replaced it (two workers again, `pid` not among them). */
async function killWorker(server: RunningServer, pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await until('the dead worker is replaced', async () => !workerPids(server).includes(pid) && workerPids(server).length === 2);
}

/** Router dumps through /metrics: producers on each worker index. */
async function producersPerWorker(server: RunningServer): Promise<Record<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^astral_mediasoup_producers\{worker="(\d+)"\} (\d+)$/gm)) counts[m[1]!] = Number(m[2]);
  return counts;
}

async function healthy(server: RunningServer): Promise<void> {
  await until('/healthz 200', async () => (await fetch(`${server.url}/healthz`)).status === 200);
  const ready = await fetch(`${server.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks.workers, 'ok');
}

async function until(what: string, check: () => Promise<boolean>, attempts = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`gave up waiting for ${what}`);
}

/** Ids of the far side's audio tracks the widget plays (one per consumer). */
function remoteTracks(phone: PhonePage): Promise<string[]> {
  return phone.page.evaluate(() =>
    ((document.getElementById('phone') as unknown as { client: { remoteStream: MediaStream | null } }).client.remoteStream?.getAudioTracks() ?? []).map((t) => t.id),
  );
}

/**
 * Listens in short windows until the far side's tone is back on consumers made after the kill: none of `before`'s
 * tracks remains (those died with the worker), so what is heard is the rebuilt media, not a buffer of the old.
 */
async function hearsAgain(phone: PhonePage, hz: number, before: string[]): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const tracks = await remoteTracks(phone);
    if (tracks.length > 0 && tracks.every((id) => !before.includes(id))) {
      const heard = await phone.heardAudio(300).catch(() => null);
      if (heard && heard.rms > 0.01 && Math.abs(heard.peakHz - hz) < TONE_TOLERANCE_HZ) return;
    } else await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual((await remoteTracks(phone)).filter((id) => before.includes(id)), [], 'the consumers of the dead worker are gone');
  await phone.expectTone(hz, TONE_TOLERANCE_HZ); // fails with what it heard
}

/** Packets keep arriving: inbound RTP grows between two samples taken a tone-check apart. */
async function assertInboundRtp(phone: PhonePage, hz: number): Promise<void> {
  const before = await phone.stats();
  await phone.expectTone(hz, TONE_TOLERANCE_HZ);
  const after = await phone.stats();
  assert.ok(after.packetsReceived! > before.packetsReceived!, `inbound RTP must flow: ${JSON.stringify({ before, after })}`);
}

/** Server log lines (pino JSON) about media rebuilt after a worker died. */
function rebuildLines(server: RunningServer): Record<string, unknown>[] {
  return server
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    })
    .filter((l) => l.msg === 'media rebuilt after its mediasoup worker died');
}

describe('a mediasoup worker dies mid-call', { timeout: 120_000 }, () => {
  before(async () => {
    stage = await startCallStage({ ASTRAL_WORKERS: '2', LOG_LEVEL: 'info' });
    server = stage.server;
  });

  afterEach(() => stage.closePhones());
  after(() => stage?.close());

  test('the call moves to the live worker, audio returns both ways, health recovers and a new call works', async (t) => {
    const [alice, bob] = [await stage.phoneOf('alice'), await stage.phoneOf('bob')];
    const callId = await connectedCall(alice, bob, 'bob');
    await Promise.all([alice.expectTone(BOB_HZ), bob.expectTone(ALICE_HZ)]);

    // Each widget's transports sit on their own worker (least-loaded placement): every worker carries this call.
    const perWorker = await producersPerWorker(server);
    assert.deepEqual(Object.keys(perWorker).sort(), ['0', '1'], `two workers: ${JSON.stringify(perWorker)}`);
    assert.ok(Object.values(perWorker).every((n) => n > 0), `the call's media is on both workers: ${JSON.stringify(perWorker)}`);
    const pids = workerPids(server);
    assert.equal(pids.length, 2, 'the server runs two mediasoup workers');

    const [aliceTracks, bobTracks] = [await remoteTracks(alice), await remoteTracks(bob)];
    const killedAt = Date.now();
    process.kill(pids[0]!, 'SIGKILL');
    await Promise.all([hearsAgain(alice, BOB_HZ, aliceTracks), hearsAgain(bob, ALICE_HZ, bobTracks)]);
    t.diagnostic(`audio back on both sides ${Date.now() - killedAt} ms after the worker was killed`);

    assert.equal(await alice.state(), 'in-call');
    assert.equal(await bob.state(), 'in-call');
    assert.deepEqual([...(await alice.events('astral-call-ended')), ...(await bob.events('astral-call-ended'))], [], 'nobody saw the call end');
    await Promise.all([assertInboundRtp(alice, BOB_HZ), assertInboundRtp(bob, ALICE_HZ)]);

    const lines = rebuildLines(server);
    assert.ok(lines.some((l) => l.callId === callId && typeof l.legId === 'string'), `a log line names the call and its moved leg:\n${server.output().slice(-4000)}`);

    // The replacement worker runs: liveness and readiness say so, and the dead pid is gone.
    await healthy(server);
    const now = workerPids(server);
    assert.equal(now.length, 2, 'a new worker replaced the dead one');
    assert.ok(!now.includes(pids[0]!));

    await alice.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    const ended = await bob.waitEvent('astral-call-ended');
    assert.deepEqual([ended.detail.callId, ended.detail.disposition], [callId, 'ANSWERED']);
    // The recording went on: the moved party's new producer was tapped too, so its last second holds both tones.
    const recording = await fetch(`${server.url}/api/v1/calls/${callId}/recording`, { headers: { 'x-api-key': server.apiKey } });
    assert.equal(recording.status, 200);
    const samples = new wavefile.WaveFile(new Uint8Array(await recording.arrayBuffer())).getSamples(false, Float64Array) as unknown as Float64Array;
    const lastSecond = samples.subarray(samples.length - 48_000);
    const [aliceShare, bobShare] = [ALICE_HZ, BOB_HZ].map((hz) => tonePower(lastSecond, 48_000, hz));
    assert.ok(aliceShare! > 0.01 && bobShare! > 0.01, `both tones recorded after the move: ${ALICE_HZ} Hz ${aliceShare}, ${BOB_HZ} Hz ${bobShare}`);

    // A new call afterwards, the other way round, carries audio both ways.
    await connectedCall(bob, alice, 'alice');
    await Promise.all([alice.expectTone(BOB_HZ), bob.expectTone(ALICE_HZ)]);
    await Promise.all([assertInboundRtp(alice, BOB_HZ), assertInboundRtp(bob, ALICE_HZ)]);
  });
});

/** A carrier that plays a 700 Hz tone for 60 s: PCMA, 20 ms packets. */
const CARRIER_HZ = 700;
const PROMPT_HZ = 600;
function carrierTonePcap(): string {
  const dir = join(tmpdir(), 'astral-fixtures');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `pcma-${CARRIER_HZ}hz-60s.pcap`);
  const pcm = Int16Array.from({ length: 8000 * 60 }, (_, i) => Math.round(0.4 * 32767 * Math.sin((2 * Math.PI * CARRIER_HZ * i) / 8000)));
  const alaw = alawmulaw.alaw.encode(pcm);
  const records = Array.from({ length: pcm.length / 160 }, (_, i) => ({
    timeUs: 1_700_000_000_000_000 + i * 20_000,
    rtp: buildRtp({ payloadType: 8, marker: i === 0, seq: i, timestamp: 160 * i, ssrc: 0x70070 }, Buffer.from(alaw.subarray(i * 160, (i + 1) * 160))),
  }));
  writeFileSync(file, writeRtpPcap(records));
  return file;
}

describe('mediasoup workers die under a trunk call', { timeout: 120_000 }, () => {
  let trunkStage: TrunkStage;
  let agentToken: string;
  const sipps: RunningSipp[] = [];

  before(async () => {
    trunkStage = await startTrunkStage({ browsers: { agent: ALICE_HZ }, env: { ASTRAL_WORKERS: '2', LOG_LEVEL: 'info' } });
    agentToken = await mintToken(trunkStage.server, 'agent', { display_name: 'Agent', extension: '1001' });
    const prompt = readFileSync(toneFile(join(tmpdir(), 'astral-fixtures'), PROMPT_HZ, 2)).toString('base64');
    assert.equal((await api(trunkStage.server, 'POST', '/api/v1/ivr', { number: '6001', name: 'Main menu', prompt_wav: prompt, options: { '1': '1001' } })).status, 201);
    await configureTrunk(trunkStage.server, { name: 'carrier', host: '127.0.0.1', port: 5999, allowed_ips: ['127.0.0.1/32'] }, [
      { number: '+15550001', destination: '1001', destination_type: 'extension' },
      { number: '+15550006', destination: '6001', destination_type: 'ivr' },
    ]);
  });
  trunkSuiteHooks(() => trunkStage, sipps);

  /** SIPp as the carrier calls `service`, playing CARRIER_HZ from `mediaPort`, and holds the call until it gets BYE. */
  async function carrierCalls(service: string, mediaPort: number): Promise<RunningSipp> {
    const remote = `127.0.0.1:${trunkStage.sipPort}`;
    const sipp = await startSipp({ scenario: 'uac-call-pcap-wait-bye.xml', remote, service, vars: { from: '+14155550123' }, audioPcap: carrierTonePcap(), mediaPort, timeoutS: 90 });
    sipps.push(sipp);
    return sipp;
  }

  test('the SIP leg is rebuilt by the server and the widget moves: carrier and widget hear each other after each death', async () => {
    const server = trunkStage.server;
    const agent = await trunkStage.phone('agent', agentToken);
    const mediaPort = await freeMediaPort();
    const heardByCarrier = await captureAtCarrier(mediaPort);
    const sipp = await carrierCalls('15550001', mediaPort);
    await agent.waitState('incoming', 10_000);
    await agent.invoke('answer');
    await agent.waitState('in-call');
    await agent.expectTone(CARRIER_HZ);

    // The widget and the SIP leg sit on the two workers; killing both originals in turn hits each of them once.
    const originals = workerPids(server);
    assert.equal(originals.length, 2, 'the server runs two mediasoup workers');
    for (const pid of originals) {
      const tracks = await remoteTracks(agent);
      await killWorker(server, pid);
      await hearsAgain(agent, CARRIER_HZ, tracks);
      assert.equal(await agent.state(), 'in-call');
      await healthy(server);
    }
    await assertInboundRtp(agent, CARRIER_HZ);
    const live = (await api(server, 'GET', '/api/v1/calls/live')).body as { call_id?: string; channel_id: string; status: string }[];
    assert.ok(live.some((l) => l.channel_id.startsWith('SIP/carrier-') && l.status === 'answered'), `the trunk leg is still answered: ${JSON.stringify(live)}`);
    const outcomes = rebuildLines(server).map((l) => l.outcome);
    assert.ok(outcomes.includes('rebuilt') && outcomes.includes('relocated'), `the SIP leg was rebuilt and the widget relocated: ${outcomes}`);

    await agent.invoke('hangup');
    const result = await sipp.done;
    assert.ok(result.receivedRequests.includes('BYE'), `the carrier got BYE: ${result.receivedRequests}`);
    const got = await heardByCarrier.stop();
    assert.ok(hasTone(got.pcm.subarray(got.pcm.length - 8000), ALICE_HZ), `after both deaths the carrier hears the widget (${ALICE_HZ} Hz)`);
  });

  test('an IVR prompt and its SIP leg are rebuilt by the server: the carrier hears the prompt again after each death', async () => {
    const server = trunkStage.server;
    const mediaPort = await freeMediaPort();
    const sipp = await carrierCalls('15550006', mediaPort);
    /** Listens at the carrier in 4 s windows (a prompt round and its gap) until the prompt is heard. */
    const carrierHearsPrompt = async () => {
      for (let i = 0; i < 5; i++) {
        const capture = await captureAtCarrier(mediaPort);
        await new Promise((r) => setTimeout(r, 4000));
        const got = await capture.stop();
        if (got.packets > 50 && hasTone(got.pcm, PROMPT_HZ)) return;
      }
      assert.fail('the carrier never heard the prompt');
    };
    await carrierHearsPrompt();

    // The SIP leg (acquired) and the prompt (least-loaded peek) sit on the two workers; each original dies in turn.
    const rebuiltBefore = rebuildLines(server).filter((l) => l.outcome === 'rebuilt').length;
    const originals = workerPids(server);
    assert.equal(originals.length, 2, 'the server runs two mediasoup workers');
    for (const pid of originals) {
      await killWorker(server, pid);
      await carrierHearsPrompt(); // windows start after the kill: what they hold went through the rebuilt media
    }
    assert.ok(rebuildLines(server).filter((l) => l.outcome === 'rebuilt').length > rebuiltBefore, 'the SIP leg was rebuilt by the server');

    const live = (await api(server, 'GET', '/api/v1/calls/live')).body as { channel_id: string; status: string }[];
    const trunkLeg = live.find((l) => l.channel_id.startsWith('SIP/carrier-'));
    assert.ok(trunkLeg, `the IVR call is still up: ${JSON.stringify(live)}`);
    assert.equal((await api(server, 'POST', '/api/v1/calls/hangup-channel', { channel_id: trunkLeg.channel_id })).status, 200);
    const result = await sipp.done;
    assert.ok(result.receivedRequests.includes('BYE'), `the carrier got BYE: ${result.receivedRequests}`);
  });
});

describe('mediasoup workers die under a call with the local AI agent', { timeout: 120_000 }, () => {
  let agentStage: Stage;
  const pages: PhonePage[] = [];
  before(async () => {
    agentStage = await startStage({ browsers: { caller: ALICE_HZ }, env: { ASTRAL_WORKERS: '2', LOG_LEVEL: 'info' } });
  });
  stageSuiteHooks(() => agentStage, pages);

  test('the agent leg is rebuilt by the server: after both deaths the agent hears a spoken question and answers it', async () => {
    const server = agentStage.server;
    const instanceId = await defaultInstanceId(server);
    const hours = await speak('what are your opening hours');
    const { phone, audio } = await openCallerPhone(agentStage.browsers.caller!, agentStage.site.url, server.url, await mintToken(server, 'dana', { extension: '1001' }));
    pages.push(phone);
    await phone.waitState('ready');
    await phone.invoke('call', 'agent:akylai');
    await audio.startMeter();
    await phone.waitState('in-call', 10_000);
    const greetingAt = await audio.waitForSound({ ms: 300, timeoutMs: 10_000 });
    await audio.waitForSilence({ from: greetingAt, ms: 800, timeoutMs: 10_000 });

    const rebuiltBefore = rebuildLines(server).filter((l) => l.outcome === 'rebuilt').length;
    const originals = workerPids(server);
    assert.equal(originals.length, 2, 'the server runs two mediasoup workers');
    for (const pid of originals) {
      const tracks = await remoteTracks(phone);
      await killWorker(server, pid);
      await healthy(server);
      // The agent is silent now: wait until the widget consumes it anew and its microphone is sent again.
      await until('new consumers', async () => {
        const now = await remoteTracks(phone);
        return now.length > 0 && now.every((id) => !tracks.includes(id));
      });
      const sent = (await phone.stats()).packetsSent ?? 0;
      await until('the microphone is sent', async () => ((await phone.stats()).packetsSent ?? 0) > sent);
    }
    assert.ok(rebuildLines(server).filter((l) => l.outcome === 'rebuilt').length > rebuiltBefore, 'the agent leg was rebuilt by the server');
    assert.equal(await phone.state(), 'in-call');

    // The agent hears the caller through its rebuilt consumers and answers through its rebuilt producer.
    const calls = await v1(server, 'GET', `/v1/instances/${instanceId}/channels/voice/calls`);
    const serviceId = (calls.body as { call_id: string; caller_phone: string }[]).find((c) => c.caller_phone === '1001')?.call_id;
    assert.ok(serviceId, `the agent call is active: ${JSON.stringify(calls.body)}`);
    const asked = await audio.say(hours.wav);
    await audio.waitForSound({ from: asked.endedAt, ms: 300, timeoutMs: 10_000 });
    const answered = await waitServiceCall(server, serviceId, (c) => turnsOf(c.transcript).some(([r, t]) => r === 'agent' && /nine in the morning/i.test(t)));
    assert.ok(turnsOf(answered.transcript).some(([r, t]) => r === 'user' && /opening hours/i.test(t)), `the question is a user turn: ${answered.transcript}`);
    await phone.invoke('hangup');
    await phone.waitState('ready');
  });
});
