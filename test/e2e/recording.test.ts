// End to end: the server records an answered call from the SFU; the WAV holds both parties' tones; it can be deleted.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import wavefile from 'wavefile';
import { mintToken, type RunningServer } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';
import { tonePower } from '../helpers/tone.js';

let stage: Stage;
let server: RunningServer;

before(async () => {
  stage = await startStage({ browsers: { a: 440, b: 1000 } });
  server = stage.server;
});
afterEach(() => stage.closePhones());
after(() => stage?.close());

const get = (path: string) => fetch(`${server.url}${path}`, { headers: { 'x-api-key': server.apiKey } });

test('an answered call is recorded while it runs, and its WAV holds both tones', async () => {
  const alice = await stage.phone('a', await mintToken(server, 'rec-alice'));
  const bob = await stage.phone('b', await mintToken(server, 'rec-bob'));
  const callId = (await alice.invoke('call', 'rec-bob')) as string;
  await bob.waitState('incoming');
  await bob.invoke('answer');
  await alice.heardAudio(500);
  await alice.page.waitForSelector('astral-phone >> [part="recording"]');
  const file = join(server.dataDir, 'recordings', `${callId}.rec`);
  const size1 = statSync(file).size;
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(statSync(file).size > size1 + 5_000, 'the recording grows on disk during the call');
  await alice.invoke('hangup');
  await bob.waitState('ready');

  const res = await get(`/api/v1/calls/${callId}/recording`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'audio/wav');
  const wav = new wavefile.WaveFile(new Uint8Array(await res.arrayBuffer()));
  const fmt = wav.fmt as { sampleRate: number; numChannels: number; bitsPerSample: number };
  assert.deepEqual([fmt.sampleRate, fmt.numChannels, fmt.bitsPerSample], [48000, 1, 16]);
  const samples = wav.getSamples(false, Float64Array) as unknown as Float64Array;
  const seconds = samples.length / 48000;
  assert.ok(seconds > 1.5 && seconds < 10, `recording length ${seconds} s`);
  const [caller, callee, none] = [440, 1000, 700].map((hz) => tonePower(samples, 48000, hz));
  // Each tone carries a clear share of the energy (a pure tone alone scores ~0.5), far above a frequency nobody sent.
  assert.ok(caller! > 0.01 && callee! > 0.01, `both tones recorded: 440 Hz ${caller}, 1000 Hz ${callee}`);
  assert.ok(none! < Math.min(caller!, callee!) / 20, `a frequency nobody sent stays quiet: 700 Hz ${none}`);

  assert.equal((await fetch(`${server.url}/api/v1/calls/${callId}/recording`, { method: 'DELETE', headers: { 'x-api-key': server.apiKey } })).status, 204);
  const gone = await get(`/api/v1/calls/${callId}/recording`);
  assert.equal(gone.status, 404);
  assert.equal(((await gone.json()) as { code: string }).code, 'not_found');
});

test('recording errors: unknown call, bad id, missing key', async () => {
  assert.equal((await get('/api/v1/calls/123/recording')).status, 404);
  assert.equal((await get('/api/v1/calls/abc/recording')).status, 400);
  assert.equal((await fetch(`${server.url}/api/v1/calls/123/recording`)).status, 401);
});

test('recording is switched off for an extension minted with record_calls: false', async () => {
  const carol = await stage.phone('a', await mintToken(server, 'rec-carol', { record_calls: false }));
  const dan = await stage.phone('b', await mintToken(server, 'rec-dan'));
  const callId = (await dan.invoke('call', 'rec-carol')) as string;
  await carol.waitState('incoming');
  await carol.invoke('answer');
  await dan.heardAudio(800);
  assert.equal(await dan.page.$('astral-phone >> [part="recording"]'), null, 'no recording indicator');
  await dan.invoke('hangup');
  await carol.waitState('ready');
  assert.equal((await get(`/api/v1/calls/${callId}/recording`)).status, 404);
});
