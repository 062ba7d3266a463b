// End to end: the operator dashboard shows a real call — history row, stats, journey and a playable recording.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mintToken } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';

let stage: Stage;
before(async () => (stage = await startStage({ browsers: { a: 440, b: 1000 } })));
after(() => stage?.close());

test('a finished call appears in the dashboard with its journey and recording', async () => {
  const { server } = stage;
  const alice = await stage.phone('a', await mintToken(server, 'dash-alice', { extension: '2101' }));
  const bob = await stage.phone('b', await mintToken(server, 'dash-bob', { extension: '2102' }));
  const callId = (await alice.invoke('call', '2102')) as string;
  await bob.waitState('incoming');
  await bob.invoke('answer');
  await alice.expectTone(1000);
  await alice.invoke('hangup');
  await bob.waitState('ready');

  const page = await stage.browsers.a!.newPage();
  await page.goto(`${server.url}/dashboard.html`);
  const row = page.locator(`#history-body tr[data-id="${callId}"]`);
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, /2101/);
  assert.match(text, /2102/);
  assert.match(text, /ANSWERED/i);
  // Stats load on their own request: wait for the numbers, then check them.
  await page.waitForFunction(() => /\d/.test((document.getElementById('stat-cards') as HTMLElement).innerText));
  assert.match(await page.locator('#stat-cards').innerText(), /TOTAL CALLS\s+1\b/i);

  await row.locator('.row-link').click();
  await page.locator('#timeline li').first().waitFor();
  const timeline = await page.locator('#timeline').innerText();
  assert.match(timeline, /Dial/);
  assert.match(timeline, /Bridged/);
  assert.match(timeline, /Hangup/);
  const duration = await page.waitForFunction(() => {
    const audio = document.getElementById('audio') as HTMLAudioElement | null;
    return audio && Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : null;
  });
  assert.ok(((await duration.jsonValue()) as number) > 0.5, 'the recording loads in the player');
  await page.close();
});
