// End to end: Retell agents over Retell's custom telephony. A fake register-phone-call (packages/server/test/fakes/retell.ts,
// from Retell's API reference) checks the Bearer key and body and answers a call_id; SIPp over TCP plays sip.retellai.com,
// answering the INVITE to sip:{call_id}@... with G.711 and a pcap. A widget calls the Retell agent (and, through seed 004's
// POST /v1/calls, the agent calls a widget): the INVITE carries the call_id, audio crosses both ways, Retell's signed
// call_ended webhook lands on GET /v1/calls/{id}; a refused registration ends the call with the reason logged, never the key.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { startFakeRetell, type FakeRetell } from '../../packages/server/test/fakes/retell.js';
import { createAgent, defaultInstanceId, setVoiceChannel, v1 } from '../helpers/agents.js';
import { hasTone, isNotSilent } from '../helpers/rtp-capture.js';
import { mintToken } from '../helpers/server.js';
import { freeSipPort, startSipp, type RunningSipp, type SippResult } from '../helpers/sipp.js';
import { captureAtCarrier, startTrunkStage, trunkSuiteHooks, type TrunkStage } from '../helpers/trunks.js';

const API_KEY = 'key_retell-e2e-3b8f0a2d4c';
const AGENT_ID = 'agent_e2e0123456789';

let stage: TrunkStage;
let fake: FakeRetell;
let retellSipPort: number;
let token: string;
const sipps: RunningSipp[] = [];

/** SIPp as sip.retellai.com, over TCP on the port the server was told Retell's SIP server is at. */
async function retellSip(): Promise<RunningSipp> {
  const sipp = await startSipp({ scenario: 'uas-answer-pcap.xml', transport: 'tcp', localPort: retellSipPort, timeoutS: 40 });
  sipps.push(sipp);
  return sipp;
}

