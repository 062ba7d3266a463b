// End to end: calls in from the phone network — SIPp dials a number of a trunk; it rings an extension (audio and RFC 4733
// DTMF both ways) or an IVR (G.711 prompt, DTMF routing); busy, no answer, cancel, unknown numbers, strangers and garbage.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { hasTone, isNotSilent } from '../helpers/rtp-capture.js';
import { mintToken } from '../helpers/server.js';
import { startSipp, type RunningSipp, type SippOptions } from '../helpers/sipp.js';
import { toneFile } from '../helpers/tone.js';
import { api, captureAtCarrier, configureTrunk, lastEndedCall, startTrunkStage, trunkSuiteHooks, type TrunkStage } from '../helpers/trunks.js';

const PROMPT_HZ = 600;
let stage: TrunkStage;
const tokens: Record<string, string> = {};
const sipps: RunningSipp[] = [];

const dialIn = async (number: string, opts: Partial<SippOptions> = {}) => {
  const sipp = await startSipp({ scenario: 'uac-call-pcap.xml', remote: `127.0.0.1:${stage.sipPort}`, service: number, vars: { from: '+14155550123' }, timeoutS: 40, ...opts });
  sipps.push(sipp);
  return sipp;
};

describe('calls in from a SIP trunk (SIPp as the carrier)', { timeout: 240_000 }, () => {
  before(async () => {
    stage = await startTrunkStage({ browsers: { a: 440, b: 1000 }, env: { ASTRAL_RING_TIMEOUT: '5' } });
    tokens.agent = await mintToken(stage.server, 'agent', { display_name: 'Agent', extension: '1001' });
    tokens.sales = await mintToken(stage.server, 'sales', { display_name: 'Sales', extension: '1002' });
    const prompt = readFileSync(toneFile(join(tmpdir(), 'astral-fixtures'), PROMPT_HZ, 2)).toString('base64');
    assert.equal((await api(stage.server, 'POST', '/api/v1/queues', { number: '5001', name: 'Sales', strategy: 'ring-all', members: ['1002'] })).status, 201);
    assert.equal((await api(stage.server, 'POST', '/api/v1/ivr', { number: '6001', name: 'Main menu', prompt_wav: prompt, options: { '1': '1002' } })).status, 201);
    // The carrier sends from 127.0.0.1 only (no digest for this trunk: allowed_ips is the rule).
    await configureTrunk(stage.server, { name: 'carrier', host: '127.0.0.1', port: 5999, allowed_ips: ['127.0.0.1/32'] }, [
      { number: '+15550001', destination: '1001', destination_type: 'extension' },
      { number: '15550006', destination: '6001', destination_type: 'ivr' },
    ]);
  });
  trunkSuiteHooks(() => stage, sipps);

  test('a number routed to an extension: the widget rings, answers, audio and DTMF cross both ways', async () => {
    const agent = await stage.phone('a', tokens.agent!);
    // Garbage first: random bytes, a truncated and an oversized message, a burst of INVITEs — then a real call.
    await sprayGarbage(stage.sipPort);
    const sipp = await dialIn('15550001', { dtmf: '3', dtmfAtMs: 2500, durationMs: 7000 });
    const heardByCarrier = await captureAtCarrier(sipp.mediaPort);
    const incoming = await agent.waitEvent('astral-incoming', 10_000);
    assert.equal((incoming.detail.from as { identity: string }).identity, '+14155550123', 'the caller id is the From user');
    await agent.invoke('answer');
    await agent.waitState('in-call');
    const heard = await agent.heardAudio(1000);
    assert.ok(heard.rms > 0.005, `the widget hears the carrier: ${JSON.stringify(heard)}`);
    const dtmf = await agent.waitEvent('astral-dtmf', 8_000);
    assert.equal(dtmf.detail.digits, '3', 'RFC 4733 from the carrier reaches the widget');
    await agent.invoke('sendDtmf', '5');
    const result = await sipp.done;
    assert.equal(result.finalStatus, 200, result.log);
    assert.ok(result.receivedStatuses.includes(180), 'the carrier heard ringing');
    const got = await heardByCarrier.stop();
    assert.ok(got.packets > 50 && isNotSilent(got.pcm), `the carrier received audio: ${got.packets} packets`);
    assert.ok(hasTone(got.pcm, 440), "it is the widget's 440 Hz microphone");
    assert.ok(got.digits.includes('5'), `the widget's key press reached the carrier as RFC 4733: "${got.digits}"`);
    await agent.waitState('ready', 5_000);
    const call = await lastEndedCall(stage.server);
    assert.equal(call.direction, 'inbound');
    assert.equal(call.from_number, '+14155550123');
    assert.equal(call.to_number, '+15550001');
    assert.equal(call.record.disposition, 'ANSWERED');
    const stats = (await api(stage.server, 'GET', '/api/v1/calls/stats')).body as { inbound: number };
    assert.ok(stats.inbound >= 1, 'stats count the inbound call');
    assert.match(stage.server.output(), /sip: .*(malformed|garbage|drop|unparsable|rate)/i, 'the garbage was logged');
  });

  test('a number routed to an IVR: the caller hears the G.711 prompt and a DTMF digit routes it to an extension', async () => {
    const sales = await stage.phone('b', tokens.sales!);
    const sipp = await dialIn('+15550006', { dtmf: '1', dtmfAtMs: 2500, durationMs: 9000 });
    const heardByCarrier = await captureAtCarrier(sipp.mediaPort);
    await sales.waitEvent('astral-incoming', 10_000);
    await sales.invoke('answer');
    await sales.waitState('in-call');
    const heard = await sales.heardAudio(1000);
    assert.ok(heard.rms > 0.005, `sales hears the caller: ${JSON.stringify(heard)}`);
    const result = await sipp.done;
    assert.equal(result.finalStatus, 200, result.log);
    const got = await heardByCarrier.stop();
    assert.ok(hasTone(got.pcm.subarray(0, 8000 * 2), PROMPT_HZ), 'the caller heard the prompt first');
    assert.ok(hasTone(got.pcm.subarray(got.pcm.length - 8000 * 3), 1000), 'then the sales widget');
    const call = await lastEndedCall(stage.server);
    const journey = (await api(stage.server, 'GET', `/api/v1/calls/${call.id}/journey`)).body as { steps: { action: string; status: string }[] };
    const actions = journey.steps.map((s) => `${s.action}:${s.status}`);
    assert.ok(actions.includes('IVR:choice 1') && actions.includes('DTMF:1'), actions.join(', '));
  });

  test('a trunk caller is held, transferred blind to a queue, and hung up by an operator (BYE to the carrier)', async () => {
    const [agent, sales] = [await stage.phone('a', tokens.agent!), await stage.phone('b', tokens.sales!)];
    const sipp = await dialIn('15550001', { scenario: 'uac-call-pcap-wait-bye.xml' });
    const heardByCarrier = await captureAtCarrier(sipp.mediaPort);
    await agent.waitState('incoming', 10_000);
    await agent.invoke('answer');
    await agent.waitState('in-call');
    assert.ok((await agent.heardAudio(800)).rms > 0.005, 'the agent hears the caller');
    await agent.invoke('setHeld', true);
    await new Promise((r) => setTimeout(r, 500));
    await agent.invoke('setHeld', false);
    await agent.invoke('transfer', '5001', 'blind');
    const rung = await sales.waitEvent('astral-incoming', 10_000);
    assert.equal((rung.detail.from as { identity: string }).identity, '+14155550123', 'the target sees the trunk caller');
    await sales.invoke('answer');
    await sales.waitState('in-call');
    await agent.waitState('ready');
    const heard = await sales.heardAudio(1000);
    assert.ok(heard.rms > 0.005, `the target hears the carrier: ${JSON.stringify(heard)}`);
    await new Promise((r) => setTimeout(r, 1500));
    const live = (await api(stage.server, 'GET', '/api/v1/calls/live')).body as { channel_id: string; status: string }[];
    const trunkLeg = live.find((l) => l.channel_id.startsWith('SIP/carrier-'));
    assert.ok(trunkLeg && trunkLeg.status === 'answered', JSON.stringify(live));
    const hungUp = await api(stage.server, 'POST', '/api/v1/calls/hangup-channel', { channel_id: trunkLeg.channel_id });
    assert.equal(hungUp.status, 200);
    const result = await sipp.done;
    assert.ok(result.receivedRequests.includes('BYE'), `the carrier got BYE: ${result.receivedRequests}`);
    await sales.waitState('ready');
    const got = await heardByCarrier.stop();
    assert.ok(hasTone(got.pcm.subarray(got.pcm.length - 8000), 1000), 'after the transfer the carrier hears the target (1000 Hz)');
    const call = await lastEndedCall(stage.server);
    const journey = (await api(stage.server, 'GET', `/api/v1/calls/${call.id}/journey`)).body as { steps: { action: string }[] };
    const actions = journey.steps.map((s) => s.action);
    for (const a of ['Hold', 'Resume', 'Transfer', 'Queue']) assert.ok(actions.includes(a), actions.join(', '));
  });

  test('attended transfer of a trunk caller: the agent consults another extension, then completes', async () => {
    const [agent, sales] = [await stage.phone('a', tokens.agent!), await stage.phone('b', tokens.sales!)];
    const sipp = await dialIn('15550001', { scenario: 'uac-call-pcap-wait-bye.xml' });
    await agent.waitState('incoming', 10_000);
    await agent.invoke('answer');
    await agent.waitState('in-call');
    await agent.invoke('transfer', '1002', 'attended');
    await sales.waitState('incoming', 10_000);
    await sales.invoke('answer');
    await agent.expectTone(1000); // consulting: the agent talks to sales while the caller waits on hold
    await agent.invoke('completeTransfer');
    await agent.waitState('ready');
    assert.ok((await sales.heardAudio(1000)).rms > 0.005, 'sales now hears the trunk caller');
    await sales.invoke('hangup');
    const result = await sipp.done;
    assert.ok(result.receivedRequests.includes('BYE'), 'the carrier got BYE when sales hung up');
  });

  test('the carrier holds and resumes with re-INVITEs: the widget is told, and audio returns', async () => {
    const agent = await stage.phone('a', tokens.agent!);
    const sipp = await dialIn('15550001', { scenario: 'uac-call-hold.xml' });
    await agent.waitState('incoming', 10_000);
    await agent.invoke('answer');
    const remoteHeld = (held: boolean) =>
      agent.page.waitForFunction((h) => (document.getElementById('phone') as unknown as { client: { activeCall?: { remoteHeld?: boolean } } }).client.activeCall?.remoteHeld === h, held, { timeout: 6_000 });
    await remoteHeld(true);
    await new Promise((r) => setTimeout(r, 200));
    const heldAt = (await agent.stats()).packetsReceived!;
    await new Promise((r) => setTimeout(r, 700));
    const heldLater = (await agent.stats()).packetsReceived!;
    assert.ok(heldLater - heldAt <= 3, `no audio reaches the widget while held: ${heldAt} → ${heldLater}`);
    await remoteHeld(false);
    await new Promise((r) => setTimeout(r, 700));
    assert.ok((await agent.stats()).packetsReceived! - heldLater > 15, 'audio flows again after the resume');
    const result = await sipp.done;
    const answers = result.messages.filter((m) => m.direction === 'received' && m.status === 200 && m.cseq.method === 'INVITE');
    assert.ok(answers.some((m) => /a=recvonly/.test(m.body)), 'hold is answered recvonly');
    assert.match(answers[answers.length - 1]!.body, /a=sendrecv/, 'resume is answered sendrecv');
    await agent.waitState('ready', 5_000);
    const call = await lastEndedCall(stage.server);
    const journey = (await api(stage.server, 'GET', `/api/v1/calls/${call.id}/journey`)).body as { steps: { action: string }[] };
    const actions = journey.steps.map((s) => s.action);
    assert.ok(actions.includes('Hold') && actions.includes('Resume'), actions.join(', '));
  });

  test('busy, no answer, caller cancel and unknown numbers get 486, 480, 487 and 404', async () => {
    const agent = await stage.phone('a', tokens.agent!);
    // The extension declines: 486.
    let sipp = await dialIn('15550001');
    await agent.waitState('incoming', 10_000);
    await agent.invoke('decline');
    assert.equal((await sipp.done).finalStatus, 486);
    assert.equal((await lastEndedCall(stage.server)).record.disposition, 'BUSY');
    await agent.waitState('ready');
    // Nobody answers within ASTRAL_RING_TIMEOUT: 480.
    sipp = await dialIn('15550001');
    await agent.waitState('incoming', 10_000);
    assert.equal((await sipp.done).finalStatus, 480);
    const timedOut = await lastEndedCall(stage.server);
    assert.deepEqual([timedOut.record.disposition, timedOut.record.end_reason], ['NO ANSWER', 'timeout']);
    await agent.waitState('ready');
    // The caller gives up while it rings: CANCEL → 487, NO ANSWER (cancelled).
    sipp = await dialIn('15550001', { scenario: 'uac-cancel.xml' });
    assert.equal((await sipp.done).finalStatus, 487);
    const cancelled = await lastEndedCall(stage.server);
    assert.deepEqual([cancelled.record.disposition, cancelled.record.end_reason], ['NO ANSWER', 'cancelled']);
    await agent.waitState('ready');
    // A number nobody serves: 404, and no call.
    const before = (await api(stage.server, 'GET', '/api/v1/calls/count')).body.count as number;
    sipp = await dialIn('19999999');
    assert.equal((await sipp.done).finalStatus, 404);
    assert.equal((await api(stage.server, 'GET', '/api/v1/calls/count')).body.count, before);
  });

  test('an INVITE from an address of no trunk gets 403 and makes no call', async () => {
    const before = (await api(stage.server, 'GET', '/api/v1/calls/count')).body.count as number;
    const sipp = await dialIn('15550001', { args: ['-i', '127.0.0.2'] });
    assert.equal((await sipp.done).finalStatus, 403);
    assert.equal((await api(stage.server, 'GET', '/api/v1/calls/count')).body.count, before);
  });
});

