// End to end: calls out to the phone network through a SIP trunk whose carrier is SIPp — digest challenge, carrier audio at
// the widget, the widget's audio at the carrier, BYE from each side, busy / no answer / cancel / failure dispositions.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import wavefile from 'wavefile';
import { hasTone, isNotSilent } from '../helpers/rtp-capture.js';
import { freePort, mintToken } from '../helpers/server.js';
import { startSipp, type RunningSipp } from '../helpers/sipp.js';
import { api, captureAtCarrier, configureTrunk, lastEndedCall, startTrunkStage, trunkStatusIs, trunkSuiteHooks, type TrunkStage } from '../helpers/trunks.js';
import { tonePower } from '../helpers/tone.js';

let stage: TrunkStage;
const tokens: Record<string, string> = {};
const sipps: RunningSipp[] = [];

const carrier = async (scenario: string, vars: Record<string, string> = {}, transport: 'udp' | 'tcp' = 'udp') => {
  const sipp = await startSipp({ scenario, vars, transport, timeoutS: 40 });
  sipps.push(sipp);
  return sipp;
};

/** A trunk to this SIPp with the credentials its challenge checks. */
const trunkTo = (sipp: RunningSipp, extra: Record<string, unknown> = {}) =>
  configureTrunk(stage.server, { name: 'carrier', host: '127.0.0.1', port: sipp.port, username: 'astral', password: 's3cret-pw', allowed_ips: ['127.0.0.1/32'], ...extra });

/** The server's JSON log lines so far. */
const serverLog = () =>
  stage.server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { msg?: string; legId?: unknown });

const clickToCall = (body: Record<string, unknown>) => api(stage.server, 'POST', '/api/v1/calls/click-to-call', body);

