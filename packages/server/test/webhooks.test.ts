// Outgoing event webhooks: the /v1 API (401/403/404/422, secrets shown once), Stripe-style signatures, retries with
// backoff, failure after the last attempt, replay, call events from real calls (agent.turn and the agent on call.completed
// of a call with the built-in agent), and delivery after a server restart.
import assert from 'node:assert/strict';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { ApiKeyService } from '../src/auth/api-keys.js';
import { backoffMs } from '../src/webhooks/dispatcher.js';
import { readDatabase } from './at-rest.js';
import { ackRequest, ADMIN_KEY, api, startTestServer, widgetSocket, type TestServer } from './helpers.js';

const RETRY = { ASTRAL_WEBHOOK_RETRY_BASE_MS: '60', ASTRAL_WEBHOOK_RETRY_MAX_MS: '200' };

/** A test server on `dataDir` with fast retries and no recording; `stop()` keeps the data for a second server. */
const boot = (dataDir: string, env: Record<string, string> = {}): Promise<TestServer> => startTestServer({ ASTRAL_RECORDING: 'false', ...RETRY, ...env }, dataDir);
const newDataDir = () => mkdtempSync(join(tmpdir(), 'astral-webhooks-test-'));

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  at: number;
}

/** An integrator's endpoint: records every POST and answers what `answer` says for it (200 by default). */
class Receiver {
  readonly received: Received[] = [];
  answer: (path: string, n: number) => number = () => 200;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createHttpServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const status = this.answer(path, this.received.filter((r) => r.path === path).length + 1);
        this.received.push({ path, headers: req.headers, body, status, at: Date.now() });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async until<T>(what: string, found: () => T | undefined | false, timeoutMs = 8000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const value = found();
      if (value) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.received.map((r) => [r.path, r.status, r.body.slice(0, 80)]))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** What an integrator does with `Astral-Signature`: recompute the HMAC over `t.body` and compare in constant time. */
function verify(r: Received, secret: string, toleranceSeconds = 300): Record<string, unknown> {
  const header = String(r.headers['astral-signature']);
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=') as [string, string]));
  assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
  const expected = createHmac('sha256', secret).update(`${parts.t}.${r.body}`).digest();
  assert.ok(timingSafeEqual(expected, Buffer.from(parts.v1!, 'hex')), 'the signature verifies with the secret from the create response');
  assert.ok(Math.abs(Date.now() / 1000 - Number(parts.t)) < toleranceSeconds, 'the timestamp is current');
  assert.equal(r.headers['content-type'], 'application/json');
  const event = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(r.headers['astral-event-id'], event.id);
  assert.equal(r.headers['astral-event-type'], event.type);
  return event;
}

const sockets: Socket[] = [];
async function phone(t: TestServer, identity: string, extension: string): Promise<Socket> {
  const socket = await widgetSocket(t, identity, { extension });
  sockets.push(socket);
  return socket;
}

/** A real call: `from` dials `to`'s extension; `to` answers (unless `answer` is false); then `from` hangs up. */
async function call(t: TestServer, from: [string, string], to: [string, string], answer = true): Promise<string> {
  const caller = await phone(t, ...from);
  const callee = await phone(t, ...to);
  const { data } = await ackRequest(caller, 'call:dial', { destination: to[1] });
  const callId = data!.callId!;
  if (answer) assert.equal((await ackRequest(callee, 'call:answer', { callId })).ok, true);
  const ended = new Promise((r) => caller.once('call:ended', r));
  assert.equal((await ackRequest(caller, 'call:hangup', { callId })).ok, true);
  await ended;
  caller.disconnect();
  callee.disconnect();
  return callId;
}

const receiver = new Receiver();
let t: TestServer;
let instanceId: string;
const hooks = (p = '') => `/v1/instances/${instanceId}/webhooks${p}`;
const createHook = async (path: string, events: string[], key = ADMIN_KEY) => {
  const res = await api(t, 'POST', hooks(), { key, body: { url: receiver.url + path, events } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string; url: string; events: string[]; created_at: string };
};
const deliveries = async (id: string, query = '') => (await api(t, 'GET', hooks(`/${id}/deliveries${query}`), { key: ADMIN_KEY })).body as unknown as Record<string, unknown>[];
const removeAllHooks = async () => {
  for (const w of (await api(t, 'GET', hooks(), { key: ADMIN_KEY })).body as unknown as { id: string }[]) await api(t, 'DELETE', hooks(`/${w.id}`), { key: ADMIN_KEY });
};

before(async () => {
  await receiver.start();
  t = await boot(newDataDir(), { ASTRAL_WEBHOOK_MAX_ATTEMPTS: '3' });
  instanceId = t.server.instanceId;
});
after(async () => {
  for (const s of sockets) s.disconnect();
  await t.close();
  await receiver.close();
});

describe('webhooks API', () => {
  test('creates a webhook with a whsec_ secret shown once and stored sealed; list and get never show it; delete is 204', async () => {
    const created = await createHook('/api', ['call.completed', 'call.completed', 'agent.turn']);
    assert.match(created.id, /^\d+$/);
    assert.match(created.secret, /^whsec_[A-Za-z0-9_-]{32}$/);
    assert.deepEqual([created.url, created.events], [receiver.url + '/api', ['call.completed', 'agent.turn']]);
    assert.ok(!Number.isNaN(Date.parse(created.created_at)));

    const listed = await api(t, 'GET', hooks(), { key: ADMIN_KEY });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body, [{ id: created.id, url: created.url, events: created.events, created_at: created.created_at }]);
    const got = await api(t, 'GET', hooks(`/${created.id}`), { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, { id: created.id, url: created.url, events: created.events, created_at: created.created_at });

    const row = await readDatabase(t.dataDir, (db) => db.selectFrom('webhooks').select('secret_sealed').where('id', '=', created.id).executeTakeFirstOrThrow());
    assert.match(row.secret_sealed, /^v1\./);
    assert.ok(!row.secret_sealed.includes(created.secret.slice(6)), 'not stored in clear');

    assert.equal((await api(t, 'DELETE', hooks(`/${created.id}`), { key: ADMIN_KEY })).status, 204);
    assert.equal((await api(t, 'GET', hooks(`/${created.id}`), { key: ADMIN_KEY })).status, 404);
    assert.deepEqual((await api(t, 'DELETE', hooks(`/${created.id}`), { key: ADMIN_KEY })).body, { detail: 'Webhook not found' });
  });

  test('bad input answers 422 in the FastAPI shape', async () => {
    const post = (body: unknown, path = hooks()) => api(t, 'POST', path, { key: ADMIN_KEY, body });
    const cases: [unknown, (string | number)[], string][] = [
      [{ url: 'ftp://example.com/hook', events: ['call.completed'] }, ['body', 'url'], 'url_scheme'],
      [{ url: 'not a url', events: ['call.completed'] }, ['body', 'url'], 'url_parsing'],
      [{ url: 'https://example.com/hook', events: ['call.exploded'] }, ['body', 'events', 0], 'literal_error'],
      [{ url: 'https://example.com/hook', events: [] }, ['body', 'events'], 'too_short'],
      [{ url: 'https://example.com/hook', events: 'call.completed' }, ['body', 'events'], 'list_type'],
      [{ url: 'https://example.com/hook' }, ['body', 'events'], 'missing'],
      [{ url: 'https://example.com/hook', events: ['*'], secret: 'mine' }, ['body', 'secret'], 'extra_forbidden'],
    ];
    for (const [body, loc, type] of cases) {
      const res = await post(body);
      assert.equal(res.status, 422, JSON.stringify(body));
      const detail = res.body.detail as { loc: unknown[]; type: string; msg: string }[];
      assert.deepEqual([detail[0]!.loc, detail[0]!.type], [loc, type], JSON.stringify(res.body));
      assert.equal(typeof detail[0]!.msg, 'string');
    }
    const badInstance = await post({ url: 'https://example.com/hook', events: ['*'] }, '/v1/instances/not-a-uuid/webhooks');
    assert.deepEqual(badInstance.body, { detail: [{ loc: ['path', 'instance_id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' }] });
    assert.equal((await api(t, 'GET', hooks('/abc'), { key: ADMIN_KEY })).status, 422);
    assert.equal((await api(t, 'GET', hooks('/1/deliveries?limit=0'), { key: ADMIN_KEY })).status, 422);
    assert.deepEqual((await api(t, 'GET', hooks(), { key: ADMIN_KEY })).body, [], 'nothing was created');
  });

  test('401 without or with a bad key, 403 without admin, 404 for unknown instances and for another instance\'s webhooks', async () => {
    assert.equal((await api(t, 'GET', hooks())).status, 401);
    const bad = await api(t, 'GET', hooks(), { key: 'ak_not_a_real_key_000000000000' });
    assert.equal(bad.status, 401);
    assert.equal(typeof bad.body.detail, 'string');
    assert.equal((await api(t, 'POST', hooks(), { body: { url: 'https://x.example', events: ['*'] } })).status, 401);
    const keys = new ApiKeyService(t.server.store.apiKeys);
    const reader = (await keys.create(instanceId, 'reader', ['calls.read'])).key;
    assert.equal((await api(t, 'GET', hooks(), { key: reader })).status, 403);

    assert.deepEqual((await api(t, 'GET', `/v1/instances/${randomUUID()}/webhooks`, { key: ADMIN_KEY })).body, { detail: 'Instance not found' });

    const other = randomUUID();
    await t.server.store.db.insertInto('instances').values({ id: other, name: 'other', created_at: new Date().toISOString() }).execute();
    const otherKey = (await keys.create(other, 'other-admin', ['admin'])).key;
    const theirs = await api(t, 'POST', `/v1/instances/${other}/webhooks`, { key: otherKey, body: { url: 'https://other.example/hook', events: ['*'] } });
    assert.equal(theirs.status, 201);
    const ours = await createHook('/ours', ['call.started']);
    const theirId = theirs.body.id as string;
    // The platform admin key on our instance's path, and our key on theirs, never reach the other instance's webhook.
    assert.equal((await api(t, 'GET', hooks(`/${theirId}`), { key: ADMIN_KEY })).status, 404);
    assert.equal((await api(t, 'GET', hooks(`/${theirId}/deliveries`), { key: ADMIN_KEY })).status, 404);
    assert.equal((await api(t, 'DELETE', hooks(`/${theirId}`), { key: ADMIN_KEY })).status, 404);
    assert.equal((await api(t, 'GET', hooks(`/${ours.id}`), { key: otherKey })).status, 404, 'their key on our instance');
    assert.equal((await api(t, 'GET', `/v1/instances/${other}/webhooks/${ours.id}`, { key: otherKey })).status, 404);
    assert.deepEqual(((await api(t, 'GET', `/v1/instances/${other}/webhooks`, { key: otherKey })).body as unknown as { id: string }[]).map((w) => w.id), [theirId]);
    assert.equal((await api(t, 'GET', `/v1/instances/${other}/webhooks/${theirId}`, { key: ADMIN_KEY })).status, 200, 'the platform admin reaches it on its path');
    await removeAllHooks();
  });
});

describe('deliveries', () => {
  test('call.started, call.answered and call.completed of a real call arrive signed; a 500 is retried with backoff', async () => {
    const all = await createHook('/all', ['*']);
    const flaky = await createHook('/flaky', ['call.completed']);
    receiver.answer = (path, n) => (path === '/flaky' && n === 1 ? 500 : 200);
    const callId = await call(t, ['wh-alice', '3101'], ['wh-bob', '3102']);

    const events = await receiver.until('three events at /all', () => receiver.at('/all').length >= 3 && receiver.at('/all'));
    const bodies = events.map((r) => verify(r, all.secret));
    assert.deepEqual(bodies.map((e) => e.type), ['call.started', 'call.answered', 'call.completed']);
    for (const e of bodies) {
      assert.equal(e.instance_id, instanceId);
      assert.ok(!Number.isNaN(Date.parse(e.created_at as string)));
      assert.equal((e.data as { call_id: string }).call_id, callId);
    }
    const completed = bodies[2]!.data as Record<string, unknown>;
    assert.deepEqual(Object.keys(completed), ['call_id', 'from', 'to', 'direction', 'disposition', 'duration', 'talk_time', 'started_at', 'answered_at', 'ended_at']);
    assert.deepEqual([completed.from, completed.to, completed.direction, completed.disposition], ['3101', '3102', 'internal', 'ANSWERED']);
    assert.ok(Number.isInteger(completed.duration) && Number.isInteger(completed.talk_time));
    for (const k of ['started_at', 'answered_at', 'ended_at']) assert.ok(!Number.isNaN(Date.parse(completed[k] as string)), k);

    const [first, second] = await receiver.until('the retry at /flaky', () => receiver.at('/flaky').length >= 2 && receiver.at('/flaky'));
    assert.deepEqual([first!.status, second!.status], [500, 200]);
    assert.equal(verify(second!, flaky.secret).id, verify(first!, flaky.secret).id, 'the same event');
    assert.equal(second!.body, first!.body, 'the exact stored body');
    assert.ok(second!.at - first!.at >= 0.8 * 60 - 5, 'waited for the backoff');
    assert.throws(() => verify(first!, all.secret), 'each webhook signs with its own secret');

    const log = await deliveries(flaky.id);
    assert.equal(log.length, 1);
    assert.deepEqual([log[0]!.event_type, log[0]!.status, log[0]!.attempts, log[0]!.last_status_code, log[0]!.last_error], ['call.completed', 'delivered', 2, 200, null]);
    assert.equal(log[0]!.event_id, bodies[2]!.id);
    assert.ok(log[0]!.delivered_at);
    assert.deepEqual((await deliveries(all.id)).map((d) => d.event_type), ['call.completed', 'call.answered', 'call.started'], 'newest first');
    assert.equal((await deliveries(all.id, '?limit=1')).length, 1);
    await removeAllHooks();
  });

  test('after the last attempt a delivery is failed; replay queues the same event again', async () => {
    receiver.answer = (path) => (path === '/down' ? 500 : 200);
    const down = await createHook('/down', ['call.started']);
    const other = await createHook('/other', ['call.answered']);
    await call(t, ['wh-carol', '3103'], ['wh-dave', '3104'], false);
    await receiver.until('the third attempt', () => receiver.at('/down').length >= 3);
    let log: Record<string, unknown>[] = [];
    for (let i = 0; i < 100 && log[0]?.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      log = await deliveries(down.id);
    }
    assert.deepEqual([log[0]!.status, log[0]!.attempts, log[0]!.last_status_code, log[0]!.last_error, log[0]!.next_attempt_at], ['failed', 3, 500, 'HTTP 500', null]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.at('/down').length, 3, 'no attempt after the last');
    assert.equal(receiver.at('/other').length, 0, 'an unanswered call has no call.answered');

    receiver.answer = () => 200;
    const replay = await api(t, 'POST', hooks(`/${down.id}/deliveries/${log[0]!.id as string}/replay`), { key: ADMIN_KEY });
    assert.equal(replay.status, 202);
    assert.deepEqual([replay.body.event_id, replay.body.status, replay.body.attempts], [log[0]!.event_id, 'pending', 0]);
    assert.notEqual(replay.body.id, log[0]!.id);
    const replayed = await receiver.until('the replayed event', () => receiver.at('/down')[3]);
    assert.equal(replayed.status, 200);
    assert.equal(replayed.body, receiver.at('/down')[0]!.body, 'the same event and payload');
    assert.equal(verify(replayed, down.secret).id, log[0]!.event_id);
    const after = await deliveries(down.id);
    assert.deepEqual(after.map((d) => [d.id, d.status]), [[replay.body.id, after[0]!.status], [log[0]!.id, 'failed']]);

    assert.equal((await api(t, 'POST', hooks(`/${down.id}/deliveries/123/replay`), { key: ADMIN_KEY })).status, 404);
    assert.equal((await api(t, 'POST', hooks(`/${other.id}/deliveries/${log[0]!.id as string}/replay`), { key: ADMIN_KEY })).status, 404, "another webhook's delivery");
    assert.equal((await api(t, 'POST', hooks(`/${down.id}/deliveries/${log[0]!.id as string}/replay`))).status, 401);
    await removeAllHooks();
  });

  test("a call with the built-in agent: agent.turn per stored turn; its call.completed carries the agent, its seed 004 id and the transcript; the call history lists it", async () => {
    const hook = await createHook('/agent', ['agent.turn', 'call.completed']);
    receiver.answer = () => 200;
    const caller = await phone(t, 'wh-gina', '3107');
    const { data } = await ackRequest(caller, 'call:dial', { destination: 'agent:akylai' });
    const callId = data!.callId!;
    const greeted = await receiver.until('the greeting turn', () => receiver.at('/agent')[0], 20_000);
    const turn = verify(greeted, hook.secret);
    assert.equal(turn.type, 'agent.turn');
    const said = turn.data as Record<string, string>;
    assert.deepEqual(Object.keys(said).sort(), ['agent', 'agent_call_id', 'at', 'call_id', 'role', 'text']);
    assert.deepEqual([said.call_id, said.agent, said.role], [callId, 'akylai', 'agent']);
    assert.match(said.text!, /akylai/i);
    assert.ok(!Number.isNaN(Date.parse(said.at!)));

    const ended = new Promise((r) => caller.once('call:ended', r));
    assert.equal((await ackRequest(caller, 'call:hangup', { callId })).ok, true);
    await ended;
    const completedAt = await receiver.until('call.completed', () => receiver.at('/agent').find((r) => JSON.parse(r.body).type === 'call.completed'));
    const completed = verify(completedAt, hook.secret).data as { call_id: string; agent: { key: string; call_id: string; transcript: string } };
    assert.equal(completed.call_id, callId);
    assert.deepEqual([completed.agent.key, completed.agent.call_id], ['akylai', said.agent_call_id]);
    const turns = receiver.at('/agent').map((r) => JSON.parse(r.body) as { type: string; data: { role: string; text: string } }).filter((e) => e.type === 'agent.turn');
    assert.equal(completed.agent.transcript, turns.map((e) => `${e.data.role}: ${e.data.text}`).join('\n'), 'the transcript is the turns delivered');
    const serviceCall = await api(t, 'GET', `/v1/calls/${said.agent_call_id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(serviceCall.body.transcript, completed.agent.transcript, 'as GET /v1/calls/{call_id} shows it');
    const history = (await api(t, 'GET', `/api/v1/calls?search=${callId}`, { key: ADMIN_KEY })).body.data as { id: string; to_number: string; status: string }[];
    assert.deepEqual(history.map((c) => [c.id, c.to_number, c.status]), [[callId, 'agent:akylai', 'ANSWERED']], 'the call history lists the agent call');
    caller.disconnect();
    await removeAllHooks();
  });

  test('a pending delivery survives a restart and is delivered by the next server on the same data', async () => {
    const dataDir = newDataDir();
    let first: Awaited<ReturnType<typeof boot>> | null = await boot(dataDir, { ASTRAL_WEBHOOK_MAX_ATTEMPTS: '50' });
    let second: Awaited<ReturnType<typeof boot>> | null = null;
    try {
      const created = await api(first, 'POST', `/v1/instances/${first.server.instanceId}/webhooks`, { key: ADMIN_KEY, body: { url: `${receiver.url}/restart`, events: ['call.completed'] } });
      const { id, secret } = created.body as { id: string; secret: string };
      let serverUp = true;
      receiver.answer = (path) => (path === '/restart' && serverUp ? 500 : 200);
      const callId = await call(first, ['wh-erin', '3105'], ['wh-fred', '3106']);
      await receiver.until('a failed attempt', () => receiver.at('/restart').length >= 1);
      await first.stop();
      first = null;
      const failedAttempts = receiver.at('/restart').length;
      assert.ok(receiver.at('/restart').every((r) => r.status === 500));
      const row = await readDatabase(dataDir, (db) => db.selectFrom('webhook_deliveries').select('status').where('webhook_id', '=', id).executeTakeFirstOrThrow());
      assert.equal(row.status, 'pending', 'still queued while no server runs');

      serverUp = false;
      second = await boot(dataDir, { ASTRAL_WEBHOOK_MAX_ATTEMPTS: '50' });
      const delivered = await receiver.until('the delivery after the restart', () => receiver.at('/restart').find((r) => r.status === 200));
      const event = verify(delivered, secret);
      assert.equal(event.type, 'call.completed');
      assert.equal((event.data as { call_id: string }).call_id, callId);
      assert.equal(delivered.body, receiver.at('/restart')[0]!.body);
      const log = (await api(second, 'GET', `/v1/instances/${second.server.instanceId}/webhooks/${id}/deliveries`, { key: ADMIN_KEY })).body as unknown as Record<string, unknown>[];
      assert.deepEqual([log[0]!.status, log[0]!.attempts], ['delivered', failedAttempts + 1]);
    } finally {
      await first?.stop();
      await second?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

test('backoff doubles per attempt within ±20 % and is capped', () => {
  const config = { retryBaseMs: 1000, retryMaxMs: 10_000 };
  assert.equal(backoffMs(1, config, 0.5), 1000);
  assert.equal(backoffMs(3, config, 0.5), 4000);
  assert.equal(backoffMs(3, config, 0), 3200);
  assert.equal(backoffMs(3, config, 1), 4800);
  assert.equal(backoffMs(10, config, 0.5), 10_000);
});
