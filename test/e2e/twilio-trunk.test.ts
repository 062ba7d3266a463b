// End to end: a voice channel's Twilio credentials are all it takes to call phones. The fake Twilio REST API
// (packages/server/test/fakes/twilio.ts) gets the trunk, credential list and login Astral provisions; SIPp plays the
// trunk's termination URI (ASTRAL_TWILIO_SIP_HOST/_PORT point <name>.pstn.twilio.com at it), challenging the INVITE with
// a 407 as Twilio does and checking the digest against the password Twilio was given; seed 004's POST /v1/calls {"phone"}
// then reaches the "phone" with the Twilio number as caller id. Neither the token nor the password is in the server's log.
// The other way: with ASTRAL_PUBLIC_SIP_URI the trunk's Origination URL points at the server, and SIPp, as Twilio sending
// a call to the number from its signalling address (ASTRAL_TWILIO_SIGNALLING_IPS stands 127.0.0.1 in for Twilio's edge),
// is admitted on the `twilio` trunk without a digest and reaches the number's destination (the built-in agent).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startFakeTwilio, type FakeTwilio } from '../../packages/server/test/fakes/twilio.js';
import { defaultInstanceId, setVoiceChannel, v1, waitServiceCall } from '../helpers/agents.js';
import { api, lastEndedCall, startTrunkStage, trunkSuiteHooks, type TrunkStage } from '../helpers/trunks.js';
import type { RunningServer } from '../helpers/server.js';
import { freeSipPort, startSipp, type RunningSipp } from '../helpers/sipp.js';

const TWILIO_NUMBER = '+14155550100';
const CALLEE = '+15551230042';

let fake: FakeTwilio;
let stage: TrunkStage;
let server: RunningServer;
let carrierPort: number;
let sipPort: number;
const sipps: RunningSipp[] = [];

describe('calling phones through Twilio Elastic SIP Trunking (fake REST API, SIPp as the termination URI)', { timeout: 90_000 }, () => {
  before(async () => {
    fake = await startFakeTwilio({ numbers: [TWILIO_NUMBER] });
    carrierPort = await freeSipPort();
    sipPort = await freeSipPort();
    stage = await startTrunkStage({
      browsers: {},
      sipPort,
      env: {
        ASTRAL_PUBLIC_SIP_URI: `sip:127.0.0.1:${sipPort}`,
        ASTRAL_TWILIO_SIGNALLING_IPS: '127.0.0.1',
        ASTRAL_TWILIO_API_URL: fake.apiUrl,
        ASTRAL_TWILIO_TRUNKING_URL: fake.trunkingUrl,
        ASTRAL_TWILIO_SIP_HOST: '127.0.0.1',
        ASTRAL_TWILIO_SIP_PORT: String(carrierPort),
        ASTRAL_TWILIO_SIP_TRANSPORT: 'udp',
        LOG_LEVEL: 'debug',
      },
    });
    server = stage.server;
  });
  trunkSuiteHooks(() => stage, sipps, () => fake?.close());

  test('POST /v1/calls {"phone"} rings the phone through the trunk made from the Twilio credentials; the 407 is answered with the generated login', async () => {
    const instanceId = await defaultInstanceId(server);
    await setVoiceChannel(server, instanceId, { provider: 'pipecat', twilio_account_sid: fake.accountSid, twilio_auth_token: fake.authToken, twilio_phone_number: TWILIO_NUMBER });
    const [login] = fake.credentials;
    assert.ok(login, 'Twilio got a credential');

    const sipp = await startSipp({ scenario: 'uas-auth407-answer-pcap-bye.xml', localPort: carrierPort, transport: 'udp', vars: { user: login.username, pass: login.password }, durationMs: 2000, timeoutS: 40 });
    sipps.push(sipp);
    const res = await v1(server, 'POST', '/v1/calls', { phone: CALLEE, agent: 'akylai' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const result = await sipp.done;

    const invites = result.messages.filter((m) => m.direction === 'received' && m.method === 'INVITE');
    assert.equal(invites.length, 2, `challenged once, then authenticated: ${result.log}`);
    assert.match(invites[0]!.firstLine, new RegExp(`^INVITE sip:\\${CALLEE}@127\\.0\\.0\\.1:${carrierPort}`));
    assert.match(invites[0]!.header('from')!, new RegExp(`sip:\\${TWILIO_NUMBER}@`), 'the Twilio number is the caller id');
    assert.equal(result.auth.length, 1, result.log);
    assert.deepEqual({ header: result.auth[0]!.header, username: result.auth[0]!.username, valid: result.auth[0]!.valid }, { header: 'Proxy-Authorization', username: login.username, valid: true });
    assert.ok(result.sentStatuses.includes(200) && result.sentRequests.includes('BYE'), `answered, then the callee hung up: ${result.log}`);

    const call = await waitServiceCall(server, res.body.call_id as string);
    assert.equal(call.status, 'completed');
    assert.equal(call.phone, CALLEE);

    const log = server.output();
    assert.match(log, /twilio: Elastic SIP trunk provisioned/, 'the provisioning was logged');
    for (const secret of [fake.authToken, login.password]) assert.equal(log.includes(secret), false, 'no token or password in the log');
  });

  test("a call to the Twilio number, as Twilio sends it to the trunk's Origination URL, reaches the number's destination", async () => {
    const [origination, ...more] = fake.originationUrls;
    assert.ok(origination && more.length === 0, 'one Origination URL');
    assert.equal(origination.sip_url, `sip:127.0.0.1:${sipPort}`);
    assert.equal(origination.trunk_sid, fake.trunks.find((t) => String(t.friendly_name).startsWith('Astral '))?.sid);
    const number = await api(server, 'POST', '/api/v1/numbers', { number: TWILIO_NUMBER, destination: 'akylai', destination_type: 'ai_agent' });
    assert.equal(number.status, 201, JSON.stringify(number.body));

    const sipp = await startSipp({ scenario: 'uac-call-pcap.xml', remote: `127.0.0.1:${sipPort}`, service: TWILIO_NUMBER, vars: { from: '+15557654321' }, timeoutS: 40 });
    sipps.push(sipp);
    const result = await sipp.done;
    assert.equal(result.finalStatus, 200, `answered without a challenge: ${result.log}`);
    assert.ok(!result.receivedStatuses.includes(401) && !result.receivedStatuses.includes(407), result.log);
    const call = await lastEndedCall(server);
    assert.deepEqual([call.direction, call.from_number, call.to_number, call.record.disposition], ['inbound', '+15557654321', TWILIO_NUMBER, 'ANSWERED']);
  });
});