describe('calls out through a SIP trunk (SIPp as the carrier)', { timeout: 180_000 }, () => {
  before(async () => {
    stage = await startTrunkStage({ browsers: { a: 440 }, env: { ASTRAL_RING_TIMEOUT: '6', LOG_LEVEL: 'info' } });
    tokens.agent = await mintToken(stage.server, 'agent', { display_name: 'Agent', extension: '1001' });
  });
  trunkSuiteHooks(() => stage, sipps);

  test('click-to-call external: the 407 challenge is answered, audio crosses both ways, Astral hangs up with BYE', async () => {
    const sipp = await carrier('uas-auth407-answer-pcap.xml', { user: 'astral', pass: 's3cret-pw' });
    const trunkId = await trunkTo(sipp);
    await trunkStatusIs(stage.server, trunkId, 'reachable'); // the carrier answered our OPTIONS ping
    const heardByCarrier = await captureAtCarrier(sipp.mediaPort);
    const agent = await stage.phone('a', tokens.agent!);
    const res = await clickToCall({ from: '1001', to: '+15551234567', to_type: 'external', caller_id: '+918065978015' });
    assert.deepEqual(res, { status: 200, body: { status: 'success', message: 'Call initiated' } });
    await agent.waitEvent('astral-incoming');
    await agent.invoke('answer');
    // The carrier's pcap (speech) reaches the widget through the relay and the SFU.
    await agent.receivesRtp(50);
    const heard = await agent.heardAudio(1000);
    assert.ok(heard.rms > 0.005, `the widget hears the carrier: ${JSON.stringify(heard)}`);
    await new Promise((r) => setTimeout(r, 1500));
    await agent.invoke('hangup');
    const result = await sipp.done;
    assert.ok(result.auth.length > 0 && result.auth.every((a) => a.valid), `digest answered with the trunk password: ${JSON.stringify(result.auth)}`);
    assert.equal(result.auth[0]!.username, 'astral');
    assert.ok(result.receivedRequests.includes('BYE'), `Astral sent BYE: ${result.receivedRequests}`);
    assert.equal(result.auth[0]!.header, 'Proxy-Authorization', 'a 407 is answered with Proxy-Authorization');
    const invite = result.messages.find((m) => m.direction === 'received' && m.method === 'INVITE' && m.header('proxy-authorization'));
    assert.match(invite!.firstLine, /^INVITE sip:\+15551234567@/);
    assert.match(invite!.header('from')!, /\+918065978015/, 'caller_id is the From user');
    const got = await heardByCarrier.stop();
    assert.ok(got.packets > 50, `the carrier received RTP: ${got.packets}`);
    assert.equal(got.mainPt, 8, 'in the PCMA the carrier answered with');
    assert.ok(isNotSilent(got.pcm), 'and it is not silence');
    assert.ok(hasTone(got.pcm, 440), "it is the widget's 440 Hz microphone");
    const call = await lastEndedCall(stage.server);
    assert.equal(call.direction, 'outbound');
    assert.equal(call.from_number, '1001');
    assert.equal(call.to_number, '+15551234567');
    assert.equal(call.record.disposition, 'ANSWERED');
    assert.equal(call.record.end_reason, 'hangup');
  });

  test("a widget dials a phone number; the carrier's BYE ends the call; the recording holds the carrier's audio", async () => {
    const sipp = await carrier('uas-auth-answer-pcap-bye.xml', { user: 'astral', pass: 's3cret-pw' });
    await trunkTo(sipp);
    const agent = await stage.phone('a', tokens.agent!);
    await agent.invoke('call', '+15557654321');
    await agent.waitState('in-call', 10_000);
    await agent.invoke('setMuted', true); // from here on the recording holds only what the carrier says
    const live = (await api(stage.server, 'GET', '/api/v1/calls/live')).body as { channel_id: string }[];
    assert.ok(live.some((l) => /^SIP\/carrier-[0-9a-f]{8}$/.test(l.channel_id)), `a SIP/carrier leg is live: ${JSON.stringify(live)}`);
    const ended = await agent.waitEvent('astral-call-ended', 20_000);
    assert.equal(ended.detail.disposition, 'ANSWERED');
    const result = await sipp.done;
    assert.ok(result.sentRequests.includes('BYE'), 'the carrier hung up');
    assert.ok(result.auth.length > 0 && result.auth.every((a) => a.valid && a.header === 'Authorization'), 'the 401 was answered with Authorization');
    assert.equal(result.receivedStatuses.filter((s) => s === 200).length >= 1, true, 'Astral answered the BYE');
    const call = await lastEndedCall(stage.server);
    assert.equal(call.direction, 'outbound');
    assert.equal(call.to_number, '+15557654321');
    assert.ok(call.recording_url, 'trunk calls are recorded by default');
    const wav = await fetch(`${stage.server.url}/api/v1/calls/${call.id}/recording`, { headers: { 'x-api-key': stage.server.apiKey } });
    assert.equal(wav.status, 200);
    const file = new wavefile.WaveFile(new Uint8Array(await wav.arrayBuffer()));
    const samples = file.getSamples(false, Int16Array) as unknown as Int16Array;
    assert.ok(samples.length > 48_000 * 4, `a recording as long as the call: ${samples.length} samples`);
    // Seconds 2-4: the widget is muted, the carrier's pcap is talking.
    const window = samples.subarray(48_000 * 2, 48_000 * 4);
    const rms = Math.sqrt(window.reduce((s, v) => s + v * v, 0) / window.length);
    assert.ok(rms > 300, `the recording holds the carrier's speech: rms ${rms.toFixed(0)}`);
    assert.ok(tonePower(window, 48_000, 440) < 0.1, `and not the muted widget's tone: ${tonePower(window, 48_000, 440).toFixed(3)}`);
  });

  test("early media: the carrier's 183 audio plays to the caller before the answer", async () => {
    const sipp = await carrier('uas-early-media.xml');
    await trunkTo(sipp);
    const agent = await stage.phone('a', tokens.agent!);
    await agent.invoke('call', '+15550000004');
    await agent.waitState('ringing', 5_000);
    await agent.receivesRtp(25);
    assert.equal(await agent.state(), 'ringing', 'audio arrived while the carrier was still ringing');
    await agent.waitState('in-call', 10_000);
    await agent.invoke('hangup');
    const result = await sipp.done;
    assert.ok(result.sentStatuses.includes(183) && result.receivedRequests.includes('BYE'), `${result.sentStatuses} ${result.receivedRequests}`);
  });

  test('busy, failure, unreachable and no-answer map to BUSY, FAILED (sip_503 / unavailable) and NO ANSWER', async () => {
    const agent = await stage.phone('a', tokens.agent!);
    const cases: [string, string, string][] = [
      ['uas-busy.xml', 'BUSY', 'busy'],
      ['uas-fail-503.xml', 'FAILED', 'sip_503'],
    ];
    for (const [scenario, disposition, reason] of cases) {
      const sipp = await carrier(scenario);
      await trunkTo(sipp);
      await agent.invoke('call', '+15550000001');
      const ended = await agent.waitEvent('astral-call-ended', 10_000);
      assert.equal(ended.detail.disposition, disposition, scenario);
      assert.equal(ended.detail.reason, reason, scenario);
      const call = await lastEndedCall(stage.server);
      assert.equal(call.record.disposition, disposition);
      assert.equal(call.record.end_reason, reason);
      const logged = serverLog().find((l) => l.msg === 'sip: outbound call failed' && l.callId === call.id);
      assert.ok(logged && typeof logged.legId === 'string' && logged.legId.startsWith('sip:') && typeof logged.instanceId === 'string', `the failure's log line carries callId, legId and instanceId: ${JSON.stringify(logged)}`);
      await sipp.done;
      await agent.page.evaluate(() => ((window as unknown as { astralEvents: unknown[] }).astralEvents.length = 0));
      await agent.waitState('ready');
    }
    // A trunk nobody listens on (TCP refused): FAILED (unavailable), not a callee who let it ring.
    await configureTrunk(stage.server, { name: 'carrier', host: '127.0.0.1', port: await freePort(), transport: 'tcp', allowed_ips: ['127.0.0.1/32'] });
    await agent.invoke('call', '+15550000009');
    const unreachable = await agent.waitEvent('astral-call-ended', 10_000);
    assert.deepEqual([unreachable.detail.disposition, unreachable.detail.reason], ['FAILED', 'unavailable']);
    await agent.page.evaluate(() => ((window as unknown as { astralEvents: unknown[] }).astralEvents.length = 0));
    await agent.waitState('ready');
    // The carrier rings and never answers: the ring timeout cancels the INVITE (CANCEL → 487).
    const sipp = await carrier('uas-no-answer.xml');
    await trunkTo(sipp);
    await agent.invoke('call', '+15550000002');
    await agent.waitState('ringing', 5_000);
    const ended = await agent.waitEvent('astral-call-ended', 15_000);
    assert.equal(ended.detail.disposition, 'NO ANSWER');
    assert.equal(ended.detail.reason, 'timeout');
    const result = await sipp.done;
    assert.ok(result.receivedRequests.includes('CANCEL'), `Astral cancelled: ${result.receivedRequests}`);
  });

  test('the caller hangs up while the carrier rings: CANCEL, and the call is NO ANSWER (cancelled)', async () => {
    const sipp = await carrier('uas-no-answer.xml', {}, 'tcp');
    await trunkTo(sipp, { transport: 'tcp' });
    const agent = await stage.phone('a', tokens.agent!);
    await agent.invoke('call', '+15550000003');
    await agent.waitState('ringing', 5_000);
    await agent.invoke('hangup');
    const result = await sipp.done;
    assert.ok(result.receivedRequests.includes('CANCEL'), `CANCEL over TCP: ${result.receivedRequests}`);
    assert.equal(result.finalStatus, 487);
    const call = await lastEndedCall(stage.server);
    assert.equal(call.record.disposition, 'NO ANSWER');
    assert.equal(call.record.end_reason, 'cancelled');
  });

  test('external destinations answer clear errors without a trunk or with a bad number', async () => {
    for (const t of (await api(stage.server, 'GET', '/api/v1/trunks')).body as { id: string }[]) await api(stage.server, 'DELETE', `/api/v1/trunks/${t.id}`);
    await stage.phone('a', tokens.agent!);
    const none = await clickToCall({ from: '1001', to: '+15551234567', to_type: 'external' });
    assert.equal(none.status, 404);
    assert.match(none.body.message, /no SIP trunk/);
    const bad = await clickToCall({ from: '1001', to: 'bob', to_type: 'external' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /phone number/);
  });
});
