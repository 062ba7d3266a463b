// REST contract of GET /api/v1/calls, /calls/count and /calls/stats (seed 001): filters, paging, dates, search, stats, errors; on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ApiKeyService } from '../src/auth/api-keys.js';
import { CallHistoryStore, type ImportedCall } from '../src/store/call-history.js';
import { historyIndexesOf } from '../src/store/dialect.js';
import { ADMIN_KEY, api, createKey, startTestServer, type TestServer } from './helpers.js';
import { databaseEnv, DIALECTS, type TestDialect } from './postgres.js';

const DAY = 86_400_000;
const today = new Date().toISOString().slice(0, 10);
const dayAt = (daysAgo: number, time: string) => new Date(Date.parse(`${today}T${time}Z`) - daysAgo * DAY).toISOString();
const callId = (n: number) => `7${String(n).padStart(18, '0')}`;

type Seed = [n: number, direction: string, disposition: string | null, from: string, to: string, started: string, duration: number, talk: number, recorded?: boolean];
// Numbers and times are chosen for the cases below; 8 and 9 share a started_at (ordering falls back to id).
const SEED: Seed[] = [
  [1, 'inbound', 'ANSWERED', '9944421125', '1001', '2025-04-13T10:30:00.000Z', 145, 120, true],
  [2, 'inbound', 'NO ANSWER', '9944421125', '1002', '2025-04-13T23:59:59.999Z', 30, 0],
  [3, 'outbound', 'ANSWERED', '1001', '8005550100', '2025-04-14T00:00:00.000Z', 300, 290, true],
  [4, 'outbound', 'BUSY', '1002', '8005550199', '2025-04-12T08:00:00.000Z', 5, 0],
  [5, 'internal', 'FAILED', '1001', '1002', '2025-04-11T12:00:00.000Z', 0, 0],
  [6, 'internal', 'ANSWERED', '1002', '1001', '2025-04-10T09:15:00.000Z', 60, 50],
  [7, 'inbound', 'BUSY', '7700900123', '1001', '2025-04-13T00:00:00.000Z', 10, 0],
  [8, 'inbound', 'ANSWERED', '7700900123', '1003', '2025-04-13T10:30:45.500Z', 95, 80, true],
  [9, 'outbound', 'NO ANSWER', '1003', '9944421125', '2025-04-13T10:30:45.500Z', 25, 0],
  [10, 'inbound', 'FAILED', '+14155550123', '1001', '2025-04-09T18:00:00.000Z', 0, 0],
  [11, 'inbound', null, '9944421125', '1002', dayAt(0, '00:04:00'), 0, 0],
  [12, 'outbound', null, '1001', '8005550100', dayAt(0, '00:05:00'), 0, 0],
  [13, 'inbound', 'ANSWERED', '9944421125', '1001', dayAt(0, '00:01:00'), 40, 30],
  [14, 'inbound', 'NO ANSWER', '7700900123', '1002', dayAt(0, '00:02:00'), 20, 0],
  [15, 'internal', 'ANSWERED', 'Alice', '1002', dayAt(0, '00:03:00'), 20, 15],
  [16, 'inbound', 'ANSWERED', '+14155550123', '1003', dayAt(2, '06:00:00'), 100, 90],
  [17, 'outbound', 'BUSY', '1002', '7700900123', dayAt(6, '06:00:00'), 5, 0],
  [18, 'inbound', 'ANSWERED', '9944421125', '1001', dayAt(7, '06:00:00'), 50, 40],
];
const toImport = (instance_id: string, [n, direction, disposition, from_number, to_number, started_at, duration, talk_time, recorded]: Seed): ImportedCall => ({
  id: callId(n),
  instance_id,
  direction,
  disposition,
  status: disposition ? 'completed' : n === 12 ? 'in-progress' : 'ringing',
  from_number,
  to_number,
  started_at,
  ended_at: disposition ? new Date(Date.parse(started_at) + duration * 1000).toISOString() : null,
  duration,
  talk_time,
  recording_path: recorded ? `/recordings/${n}.wav` : null,
});

