// The store on SQLite and PostgreSQL: every migration down and up again, and the queries whose meaning could differ by dialect.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Migrator, NO_MIGRATIONS, type Kysely } from 'kysely';
import { SecretBox } from '../src/auth/secret-box.js';
import { BUILT_IN_AGENT } from '../src/store/agents.js';
import { dialectOf } from '../src/store/dialect.js';
import { Store } from '../src/store/index.js';
import { migrationProvider } from '../src/store/migrations.js';
import { newTrunk } from '../src/store/trunks.js';
import type { CallRow } from '../src/store/calls.js';
import { AppError } from '../src/util/errors.js';
import { DIALECTS, freshPostgresDatabase, type TestDialect } from './postgres.js';

const openStore = async (dialect: TestDialect, dataDir: string): Promise<Store> =>
  Store.open({ dataDir, databaseUrl: dialect === 'postgres' ? await freshPostgresDatabase() : null });

/** Tables and their columns, sorted: what the migrations built. */
async function schemaOf(db: Kysely<any>): Promise<string[]> {
  const tables = await db.introspection.getTables();
  return tables.map((t) => `${t.name}(${t.columns.map((c) => c.name).sort().join(',')})`).sort();
}

function storeSuite(dialect: TestDialect): void {
  let dataDir: string;
  let store: Store;
  let instanceId: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'astral-store-test-'));
    store = await openStore(dialect, dataDir);
    instanceId = await store.instances.ensureDefault();
  });
  after(async () => {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test(`opens the ${dialect} dialect`, () => {
    assert.equal(dialectOf(store.db), dialect);
  });

  test('every migration runs down to an empty schema, then up again to the same schema', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'astral-migrations-test-'));
    const fresh = await openStore(dialect, dir);
    try {
      const latest = await schemaOf(fresh.db);
      assert.ok(latest.some((t) => t.startsWith('calls(')) && latest.some((t) => t.startsWith('call_counters(')), latest.join(' '));
      const migrator = new Migrator({ db: fresh.db, provider: migrationProvider });
      const down = await migrator.migrateTo(NO_MIGRATIONS);
      assert.equal(down.error, undefined, String(down.error));
      assert.equal(down.results?.length, Object.keys(await migrationProvider.getMigrations()).length);
      assert.deepEqual(await schemaOf(fresh.db), []);
      const up = await migrator.migrateToLatest();
      assert.equal(up.error, undefined, String(up.error));
      assert.deepEqual(await schemaOf(fresh.db), latest);
    } finally {
      await fresh.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('RETURNING rows, integer columns, counts and sums come back as numbers', async () => {
    const changes: [string, CallRow][] = [];
    store.calls.onChange = (change, row) => void changes.push([change, row]);
    const started = new Date('2025-05-01T10:00:00.000Z');
    await store.calls.insert({ id: '5000000000000000001', instanceId, fromUserId: '1', toUserId: null, fromNumber: 'Bob', toNumber: '1001', direction: 'inbound', startedAt: started });
    await store.calls.markAnswered('5000000000000000001', new Date(started.getTime() + 2000));
    await store.calls.markEnded('5000000000000000001', { disposition: 'ANSWERED', endReason: 'hangup', endedAt: new Date(started.getTime() + 62_000), duration: 62, talkTime: 60 });
    store.calls.onChange = null;
    assert.deepEqual(changes.map(([c, r]) => [c, r.status, r.duration, r.talk_time]), [['started', 'ringing', 0, 0], ['answered', 'in-progress', 0, 0], ['ended', 'completed', 62, 60]]);
    assert.equal(await store.callHistory.count(instanceId, {}), 1);
    assert.equal(await store.callHistory.count(instanceId, { search: 'bo' }), 1, 'a short search (portable LIKE) is case-insensitive');
    assert.equal(await store.callHistory.count(instanceId, { search: 'BOB' }), 1, 'so is the trigram index');
    const stats = await store.callHistory.stats(instanceId, {});
    assert.deepEqual([stats.total_calls, stats.answered, stats.avg_duration], [1, 1, 62]);
    assert.equal(await store.agentCalls.countActive(instanceId), 0);
  });

  test('insert-or-ignore: a repeated identity reads the first user; a repeated agent key is a conflict', async () => {
    const [a, b] = await Promise.all([store.users.upsert({ instanceId, identity: 'carol' }), store.users.upsert({ instanceId, identity: 'carol' })]);
    assert.equal(a.id, b.id);
    assert.equal(a.record_calls, 1);
    await store.agents.ensureDefault(instanceId);
    await store.agents.ensureDefault(instanceId);
    await assert.rejects(store.agents.insert(instanceId, BUILT_IN_AGENT), (err: unknown) => err instanceof AppError && err.code === 'conflict');
    assert.deepEqual((await store.agents.byKey(instanceId, BUILT_IN_AGENT.key))?.baseUrls, {}, 'JSON text round-trips');
  });

  test('affected-row counts: revoking keys, removing what is not there', async () => {
    await store.apiKeys.insert({ instanceId, name: 'k', prefix: 'ak_k', keyHash: 'h'.repeat(64), permissions: ['calls.read'] });
    assert.equal(await store.apiKeys.revoke(instanceId, 'k'), 1);
    assert.equal(await store.apiKeys.revoke(instanceId, 'k'), 0);
    assert.equal(await store.webhooks.remove(instanceId, '42'), false);
    assert.equal(await store.agents.remove(instanceId, 'nobody'), false);
    assert.equal(await store.numbers.remove(instanceId, '+15550000000'), false);
    assert.equal(await store.routing.remove(instanceId, '700'), null);
  });

  test('the partial unique index keeps one default trunk per instance', async () => {
    const box = new SecretBox(Buffer.alloc(32, 7), 'trunks');
    const first = await store.trunks.create(newTrunk(instanceId, { name: 'one', host: 'sip.example.com' }, box));
    const second = await store.trunks.create(newTrunk(instanceId, { name: 'two', host: 'sip.example.com', default: true }, box));
    assert.equal(first.isDefault, true);
    assert.equal((await store.trunks.defaultOf(instanceId))?.id, second.id);
    assert.deepEqual((await store.trunks.list(instanceId)).map((t) => [t.name, t.isDefault]), [['one', false], ['two', true]]);
  });

  test('deleting an instance removes its rows and its counters', async () => {
    const other = await store.instances.create('other');
    await store.callHistory.importCalls([{ id: '5100000000000000001', instance_id: other.id, from_number: '1', to_number: '2', direction: 'internal', started_at: '2025-05-02T00:00:00.000Z', ended_at: '2025-05-02T00:00:05.000Z', disposition: 'BUSY' }]);
    assert.equal(await store.callHistory.count(other.id, {}), 1);
    await store.instances.remove(other.id);
    assert.equal(await store.instances.get(other.id), undefined);
    assert.equal(await store.callHistory.count(other.id, {}), 0);
    assert.equal(await store.callHistory.count(instanceId, {}), 1, 'the default instance keeps its call');
  });
}

for (const dialect of DIALECTS) describe(dialect, () => storeSuite(dialect));
