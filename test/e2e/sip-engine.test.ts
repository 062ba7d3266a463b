// End to end: <astral-phone engine="sip"> widgets in headless Chromium registered with a real Kamailio over WebSocket:
// register, call with audio both ways, hold/resume, DTMF (RFC 4733 and INFO), blind transfer, reconnect.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startKamailio, type Kamailio } from '../helpers/kamailio.js';
import type { PhonePage } from '../helpers/phone.js';
import { WIDGET_DIST, openSipPhone, startSipSite, type SipSite } from '../helpers/sip-site.js';
import { toneFile } from '../helpers/tone.js';

let kamailio: Kamailio;
let site: SipSite;
const browsers: Record<'a' | 'b' | 'c', Browser> = {} as never;
const pages: PhonePage[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A registered sip phone in browser `b` as SIP user `user`. */
async function phone(b: 'a' | 'b' | 'c', user: string, via: 'attributes' | 'token-url' = 'attributes'): Promise<PhonePage> {
  const p = await openSipPhone(browsers[b], site, kamailio.wsUrl, kamailio.domain, user, via);
  pages.push(p);
  await p.waitState('ready');
  return p;
}

/** `caller` dials `callee`'s number; the callee rings and answers; both end in-call. */
async function connect(caller: PhonePage, callee: PhonePage, number: string): Promise<void> {
  await caller.invoke('call', number);
  await callee.waitState('incoming');
  await caller.waitState('ringing');
  await callee.invoke('answer');
  await Promise.all([caller.waitState('in-call'), callee.waitState('in-call')]);
}

/** Inbound RTP packets counted by `p` over `ms`. */
async function packetsIn(p: PhonePage, ms: number): Promise<number> {
  const before = (await p.stats()).packetsReceived!;
  await sleep(ms);
  return (await p.stats()).packetsReceived! - before;
}

/** Reads a property of the page's SipClient. */
const clientProp = (p: PhonePage, name: string) =>
  p.page.evaluate((name) => (document.getElementById('phone') as unknown as { client: Record<string, unknown> }).client[name], name);

/** A test whose failure message ends with Kamailio's last lines (what it relayed is the first thing to read). */
function sipTest(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    try {
      await fn();
    } catch (err) {
      if (err instanceof Error) err.message += `\n--- Kamailio, last lines:\n${kamailio.log().split('\n').slice(-60).join('\n')}`;
      throw err;
    }
  });
}

