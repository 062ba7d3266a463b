// Recording render and write failures: the streamed worker render matches the whole-call render it replaced, is decoded off the
// main thread and served with its size; a recordings path that cannot be written stops recording, logged, and the call goes on.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { threadId } from 'node:worker_threads';
import alawmulaw from 'alawmulaw';
import OpusScript from 'opusscript';
import wavefile from 'wavefile';
import { decodeOpusStereo, newOpusDecoder } from '../src/media/opus-decoder.js';
import { FrameLogWriter } from '../src/recording/frame-log.js';
import { renderRecording } from '../src/recording/render-job.js';
import type { Socket } from 'socket.io-client';
import { ackRequest, ADMIN_KEY, startTestServer, widgetSocket } from './helpers.js';

const RATE = 48_000;
const dir = mkdtempSync(join(tmpdir(), 'astral-render-test-'));

/** Frames of a tone: `seconds` of 20 ms Opus packets. */
function opusTone(hz: number, seconds: number): Buffer[] {
  const encoder = new OpusScript(RATE, 1, OpusScript.Application.VOIP);
  const frames: Buffer[] = [];
  for (let f = 0; f < seconds * 50; f++) {
    const pcm = Buffer.alloc(960 * 2);
    for (let i = 0; i < 960; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * (f * 960 + i)) / RATE)), 2 * i);
    frames.push(Buffer.from(encoder.encode(pcm, 960)));
  }
  encoder.delete();
  return frames;
}

/** Writes a log by hand: two Opus tracks (the second starting late, with a reordered pair) and a G.711 track. */
async function syntheticLog(path: string): Promise<void> {
  const writer = new FrameLogWriter(path, (err) => assert.fail(err));
  const a = opusTone(440, 12);
  const b = opusTone(1000, 8);
  const pcmu = alawmulaw.mulaw.encode(Int16Array.from({ length: 8000 * 6 }, (_, i) => Math.round(6000 * Math.sin((2 * Math.PI * 300 * i) / 8000))));
  writer.declare(0, 'opus');
  writer.declare(2, 'PCMU');
  for (let f = 0; f < a.length; f++) {
    writer.append(0, 1000 + f * 960, a[f]!);
    if (f >= 100 && f - 100 < b.length) {
      const g = f - 100 === 31 ? 32 : f - 100 === 32 ? 31 : f - 100;
      writer.append(1, 7 + g * 960, b[g]!);
    }
    if (f < 300) writer.append(2, f * 160, Buffer.from(pcmu.subarray(f * 160, f * 160 + 160)));
    if (f % 50 === 0) await new Promise((r) => setTimeout(r, 3)); // arrival times move on
  }
  await writer.close();
}

/** The render this replaced: the whole log read, every track decoded and mixed at once, written by wavefile. */
function wholeCallRender(path: string): Buffer {
  const data = readFileSync(path);
  const codecs = new Map<number, string>();
  const tracks = new Map<number, { ts: number; atMs: number; payload: Buffer }[]>();
  for (let at = 11; at + 11 <= data.length; ) {
    const track = data[at]!;
    const payload = data.subarray(at + 11, at + 11 + data.readUInt16BE(at + 9));
    if (track & 0x80) codecs.set(track & 0x7f, payload.toString('ascii'));
    else (tracks.get(track) ?? tracks.set(track, []).get(track)!).push({ ts: data.readUInt32BE(at + 1), atMs: data.readUInt32BE(at + 5), payload });
    at += 11 + payload.length;
  }
  const placed: { offset: number; pcm: Int16Array }[] = [];
  for (const [track, list] of tracks) {
    const codec = codecs.get(track) ?? 'opus';
    const origin = Math.round((list[0]!.atMs / 1000) * RATE);
    const decoder = newOpusDecoder();
    for (const frame of list) {
      const ticks = (frame.ts - list[0]!.ts) >>> 0;
      if (codec === 'opus') {
        const pcm = decodeOpusStereo(decoder, frame.payload)!;
        placed.push({ offset: origin + ticks, pcm: Int16Array.from({ length: pcm.length / 2 }, (_, i) => (pcm[2 * i]! + pcm[2 * i + 1]!) >> 1) });
      } else {
        const narrow = alawmulaw.mulaw.decode(frame.payload);
        const wide = Int16Array.from({ length: narrow.length * 6 }, (_, j) => {
          const [i, k] = [Math.floor(j / 6), j % 6];
          return narrow[i]! + ((narrow[i + 1] ?? narrow[i]!) - narrow[i]!) * k / 6;
        });
        placed.push({ offset: origin + ticks * 6, pcm: wide });
      }
    }
    decoder.delete();
  }
  const length = Math.max(...placed.map((p) => p.offset + p.pcm.length));
  const mix = new Int32Array(length);
  for (const { offset, pcm } of placed) for (let i = 0; i < pcm.length; i++) mix[offset + i]! += pcm[i]!;
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, RATE, '16', Int16Array.from(mix, (v) => Math.max(-32768, Math.min(32767, v))));
  return Buffer.from(wav.toBuffer());
}

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

after(() => rmSync(dir, { recursive: true, force: true }));

