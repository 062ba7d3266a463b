// End to end: a real call through the SFU where the caller switches microphone mid-call, and where the microphone
// track ends under the call: the producer's track is replaced (same producer, no renegotiation) and the far side
// keeps receiving RTP and hearing the tone; nobody's call drops.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { axeViolations, describeViolations } from '../helpers/axe.js';
import type { PhonePage } from '../helpers/phone.js';
import { mintToken } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';

const DORA_HZ = 440;
let stage: Stage;

interface Mic {
  producerId: string;
  trackId: string;
  deviceId: string;
  readyState: string;
}

/** Dora's producer and the track it sends (the client's private media session, read in the page). */
function mic(phone: PhonePage): Promise<Mic> {
  return phone.page.evaluate(() => {
    const el = document.getElementById('phone') as unknown as { client: { media: { producer: { id: string; track: MediaStreamTrack } } } };
    const { id, track } = el.client.media.producer;
    return { producerId: id, trackId: track.id, deviceId: track.getSettings().deviceId ?? '', readyState: track.readyState };
  });
}

/** Resolves once the phone's inbound packet count has grown by `packets` (RTP keeps arriving). */
async function inboundGrows(phone: PhonePage, packets: number): Promise<void> {
  const from = (await phone.stats()).packetsReceived!;
  const deadline = Date.now() + 10_000;
  while ((await phone.stats()).packetsReceived! < from + packets) {
    if (Date.now() > deadline) throw new Error(`inbound RTP stalled at ${from}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answeredCall(): Promise<[PhonePage, PhonePage]> {
  const dora = await stage.phone('a', await mintToken(stage.server, 'dora'));
  const emil = await stage.phone('b', await mintToken(stage.server, 'emil'));
  await dora.invoke('call', 'emil');
  await emil.waitState('incoming');
  await emil.invoke('answer');
  await dora.waitState('in-call');
  await emil.expectTone(DORA_HZ);
  return [dora, emil];
}

describe('devices mid-call', { timeout: 90_000 }, () => {
  before(async () => {
    stage = await startStage({ browsers: { a: DORA_HZ, b: 1000 } });
  });
  afterEach(() => stage.closePhones());
  after(() => stage?.close());

  test('switching the microphone mid-call replaces the producer track; the far side keeps hearing it', async () => {
    const [dora, emil] = await answeredCall();
    const before = await mic(dora);
    const target = await dora.page.evaluate(async () => {
      const el = document.getElementById('phone') as unknown as { devices: { refresh(labels: boolean): Promise<{ inputs: { deviceId: string }[] }> } };
      const { inputs } = await el.devices.refresh(true);
      return inputs.find((d) => d.deviceId !== 'default')!.deviceId;
    });
    assert.notEqual(target, before.deviceId, 'another microphone than the one in use');

    await dora.invoke('setInputDevice', target);
    const after = await mic(dora);
    assert.notEqual(after.trackId, before.trackId, 'the producer sends a new track');
    assert.equal(after.deviceId, target, 'from the chosen microphone');
    assert.equal(after.producerId, before.producerId, 'the same producer: no renegotiation');
    assert.equal(after.readyState, 'live');
    const changed = await dora.waitEvent('astral-device-changed');
    assert.deepEqual(changed.detail, { kind: 'input', deviceId: target, reason: 'selected' });

    await inboundGrows(emil, 50); // about a second of 20 ms packets, after the switch
    await emil.expectTone(DORA_HZ);
    assert.equal(await dora.state(), 'in-call');
    assert.equal(await emil.state(), 'in-call');
    assert.equal((await dora.events('astral-call-ended')).length + (await emil.events('astral-call-ended')).length, 0, 'no call ended');
  });

  test('the device panel of the built widget (its own chunk) lists the microphones, passes axe-core, and switches one mid-call', async () => {
    const [dora, emil] = await answeredCall();
    const before = await mic(dora);
    await dora.page.click('astral-phone [part~="devices-button"]'); // Playwright's CSS pierces the shadow root
    const select = dora.page.locator('astral-phone [part~="input-select"]');
    await select.waitFor();
    const options = await select.locator('option').evaluateAll((list) => list.map((o) => ({ value: (o as HTMLOptionElement).value, label: o.textContent ?? '' })));
    const pick = options.find((o) => o.value && o.value !== before.deviceId);
    assert.ok(pick && /Fake Audio Input/.test(pick.label), `labelled microphones: ${JSON.stringify(options)}`);
    // The test site is a bare page (no lang, no landmarks): only what axe finds inside the phone's shadow DOM counts.
    const inPhone = (await axeViolations(dora.page))
      .map((v) => ({ ...v, nodes: v.nodes.filter((n) => n.target.length > 1) }))
      .filter((v) => v.nodes.length > 0);
    assert.equal(inPhone.length, 0, describeViolations(inPhone));
    await select.selectOption(pick.value);
    await dora.page.waitForFunction(
      (id) => (document.getElementById('phone') as unknown as { client: { media: { producer: { track: MediaStreamTrack } } } }).client.media.producer.track.getSettings().deviceId === id,
      pick.value,
    );
    assert.equal((await mic(dora)).producerId, before.producerId, 'the same producer');
    await inboundGrows(emil, 50);
    await emil.expectTone(DORA_HZ);
    assert.equal(await emil.state(), 'in-call');
  });

  test('a microphone track that ends mid-call is reacquired without dropping the call', async () => {
    const [dora, emil] = await answeredCall();
    const before = await mic(dora);
    // The source goes away under the call (unplugged, revoked): the track stops and fires `ended`.
    await dora.page.evaluate(() => {
      const el = document.getElementById('phone') as unknown as { client: { media: { producer: { track: MediaStreamTrack } } } };
      const track = el.client.media.producer.track;
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    const changed = await dora.waitEvent('astral-device-changed');
    assert.equal(changed.detail.reason, 'track-ended');
    const after = await mic(dora);
    assert.notEqual(after.trackId, before.trackId, 'a new microphone track');
    assert.equal(after.readyState, 'live');
    assert.equal(after.producerId, before.producerId, 'the same producer');

    await inboundGrows(emil, 50);
    await emil.expectTone(DORA_HZ);
    assert.equal(await dora.state(), 'in-call');
    assert.equal(await emil.state(), 'in-call');
    assert.equal((await dora.events('astral-call-ended')).length + (await emil.events('astral-call-ended')).length, 0, 'no call ended');
  });
});
