// The cluster's Redis parts against a real redis-server: RPC between nodes (results, error codes, silence), the node
// registry (registration, draining, load-based choice, a lost node detected after its TTL or told by another node),
// presence mirroring, and the sessions gauge counting only this node's own sessions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClusterBus } from '../src/cluster/bus.js';
import { Presence } from '../src/cluster/presence.js';
import { NodeRegistry, type NodeInfo } from '../src/cluster/registry.js';
import { SessionRegistry, type Session } from '../src/calls/sessions.js';
import { Metrics } from '../src/metrics.js';
import { AppError } from '../src/util/errors.js';
import { startRedis, type RunningRedis } from '../../../test/helpers/redis.js';
import { until } from './fake-sfu.js';

let redis: RunningRedis;
const buses: ClusterBus[] = [];

async function bus(nodeId: string): Promise<ClusterBus> {
  const b = new ClusterBus(redis.url, nodeId, 500, (err) => assert.fail(String(err)));
  await b.start();
  buses.push(b);
  return b;
}

function registry(b: ClusterBus, info: Partial<Omit<NodeInfo, 'id'>>, lost: string[] = [], rejoined: () => void = () => undefined): NodeRegistry {
  return new NodeRegistry(b, {
    intervalMs: 100,
    ttlMs: 400,
    describe: () => ({ url: `http://${b.nodeId}`, mediaIp: '127.0.0.1', regions: ['default'], load: 0, draining: false, ...info }),
    lost: (id) => lost.push(id),
    refreshed: () => undefined,
    rejoined,
    onError: (err) => assert.fail(String(err)),
  });
}

const waitFor = (what: () => boolean | Promise<boolean>) => until('the cluster to get there', what, 15_000, 20);

