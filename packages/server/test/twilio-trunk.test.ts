// A voice channel's Twilio credentials bring a trunk to Twilio Elastic SIP Trunking (sip/twilio-trunk.ts), against a fake of
// Twilio's REST API: the Twilio resources and the local `twilio` trunk appear, follow changes, disappear; re-posting is
// idempotent; a manual default stays default; refusals answer 422/503 and save nothing; no token or password shows; with
// ASTRAL_PUBLIC_SIP_URI the trunk's Origination URL points at this server, and the local trunk admits Twilio's edge.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { SecretBox, SecretPurposes } from '../src/auth/secret-box.js';
import { ADMIN_KEY, api, startTestServer, type TestServer } from './helpers.js';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import { TWILIO_SIGNALLING_IPS } from '../src/sip/twilio-rest.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SECRET_KEY = 'twilio-test-secret-key-0123456789abcdef';
const NUMBER = '+14155550100';
const OTHER_NUMBER = '+14155550199';

let t: TestServer;
let fake: FakeTwilio;
const trunkBox = new SecretBox(Buffer.from(SECRET_KEY), SecretPurposes.trunkPassword);
const voicePath = () => `/v1/instances/${t.server.instanceId}/channels/voice`;
const postVoice = (body: Record<string, unknown>) => api(t, 'POST', voicePath(), { key: ADMIN_KEY, body });
const linkTwilio = (extra: Record<string, unknown> = {}) =>
  postVoice({ twilio_account_sid: fake.accountSid, twilio_auth_token: fake.authToken, twilio_phone_number: NUMBER, ...extra });
const trunks = async () => (await api(t, 'GET', '/api/v1/trunks', { key: ADMIN_KEY })).body as unknown as Record<string, unknown>[];
const twilioTrunk = async () => (await trunks()).find((tr) => tr.name === 'twilio');
const creates = () => fake.requests.filter((r) => r.method === 'POST').length;
const name = () => `Astral ${t.server.instanceId}`;

before(async () => {
  fake = await startFakeTwilio({ numbers: [NUMBER, OTHER_NUMBER] });
  fake.pageSize = 1; // every list spans pages: the client follows them
  t = await startTestServer({ ASTRAL_SECRET_KEY: SECRET_KEY, ASTRAL_TWILIO_API_URL: fake.apiUrl, ASTRAL_TWILIO_TRUNKING_URL: `${fake.trunkingUrl}/`, ASTRAL_TWILIO_TIMEOUT_MS: '500' });
  // Another Twilio user's resources in the same account are left alone.
  fake.trunks.push({ sid: `TK${'0'.repeat(32)}`, friendly_name: 'PBX trunk', domain_name: 'pbx.pstn.twilio.com' });
});
after(async () => {
  await t.close();
  await fake.close();
});
beforeEach(async () => {
  fake.mode = 'ok';
  await api(t, 'DELETE', voicePath(), { key: ADMIN_KEY });
  for (const tr of await trunks()) await api(t, 'DELETE', `/api/v1/trunks/${String(tr.id)}`, { key: ADMIN_KEY });
});

