// /metrics (Prometheus text, guarded by loopback or a token) and /readyz (database, workers, SIP listener).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import wavefile from 'wavefile';
import { ackRequest, ADMIN_KEY, api, serverForFile, startTestServer, widgetSocket, type TestServer } from './helpers.js';
import { freePort } from './sip-helpers.js';

let t: TestServer;
const sockets = serverForFile((server) => (t = server), async () => ({ ASTRAL_SIP_PORT: String(await freePort()) }));

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
    'astral_mediasoup_producer_score',
    'astral_mediasoup_producer_fraction_lost',
    'astral_mediasoup_producer_jitter_seconds',
    'astral_mediasoup_producer_streams_measured',
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

test("a call's live producer shows in the score, loss and jitter gauges of its worker", async () => {
  // An IVR answers the call and plays its prompt: real RTP into a real producer on worker 0.
  const tone = Int16Array.from({ length: 8000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, 8000, '16', tone);
  const ivr = await api(t, 'POST', '/api/v1/ivr', { key: ADMIN_KEY, body: { number: '7790', name: 'Metrics menu', prompt_wav: Buffer.from(wav.toBuffer()).toString('base64'), options: { '1': '7002' } } });
  assert.equal(ivr.status, 201);
  const caller = await widgetSocket(t, 'metrics-ivr-caller', { extension: '7003' });
  sockets.push(caller);
  const answered = new Promise((r) => caller.once('call:answered', r));
  assert.equal((await ackRequest(caller, 'call:dial', { destination: '7790' })).ok, true);
  await answered;
  // Each scrape asks the producers for their stats: the prompt's stream shows once its first packets arrived.
  let text = '';
  while (!(sample(text, 'astral_mediasoup_producer_streams_measured{worker="0"}')! >= 1)) text = await (await scrape()).text();
  for (const stat of ['min', 'mean', 'max']) {
    const score = sample(text, `astral_mediasoup_producer_score{worker="0",stat="${stat}"}`)!;
    assert.ok(score >= 0 && score <= 10, `score ${stat} ${score}`);
    const lost = sample(text, `astral_mediasoup_producer_fraction_lost{worker="0",stat="${stat}"}`)!;
    assert.ok(lost >= 0 && lost <= 1, `fraction lost ${stat} ${lost}`);
    const jitter = sample(text, `astral_mediasoup_producer_jitter_seconds{worker="0",stat="${stat}"}`)!;
    assert.ok(jitter >= 0 && jitter < 1, `jitter ${stat} ${jitter}`);
  }
  // Loopback RTP from the server's own player loses nothing.
  assert.equal(sample(text, 'astral_mediasoup_producer_fraction_lost{worker="0",stat="max"}'), 0);
  // Series are per worker and statistic, never per producer.
  assert.doesNotMatch(text, /astral_mediasoup_producer_\w+\{[^}]*producer/);
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
