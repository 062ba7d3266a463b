// End to end: a call whose media path is cut while signalling stays up (Wi-Fi → LTE) shows reconnecting, restarts ICE,
// and carries both tones again once the path is back. The server runs in a network namespace with separate signalling
// and media links (test/helpers/netns.ts); cutting = the media link down on the browsers' side.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { splitNetwork, type SplitNetwork } from '../helpers/netns.js';
import { connectedCall, type PhonePage } from '../helpers/phone.js';
import { mintToken } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';

const ALICE_HZ = 440;
const BOB_HZ = 1000;
const METRICS_TOKEN = 'ice-restart-metrics-token';
/** How long Chromium may take to notice the lost path, and to reconnect after it is back (generous: CI machines are slow). */
const DETECT_TIMEOUT_MS = 30_000;
const RECOVER_TIMEOUT_MS = 20_000;

let net: SplitNetwork | undefined;
let stage: Stage | undefined;

const packetsReceived = async (phone: PhonePage) => (await phone.stats()).packetsReceived!;

async function iceRestarts(): Promise<number> {
  const res = await fetch(`${stage!.server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(res.status, 200);
  const value = /^astral_ice_restarts_total (\d+)/m.exec(await res.text())?.[1];
  assert.ok(value !== undefined, 'astral_ice_restarts_total is exported');
  return Number(value);
}

/** Resolves once the phone receives RTP again (its inbound packet count grows). */
async function waitInboundRtp(phone: PhonePage, timeoutMs: number): Promise<void> {
  const from = await packetsReceived(phone);
  const deadline = Date.now() + timeoutMs;
  while ((await packetsReceived(phone)) <= from) {
    if (Date.now() > deadline) throw new Error(`no inbound RTP within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const mediaEvents = async (phone: PhonePage) => (await phone.events('astral-media')).map((e) => e.detail.state);

describe('ICE restart when the media path fails with signalling up', { timeout: 180_000 }, () => {
  before(async () => {
    net = await splitNetwork();
    stage = await startStage({
      browsers: { alice: ALICE_HZ, bob: BOB_HZ },
      env: { ASTRAL_LISTEN_IP: net.mediaIp, ASTRAL_ANNOUNCED_IP: net.mediaIp, ASTRAL_METRICS_TOKEN: METRICS_TOKEN },
      placement: { netns: net.name, host: net.signallingIp },
    });
  });

  after(async () => {
    await stage?.close().catch(() => undefined);
    await net?.close();
  });

  test('cut media → both widgets show reconnecting with no inbound RTP; restored → in-call with both tones, ICE restarts counted', async (t) => {
    const alice = await stage!.phone('alice', await mintToken(stage!.server, 'alice'));
    const bob = await stage!.phone('bob', await mintToken(stage!.server, 'bob'));
    await connectedCall(alice, bob, 'bob');
    await Promise.all([alice.expectTone(BOB_HZ), bob.expectTone(ALICE_HZ)]);
    const restartsBefore = await iceRestarts();

    const cutAt = Date.now();
    await net!.cutMedia();
    await Promise.all([alice.waitState('reconnecting', DETECT_TIMEOUT_MS), bob.waitState('reconnecting', DETECT_TIMEOUT_MS)]);
    const detectedMs = Date.now() - cutAt;
    // The media path, not the socket: the widgets say so, and signalling still answers.
    assert.deepEqual(await mediaEvents(alice), ['reconnecting']);
    assert.deepEqual(await mediaEvents(bob), ['reconnecting']);
    assert.equal((await fetch(`${stage!.server.url}/healthz`)).status, 200);
    const [aliceCut, bobCut] = [await packetsReceived(alice), await packetsReceived(bob)];
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await packetsReceived(alice), aliceCut, 'Alice receives no RTP while the path is cut');
    assert.equal(await packetsReceived(bob), bobCut, 'Bob receives no RTP while the path is cut');
    assert.equal(await alice.state(), 'reconnecting', 'the call stays (no re-dial) while cut');

    await net!.restoreMedia();
    const restoredAt = Date.now();
    await Promise.all([alice.waitState('in-call', RECOVER_TIMEOUT_MS), bob.waitState('in-call', RECOVER_TIMEOUT_MS)]);
    const inCallMs = Date.now() - restoredAt;
    await Promise.all([waitInboundRtp(alice, RECOVER_TIMEOUT_MS), waitInboundRtp(bob, RECOVER_TIMEOUT_MS)]);
    const rtpMs = Date.now() - restoredAt;
    await Promise.all([alice.expectTone(BOB_HZ), bob.expectTone(ALICE_HZ)]);
    t.diagnostic(`cut → reconnecting: ${detectedMs} ms; restored → in-call: ${inCallMs} ms; restored → inbound RTP on both: ${rtpMs} ms`);

    assert.deepEqual(await mediaEvents(alice), ['reconnecting', 'reconnected']);
    assert.deepEqual(await mediaEvents(bob), ['reconnecting', 'reconnected']);
    assert.ok((await iceRestarts()) >= restartsBefore + 2, 'the server restarted ICE for both widgets');
    assert.equal((await alice.events('astral-call-ended')).length, 0, 'the call never ended');
    await alice.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
  });
});