test('the streamed render equals the whole-call render, byte for byte, and is decoded by a worker thread', async () => {
  const path = join(dir, 'mixed.rec');
  await syntheticLog(path);
  const expected = wholeCallRender(path);
  const rendering = await renderRecording(path);
  assert.notEqual(rendering.threadId, threadId, 'decoded on a worker thread, not the main one');
  assert.equal(rendering.bytes, expected.length, 'its size is known before it streams');
  const wav = await drain(rendering.stream);
  assert.ok(expected.length > 44 + 12 * RATE * 2, 'the reference holds the whole call');
  assert.ok(wav.equals(expected), 'the same WAV as the whole-call render');
});

test('a file that is not a recording is refused, and a torn last frame is left out', async () => {
  const bogus = join(dir, 'bogus.rec');
  writeFileSync(bogus, 'not frames at all');
  await assert.rejects(renderRecording(bogus), /not an Astral recording/);
  const path = join(dir, 'torn.rec');
  await syntheticLog(path);
  const whole = readFileSync(path);
  const expected = wholeCallRender(path);
  writeFileSync(path, Buffer.concat([whole, Buffer.from([0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 200, 1, 2])]));
  assert.ok((await drain((await renderRecording(path)).stream)).equals(expected));
});

test('GET /recording streams the render with its Content-Length', async () => {
  const t = await startTestServer();
  try {
    const store = t.server.store;
    await widgetSocket(t, 'render-user', { extension: '4001' }).then((s) => s.disconnect());
    const user = (await store.users.byIdentity(t.server.instanceId, 'render-user'))!;
    const callId = store.ids.next();
    await store.calls.insert({ id: callId, instanceId: t.server.instanceId, fromUserId: user.id, toUserId: null, fromNumber: '4001', toNumber: '4002', direction: 'internal', startedAt: new Date() });
    const path = join(t.dataDir, 'served.rec');
    await syntheticLog(path);
    await store.calls.setRecordingPath(callId, path);
    const res = await fetch(`${t.url}/api/v1/calls/${callId}/recording`, { headers: { 'x-api-key': ADMIN_KEY } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'audio/wav');
    const expected = wholeCallRender(path);
    assert.equal(res.headers.get('content-length'), String(expected.length));
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(expected));

    // A log holding nothing of the call yet (just opened, or an empty one being unlisted as its call ends) is no recording.
    const opened = join(t.dataDir, 'opened.rec');
    for (const bytes of ['', 'ASTRAL', 'ASTRALREC1\n']) {
      writeFileSync(opened, bytes);
      await store.calls.setRecordingPath(callId, opened);
      const empty = await fetch(`${t.url}/api/v1/calls/${callId}/recording`, { headers: { 'x-api-key': ADMIN_KEY } });
      assert.equal(empty.status, 404, `a log of ${bytes.length} bytes`);
      assert.equal(((await empty.json()) as { code: string }).code, 'not_found');
    }
  } finally {
    await t.close();
  }
});

test('a recordings path that cannot be written stops the recording with a logged error, and the call goes on', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'astral-server-test-'));
  writeFileSync(join(dataDir, 'recordings'), 'a file where the recordings directory should be'); // fails for root too (ENOTDIR)
  const t = await startTestServer({}, dataDir);
  const sockets: Socket[] = [];
  try {
    const logged: { callId?: string; err?: { code?: string } }[] = [];
    const log = t.server.app.log as unknown as { error: (obj: unknown, msg?: string) => void };
    log.error = (obj) => void logged.push(obj as (typeof logged)[number]);
    const alice = await widgetSocket(t, 'disk-alice', { extension: '4101' });
    const bob = await widgetSocket(t, 'disk-bob', { extension: '4102' });
    sockets.push(alice, bob);
    const { data } = await ackRequest(alice, 'call:dial', { destination: '4102' });
    const callId = data!.callId!;
    assert.equal((await ackRequest(bob, 'call:answer', { callId })).ok, true);
    while (!logged.some((l) => l.callId === callId)) await new Promise((r) => setTimeout(r, 20));
    assert.equal(logged.find((l) => l.callId === callId)?.err?.code, 'ENOTDIR', 'the write error is logged with the call id');
    assert.equal((await ackRequest(alice, 'call:dtmf', { callId, digits: '1' })).ok, true, 'the call still answers requests');
    const ended = new Promise<{ disposition: string }>((r) => bob.once('call:ended', r));
    assert.equal((await ackRequest(alice, 'call:hangup', { callId })).ok, true);
    assert.equal((await ended).disposition, 'ANSWERED', 'and ends normally');
    let record = await t.server.store.calls.get(t.server.instanceId, callId);
    while (record?.recording_path) record = await new Promise((r) => setTimeout(r, 20)).then(() => t.server.store.calls.get(t.server.instanceId, callId));
    assert.equal(record?.recording_path, null, 'the record lists no recording');
    assert.equal((await fetch(`${t.url}/api/v1/calls/${callId}/recording`, { headers: { 'x-api-key': ADMIN_KEY } })).status, 404);
  } finally {
    for (const s of sockets) s.disconnect();
    await t.close();
  }
});
