// Concurrent creates of one unique name (trunks, numbers, agents, queues, the default trunk, a voice channel): one wins, the others 409, never a 500.
//
// On PostgreSQL (ASTRAL_TEST_DIALECT=postgres, scripts/test.sh `server-postgres`) the requests' transactions really
// overlap, so both pass a store's "check, then insert" and the database's unique constraint decides; on SQLite they
// run one after another. Either way the answers must be the same.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_KEY, api, startTestServer, type TestServer } from './helpers.js';

const SECRET_KEY = 'concurrent-test-secret-key-0123456789ab';
const PARALLEL = 8;

let t: TestServer;
before(async () => (t = await startTestServer({ ASTRAL_SECRET_KEY: SECRET_KEY })));
after(() => t.close());

const all = (n: number, request: (i: number) => ReturnType<typeof api>) => Promise.all(Array.from({ length: n }, (_, i) => request(i)));
const statuses = (results: Awaited<ReturnType<typeof api>>[]) => results.map((r) => r.status).sort();

/** One 201, the rest 409 with the route family's error body: `{code: 'conflict', message}` or FastAPI's `{detail}`. */
function assertOneWinner(results: Awaited<ReturnType<typeof api>>[], family: 'astral' | 'fastapi' = 'astral'): void {
  assert.deepEqual(statuses(results), [201, ...Array<number>(results.length - 1).fill(409)], JSON.stringify(results.map((r) => r.body)));
  for (const r of results.filter((x) => x.status === 409)) {
    if (family === 'astral') assert.deepEqual([r.body.code, typeof r.body.message], ['conflict', 'string']);
    else assert.equal(typeof r.body.detail, 'string');
  }
}

/** A new instance and its admin key (an instance with no trunk yet). */
async function newInstance(name: string): Promise<{ id: string; key: string }> {
  const created = await api(t, 'POST', '/api/v1/instances', { key: ADMIN_KEY, body: { name } });
  const key = await api(t, 'POST', `/api/v1/instances/${String(created.body.id)}/keys`, { key: ADMIN_KEY, body: { name: `${name}-admin`, permissions: ['admin'] } });
  return { id: String(created.body.id), key: String(key.body.key) };
}

describe('concurrent creates of the same unique key', () => {
  test('trunks named alike: one 201, the rest 409', async () => {
    const results = await all(PARALLEL, () => api(t, 'POST', '/api/v1/trunks', { key: ADMIN_KEY, body: { name: 'same-trunk', host: 'sip.carrier.example' } }));
    assertOneWinner(results);
    assert.equal((await t.server.store.trunks.list(t.server.instanceId)).filter((x) => x.name === 'same-trunk').length, 1);
  });

  test("an instance's first trunks created at once: all 201, exactly one of them the default", async () => {
    const { id, key } = await newInstance('first-trunks');
    const results = await all(PARALLEL, (i) => api(t, 'POST', '/api/v1/trunks', { key, body: { name: `first-${i}`, host: 'sip.carrier.example' } }));
    assert.deepEqual(statuses(results), Array<number>(PARALLEL).fill(201), JSON.stringify(results.map((r) => r.body)));
    const trunks = await t.server.store.trunks.list(id);
    assert.equal(trunks.length, PARALLEL);
    assert.equal(trunks.filter((x) => x.isDefault).length, 1);
  });

  test('renames of two trunks to one name: one 200, the other 409', async () => {
    const { key } = await newInstance('renames');
    const ids: string[] = [];
    for (const name of ['rename-a', 'rename-b']) ids.push(String((await api(t, 'POST', '/api/v1/trunks', { key, body: { name, host: 'sip.carrier.example' } })).body.id));
    const results = await Promise.all(ids.map((id) => api(t, 'PATCH', `/api/v1/trunks/${id}`, { key, body: { name: 'renamed' } })));
    assert.deepEqual(statuses(results), [200, 409], JSON.stringify(results.map((r) => r.body)));
  });

  test('numbers alike (with and without +): one 201, the rest 409', async () => {
    const results = await all(PARALLEL, (i) =>
      api(t, 'POST', '/api/v1/numbers', { key: ADMIN_KEY, body: { number: i % 2 ? '+15550002222' : '15550002222', destination: '1001', destination_type: 'extension' } }),
    );
    assertOneWinner(results);
  });

  test('agents with one key: one 201, the rest 409', async () => {
    const results = await all(PARALLEL, () =>
      api(t, 'POST', `/v1/instances/${t.server.instanceId}/agents`, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: { key: 'same-agent', name: 'Same', provider: 'local' } }),
    );
    assertOneWinner(results, 'fastapi');
  });

  test('queues on one number: one 201, the rest 409', async () => {
    const results = await all(PARALLEL, (i) => api(t, 'POST', '/api/v1/queues', { key: ADMIN_KEY, body: { number: '7001', name: `queue-${i}`, strategy: 'ring-all', members: ['1001'] } }));
    assertOneWinner(results);
  });

  test("an instance's first voice channel set-ups at once: every one 200, one channel", async () => {
    const { id, key } = await newInstance('voice-setups');
    const results = await all(PARALLEL, (i) =>
      api(t, 'POST', `/v1/instances/${id}/channels/voice`, { headers: { authorization: `Bearer ${key}` }, body: { agent_id: `agent-${i}` } }),
    );
    assert.deepEqual(statuses(results), Array<number>(PARALLEL).fill(200), JSON.stringify(results.map((r) => r.body)));
    assert.ok((await t.server.store.voiceChannels.get(id))?.enabled);
  });
});