describe('Twilio credentials on the voice channel', () => {
  test('setting all three provisions the Twilio trunk (credential list, login, number) and the local default trunk', async () => {
    const res = await linkTwilio();
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const remote = fake.trunks.find((tr) => tr.friendly_name === name());
    assert.ok(remote, 'a trunk named after the instance');
    assert.match(String(remote.domain_name), /^astral-[0-9a-f]{8}-[0-9a-f]{10}\.pstn\.twilio\.com$/);
    const list = fake.credentialLists.find((l) => l.friendly_name === name());
    assert.ok(list);
    assert.deepEqual(fake.trunkLists.get(remote.sid), [list.sid]);
    assert.deepEqual(fake.trunkNumbers.get(remote.sid), [fake.numbers.find((n) => n.phone_number === NUMBER)!.sid]);
    const [login, ...more] = fake.credentials.filter((c) => c.credential_list_sid === list.sid);
    assert.ok(login && more.length === 0);
    assert.ok(login.username.length <= 32 && login.password.length >= 12, 'within Twilio limits');

    const local = await twilioTrunk();
    assert.ok(local);
    assert.deepEqual(
      { host: local.host, port: local.port, transport: local.transport, username: local.username, caller_id: local.caller_id, default: local.default, codecs: local.codecs },
      { host: remote.domain_name, port: 5060, transport: 'udp', username: login.username, caller_id: NUMBER, default: true, codecs: ['PCMU', 'PCMA'] },
    );
    assert.equal((await t.server.store.trunks.withSecret(String(local.id), trunkBox))?.password, login.password, 'the sealed password is the one Twilio got');
    for (const body of [res.body, local]) {
      const text = JSON.stringify(body);
      assert.ok(!text.includes(fake.authToken) && !text.includes(login.password), 'neither the token nor the password is answered');
    }
  });

  test('posting again, or another credential, changes nothing at Twilio; the local trunk keeps its id and login', async () => {
    await linkTwilio();
    const first = await twilioTrunk();
    const posted = creates();
    assert.equal((await linkTwilio()).status, 200);
    assert.equal((await postVoice({ openai_api_key: 'sk-unrelated' })).status, 200);
    assert.equal(creates(), posted, 'no new Twilio resource');
    assert.equal(fake.trunks.filter((tr) => tr.friendly_name === name()).length, 1);
    assert.deepEqual(await twilioTrunk(), first);
  });

  test('a lost local trunk is re-made on the same Twilio trunk with a new login replacing the old one', async () => {
    await linkTwilio();
    const before = await twilioTrunk();
    await api(t, 'DELETE', `/api/v1/trunks/${String(before!.id)}`, { key: ADMIN_KEY });
    assert.equal((await linkTwilio()).status, 200);
    const after = await twilioTrunk();
    assert.equal(after?.host, before?.host, 'the same Twilio trunk');
    assert.notEqual(after?.username, before?.username);
    const list = fake.credentialLists.find((l) => l.friendly_name === name())!;
    assert.deepEqual(fake.credentials.filter((c) => c.credential_list_sid === list.sid).map((c) => c.username), [after?.username]);
  });

  test('a Twilio trunk deleted in the console is made again on the next POST; the local trunk follows its new domain', async () => {
    await linkTwilio();
    fake.trunks = fake.trunks.filter((tr) => tr.friendly_name !== name());
    assert.equal((await linkTwilio()).status, 200);
    const remote = fake.trunks.find((tr) => tr.friendly_name === name());
    assert.ok(remote);
    assert.equal((await twilioTrunk())?.host, remote.domain_name);
    assert.equal(fake.trunkLists.get(remote.sid)?.length, 1, 'the credential list is associated with the new trunk');
  });

  test('a new phone number becomes the caller id and replaces the old one on the Twilio trunk', async () => {
    await linkTwilio();
    assert.equal((await postVoice({ twilio_phone_number: OTHER_NUMBER })).status, 200);
    assert.equal((await twilioTrunk())?.caller_id, OTHER_NUMBER);
    const remote = fake.trunks.find((tr) => tr.friendly_name === name())!;
    assert.deepEqual(fake.trunkNumbers.get(remote.sid), [fake.numbers.find((n) => n.phone_number === OTHER_NUMBER)!.sid]);
  });

  test('a manual default trunk stays the default; the Twilio trunk is one more', async () => {
    const manual = await api(t, 'POST', '/api/v1/trunks', { key: ADMIN_KEY, body: { name: 'carrier', host: 'sip.carrier.example', username: 'u', password: 'p' } });
    assert.equal(manual.status, 201, JSON.stringify(manual.body));
    await linkTwilio();
    assert.equal((await trunks()).find((tr) => tr.default === true)?.name, 'carrier');
    assert.equal((await twilioTrunk())?.default, false);
  });

  test('clearing a credential removes the local trunk and deletes the Twilio trunk and credential list', async () => {
    await linkTwilio();
    assert.equal((await postVoice({ twilio_auth_token: '' })).status, 200);
    assert.equal(await twilioTrunk(), undefined);
    assert.equal(fake.trunks.some((tr) => tr.friendly_name === name()), false);
    assert.equal(fake.credentialLists.some((l) => l.friendly_name === name()), false);
    assert.ok(fake.trunks.some((tr) => tr.friendly_name === 'PBX trunk'), 'other trunks of the account stay');
  });

  test('deleting the voice channel removes them too', async () => {
    await linkTwilio();
    assert.equal((await api(t, 'DELETE', voicePath(), { key: ADMIN_KEY })).status, 204);
    assert.equal(await twilioTrunk(), undefined);
    assert.equal(fake.trunks.some((tr) => tr.friendly_name === name()), false);
  });

  test('a wrong token or a number not in the account is 422 naming the field; nothing is saved', async () => {
    const wrong = await linkTwilio({ twilio_auth_token: 'not-the-token-0000' });
    assert.equal(wrong.status, 422);
    assert.match(JSON.stringify(wrong.body), /twilio_auth_token: Twilio refused the Account SID and Auth Token \(401, error 20003\)/);
    const unknown = await linkTwilio({ twilio_phone_number: '+14155550000' });
    assert.equal(unknown.status, 422);
    assert.match(JSON.stringify(unknown.body), /twilio_phone_number: \+14155550000 is not a phone number of this Twilio account/);
    assert.equal(await twilioTrunk(), undefined);
    const status = await api(t, 'GET', voicePath(), { key: ADMIN_KEY });
    assert.equal(status.body.status, 'not_configured', 'no channel was saved');
  });

  test('429, a 500 or no answer from Twilio is 503 saying to retry; nothing is saved', async () => {
    for (const mode of ['rate-limited', 'server-error', 'hang'] as const) {
      fake.mode = mode;
      const res = await linkTwilio();
      assert.equal(res.status, 503, mode);
      const detail = String(res.body.detail);
      assert.match(detail, mode === 'hang' ? /did not answer within 500 ms/ : mode === 'rate-limited' ? /429 \(error 20429\)/ : /500/);
      assert.match(detail, /nothing was saved, POST again/);
      assert.ok(!detail.includes(fake.authToken));
    }
    fake.mode = 'ok';
    assert.equal(await twilioTrunk(), undefined);
    assert.equal((await linkTwilio()).status, 200, 'a retry succeeds');
  });

  test('without ASTRAL_PUBLIC_SIP_URI no Origination URL is made; the local trunk admits the signalling addresses of every edge', async () => {
    await linkTwilio();
    assert.deepEqual(fake.originationUrls, []);
    assert.deepEqual((await twilioTrunk())?.allowed_ips, Object.values(TWILIO_SIGNALLING_IPS).flat());
  });

  test('a manual trunk already named twilio is not taken over: 409', async () => {
    await api(t, 'POST', '/api/v1/trunks', { key: ADMIN_KEY, body: { name: 'twilio', host: 'sip.example.net' } });
    const res = await linkTwilio();
    assert.equal(res.status, 409);
    assert.match(String(res.body.detail), /rename it/);
    assert.equal((await twilioTrunk())?.host, 'sip.example.net');
  });
});