describe('cluster over Redis', { timeout: 120_000 }, () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await redis.stop();
  });

  test('a node calls a method of another and gets its result, its AppError code, or unavailable when nobody answers', async () => {
    const [a, b] = [await bus('rpc-a'), await bus('rpc-b')];
    b.handle<{ n: number }, number>('double', ({ n }, from) => {
      assert.equal(from, 'rpc-a');
      return n * 2;
    });
    b.handle('refuse', () => {
      throw new AppError('invalid_state', 'not now');
    });
    assert.equal(await a.call<number>('rpc-b', 'double', { n: 21 }), 42);
    await assert.rejects(a.call('rpc-b', 'refuse', {}), (err: AppError) => err.code === 'invalid_state' && err.message === 'not now');
    await assert.rejects(a.call('rpc-b', 'no-such-method', {}), (err: AppError) => err.code === 'not_found');
    await assert.rejects(a.call('rpc-nobody', 'double', { n: 1 }), (err: AppError) => err.code === 'unavailable');
  });

  test('new calls go to the least loaded node that is not draining, this node on ties; a silent node is reported lost', async () => {
    const [a, b, c] = [await bus('reg-a'), await bus('reg-b'), await bus('reg-c')];
    const lost: string[] = [];
    const ra = registry(a, { load: 2 }, lost);
    const rb = registry(b, { load: 1 });
    const rc = registry(c, { load: 0, draining: true });
    await Promise.all([rb.beat(), rc.beat()]);
    const tie = registry(a, { load: 1 });
    await tie.beat();
    assert.equal(tie.pick('default'), 'reg-a', 'a tie stays on this node');
    await ra.start();
    await rb.start();
    assert.deepEqual(ra.live.map((n) => n.id).sort(), ['reg-a', 'reg-b', 'reg-c']);
    assert.equal(ra.pick('default'), 'reg-b', 'least loaded, the draining node skipped');
    assert.equal(ra.pick('elsewhere'), null, 'no node serves that region');

    // reg-c stops beating (it died): its entry expires and reg-a reports it once.
    await waitFor(() => lost.includes('reg-c'));
    assert.deepEqual(lost, ['reg-c']);
    assert.equal(ra.isLive('reg-c'), false);
    await ra.forget('reg-c');
    await rb.leave();
    await waitFor(() => !ra.isLive('reg-b'));
    assert.deepEqual(lost, ['reg-c'], 'a node that left is not lost');
    await ra.leave();
  });

  test('a lost node another node reported (and took out of the node set) is reported here once, whether its beat saw it first or not', async () => {
    const [a, b] = [await bus('told-a'), await bus('told-b')];
    const lost: string[] = [];
    const ra = registry(a, {}, lost);
    const rb = registry(b, {});
    await rb.beat();
    await ra.beat();
    assert.equal(ra.isLive('told-b'), true);
    ra.reportLost('told-b'); // the node that won its clean-up says so, before its entry expired here
    assert.deepEqual(lost, ['told-b']);
    assert.equal(ra.isLive('told-b'), false, 'no longer routed to');
    await waitFor(async () => (await a.redis.exists('astral:node:told-b')) === 0);
    await ra.beat();
    ra.reportLost('told-b');
    assert.deepEqual(lost, ['told-b'], 'its own beat, and a second telling, report it no more');
    await ra.forget('told-b');
    await ra.leave();
  });

  test('a node whose entry expired while it stalled learns so at its next beat', async () => {
    let rejoins = 0;
    const r = registry(await bus('stall-a'), {}, [], () => rejoins++);
    await r.beat();
    await r.beat();
    assert.equal(rejoins, 0);
    await new Promise((resolve) => setTimeout(resolve, 500)); // longer than the 400 ms TTL
    await r.beat();
    assert.equal(rejoins, 1);
    await r.leave();
  });

  test('presence: another node\'s sessions appear in this node\'s registry, with do-not-disturb, and leave with it', async () => {
    const [a, b] = [await bus('pres-a'), await bus('pres-b')];
    const [sessionsA, sessionsB] = [new SessionRegistry(), new SessionRegistry()];
    const closed: string[] = [];
    const pa = new Presence(a, sessionsA, (id) => closed.push(id));
    const pb = new Presence(b, sessionsB, () => undefined);
    await pb.start([]);
    const early: Session = { id: 'sock-1', dnd: false, principal: { kind: 'user', instanceId: 'i', party: { userId: 'u1', identity: 'bob', displayName: 'Bob', extension: '1002' }, expiresAt: new Date(Date.now() + 60_000) } };
    pb.up(early);
    await waitFor(async () => (await b.redis.hlen('astral:sessions:pres-b')) === 1);
    await pa.start(['pres-a', 'pres-b']);
    assert.deepEqual(sessionsA.ofUser('u1'), ['sock-1'], 'loaded from Redis at start');
    assert.ok(sessionsA.get('sock-1')!.principal.expiresAt instanceof Date);
    assert.equal(pa.homeOf('sock-1'), 'pres-b');
    pb.up({ ...early, dnd: true });
    await waitFor(() => sessionsA.isDnd('u1'));
    pb.down('sock-1');
    await waitFor(() => sessionsA.ofUser('u1').length === 0);
    assert.deepEqual(closed, ['sock-1']);
    pb.up({ ...early, id: 'sock-2' });
    await waitFor(() => sessionsA.ofUser('u1').length === 1);
    pa.prune(new Set(['pres-a']));
    assert.deepEqual(sessionsA.ofUser('u1'), [], "a node no longer live takes its sessions along");
    assert.deepEqual(closed, ['sock-1', 'sock-2']);
  });

  test('astral_sessions counts the sessions connected to this node, not the ones presence mirrors from other nodes', async () => {
    const [a, b] = [await bus('met-a'), await bus('met-b')];
    const sessionsA = new SessionRegistry();
    const pa = new Presence(a, sessionsA, () => undefined);
    const pb = new Presence(b, new SessionRegistry(), () => undefined);
    await Promise.all([pa.start([]), pb.start([])]);
    const metrics = new Metrics();
    const none = { ringing: 0, answered: 0 };
    metrics.watch({
      calls: { census: () => ({ calls: none, legs: none }) },
      sessions: { get localSize() { return pa.localCount; } },
      workers: () => [],
      producers: () => [],
      recordings: { activeCount: 0 },
      webhooks: { pendingCount: async () => 0 },
    });
    const gauge = async () => Number(/^astral_sessions (\d+)$/m.exec(await metrics.registry.metrics())![1]);
    const user = (id: string, userId: string): Session => ({ id, dnd: false, principal: { kind: 'user', instanceId: 'i', party: { userId, identity: userId, displayName: userId, extension: null } } });

    const local = user('met-local', 'u-here');
    sessionsA.add(local);
    pa.up(local);
    pb.up(user('met-remote', 'u-there'));
    await waitFor(() => sessionsA.ofUser('u-there').length === 1);
    assert.equal(await gauge(), 1, "the other node's session is mirrored here but not counted");
    pb.down('met-remote');
    await waitFor(() => sessionsA.ofUser('u-there').length === 0);
    assert.equal(await gauge(), 1);
    sessionsA.remove('met-local');
    assert.equal(await gauge(), 0);
  });
});