/** Retell's webhook: `x-retell-signature: v=<ms>,d=<hex HMAC-SHA256(api key, body + ms)>`. */
async function retellWebhook(payload: unknown): Promise<{ status: number; body: any }> {
  const raw = JSON.stringify(payload);
  const ts = String(Date.now());
  const res = await fetch(`${stage.server.url}/v1/webhooks/call-completed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-retell-signature': `v=${ts},d=${createHmac('sha256', API_KEY).update(raw + ts).digest('hex')}` },
    body: raw,
  });
  return { status: res.status, body: await res.json() };
}

/** The INVITE Retell's SIP server got: its Request-URI user is the registered call_id, and it came over TCP. */
function assertInviteTo(result: SippResult, callId: string): void {
  const invite = result.messages.find((m) => m.direction === 'received' && m.method === 'INVITE');
  assert.ok(invite, 'SIPp received an INVITE');
  assert.match(invite.firstLine, new RegExp(`^INVITE sip:${callId}@127\\.0\\.0\\.1:${retellSipPort}`));
  assert.match(invite.header('via')!, /SIP\/2\.0\/TCP/i, 'over TCP');
  assert.ok(result.receivedRequests.includes('BYE'), `Astral hung up with BYE: ${result.receivedRequests}`);
}

describe('Retell agents over SIP (fake register-phone-call, SIPp as sip.retellai.com)', { timeout: 180_000 }, () => {
  before(async () => {
    fake = await startFakeRetell({ apiKey: API_KEY, agentIds: [AGENT_ID] });
    retellSipPort = await freeSipPort();
    stage = await startTrunkStage({
      browsers: { a: 440 },
      env: { ASTRAL_RETELL_API_URL: fake.url, ASTRAL_RETELL_SIP_HOST: '127.0.0.1', ASTRAL_RETELL_SIP_PORT: String(retellSipPort), ASTRAL_RETELL_TIMEOUT_MS: '2000' },
    });
    const instanceId = await defaultInstanceId(stage.server);
    await setVoiceChannel(stage.server, instanceId, { provider: 'retell', api_key: API_KEY, agent_id: AGENT_ID, phone_number: '+15550100' });
    await createAgent(stage.server, instanceId, { key: 'retell', name: 'Retell agent', provider: 'retell' });
    token = await mintToken(stage.server, 'caller', { display_name: 'Caller', extension: '1001' });
  });
  trunkSuiteHooks(() => stage, sipps, () => fake?.close());

  test("a widget calls the Retell agent: registered, INVITE to sip:{call_id}@, audio both ways, the call_ended webhook's transcript on GET /v1/calls", async () => {
    fake.mode = 'ok';
    const sipp = await retellSip();
    const heardByRetell = await captureAtCarrier(sipp.mediaPort);
    const phone = await stage.phone('a', token);
    await phone.invoke('call', 'agent:retell');
    await phone.receivesRtp(50);
    const heard = await phone.heardAudio(1000);
    assert.ok(heard.rms > 0.005, `the caller hears Retell's audio: ${JSON.stringify(heard)}`);
    await new Promise((r) => setTimeout(r, 1500));
    await phone.invoke('hangup');
    const result = await sipp.done;

    const registration = fake.registered.at(-1)!;
    assert.equal(registration.agent_id, AGENT_ID, "the voice channel's agent_id");
    assert.equal(registration.direction, 'inbound');
    assert.equal(registration.from_number, '1001', "the caller's number");
    assert.equal(registration.to_number, '+15550100', "the channel's number");
    assertInviteTo(result, registration.call_id);
    const got = await heardByRetell.stop();
    assert.ok(got.packets > 50, `Retell received RTP: ${got.packets}`);
    assert.ok(isNotSilent(got.pcm) && hasTone(got.pcm, 440), "it is the widget's 440 Hz microphone");

    const serviceId = String(registration.metadata!.astral_agent_call_id);
    const during = await v1(stage.server, 'GET', `/v1/calls/${serviceId}`);
    assert.equal(during.status, 200, JSON.stringify(during.body));
    assert.equal(during.body.agent, 'retell');
    assert.equal(during.body.status, 'completed');
    const transcript = 'Agent: Hi, this is the Retell agent.\nUser: Hello!\n';
    const hook = await retellWebhook({
      event: 'call_ended',
      call: { call_type: 'phone_call', call_id: registration.call_id, agent_id: AGENT_ID, call_status: 'ended', transcript, duration_ms: 4200, disconnection_reason: 'user_hangup', metadata: registration.metadata },
    });
    assert.equal(hook.status, 200, JSON.stringify(hook.body));
    assert.deepEqual(hook.body, { ok: true, call_id: serviceId, duplicate: false });
    const stored = await v1(stage.server, 'GET', `/v1/calls/${serviceId}`);
    assert.equal(stored.body.transcript, transcript);
    assert.equal(stored.body.duration, 4);
  });

  test('POST /v1/calls with the Retell agent: the widget answers, then Retell joins with the outbound call_id', async () => {
    fake.mode = 'ok';
    const sipp = await retellSip();
    const phone = await stage.phone('a', token);
    const created = await v1(stage.server, 'POST', '/v1/calls', { phone: '1001', agent: 'retell' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await phone.waitEvent('astral-incoming');
    await phone.invoke('answer');
    await phone.receivesRtp(50);
    await phone.invoke('hangup');
    const result = await sipp.done;
    const registration = fake.registered.at(-1)!;
    assert.equal(registration.direction, 'outbound');
    assert.equal(registration.to_number, '1001');
    assert.equal(registration.metadata!.astral_agent_call_id, created.body.call_id);
    assertInviteTo(result, registration.call_id);
    const call = await v1(stage.server, 'GET', `/v1/calls/${String(created.body.call_id)}`);
    assert.equal(call.body.status, 'completed');
  });

  test('Retell refuses the registration (429): the call ends, the reason is logged, the key never is', async () => {
    fake.mode = 'rate-limited';
    const before = fake.requests;
    const phone = await stage.phone('a', token);
    await phone.invoke('call', 'agent:retell');
    const ended = await phone.waitEvent('astral-call-ended');
    assert.equal(ended.detail.disposition, 'FAILED', JSON.stringify(ended));
    assert.equal(fake.requests, before + 1);
    // The log line may still be on its way through the server's stdout.
    for (let i = 0; i < 50 && !stage.server.output().includes('could not be registered'); i++) await new Promise((r) => setTimeout(r, 100));
    const logs = stage.server.output();
    assert.match(logs, /rate-limited the registration \(429\).*retell: the call could not be registered|retell: the call could not be registered.*rate-limited/);
    assert.ok(!logs.includes(API_KEY), 'the Retell API key is in no log line');
  });
});