function historySuite(dialect: TestDialect): void {
  let t: TestServer;
  let other: string;
  let otherKey: string;
  before(async () => {
    t = await startTestServer(await databaseEnv(dialect));
    await t.server.store.callHistory.importCalls(SEED.map((s) => toImport(t.server.instanceId, s)));
    // Another tenant with look-alike calls (same numbers, same days) that must never show up.
    other = randomUUID();
    await t.server.store.db.insertInto('instances').values({ id: other, name: 'other', created_at: new Date().toISOString() }).execute();
    await t.server.store.callHistory.importCalls(SEED.map((s) => ({ ...toImport(other, s), id: `8${String(s[0]).padStart(18, '0')}` })));
    otherKey = (await new ApiKeyService(t.server.store.apiKeys).create(other, 'other', ['calls.read'])).key;
  });
  after(() => t.close());

  const get = async (path: string, key = ADMIN_KEY) => api(t, 'GET', path, { key });
  const ids = (body: Record<string, unknown>) => (body.data as { id: string }[]).map((c) => Number(c.id.slice(1)));
  async function listIds(query: string): Promise<number[]> {
    const res = await get(`/api/v1/calls?limit=200&${query}`);
    assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
    const count = await get(`/api/v1/calls/count?${query}`);
    assert.deepEqual([res.body.total, count.body], [res.body.data && (res.body.data as unknown[]).length, { count: res.body.total }], query);
    return ids(res.body);
  }
  const sorted = (a: number[]) => [...a].sort((x, y) => x - y);

  describe('GET /api/v1/calls', () => {
    test('answers the seed shape, newest first, with status, recording_url and paging fields', async () => {
      const res = await get('/api/v1/calls');
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.body).sort(), ['data', 'pages', 'total', 'page'].sort());
      assert.deepEqual([res.body.total, res.body.page, res.body.pages], [18, 1, 1]);
      assert.deepEqual(ids(res.body), [12, 11, 15, 14, 13, 16, 17, 18, 3, 2, 9, 8, 1, 7, 4, 5, 6, 10]);
      const data = res.body.data as Record<string, unknown>[];
      assert.deepEqual(data.find((c) => c.id === callId(1)), {
        id: callId(1),
        from_number: '9944421125',
        to_number: '1001',
        direction: 'inbound',
        status: 'ANSWERED',
        duration: 145,
        talk_time: 120,
        started_at: '2025-04-13T10:30:00.000Z',
        ended_at: '2025-04-13T10:32:25.000Z',
        recording_url: `/api/v1/calls/${callId(1)}/recording`,
      });
      const status = (n: number) => data.find((c) => c.id === callId(n));
      assert.deepEqual([status(11)?.status, status(11)?.ended_at, status(12)?.status, status(2)?.status, status(2)?.recording_url], ['RINGING', null, 'IN PROGRESS', 'NO ANSWER', null]);
    });

    test('filters: direction, disposition, exact from and to', async () => {
      assert.deepEqual(sorted(await listIds('direction=inbound')), [1, 2, 7, 8, 10, 11, 13, 14, 16, 18]);
      assert.deepEqual(sorted(await listIds('direction=outbound')), [3, 4, 9, 12, 17]);
      assert.deepEqual(sorted(await listIds('direction=internal')), [5, 6, 15]);
      assert.deepEqual(sorted(await listIds('disposition=ANSWERED')), [1, 3, 6, 8, 13, 15, 16, 18]);
      assert.deepEqual(sorted(await listIds('disposition=NO%20ANSWER')), [2, 9, 14]);
      assert.deepEqual(sorted(await listIds('disposition=NO+ANSWER')), [2, 9, 14]);
      assert.deepEqual(sorted(await listIds('disposition=BUSY')), [4, 7, 17]);
      assert.deepEqual(sorted(await listIds('disposition=FAILED')), [5, 10]);
      assert.deepEqual(sorted(await listIds('from=9944421125')), [1, 2, 11, 13, 18]);
      assert.deepEqual(sorted(await listIds('from=%2B14155550123')), [10, 16]);
      assert.deepEqual(sorted(await listIds('to=1001')), [1, 6, 7, 10, 13, 18]);
      assert.deepEqual(await listIds('from=99444'), [], 'from is exact, not a substring');
      assert.deepEqual(await listIds('to=1004'), []);
    });

    test('combinations of filters', async () => {
      assert.deepEqual(await listIds('direction=inbound&disposition=ANSWERED'), [13, 16, 18, 8, 1]);
      assert.deepEqual(await listIds('direction=outbound&from=1001'), [12, 3]);
      assert.deepEqual(await listIds('to=1001&date_from=2025-04-10&date_to=2025-04-13'), [1, 7, 6]);
      assert.deepEqual(await listIds('search=9944&direction=outbound'), [9]);
      assert.deepEqual(await listIds('disposition=BUSY&search=bound'), [17, 7, 4]);
      assert.deepEqual(await listIds('direction=internal&disposition=NO%20ANSWER'), []);
      assert.deepEqual(await listIds('from=1001&to=1002&disposition=FAILED&search=internal'), [5]);
    });

    test('date ranges: bare dates cover whole UTC days, bounds are inclusive at their precision', async () => {
      assert.deepEqual(await listIds('date_from=2025-04-13&date_to=2025-04-13'), [2, 9, 8, 1, 7]);
      assert.deepEqual(await listIds('date_from=2025-04-14&date_to=2025-04-14'), [3]);
      assert.deepEqual(await listIds('date_to=2025-04-10'), [6, 10]);
      assert.deepEqual(await listIds('date_from=2025-04-13T10:30:00Z&date_to=2025-04-13T10:30:00Z'), [1], 'inclusive second');
      assert.deepEqual(await listIds('date_from=2025-04-13T10:30&date_to=2025-04-13T10:30'), [9, 8, 1], 'a minute covers :45.5');
      assert.deepEqual(await listIds('date_from=2025-04-13T10:30:45.500Z&date_to=2025-04-13T10:30:45.500Z'), [9, 8]);
      assert.deepEqual(await listIds('date_from=2025-04-13T23:59:59.999Z&date_to=2025-04-14T00:00:00.000Z'), [3, 2]);
      assert.deepEqual(await listIds('date_from=2025-04-13T12:00:00%2B02:00&date_to=2025-04-13T12:30:45.5%2B02:00'), [9, 8, 1], 'offsets');
      assert.deepEqual(await listIds('date_from=2025-04-14&date_to=2025-04-13'), [], 'an empty range');
      assert.equal((await listIds(`date_from=${today}`)).length, 5);
    });

    test('search: case-insensitive substring of id, from_number, to_number, disposition and direction', async () => {
      assert.deepEqual(sorted(await listIds('search=99444')), [1, 2, 9, 11, 13, 18]);
      assert.deepEqual(sorted(await listIds('search=1001')), [1, 3, 5, 6, 7, 10, 12, 13, 18]);
      assert.deepEqual(sorted(await listIds('search=23')), [7, 8, 10, 14, 16, 17], 'short terms too');
      assert.deepEqual(sorted(await listIds('search=%2B1415')), [10, 16]);
      assert.deepEqual(await listIds(`search=${callId(17)}`), [17], 'whole id');
      assert.deepEqual(await listIds('search=00000000000000015'), [15], 'part of an id');
      assert.deepEqual(await listIds('search=aLiCe'), [15]);
      assert.deepEqual(await listIds('search=LIC'), [15]);
      assert.deepEqual(sorted(await listIds('search=answered')), [1, 3, 6, 8, 13, 15, 16, 18]);
      assert.deepEqual(sorted(await listIds('search=Answer')), [1, 2, 3, 6, 8, 9, 13, 14, 15, 16, 18], 'ANSWERED and NO ANSWER');
      assert.deepEqual(sorted(await listIds('search=fail')), [5, 10]);
      assert.equal((await listIds('search=BOUND')).length, 15, 'inbound and outbound');
      assert.equal((await listIds('search=in')).length, 13, 'inbound and internal');
      for (const literal of ['%25', '_', '5%255', '%22', '9944%25']) assert.deepEqual(await listIds(`search=${literal}`), [], `no wildcard: ${literal}`);
      assert.deepEqual(await listIds('search=nothing-like-this'), []);
    });

    test('paging: limit bounds, page/pages math, offset past the end', async () => {
      const one = await get('/api/v1/calls?limit=1');
      assert.deepEqual([ids(one.body), one.body.total, one.body.page, one.body.pages], [[12], 18, 1, 18]);
      const max = await get('/api/v1/calls?limit=200');
      assert.deepEqual([(max.body.data as unknown[]).length, max.body.page, max.body.pages], [18, 1, 1]);
      const last = await get('/api/v1/calls?limit=5&offset=15');
      assert.deepEqual([ids(last.body), last.body.total, last.body.page, last.body.pages], [[5, 6, 10], 18, 4, 4]);
      const mid = await get('/api/v1/calls?limit=7&offset=3');
      assert.deepEqual([ids(mid.body), mid.body.page, mid.body.pages], [[14, 13, 16, 17, 18, 3, 2], 1, 3]);
      const end = await get('/api/v1/calls?limit=5&offset=18');
      assert.deepEqual([ids(end.body), end.body.total, end.body.page, end.body.pages], [[], 18, 4, 4]);
      const far = await get('/api/v1/calls?offset=1000000');
      assert.deepEqual([ids(far.body), far.body.total, far.body.page, far.body.pages], [[], 18, 50001, 1]);
      const none = await get('/api/v1/calls?from=0000');
      assert.deepEqual([none.body.data, none.body.total, none.body.page, none.body.pages], [[], 0, 1, 0]);
      const all: number[] = [];
      for (let offset = 0; offset < 18; offset += 4) all.push(...ids((await get(`/api/v1/calls?limit=4&offset=${offset}`)).body));
      assert.deepEqual(all, ids((await get('/api/v1/calls?limit=200')).body), 'pages tile the list');
    });

    test('count accepts the list filters and ignores limit/offset', async () => {
      assert.deepEqual((await get('/api/v1/calls/count')).body, { count: 18 });
      assert.deepEqual((await get('/api/v1/calls/count?limit=1&offset=17&direction=outbound')).body, { count: 5 });
      assert.deepEqual((await get('/api/v1/calls/count?date_from=2025-04-13T10:00:00Z&date_to=2025-04-14&disposition=ANSWERED')).body, { count: 3 });
    });

    test('GET /api/v1/calls/:id keeps working next to the static routes', async () => {
      const one = await get(`/api/v1/calls/${callId(3)}`);
      assert.deepEqual([one.status, one.body.from, one.body.disposition], [200, '1001', 'ANSWERED']);
      assert.equal((await get(`/api/v1/calls/8${'0'.repeat(16)}03`)).status, 404, "another instance's call");
    });
  });

  describe('GET /api/v1/calls/stats', () => {
    test('all-time totals, answered/missed, average answered duration and the last 7 days', async () => {
      const res = await get('/api/v1/calls/stats');
      assert.equal(res.status, 200);
      const weekly = Array.from({ length: 7 }, (_, i) => ({ date: dayAt(6 - i, '00:00:00').slice(0, 10), inbound: 0, outbound: 0 }));
      weekly[0]!.outbound = 1; // 17
      weekly[4]!.inbound = 1; // 16
      weekly[6]!.inbound = 3; // 11, 13, 14 (15 is internal)
      weekly[6]!.outbound = 1; // 12
      assert.deepEqual(res.body, { total_calls: 18, inbound: 10, outbound: 5, internal: 3, answered: 8, missed: 8, avg_duration: 101, weekly });
    });

    test('date ranges restrict the totals, not the weekly chart', async () => {
      const day = await get('/api/v1/calls/stats?date_from=2025-04-13&date_to=2025-04-13');
      const { weekly, ...totals } = day.body;
      assert.deepEqual(totals, { total_calls: 5, inbound: 4, outbound: 1, internal: 0, answered: 2, missed: 3, avg_duration: 120 });
      assert.equal((weekly as unknown[]).length, 7);
      const partial = await get('/api/v1/calls/stats?date_from=2025-04-13T10:30:30Z&date_to=2025-04-14');
      assert.deepEqual({ ...partial.body, weekly: undefined }, { total_calls: 4, inbound: 2, outbound: 2, internal: 0, answered: 2, missed: 2, avg_duration: 198, weekly: undefined });
      const empty = await get('/api/v1/calls/stats?date_to=2000-01-01');
      assert.deepEqual({ ...empty.body, weekly: undefined }, { total_calls: 0, inbound: 0, outbound: 0, internal: 0, answered: 0, missed: 0, avg_duration: 0, weekly: undefined });
    });
  });

  describe('instances and errors', () => {
    test("another instance's calls never appear, and its key sees only its own", async () => {
      assert.deepEqual((await get('/api/v1/calls/count?search=9944')).body, { count: 6 });
      const theirs = await get('/api/v1/calls?limit=200', otherKey);
      assert.equal(theirs.body.total, 18);
      assert.ok((theirs.body.data as { id: string }[]).every((c) => c.id.startsWith('8')));
      assert.deepEqual((await get('/api/v1/calls/stats', otherKey)).body.total_calls, 18);
    });

    test('400 naming the field for bad query parameters, on all three routes', async () => {
      const cases: [string, RegExp][] = [
        ['limit=0', /limit/],
        ['limit=201', /limit/],
        ['limit=abc', /limit/],
        ['limit=1.5', /limit/],
        ['limit=1&limit=2', /limit/],
        ['offset=-1', /offset/],
        ['offset=x', /offset/],
        ['direction=sideways', /direction/],
        ['direction=INBOUND', /direction/],
        ['disposition=MAYBE', /disposition/],
        ['disposition=answered', /disposition/],
        ['date_from=yesterday', /date_from/],
        ['date_from=2025-02-30', /date_from/],
        ['date_to=2025-04-13T24:00', /date_to/],
        ['date_to=13/04/2025', /date_to/],
        ['date_to=2025-4-1', /date_to/],
        ['search=', /search/],
        ['search=a%00b', /search/], // a NUL would end SQLite's full-text query; any control character is refused
        ['search=9944%00421', /search/],
        ['search=1001%09', /search/],
        ['search=%7F', /search/],
        ['from=', /from/],
        ['surprise=1', /surprise/],
      ];
      for (const [query, field] of cases) {
        for (const path of ['/api/v1/calls', '/api/v1/calls/count']) {
          const res = await get(`${path}?${query}`);
          assert.deepEqual([res.status, res.body.code], [400, 'bad_request'], `${path}?${query}`);
          assert.match(res.body.message as string, field, `${path}?${query}: ${res.body.message}`);
        }
      }
      for (const [query, field] of [['date_from=yesterday', /date_from/], ['limit=5', /limit/], ['direction=inbound', /direction/]] as const) {
        const res = await get(`/api/v1/calls/stats?${query}`);
        assert.deepEqual([res.status, res.body.code], [400, 'bad_request'], query);
        assert.match(res.body.message as string, field);
      }
    });

    test('401 without or with a wrong key (before validation), 403 without calls.read', async () => {
      const minter = await createKey(t, 'minter', ['tokens.create']);
      const reader = await createKey(t, 'reader', ['calls.read']);
      for (const path of ['/api/v1/calls', '/api/v1/calls/count', '/api/v1/calls/stats']) {
        for (const key of [undefined, 'ak_wrong_wrong_wrong_wrong']) {
          const res = await api(t, 'GET', `${path}?limit=0`, { key });
          assert.deepEqual([res.status, res.body.code], [401, 'unauthorized'], `${path} ${key}`);
        }
        const forbidden = await get(path, minter);
        assert.deepEqual([forbidden.status, forbidden.body.code], [403, 'forbidden']);
        assert.match(forbidden.body.message as string, /calls\.read/);
        assert.equal((await get(path, reader)).status, 200);
      }
    });
  });

  describe('accelerators', () => {
    test('deep pages and day-split ranges agree with the portable queries (2,500 calls)', async () => {
      const bulk = randomUUID();
      const { store } = t.server;
      await store.db.insertInto('instances').values({ id: bulk, name: 'bulk', created_at: new Date().toISOString() }).execute();
      let seed = 7;
      const rand = (n: number) => ((seed = (seed * 48271) % 2147483647) % n);
      const base = Date.parse('2025-03-01T00:00:00.000Z');
      await store.callHistory.importCalls(
        Array.from({ length: 2500 }, (_, i): ImportedCall => {
          const disposition = [null, 'ANSWERED', 'ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED'][rand(6)]!;
          return {
            id: String(9_000_000_000_000_000_000n + BigInt(i)),
            instance_id: bulk,
            direction: ['inbound', 'outbound', 'internal'][rand(3)]!,
            disposition,
            status: disposition ? 'completed' : 'ringing',
            from_number: `99${rand(50)}`,
            to_number: `10${rand(20)}`,
            started_at: new Date(base + rand(40) * DAY + rand(3) * 3_600_000).toISOString(), // many ties
            duration: rand(500),
          };
        }),
      );
      const fast = store.callHistory;
      assert.deepEqual(await historyIndexesOf(store.db).detect(store.db), { counters: true, search: true });
      const portable = new CallHistoryStore(store.db, { counters: false, search: false });
      const filters = [
        {},
        { direction: 'inbound' as const },
        { disposition: 'BUSY' as const },
        { direction: 'outbound' as const, disposition: 'ANSWERED' as const, startedFrom: '2025-03-05T01:30:00.000Z' },
        { startedFrom: '2025-03-03T02:00:00.000Z', startedBefore: '2025-04-02T01:00:00.000Z' },
        { startedFrom: '2025-03-10T00:00:00.000Z', startedBefore: '2025-03-10T02:00:00.000Z' },
        { search: 'answer' },
        { search: '99', direction: 'internal' as const },
        { search: '9000000000000001' },
      ];
      for (const f of filters) {
        const total = await portable.count(bulk, f);
        assert.equal(await fast.count(bulk, f), total, JSON.stringify(f));
        for (const offset of [0, 999, 1000, 1234, total - 1, total]) {
          const [a, b] = await Promise.all([fast.list(bulk, f, 7, offset), portable.list(bulk, f, 7, offset)]);
          assert.deepEqual(a, b, `${JSON.stringify(f)} offset ${offset}`);
        }
      }
      for (const range of [{}, { from: '2025-03-05T01:30:00.000Z', before: '2025-03-20T00:00:00.000Z' }, { from: '2025-03-07T00:00:00.000Z' }]) {
        assert.deepEqual(await fast.stats(bulk, range), await portable.stats(bulk, range), JSON.stringify(range));
      }
    });

    test('a frequent search term (an extension, parts of ids and numbers) agrees with the portable queries, alone and beside another instance', async () => {
      const own = await startTestServer(await databaseEnv(dialect)); // an instance holding every call: its search count is the index's hit count
      try {
        const { store } = own.server;
        const inst = own.server.instanceId;
        let seed = 11;
        const rand = (n: number) => ((seed = (seed * 48271) % 2147483647) % n);
        const base = Date.parse('2025-06-01T00:00:00.000Z');
        const call = (i: number, instance: string): ImportedCall => {
          const disposition = [null, 'ANSWERED', 'NO ANSWER', 'BUSY'][rand(4)]!;
          const ext = () => ['1007', '1008', '1070', '2100'][rand(4)]!;
          return {
            // every 7th id holds 1007 (id 9000000001007…, not its number), every 11th a customer number does
            id: i % 7 === 0 ? `90000000010070${String(i).padStart(5, '0')}` : String(8_000_000_000_000_000_000n + BigInt(i)),
            instance_id: instance,
            direction: ['inbound', 'outbound', 'internal'][rand(3)]!,
            disposition,
            status: disposition ? 'completed' : 'ringing',
            from_number: i % 11 === 0 ? `+4491007${rand(100)}` : ext(),
            to_number: ext(),
            started_at: new Date(base + rand(30) * DAY + rand(4) * 3_600_000).toISOString(), // many ties
          };
        };
        await store.callHistory.importCalls(Array.from({ length: 3000 }, (_, i) => call(i, inst)));
        const portable = new CallHistoryStore(store.db, { counters: false, search: false });
        const agree = async (what: string) => {
          for (const f of [{ search: '1007' }, { search: '0070' }, { search: '007' }, { search: '1007', direction: 'inbound' as const }, { search: '+44910' }]) {
            const total = await portable.count(inst, f);
            assert.ok(total > 0, `${what} ${JSON.stringify(f)} matches`);
            assert.equal(await store.callHistory.count(inst, f), total, `${what} ${JSON.stringify(f)}`);
            for (const [limit, offset] of [[20, 0], [7, 13], [200, 0], [20, 400], [20, total - 3], [20, total]] as const) {
              const [a, b] = await Promise.all([store.callHistory.list(inst, f, limit, offset), portable.list(inst, f, limit, offset)]);
              assert.deepEqual(a, b, `${what} ${JSON.stringify(f)} limit ${limit} offset ${offset}`);
            }
          }
        };
        await agree('alone');
        const other = randomUUID();
        await store.db.insertInto('instances').values({ id: other, name: 'other', created_at: new Date().toISOString() }).execute();
        await store.callHistory.importCalls(Array.from({ length: 500 }, (_, i) => ({ ...call(i, other), id: `7${String(i).padStart(18, '0')}` })));
        await agree('beside another instance');
      } finally {
        await own.close();
      }
    });

    test('the counters follow the call lifecycle: dial, answer, end, crash recovery, delete', async () => {
      const own = await startTestServer(await databaseEnv(dialect)); // closeDangling touches every instance: keep it away from the seeded calls
      try {
        const { store } = own.server;
        const inst = own.server.instanceId;
        const portable = new CallHistoryStore(store.db, { counters: false, search: false });
        const same = async (what: string) => {
          assert.deepEqual(await store.callHistory.stats(inst, {}), await portable.stats(inst, {}), what);
          assert.equal(await store.callHistory.count(inst, { search: 'answer' }), await portable.count(inst, { search: 'answer' }), what);
          return store.callHistory.stats(inst, {});
        };
        const dial = (id: string) =>
          store.calls.insert({ id, instanceId: inst, fromUserId: '1', toUserId: '2', fromNumber: '1001', toNumber: '1002', direction: 'internal', startedAt: new Date() });
        await dial('6000000000000000001');
        await dial('6000000000000000002');
        const ringing = await same('ringing');
        assert.deepEqual([ringing.total_calls, ringing.internal, ringing.answered, ringing.missed], [2, 2, 0, 0]);
        await store.calls.markAnswered('6000000000000000001', new Date());
        await store.calls.markEnded('6000000000000000001', { disposition: 'ANSWERED', endReason: 'hangup', endedAt: new Date(), duration: 42, talkTime: 40 });
        const ended = await same('ended');
        assert.deepEqual([ended.answered, ended.missed, ended.avg_duration], [1, 0, 42]);
        await store.calls.closeDangling(); // a restart ends the live call as FAILED
        const closed = await same('closed');
        assert.deepEqual([closed.total_calls, closed.answered, closed.missed], [2, 1, 1]);
        await store.db.updateTable('calls').set({ from_number: 'Renamed-77' }).where('id', '=', '6000000000000000002').execute();
        const search = (term: string) => store.callHistory.count(inst, { search: term });
        assert.deepEqual([await search('renamed-7'), await search('1001')], [1, 1], 'the search index follows updates');
        await store.db.deleteFrom('calls').where('id', '=', '6000000000000000002').execute();
        assert.deepEqual([(await same('deleted')).total_calls, await store.callHistory.count(inst, { search: '6000000000000000002' })], [1, 0]);
      } finally {
        await own.close();
      }
    });
  });
}

for (const dialect of DIALECTS) describe(dialect, () => historySuite(dialect));
