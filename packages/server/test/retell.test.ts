// Retell's register-phone-call client (agents/retell.ts) against a fake written from Retell's API reference: the request
// it sends (Bearer key, body) and the documented answer; 401, 404, 429, 5xx and no answer give reasons without the key.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { registerPhoneCall, RetellRegisterError, RETELL_DEFAULTS, type RegisterPhoneCall, type RetellSettings } from '../src/agents/retell.js';
import { startFakeRetell, type FakeRetell } from './fakes/retell.js';

const API_KEY = 'key_retell-unit-test-5c1d9e';
const AGENT_ID = 'agent_0123456789abcdef';
let fake: FakeRetell;
let settings: RetellSettings;

const body = (agent_id = AGENT_ID): RegisterPhoneCall => ({
  agent_id,
  from_number: '+14155550123',
  to_number: '+15550100',
  direction: 'inbound',
  metadata: { astral_call_id: '42' },
  retell_llm_dynamic_variables: { caller_number: '+14155550123' },
});

async function refusal(promise: Promise<unknown>): Promise<RetellRegisterError> {
  const err = await promise.then(
    () => assert.fail('register-phone-call should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RetellRegisterError, String(err));
  assert.ok(!err.message.includes(API_KEY), `the key is not in the reason: ${err.message}`);
  return err;
}

describe('Retell register-phone-call', () => {
  before(async () => {
    fake = await startFakeRetell({ apiKey: API_KEY, agentIds: [AGENT_ID] });
    settings = { ...RETELL_DEFAULTS, apiUrl: fake.url, timeoutMs: 500 };
  });
  after(() => fake.close());

  test('sends the Bearer key and the body; resolves to the call_id Retell answered', async () => {
    fake.mode = 'ok';
    const callId = await registerPhoneCall(settings, API_KEY, body());
    const seen = fake.registered.at(-1)!;
    assert.equal(seen.call_id, callId);
    assert.deepEqual({ ...seen, call_id: undefined }, { ...body(), call_id: undefined });
  });

  test('401 (wrong key), 404 (unknown agent), 429, 500 and no answer each give their reason', async () => {
    fake.mode = 'ok';
    assert.equal((await refusal(registerPhoneCall(settings, 'key_wrong', body()))).status, 401);
    const unknown = await refusal(registerPhoneCall(settings, API_KEY, body('agent_unknown')));
    assert.equal(unknown.status, 404);
    assert.match(unknown.message, /agent_id/);
    fake.mode = 'rate-limited';
    assert.match((await refusal(registerPhoneCall(settings, API_KEY, body()))).message, /rate-limited.*429/);
    fake.mode = 'server-error';
    assert.equal((await refusal(registerPhoneCall(settings, API_KEY, body()))).status, 500);
    fake.mode = 'hang';
    const timedOut = await refusal(registerPhoneCall(settings, API_KEY, body()));
    assert.equal(timedOut.status, null);
    assert.match(timedOut.message, /did not answer within 500 ms/);
  });
});
