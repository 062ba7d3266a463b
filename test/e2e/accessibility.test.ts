// End to end: axe-core finds no violation on the demo page, the widgets' shadow DOM included, in every phone state a
// call passes through (ready with the audio settings open and a connection test done, calling/incoming, in call with
// the dial pad and transfer panel, after the call, an error), light and dark; and a whole call made with the keyboard alone
// (dial, answer, hang up), audio flowing both ways.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { axeViolations, describeViolations } from '../helpers/axe.js';
import type { PhonePage } from '../helpers/phone.js';
import { mintToken } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';

let stage: Stage;
let page: Page;
before(async () => {
  stage = await startStage({ browsers: { a: 440, b: 1000 } });
  page = await stage.browsers.a!.newPage();
  await page.goto(`${stage.server.url}/`);
});
after(async () => {
  await stage?.closePhones();
  await stage?.close();
});

async function phoneState(id: string, state: string): Promise<void> {
  await page
    .waitForFunction(([id, state]) => (document.getElementById(id!) as unknown as { state: string }).state === state, [id, state], { timeout: 15_000 })
    .catch(async (err: Error) => {
      const now = await page.evaluate((id) => (document.getElementById(id) as unknown as { state: string }).state, id);
      throw new Error(`${id} never reached ${state} (it is ${now}): ${err.message}\n${stage.server.output().slice(-2000)}`);
    });
}

async function expectNoViolations(when: string): Promise<void> {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `axe-core, ${when}:\n${describeViolations(violations)}`);
}

test('the demo page has no axe-core violation in any state of a call', async () => {
  await phoneState('phone-alice', 'ready');
  await phoneState('phone-bob', 'ready');
  await page.waitForFunction(() => !(document.getElementById('alice-calls-bob') as HTMLButtonElement).disabled);
  await expectNoViolations('both phones ready');

  const alice = page.locator('#phone-alice');
  await alice.locator('[part="devices-button"]').click();
  await alice.locator('[part="input-select"]').waitFor();
  await expectNoViolations("Alice's audio settings open");
  await alice.locator('[part="devices-button"]').click();
  await alice.locator('[part="preflight-button"]').click();
  await alice.locator('[part="preflight-result"][data-verdict]').waitFor({ timeout: 20_000 });
  await expectNoViolations("Alice's connection test done");

  await page.getByRole('button', { name: 'Alice calls Bob' }).click();
  await phoneState('phone-bob', 'incoming');
  await expectNoViolations('Alice calling, Bob ringing');

  await page.locator('#phone-bob').getByRole('button', { name: /Accept call from Alice/ }).click();
  await phoneState('phone-alice', 'in-call');
  await phoneState('phone-bob', 'in-call');
  await alice.locator('[part="transfer"]').waitFor();
  await alice.getByRole('button', { name: '5' }).click(); // a tone: the sent-tones line shows
  await alice.locator('[part="transfer-input"]').fill('carol');
  await expectNoViolations('in call, a tone sent, a transfer target typed');

  await page.emulateMedia({ colorScheme: 'dark', reducedMotion: 'reduce' });
  await expectNoViolations('in call, dark colour scheme');
  await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'no-preference' });

  await page.locator('#phone-bob').getByRole('button', { name: 'Hang up' }).click();
  await phoneState('phone-alice', 'ready');
  await alice.locator('[part="last-call"]').waitFor();
  await expectNoViolations('after the call');

  await alice.locator('[part="input"]').fill('no-such-person');
  await alice.locator('[part="input"]').press('Enter');
  await alice.locator('[part="error"]').waitFor();
  await expectNoViolations('an error shown');
});

/** The `part` of the element holding keyboard focus, looked up through the phone's (and dial pad's) shadow roots. */
function focusedPart(phone: PhonePage): Promise<string> {
  return phone.page.evaluate(() => {
    let el: Element | null = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    return el?.getAttribute('part') ?? el?.tagName.toLowerCase() ?? '';
  });
}

/** Presses Tab until the element with `part` has focus (at most `limit` times). */
async function tabTo(phone: PhonePage, part: string, limit = 30): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < limit; i++) {
    await phone.page.keyboard.press('Tab');
    const now = await focusedPart(phone);
    if (now === part) return;
    seen.push(now);
  }
  throw new Error(`Tab never reached ${part}: ${seen.join(' → ')}`);
}

test('a whole call with the keyboard alone: digits on the dial pad, Enter to call, Space to answer, Enter to hang up', async () => {
  const { server } = stage;
  const caller = await stage.phone('a', await mintToken(server, 'kb-caller', { display_name: 'Kim', extension: '2301' }));
  const callee = await stage.phone('b', await mintToken(server, 'kb-callee', { display_name: 'Lee', extension: '2302' }));

  await tabTo(caller, 'input');
  await tabTo(caller, 'key'); // the first key of the dial pad; digits typed there dial
  await caller.page.keyboard.type('2302');
  assert.equal(await caller.page.evaluate(() => (document.getElementById('phone')!.shadowRoot!.querySelector('[part="input"]') as HTMLInputElement).value), '2302');
  await tabTo(caller, 'call-button');
  await caller.page.keyboard.press('Enter');

  await callee.waitState('incoming');
  await tabTo(callee, 'accept-button');
  await callee.page.keyboard.press('Space');
  await callee.waitState('in-call');
  await caller.waitState('in-call');
  assert.equal(await focusedPart(callee), 'hangup-button', 'answering moves focus to Hang up');
  await caller.expectTone(1000);
  await callee.expectTone(440);

  await tabTo(caller, 'mute-button');
  await caller.page.keyboard.press('Space');
  await callee.page.waitForFunction(() => (document.getElementById('phone') as unknown as { client: { activeCall: { remoteMuted: boolean } } }).client.activeCall?.remoteMuted === true);
  await caller.page.keyboard.press('Space');

  await tabTo(caller, 'hangup-button');
  await caller.page.keyboard.press('Enter');
  await caller.waitState('ready');
  await callee.waitState('ready');
  const ended = await caller.waitEvent('astral-call-ended');
  assert.equal(ended.detail.disposition, 'ANSWERED');
});