describe('sip engine (sip.js) with Kamailio over WebSocket', { timeout: 120_000 }, () => {
  before(async () => {
    // The script-tag bundle must include the engine loader and its chunk must exist.
    const main = join(WIDGET_DIST, 'astral-phone.js');
    if (!existsSync(join(WIDGET_DIST, 'astral-phone-sip.mjs')) || !readFileSync(main, 'utf8').includes('astral-phone-sip.mjs')) {
      execFileSync('npm', ['run', '--silent', 'build:widget'], { stdio: 'inherit' });
    }
    kamailio = await startKamailio();
    site = await startSipSite(kamailio.wsUrl, kamailio.domain);
    const fixtures = join(tmpdir(), 'astral-fixtures');
    const [a, b, c] = await Promise.all([launchBrowser(toneFile(fixtures, 440)), launchBrowser(toneFile(fixtures, 1000)), launchBrowser(toneFile(fixtures, 1500))]);
    Object.assign(browsers, { a, b, c });
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((p) => p.close().catch(() => undefined)));
  });
  after(async () => {
    await Promise.all(Object.values(browsers).map((b) => b.close()));
    await site?.close();
    await kamailio?.close();
  });

  sipTest('registers with sip-* attributes and with a token-url answering {"sip": {...}}; the engine is its own chunk', async () => {
    const alice = await phone('a', '1001');
    const ready = await alice.waitEvent('astral-ready');
    assert.equal((ready.detail.user as { identity: string }).identity, '1001');
    assert.ok(site.fetched.includes('/widget/astral-phone-sip.mjs'), `the sip chunk is loaded beside the script: ${site.fetched.join(', ')}`);
    const bob = await phone('b', '1002', 'token-url');
    assert.equal(((await bob.waitEvent('astral-ready')).detail.user as { displayName: string }).displayName, 'User 1002');
    assert.match(kamailio.log(), /REQ REGISTER sip:127\.0\.0\.1 .*proto=ws/);
  });

  sipTest('a token-url without a sip account surfaces an error', async () => {
    const p = await openSipPhone(browsers.a, site, kamailio.wsUrl, kamailio.domain, 'nobody', 'token-url');
    pages.push(p);
    const error = await p.waitEvent('astral-error');
    assert.equal(error.detail.code, 'unauthorized');
    assert.equal(await p.state(), 'disconnected');
  });

  sipTest('call: the callee rings, answers, and each side hears the other and counts inbound RTP', async () => {
    const [alice, bob] = [await phone('a', '1001'), await phone('b', '1002')];
    await connect(alice, bob, '1002');
    const incoming = (await bob.events('astral-incoming'))[0]!;
    assert.equal((incoming.detail.from as { identity: string }).identity, '1001');
    await bob.expectTone(440);
    await alice.expectTone(1000);
    assert.ok((await packetsIn(alice, 500)) > 10, 'Alice receives RTP');
    assert.ok((await packetsIn(bob, 500)) > 10, 'Bob receives RTP');
    await alice.invoke('setMuted', true);
    await sleep(300);
    const muted = await bob.heardAudio(600);
    assert.ok(muted.rms < 0.005, `Bob hears silence while Alice is muted: ${JSON.stringify(muted)}`);
    await alice.invoke('setMuted', false);
    await bob.expectTone(440);
    await alice.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    const ended = await bob.waitEvent('astral-call-ended');
    assert.equal(ended.detail.disposition, 'ANSWERED');
  });

  sipTest('declining ends the caller with BUSY; an unregistered number ends FAILED', async () => {
    const [alice, bob] = [await phone('a', '1001'), await phone('b', '1002')];
    await alice.invoke('call', '1002');
    await bob.waitState('incoming');
    await bob.invoke('decline');
    const ended = await alice.waitEvent('astral-call-ended');
    assert.equal(ended.detail.disposition, 'BUSY');
    await alice.waitState('ready');
    await alice.invoke('call', '1999'); // nobody registered: Kamailio answers 404
    await alice.page.waitForFunction(() => (window as unknown as { astralEvents: { type: string }[] }).astralEvents.filter((e) => e.type === 'astral-call-ended').length === 2);
    assert.equal((await alice.events('astral-call-ended'))[1]!.detail.disposition, 'FAILED');
    await alice.waitState('ready');
  });

  sipTest('hold (re-INVITE) stops audio both ways; resume brings it back both ways', async () => {
    const [alice, bob] = [await phone('a', '1001'), await phone('b', '1002')];
    await connect(alice, bob, '1002');
    await bob.expectTone(440);

    await alice.invoke('setHeld', true);
    await bob.page.waitForFunction(() => (document.getElementById('phone') as unknown as { client: { activeCall: { remoteHeld?: boolean } } }).client.activeCall?.remoteHeld === true);
    await sleep(300);
    assert.ok((await packetsIn(alice, 800)) < 3, 'Alice receives nothing while holding');
    assert.ok((await packetsIn(bob, 800)) < 3, 'Bob receives nothing while held');

    await alice.invoke('setHeld', false);
    await bob.page.waitForFunction(() => (document.getElementById('phone') as unknown as { client: { activeCall: { remoteHeld?: boolean } } }).client.activeCall?.remoteHeld === false);
    await bob.expectTone(440);
    await alice.expectTone(1000);
    assert.ok((await packetsIn(alice, 500)) > 10, 'Alice receives RTP after resume');
    assert.ok((await packetsIn(bob, 500)) > 10, 'Bob receives RTP after resume');
  });

  sipTest('microphone switch mid-call: the sender gets the new track with no re-INVITE, the far side keeps hearing; an ended track recovers; hold keeps it', async () => {
    const [alice, bob] = [await phone('a', '1001'), await phone('b', '1002')];
    await connect(alice, bob, '1002');
    await bob.expectTone(440);
    /** Alice's audio sender: its track, where the track comes from, and her current local SDP (a re-INVITE changes it). */
    const sender = () =>
      alice.page.evaluate(() => {
        const client = (document.getElementById('phone') as unknown as { client: { session: { sessionDescriptionHandler: { peerConnection: RTCPeerConnection } } } }).client;
        const pc = client.session.sessionDescriptionHandler.peerConnection;
        const track = pc.getSenders().find((s) => s.track?.kind === 'audio')?.track ?? null;
        return { id: track?.id ?? '', deviceId: track?.getSettings().deviceId ?? '', live: track?.readyState === 'live', sdp: pc.localDescription?.sdp ?? '' };
      });
    const before = await sender();
    const target = await alice.page.evaluate(async () => {
      const el = document.getElementById('phone') as unknown as { devices: { refresh(labels: boolean): Promise<{ inputs: { deviceId: string }[] }> } };
      return (await el.devices.refresh(true)).inputs.find((d) => d.deviceId !== 'default')!.deviceId;
    });
    await alice.invoke('setInputDevice', target);
    const switched = await sender();
    assert.notEqual(switched.id, before.id, 'a new track on the sender');
    assert.equal(switched.deviceId, target, 'from the chosen microphone');
    assert.equal(switched.sdp, before.sdp, 'no re-INVITE');
    assert.ok((await packetsIn(bob, 500)) > 10, 'Bob receives RTP after the switch');
    await bob.expectTone(440);

    await alice.page.evaluate(() => {
      const client = (document.getElementById('phone') as unknown as { client: { session: { sessionDescriptionHandler: { peerConnection: RTCPeerConnection } } } }).client;
      const track = client.session.sessionDescriptionHandler.peerConnection.getSenders().find((s) => s.track?.kind === 'audio')!.track!;
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    // The switch above already fired one astral-device-changed (reason selected): wait for the track-ended one.
    await alice.page.waitForFunction(() =>
      (window as unknown as { astralEvents: { type: string; detail: { reason?: string } }[] }).astralEvents.some((e) => e.type === 'astral-device-changed' && e.detail.reason === 'track-ended'),
    );
    const recovered = await sender();
    assert.ok(recovered.live && recovered.id !== switched.id, 'a live track again');
    await bob.expectTone(440);

    // Hold and resume renegotiate (re-INVITEs): each waits for the previous one's answer.
    const negotiated = (direction: string) =>
      alice.page.waitForFunction((direction) => {
        const client = (document.getElementById('phone') as unknown as { client: { session: { sessionDescriptionHandler: { peerConnection: RTCPeerConnection } } } }).client;
        const pc = client.session.sessionDescriptionHandler.peerConnection;
        return pc.signalingState === 'stable' && (pc.localDescription?.sdp ?? '').includes(`a=${direction}`);
      }, direction);
    await alice.invoke('setHeld', true);
    await negotiated('sendonly');
    await alice.invoke('setHeld', false);
    await negotiated('sendrecv');
    assert.ok((await sender()).live, 'a live microphone after hold and resume');
    await bob.expectTone(440);
    assert.equal(await alice.state(), 'in-call');
    assert.equal(await bob.state(), 'in-call');
  });

  sipTest('DTMF: RFC 4733 through the RTP sender reaches the far side as the digit\'s tones; SIP INFO arrives as astral-dtmf', async () => {
    const [alice, bob] = [await phone('a', '1001'), await phone('b', '1002')];
    await connect(alice, bob, '1002');
    await bob.expectTone(440);

    // RFC 4733: telephone-event was negotiated, so "1" goes as RTP events; Bob's jitter buffer plays them out as
    // DTMF "1" (697 Hz + 1209 Hz) in place of Alice's 440 Hz.
    await alice.page.evaluate(() => (document.getElementById('phone') as unknown as { client: { sendDtmf(d: string, o: object): void } }).client.sendDtmf('1', { duration: 2000 }));
    assert.equal(await clientProp(alice, 'lastDtmfVia'), 'rfc4733');
    const windows = [];
    for (let i = 0; i < 6; i++) {
      const heard = await bob.heardAudio(250);
      windows.push(heard);
      if (heard.rms > 0.01 && (Math.abs(heard.peakHz - 697) < 25 || Math.abs(heard.peakHz - 1209) < 25)) break;
    }
    const last = windows[windows.length - 1]!;
    assert.ok(Math.abs(last.peakHz - 697) < 25 || Math.abs(last.peakHz - 1209) < 25, `Bob hears DTMF 1 (697/1209 Hz): ${JSON.stringify(windows)}`);
    assert.equal((await bob.events('astral-dtmf')).length, 0, 'RTP events are not INFO');

    // INFO fallback (forced here): application/dtmf-relay, one request per digit, emitted on the far widget.
    await bob.page.evaluate(() => (document.getElementById('phone') as unknown as { client: { sendDtmf(d: string, o: object): void } }).client.sendDtmf('4#', { via: 'info' }));
    await alice.page.waitForFunction(() => (window as unknown as { astralEvents: { type: string }[] }).astralEvents.filter((e) => e.type === 'astral-dtmf').length >= 2);
    const digits = (await alice.events('astral-dtmf')).map((e) => e.detail.digits).join('');
    assert.equal(digits, '4#');
    assert.match(kamailio.log(), /REQ INFO /);
  });

  sipTest('blind transfer: REFER sends the caller to a third widget, which rings, answers and talks with it', async () => {
    const [alice, bob, carol] = [await phone('a', '1001'), await phone('b', '1002'), await phone('c', '1003')];
    await connect(alice, bob, '1002');
    await bob.invoke('transfer', '1003', 'blind');
    const bobEnded = await bob.waitEvent('astral-call-ended');
    assert.equal(bobEnded.detail.reason, 'transferred');
    await carol.waitState('incoming');
    const from = (await carol.events('astral-incoming'))[0]!.detail.from as { identity: string };
    assert.equal(from.identity, '1001', 'Carol is rung by Alice, the transferee');
    await carol.invoke('answer');
    await Promise.all([alice.waitState('in-call'), carol.waitState('in-call')]);
    await alice.expectTone(1500);
    await carol.expectTone(440);
    assert.match(kamailio.log(), /REQ REFER /);
    await bob.waitState('ready');
  });

  sipTest('attended transfer: consult the target on hold, then REFER with Replaces joins the two others', async () => {
    const [alice, bob, carol] = [await phone('a', '1001'), await phone('b', '1002'), await phone('c', '1003')];
    await connect(alice, bob, '1002');
    await bob.invoke('transfer', '1003', 'attended');
    await carol.waitState('incoming');
    await carol.invoke('answer');
    await carol.waitState('in-call');
    await bob.page.waitForFunction(() => (document.getElementById('phone') as unknown as { client: { activeCall: { transfer?: { state: string } } } }).client.activeCall?.transfer?.state === 'consulting');
    await carol.expectTone(1000);
    await bob.expectTone(1500);
    await bob.invoke('completeTransfer');
    await bob.waitState('ready');
    // Carol's consultation leg is replaced in place (no ringing): she now talks with Alice.
    await carol.page.waitForFunction(() => (document.getElementById('phone') as unknown as { client: { activeCall: { remote: { identity: string } } } }).client.activeCall?.remote.identity === '1001');
    await alice.waitState('in-call');
    await alice.expectTone(1500);
    await carol.expectTone(440);
    assert.equal(await carol.state(), 'in-call');
    assert.deepEqual((await bob.events('astral-transfer')).map((e) => e.detail.state), ['ringing', 'consulting', 'completed']);
    assert.match(kamailio.log(), /REQ INVITE sip:\S+;alias=/, 'the transferee INVITEs the target with Replaces');
  });

  sipTest('attended transfer cancelled: the consultation ends and the held party is back with audio', async () => {
    const [alice, bob, carol] = [await phone('a', '1001'), await phone('b', '1002'), await phone('c', '1003')];
    await connect(alice, bob, '1002');
    await bob.invoke('transfer', '1003', 'attended');
    await carol.waitState('incoming');
    await carol.invoke('answer');
    await bob.page.waitForFunction(() => (document.getElementById('phone') as unknown as { client: { activeCall: { transfer?: { state: string } } } }).client.activeCall?.transfer?.state === 'consulting');
    await bob.invoke('cancelTransfer');
    await carol.waitState('ready');
    await alice.page.waitForFunction(() => (document.getElementById('phone') as unknown as { client: { activeCall: { remoteHeld?: boolean } } }).client.activeCall?.remoteHeld === false);
    await alice.expectTone(1000);
    await bob.expectTone(440);
    assert.deepEqual((await bob.events('astral-transfer')).map((e) => e.detail.state), ['ringing', 'consulting', 'cancelled']);
  });

  sipTest('a call in progress survives a PBX restart: reconnecting, then in-call with audio both ways; hangup reaches the other side', async () => {
    const [alice, bob] = [await phone('a', '1001'), await phone('b', '1002')];
    await connect(alice, bob, '1002');
    await kamailio.stop();
    await Promise.all([alice.waitState('reconnecting'), bob.waitState('reconnecting')]);
    await kamailio.start();
    await Promise.all([alice.waitState('in-call', 15_000), bob.waitState('in-call', 15_000)]);
    await bob.expectTone(440);
    await alice.expectTone(1000);
    assert.ok((await packetsIn(alice, 500)) > 10 && (await packetsIn(bob, 500)) > 10, 'RTP flows both ways after the restart');
    await alice.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    assert.equal((await bob.waitEvent('astral-call-ended')).detail.reason, 'hangup');
  });

  sipTest('reconnect: Kamailio goes away (reconnecting), comes back (ready again, re-registered) and a new call works', async () => {
    const [alice, bob] = [await phone('a', '1001'), await phone('b', '1002')];
    await kamailio.stop();
    await Promise.all([alice.waitState('reconnecting'), bob.waitState('reconnecting')]);
    await kamailio.start();
    await Promise.all([alice.waitState('ready', 15_000), bob.waitState('ready', 15_000)]);
    await connect(alice, bob, '1002');
    await bob.expectTone(440);
    await alice.expectTone(1000);
  });
});
