// The RTP relay worker on real sockets: SSRC stamping, µ-law↔A-law, Opus→G.711 transcoding, one steady stream toward
// the carrier, symmetric RTP, RFC 4733 both ways, and network garbage dropped without harm.
import alawmulaw from 'alawmulaw';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpusScript from 'opusscript';
import { RtpRelay } from '../src/media/rtp-relay.js';
import { buildRtp, seqDelta, tsDelta } from '../src/media/rtp.js';
import { tonePower } from '../../../test/helpers/tone.js';
import { FakeSfu, tone } from './fake-sfu.js';

const rtp = (pt: number, seq: number, ts: number, ssrc: number, payload: Buffer, marker = false) =>
  buildRtp({ payloadType: pt, marker, seq, timestamp: ts, ssrc }, payload);

test('timestamp and sequence deltas are signed and wrap at 2^32 and 2^16', () => {
  assert.equal(tsDelta(5, 0xffff_ff00), 0x105, 'just past the wrap is later');
  assert.equal(tsDelta(0xffff_ff00, 5), -0x105, 'just before the wrap is earlier');
  assert.equal(tsDelta(1000, 1160), -160, 'a reordered packet is behind');
  assert.equal(seqDelta(2, 0xfffe), 4, 'sequence past the wrap');
  assert.equal(seqDelta(0xfffe, 2), -4, 'sequence before the wrap');
  assert.equal(seqDelta(7, 7), 0, 'a duplicate');
});

