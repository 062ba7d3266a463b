// End to end: token-url sign-in, mute and DTMF during a real call through the SFU.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { mintTokenBody } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';

let stage: Stage;

/** A phone that signs in through the site's token endpoint, as a real embedding would. */
const tokenUrl = (identity: string) => ({ tokenUrl: `${stage.site.url}token?identity=${identity}` });
const phone = (browser: 'a' | 'b', identity: string) => stage.phone(browser, tokenUrl(identity));

describe('in-call features', { timeout: 90_000 }, () => {
  before(async () => {
    stage = await startStage({
      browsers: { a: 440, b: 1000 },
      // The site's backend: it knows dora and emil, and refuses anyone else.
      mint: (server) => (identity) =>
        /^(dora|emil)$/.test(identity) ? mintTokenBody(server, identity, { ttl_seconds: 300 }) : Promise.reject(new Error('unknown user')),
    });
  });
  afterEach(() => stage.closePhones());
  after(() => stage?.close());

  test('token-url: the widget fetches its token from the site and connects', async () => {
    const dora = await phone('a', 'dora');
    const ready = await dora.waitEvent('astral-ready');
    assert.equal((ready.detail.user as { identity: string }).identity, 'dora');
  });

  test('token-url refusing a token surfaces an error', async () => {
    const p = await stage.open('a', tokenUrl('mallory'));
    const error = await p.waitEvent('astral-error');
    assert.equal(error.detail.code, 'unauthorized');
  });

  test('mute silences the far side and tells it; unmute brings the tone back', async () => {
    const [dora, emil] = [await phone('a', 'dora'), await phone('b', 'emil')];
    await dora.invoke('call', 'emil');
    await emil.waitState('incoming');
    await emil.invoke('answer');
    await dora.waitState('in-call');
    const before = await emil.heardAudio(800);
    assert.ok(before.rms > 0.01 && Math.abs(before.peakHz - 440) < 25, `tone before mute: ${JSON.stringify(before)}`);

    await dora.invoke('setMuted', true);
    await emil.page.waitForFunction(() => (document.getElementById('phone') as unknown as { client: { activeCall: { remoteMuted: boolean } } }).client.activeCall?.remoteMuted === true);
    await new Promise((r) => setTimeout(r, 500));
    const muted = await emil.heardAudio(800);
    assert.ok(muted.rms < before.rms / 10, `muted audio should be near silence: ${muted.rms} vs ${before.rms}`);

    await dora.invoke('setMuted', false);
    await new Promise((r) => setTimeout(r, 500));
    const after = await emil.heardAudio(800);
    assert.ok(after.rms > 0.01 && Math.abs(after.peakHz - 440) < 25, `tone after unmute: ${JSON.stringify(after)}`);
  });

  test('hold pauses audio both ways and shows the other side; resume restores it', async () => {
    const [dora, emil] = [await phone('a', 'dora'), await phone('b', 'emil')];
    await dora.invoke('call', 'emil');
    await emil.waitState('incoming');
    await emil.invoke('answer');
    await dora.waitState('in-call');
    assert.ok((await emil.heardAudio(600)).rms > 0.01);

    await dora.invoke('setHeld', true);
    await emil.page.waitForFunction(() => (document.getElementById('phone') as unknown as { client: { activeCall: { remoteHeld?: boolean } } }).client.activeCall?.remoteHeld === true);
    const shown = await emil.page.evaluate(() => document.getElementById('phone')!.shadowRoot!.querySelector('[part="remote-held"]')?.textContent ?? '');
    assert.match(shown, /on hold/);
    await new Promise((r) => setTimeout(r, 400));
    const held = await emil.heardAudio(800);
    assert.ok(held.rms < 0.005, `Emil hears nothing while held: ${held.rms}`);
    const d1 = (await dora.stats()).packetsReceived!;
    await new Promise((r) => setTimeout(r, 800));
    assert.ok((await dora.stats()).packetsReceived! - d1 < 5, 'Dora receives nothing while holding');

    await dora.invoke('setHeld', false);
    await new Promise((r) => setTimeout(r, 500));
    // Media follows the resume by a moment (longer on a loaded machine): listen again for up to ~4 s more.
    let resumed = await emil.heardAudio(800);
    for (let i = 0; i < 5 && resumed.rms <= 0.01; i++) resumed = await emil.heardAudio(800);
    assert.ok(resumed.rms > 0.01 && Math.abs(resumed.peakHz - 440) < 25, `resumed: ${JSON.stringify(resumed)}`);
  });

  test('a dropped connection mid-call reconnects and resumes the same call with audio both ways', async () => {
    const [dora, emil] = [await phone('a', 'dora'), await phone('b', 'emil')];
    const callId = (await dora.invoke('call', 'emil')) as string;
    await emil.waitState('incoming');
    await emil.invoke('answer');
    await dora.waitState('in-call');
    await emil.expectTone(440);
    // Cut Dora's signaling connection under the widget, as a network blip would.
    await dora.page.evaluate(() => (document.getElementById('phone') as unknown as { client: { socket: { io: { engine: { close(): void } } } } }).client.socket.io.engine.close());
    await dora.waitState('reconnecting', 5000);
    await dora.waitState('in-call', 10_000);
    assert.equal(await emil.state(), 'in-call', 'the other party never left the call');
    const active = await dora.page.evaluate(() => (document.getElementById('phone') as unknown as { client: { activeCall: { id: string } | null } }).client.activeCall?.id);
    assert.equal(active, callId, 'same call, no re-dial');
    await dora.expectTone(1000);
    await emil.expectTone(440);
    assert.equal((await dora.events('astral-call-ended')).length, 0);
  });

  test('disconnecting on purpose mid-call hangs up at once (no reconnect grace)', async () => {
    const [dora, emil] = [await phone('a', 'dora'), await phone('b', 'emil')];
    await dora.invoke('call', 'emil');
    await emil.waitState('incoming');
    await emil.invoke('answer');
    await dora.waitState('in-call');
    await dora.invoke('disconnect');
    await emil.waitState('ready', 3000); // the server's grace is 15 s: only a hang-up ends it this fast
    assert.equal((await emil.waitEvent('astral-call-ended')).detail.reason, 'hangup');
  });

  test('DTMF digits from the dial pad reach the other party', async () => {
    const [dora, emil] = [await phone('a', 'dora'), await phone('b', 'emil')];
    await dora.invoke('call', 'emil');
    await emil.waitState('incoming');
    await emil.invoke('answer');
    await dora.waitState('in-call');
    await dora.invoke('sendDtmf', '12#');
    const dtmf = await emil.waitEvent('astral-dtmf');
    assert.equal(dtmf.detail.digits, '12#');
    await dora.invoke('hangup');
    await emil.waitState('ready');
  });
});