describe('Twilio origination with ASTRAL_PUBLIC_SIP_URI and ASTRAL_TWILIO_EDGE', () => {
  let server: TestServer;
  let twilio: FakeTwilio;
  const voice = () => `/v1/instances/${server.server.instanceId}/channels/voice`;
  const link = () => api(server, 'POST', voice(), { key: ADMIN_KEY, body: { twilio_account_sid: twilio.accountSid, twilio_auth_token: twilio.authToken, twilio_phone_number: NUMBER } });
  const ours = () => twilio.originationUrls.filter((u) => u.friendly_name === `Astral ${server.server.instanceId}`);
  before(async () => {
    twilio = await startFakeTwilio({ numbers: [NUMBER] });
    server = await startTestServer({ ASTRAL_SECRET_KEY: SECRET_KEY, ASTRAL_TWILIO_API_URL: twilio.apiUrl, ASTRAL_TWILIO_TRUNKING_URL: twilio.trunkingUrl, ASTRAL_PUBLIC_SIP_URI: 'sip:pbx.example.com:5080', ASTRAL_TWILIO_EDGE: 'dublin' });
  });
  after(async () => {
    await server.close();
    await twilio.close();
  });

  test('the trunk gets one Origination URL to this server on the edge; posting again adds none; an admin\'s URL stays, a stale one of ours goes', async () => {
    assert.equal((await link()).status, 200);
    const remote = twilio.trunks.find((tr) => tr.friendly_name === `Astral ${server.server.instanceId}`)!;
    assert.equal(ours().length, 1);
    assert.deepEqual(
      { trunk: ours()[0]!.trunk_sid, sip_url: ours()[0]!.sip_url, priority: ours()[0]!.priority, weight: ours()[0]!.weight, enabled: ours()[0]!.enabled },
      { trunk: remote.sid, sip_url: 'sip:pbx.example.com:5080;edge=dublin', priority: 10, weight: 10, enabled: true },
    );
    const local = (await api(server, 'GET', '/api/v1/trunks', { key: ADMIN_KEY })).body as unknown as Record<string, unknown>[];
    assert.deepEqual(local.find((tr) => tr.name === 'twilio')?.allowed_ips, ['54.171.127.192/30'], "Dublin's signalling addresses");

    const admin = { sid: `OU${'1'.repeat(32)}`, trunk_sid: remote.sid, friendly_name: 'backup PBX', sip_url: 'sip:backup.example.com', priority: 20, weight: 10, enabled: true };
    const stale = { ...admin, sid: `OU${'2'.repeat(32)}`, friendly_name: `Astral ${server.server.instanceId}`, sip_url: 'sip:old.example.com' };
    twilio.originationUrls.push(admin, stale);
    const creates = twilio.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/OriginationUrls')).length;
    assert.equal((await link()).status, 200);
    assert.equal(twilio.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/OriginationUrls')).length, creates, 'no second URL');
    assert.deepEqual(ours().map((u) => u.sip_url), ['sip:pbx.example.com:5080;edge=dublin']);
    assert.ok(twilio.originationUrls.includes(admin), "the admin's URL stays");
  });
});

test('config: ASTRAL_PUBLIC_SIP_URI without a user part, ASTRAL_TWILIO_EDGE of the documented edges, ASTRAL_TWILIO_SIGNALLING_IPS as CIDRs', () => {
  const env = { ASTRAL_DATA_DIR: join(mkdtempSync(join(tmpdir(), 'astral-twilio-config-')), 'data') };
  assert.deepEqual(loadConfig(env).twilio.origination, { sipUrl: null, signallingIps: Object.values(TWILIO_SIGNALLING_IPS).flat() });
  assert.deepEqual(loadConfig({ ...env, ASTRAL_PUBLIC_SIP_URI: 'sip:203.0.113.7;transport=tcp', ASTRAL_TWILIO_EDGE: 'sydney' }).twilio.origination, { sipUrl: 'sip:203.0.113.7;transport=tcp;edge=sydney', signallingIps: ['54.252.254.64/30'] });
  assert.deepEqual(loadConfig({ ...env, ASTRAL_TWILIO_SIGNALLING_IPS: '10.0.0.0/8, 192.0.2.1' }).twilio.origination.signallingIps, ['10.0.0.0/8', '192.0.2.1']);
  for (const bad of [{ ASTRAL_PUBLIC_SIP_URI: 'sip:+1415@pbx.example.com' }, { ASTRAL_PUBLIC_SIP_URI: 'http://pbx.example.com' }, { ASTRAL_TWILIO_EDGE: 'mars' }, { ASTRAL_TWILIO_SIGNALLING_IPS: '10.0.0.0/40' }]) {
    assert.throws(() => loadConfig({ ...env, ...bad }), ConfigError, JSON.stringify(bad));
  }
});
