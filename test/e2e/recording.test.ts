// End to end: the server records an answered call from the SFU; the WAV holds both parties' tones; it can be deleted.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import wavefile from 'wavefile';
import { launchBrowser } from '../helpers/browser.js';
import { PhonePage } from '../helpers/phone.js';
import { mintToken, startServer, type RunningServer } from '../helpers/server.js';
import { startSite, type Site } from '../helpers/site.js';
import { toneFile, tonePower } from '../helpers/tone.js';

let server: RunningServer;
let site: Site;
let browserA: Browser;
let browserB: Browser;

before(async () => {
  const fixtures = join(tmpdir(), 'astral-fixtures');
  server = await startServer();
  site = await startSite(server.url);
  [browserA, browserB] = await Promise.all([launchBrowser(toneFile(fixtures, 440)), launchBrowser(toneFile(fixtures, 1000))]);
});
after(async () => {
  await Promise.all([browserA?.close(), browserB?.close()]);
  await site?.close();
  await server?.stop();
});

const get = (path: string) => fetch(`${server.url}${path}`, { headers: { 'x-api-key': server.apiKey } });

test('an answered call is recorded while it runs, and its WAV holds both tones', async () => {
  const alice = await PhonePage.open(browserA, site.url, server.url, await mintToken(server, 'rec-alice'));
  const bob = await PhonePage.open(browserB, site.url, server.url, await mintToken(server, 'rec-bob'));
  await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
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
  assert.ok(caller! > 0.05 && callee! > 0.05, `both tones recorded: 440 Hz ${caller}, 1000 Hz ${callee}`);
  assert.ok(none! < caller! / 20, `a frequency nobody sent stays quiet: 700 Hz ${none}`);

  assert.equal((await fetch(`${server.url}/api/v1/calls/${callId}/recording`, { method: 'DELETE', headers: { 'x-api-key': server.apiKey } })).status, 204);
  const gone = await get(`/api/v1/calls/${callId}/recording`);
  assert.equal(gone.status, 404);
  assert.equal(((await gone.json()) as { code: string }).code, 'not_found');
  await Promise.all([alice.close(), bob.close()]);
});

test('recording errors: unknown call, bad id, missing key', async () => {
  assert.equal((await get('/api/v1/calls/123/recording')).status, 404);
  assert.equal((await get('/api/v1/calls/abc/recording')).status, 400);
  assert.equal((await fetch(`${server.url}/api/v1/calls/123/recording`)).status, 401);
});

test('recording is switched off for an extension minted with record_calls: false', async () => {
  const carol = await PhonePage.open(browserA, site.url, server.url, await mintToken(server, 'rec-carol', { record_calls: false }));
  const dan = await PhonePage.open(browserB, site.url, server.url, await mintToken(server, 'rec-dan'));
  await Promise.all([carol.waitState('ready'), dan.waitState('ready')]);
  const callId = (await dan.invoke('call', 'rec-carol')) as string;
  await carol.waitState('incoming');
  await carol.invoke('answer');
  await dan.heardAudio(800);
  assert.equal(await dan.page.$('astral-phone >> [part="recording"]'), null, 'no recording indicator');
  await dan.invoke('hangup');
  await carol.waitState('ready');
  assert.equal((await get(`/api/v1/calls/${callId}/recording`)).status, 404);
  await Promise.all([carol.close(), dan.close()]);
});