describe('RTP relay worker', () => {
  let relay: RtpRelay;
  let sfu: FakeSfu;
  let carrier: FakeSfu;
  let ports: { port: number; internalPort: number };
  const IN_SSRC = 0x11223344;
  const digits: string[] = [];

  before(async () => {
    relay = RtpRelay.start();
    relay.on('dtmf', (_id: string, d: string) => digits.push(d));
    [sfu, carrier] = [await FakeSfu.open({ keepAlive: true }), await FakeSfu.open({ keepAlive: true })];
    ports = await relay.open('leg', '127.0.0.1', { min: 42000, max: 42999 }, IN_SSRC);
    relay.connectSfu('leg', sfu.port, 'PCMU');
    relay.setCarrier('leg', { ip: '127.0.0.1', port: carrier.port, codec: 'PCMA', payloadType: 8, telephoneEventPt: 101 });
  });
  after(async () => {
    sfu.close();
    carrier.close();
    await relay.terminate();
  });

  test('the carrier binds in the media port range', () => {
    assert.ok(ports.port >= 42000 && ports.port <= 42999, String(ports.port));
  });

  test("carrier A-law reaches the SFU as µ-law under the producer's SSRC, the tone intact", async () => {
    for (let i = 0; i < 25; i++) {
      const payload = Buffer.from(alawmulaw.alaw.encode(tone(1000, 8000, 160, i * 160)));
      await carrier.send(rtp(8, 100 + i, 5000 + i * 160, 0xcafe, payload), ports.port);
    }
    const got = await sfu.waitFor(25);
    assert.ok(got.every((p) => p.pt === 0 && p.ssrc === IN_SSRC), 'PT 0 (PCMU) and the stamped SSRC');
    const pcm = alawmulaw.mulaw.decode(Buffer.concat(got.map((p) => p.payload)));
    assert.ok(tonePower(pcm, 8000, 1000) > 0.3, 'the 1000 Hz tone survives the A-law → µ-law conversion');
  });

  test('Opus from the SFU is transcoded to the carrier’s A-law; sources switch without changing its stream', async () => {
    const enc = new OpusScript(48000, 1, OpusScript.Application.VOIP);
    const frames = Array.from({ length: 25 }, (_, i) => Buffer.from(enc.encode(Buffer.from(tone(440, 48000, 960, i * 960).buffer), 960)));
    enc.delete();
    carrier.packets.length = 0;
    for (const [i, f] of frames.entries()) await sfu.send(rtp(100, 7 + i, 90_000 + i * 960, 0xaaaa, f), ports.internalPort);
    await carrier.waitFor(25); // all of the first source relayed...
    await new Promise((r) => setTimeout(r, 150)); // ...then it goes quiet, and another source may take over
    for (let i = 0; i < 10; i++) await sfu.send(rtp(0, 3000 + i, 777 + i * 160, 0xbbbb, Buffer.from(alawmulaw.mulaw.encode(tone(440, 8000, 160)))), ports.internalPort);
    const got = await carrier.waitFor(35);
    assert.ok(got.every((p) => p.pt === 8), 'A-law, as the carrier negotiated');
    assert.equal(new Set(got.map((p) => p.ssrc)).size, 1, 'one SSRC toward the carrier whatever the source');
    for (let i = 1; i < got.length; i++) assert.equal(got[i]!.seq, (got[i - 1]!.seq + 1) & 0xffff, 'continuous sequence numbers');
    const pcm = alawmulaw.alaw.decode(Buffer.concat(got.slice(5, 25).map((p) => p.payload)));
    assert.ok(tonePower(pcm, 8000, 440) > 0.2, `the 440 Hz tone survives Opus → A-law: ${tonePower(pcm, 8000, 440).toFixed(3)}`);
  });

  test('symmetric RTP: audio goes back where the carrier really sends from', async () => {
    const elsewhere = await FakeSfu.open({ keepAlive: true });
    try {
      await elsewhere.send(rtp(8, 1, 1, 0xcafe, Buffer.alloc(160, 0xd5)), ports.port);
      await new Promise((r) => setTimeout(r, 50));
      await sfu.send(rtp(0, 9000, 777 + 10 * 160, 0xbbbb, Buffer.alloc(160, 0xff)), ports.internalPort); // the next frame of 0xbbbb
      await elsewhere.waitFor(1);
    } finally {
      elsewhere.close();
    }
    await carrier.send(rtp(8, 2, 2, 0xcafe, Buffer.alloc(160, 0xd5)), ports.port); // latch back for the next tests
  });

  test('RFC 4733 from the carrier is one digit per event; digits to the carrier are RFC 4733 events', async () => {
    const event = (digit: number, end: boolean, duration: number) => Buffer.from([digit, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff]);
    for (const [i, end] of [false, false, true, true, true].entries()) await carrier.send(rtp(101, 500 + i, 40_000, 0xcafe, event(9, end, 160 * (i + 1)), i === 0), ports.port);
    for (let i = 0; i < 50 && digits.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(digits, ['9'], 'the end packet sent three times is one digit');
    carrier.packets.length = 0;
    relay.sendDtmf('leg', '7#');
    const events = await carrier.waitFor(16, (p) => p.pt === 101);
    const ends = events.filter((p) => (p.payload[1]! & 0x80) !== 0);
    assert.deepEqual([...new Set(ends.map((p) => p.payload[0]))], [7, 11], 'digit 7 then # (event 11), each ended');
    assert.ok(events[0]!.marker, 'the first packet of an event has the marker bit');
  });

  test('toward the carrier, timestamps stay steady across the 2^32 wrap and a late packet is dropped', async () => {
    const [sfu2, carrier2] = [await FakeSfu.open({ keepAlive: true }), await FakeSfu.open({ keepAlive: true })];
    try {
      const leg = await relay.open('wrap', '127.0.0.1', { min: 42000, max: 42999 }, 0x5555);
      relay.connectSfu('wrap', sfu2.port, 'PCMU');
      relay.setCarrier('wrap', { ip: '127.0.0.1', port: carrier2.port, codec: 'PCMU', payloadType: 0, telephoneEventPt: null });
      const frame = (seq: number) => rtp(0, seq, 0xffff_fe00 + seq * 160, 0xdddd, Buffer.alloc(160, seq));
      // Frames 0..5 straddle the wrap (frame 4 is the first past 2^32); frame 3 arrives after 4, a frame late.
      for (const seq of [0, 1, 2, 4, 3, 5]) await sfu2.send(frame(seq), leg.internalPort);
      await carrier2.waitFor(5);
      await sfu2.send(frame(6), leg.internalPort);
      const all = await carrier2.waitFor(6);
      assert.deepEqual(all.map((p) => p.payload[0]), [0, 1, 2, 4, 5, 6], 'the late frame 3 is not sent after 4');
      const steps = all.slice(1).map((p, i) => tsDelta(p.ts, all[i]!.ts));
      assert.deepEqual(steps, [160, 160, 320, 160, 160], 'timestamps follow the source clock across the wrap');
      relay.close('wrap');
    } finally {
      sfu2.close();
      carrier2.close();
    }
  });

  test('garbage on either side is dropped and audio keeps flowing', async () => {
    const junk = [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(1500, 0xff), Buffer.from([0x80, 0xc8, 0, 1, 0, 0, 0, 0]), rtp(8, 1, 1, 1, Buffer.alloc(0))];
    // Seeded (an LCG), so the junk is the same every run: random bytes can now and then form a real RFC 4733 packet.
    let seed = 20240909;
    const byte = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    for (let i = 0; i < 200; i++) junk.push(Buffer.from(Array.from({ length: 1 + ((byte() << 1) % 400) }, byte)));
    for (const j of junk) {
      await carrier.send(j, ports.port);
      await sfu.send(j, ports.internalPort);
    }
    sfu.packets.length = 0;
    await carrier.send(rtp(8, 9999, 1, 0xcafe, Buffer.alloc(160, 0xd5)), ports.port);
    const [p] = await sfu.waitFor(1, (x) => x.seq === 9999);
    assert.equal(p!.ssrc, IN_SSRC);
    const stats = (await relay.stats()).leg!;
    assert.ok(stats.transcoded >= 20 && stats.dtmfIn === 1 && stats.dtmfOut === 2, JSON.stringify(stats));
  });
});
