// End to end: with no fixed region, the caller's widget measures each region's endpoint and the call lands in the fastest.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { PhonePage } from '../helpers/phone.js';
import { mintTokenBody, startServer, type RunningServer } from '../helpers/server.js';
import { startSite, startSlowEndpoint, type Site } from '../helpers/site.js';
import { toneFile } from '../helpers/tone.js';

let server: RunningServer;
let site: Site;
let far: Site;
let browser: Browser;

before(async () => {
  far = await startSlowEndpoint(150);
  // The far region is listed first, so it would be the default: only the measurement can pick "near".
  const regions = [
    { id: 'far', name: 'Far', emoji: '', workers: [0], endpoint: far.url },
    { id: 'near', name: 'Near', emoji: '', workers: [1] },
  ];
  server = await startServer({ ASTRAL_WORKERS: '2', ASTRAL_REGIONS: JSON.stringify(regions) });
  site = await startSite(server.url);
  browser = await launchBrowser(toneFile(join(tmpdir(), 'astral-fixtures'), 440));
});
after(async () => {
  await browser?.close();
  await site?.close();
  await far?.close();
  await server?.stop();
});

test('a channel call with automatic region goes to the region the caller measured fastest', async () => {
  const ana = await mintTokenBody(server, 'ana');
  const ben = await mintTokenBody(server, 'ben');
  const res = await fetch(`${server.url}/api/v1/channels`, {
    method: 'POST',
    headers: { 'x-api-key': server.apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ recipients: [ana.user_id, ben.user_id] }),
  });
  assert.equal(res.status, 201);
  const channel = (await res.json()) as { id: string; rtc_region: string | null };
  assert.equal(channel.rtc_region, null);

  const phone = await PhonePage.open(browser, site.url, server.url, ana.token);
  await phone.waitState('ready');
  const rtts = (await phone.page.waitForFunction(
    () => (document.getElementById('phone') as unknown as { client: { regionRtts: Record<string, number> | null } }).client.regionRtts,
    undefined,
    { timeout: 10_000 },
  ).then((h) => h.jsonValue())) as Record<string, number>;
  assert.ok(rtts.far! >= 150 && rtts.near! < rtts.far!, `measured ${JSON.stringify(rtts)}`);

  await phone.invoke('joinChannel', channel.id);
  await phone.waitState('in-call');
  const region = await phone.page.waitForFunction(
    () => (document.getElementById('phone') as unknown as { client: { activeCall: { region?: string } | null } }).client.activeCall?.region,
  );
  assert.equal(await region.jsonValue(), 'near');
  await phone.close();
});
