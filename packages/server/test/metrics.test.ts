// /metrics (Prometheus text, guarded by loopback or a token) and /readyz (database, workers, SIP listener).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { ackRequest, startTestServer, widgetSocket, type TestServer } from './helpers.js';
import { freePort } from './sip-helpers.js';

let t: TestServer;
const sockets: Socket[] = [];
before(async () => (t = await startTestServer({ ASTRAL_SIP_PORT: String(await freePort()) })));
after(async () => {
  for (const s of sockets) s.disconnect();
  await t.close();
});

const scrape = async (headers: Record<string, string> = {}) => fetch(`${t.url}/metrics`, { headers });
/** The value of one sample line (`name{labels} value`) in a scrape. */
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('/metrics answers the Prometheus text format with the named metrics', async () => {
  const res = await scrape();
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  for (const name of [
    'astral_calls',
    'astral_legs',
    'astral_sessions',
    'astral_ring_duration_seconds',
    'astral_call_setup_seconds',
    'astral_http_request_duration_seconds',
    'astral_recordings_active',
    'astral_webhook_deliveries_pending',
    'astral_mediasoup_workers',
    'astral_mediasoup_producers',
    'astral_mediasoup_consumers',
    'astral_mediasoup_worker_cpu_seconds',
    'astral_mediasoup_worker_max_rss_bytes',
    'nodejs_eventloop_lag_seconds',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exported`);
  }
  assert.equal(sample(text, 'astral_mediasoup_workers'), 1);
  assert.ok(sample(text, 'astral_mediasoup_worker_max_rss_bytes{worker="0"}')! > 0);
});

test('HTTP latency is labelled with the route pattern, never the raw URL', async () => {
  await fetch(`${t.url}/api/v1/calls/12345`);
  const text = await (await scrape()).text();
  assert.match(text, /astral_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/calls\/:id",status_code="401"\} 1/);
  assert.doesNotMatch(text, /route="\/api\/v1\/calls\/12345"/);
});

test('a call changes the calls, legs and sessions gauges', async () => {
  const before = await (await scrape()).text();
  assert.equal(sample(before, 'astral_calls{state="ringing"}'), 0);
  const alice = await widgetSocket(t, 'metrics-alice', { extension: '7001' });
  const bob = await widgetSocket(t, 'metrics-bob', { extension: '7002' });
  sockets.push(alice, bob);
  const ringing = new Promise((r) => alice.once('call:ringing', r));
  await ackRequest(alice, 'call:dial', { destination: '7002' });
  await ringing;
  const during = await (await scrape()).text();
  assert.equal(sample(during, 'astral_calls{state="ringing"}'), 1);
  assert.equal(sample(during, 'astral_legs{state="ringing"}'), 2);
  assert.equal(sample(during, 'astral_sessions'), 2);
});

test('/metrics refuses clients that come through a proxy', async () => {
  assert.equal((await scrape({ 'x-forwarded-for': '203.0.113.9' })).status, 403);
  assert.equal((await scrape({ forwarded: 'for=203.0.113.9' })).status, 403);
});

test('/readyz reports the database, the workers and the SIP listener', async () => {
  const res = await fetch(`${t.url}/readyz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'ok', checks: { database: 'ok', workers: 'ok', sip: 'ok' } });
});

test('/readyz answers 503 naming the part that is not ready', async () => {
  const other = await startTestServer();
  try {
    // The database is gone: readiness says so, liveness (the workers) does not.
    await other.server.store.db.destroy();
    const res = await fetch(`${other.url}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 'unavailable', checks: { database: 'unavailable', workers: 'ok' } });
    assert.equal((await fetch(`${other.url}/healthz`)).status, 200);
  } finally {
    await other.close().catch(() => {});
  }
});

test('with ASTRAL_METRICS_TOKEN set, /metrics needs it as a Bearer token', async () => {
  const guarded = await startTestServer({ ASTRAL_METRICS_TOKEN: 'metrics-secret-123' });
  try {
    const get = (headers: Record<string, string>) => fetch(`${guarded.url}/metrics`, { headers });
    assert.equal((await get({})).status, 401);
    assert.equal((await get({ authorization: 'Bearer wrong-secret-123' })).status, 401);
    const ok = await get({ authorization: 'Bearer metrics-secret-123' });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^# TYPE astral_calls gauge/m);
  } finally {
    await guarded.close();
  }
});
