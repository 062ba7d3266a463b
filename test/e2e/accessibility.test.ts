// End to end: axe-core finds no violation on the demo page, the widgets' shadow DOM included, in every phone state a
// call passes through (ready, calling/incoming, in call with the dial pad and transfer panel, after the call), light and dark.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { axeViolations, describeViolations } from '../helpers/axe.js';
import { startStage, type Stage } from '../helpers/stage.js';

let stage: Stage;
let page: Page;
before(async () => {
  stage = await startStage({ browsers: { a: 440 } });
  page = await stage.browsers.a!.newPage();
  await page.goto(`${stage.server.url}/`);
});
after(() => stage?.close());

const phoneState = (id: string, state: string) =>
  page.waitForFunction(([id, state]) => (document.getElementById(id!) as unknown as { state: string }).state === state, [id, state], { timeout: 15_000 });

async function expectNoViolations(when: string): Promise<void> {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `axe-core, ${when}:\n${describeViolations(violations)}`);
}

test('the demo page has no axe-core violation in any state of a call', async () => {
  await phoneState('phone-alice', 'ready');
  await phoneState('phone-bob', 'ready');
  await page.waitForFunction(() => !(document.getElementById('alice-calls-bob') as HTMLButtonElement).disabled);
  await expectNoViolations('both phones ready');

  await page.getByRole('button', { name: 'Alice calls Bob' }).click();
  await phoneState('phone-bob', 'incoming');
  await expectNoViolations('Alice calling, Bob ringing');

  await page.locator('#phone-bob').getByRole('button', { name: /Accept call from Alice/ }).click();
  await phoneState('phone-alice', 'in-call');
  await phoneState('phone-bob', 'in-call');
  await page.locator('#phone-alice [part="transfer"]').waitFor();
  await page.locator('#phone-alice').getByRole('button', { name: '5' }).click(); // a tone: the sent-tones line shows
  await page.locator('#phone-alice [part="transfer-input"]').fill('carol');
  await expectNoViolations('in call, a tone sent, a transfer target typed');

  await page.emulateMedia({ colorScheme: 'dark', reducedMotion: 'reduce' });
  await expectNoViolations('in call, dark colour scheme');
  await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'no-preference' });

  await page.locator('#phone-bob').getByRole('button', { name: 'Hang up' }).click();
  await phoneState('phone-alice', 'ready');
  await page.locator('#phone-alice [part="last-call"]').waitFor();
  await expectNoViolations('after the call');
});