/** What a hostile network sends a SIP port: noise, a torn message, a huge one over UDP and TCP, a burst of INVITEs. */
async function sprayGarbage(port: number): Promise<void> {
  const udp = createSocket('udp4');
  const send = (b: Buffer) => new Promise<void>((r) => udp.send(b, port, '127.0.0.1', () => r()));
  for (let i = 0; i < 50; i++) await send(Buffer.from(Array.from({ length: 200 }, () => Math.floor(Math.random() * 256))));
  await send(Buffer.from('INVITE sip:1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK1\r\nCall-ID: torn'));
  await send(Buffer.alloc(60_000, 'A'));
  for (let i = 0; i < 300; i++) {
    await send(
      Buffer.from(
        `INVITE sip:15550001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKflood${i}\r\nFrom: <sip:x@127.0.0.1>;tag=${i}\r\n` +
          `To: <sip:15550001@127.0.0.1>\r\nCall-ID: flood-${i}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
      ),
    );
  }
  udp.close();
  await new Promise<void>((resolve) => {
    const tcp = connect(port, '127.0.0.1', () => {
      tcp.write(Buffer.concat([Buffer.from('OPTIONS sip:x SIP/2.0\r\nContent-Length: 99999999\r\n\r\n'), Buffer.alloc(200_000, 0xff)]));
      setTimeout(() => tcp.destroy(), 300);
    });
    tcp.on('error', () => undefined);
    tcp.on('close', () => resolve());
  });
  await new Promise((r) => setTimeout(r, 1500)); // the flood's rate limit refills before the real call
}
