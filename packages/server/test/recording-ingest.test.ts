// The recording ingest worker on real sockets: RTP sent to a track's port is written to the call's frame log by the worker's
// own OS thread (not the main one), other payload types and garbage are dropped, a log that cannot be written is reported
// with its error code, and a dead worker settles whatever waited on it. Pending frames reach the file while the log is
// open (batched writes, not held until close), in the order appended whatever their size.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildRtp } from '../src/media/rtp.js';
import { FrameLogWriter, readFrameLog } from '../src/recording/frame-log.js';
import { RecordingIngest, type LogWriteError } from '../src/recording/ingest.js';
import { osThreadId } from '../src/util/worker.js';

const dir = mkdtempSync(join(tmpdir(), 'astral-ingest-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Bound now: the worker is unref'd (a server's listening sockets keep its process up), so this socket keeps the test's.
const sender = createSocket('udp4').bind(0, '127.0.0.1');
after(() => sender.close());
const send = (port: number, pt: number, seq: number, ts: number, payload: Buffer) =>
  new Promise<void>((r) => sender.send(buildRtp({ payloadType: pt, marker: false, seq, timestamp: ts, ssrc: 0x1234 }, payload), port, '127.0.0.1', () => r()));

/** Polls the worker's counters until the call's log holds `packets` packets. */
async function written(ingest: RecordingIngest, callId: string, packets: number): Promise<void> {
  while (((await ingest.stats())[callId]?.packets ?? 0) < packets) await new Promise((r) => setTimeout(r, 10));
}

test('packets sent to a track port are written to the frame log by the worker thread', async () => {
  const ingest = RecordingIngest.start();
  try {
    const threadId = await new Promise<number | null>((r) => ingest.once('ready', r));
    assert.ok(threadId !== null, 'the worker names its OS thread (Linux)');
    assert.notEqual(threadId, osThreadId(), 'the worker runs as another OS thread than the main one');
    const path = join(dir, 'call.rec');
    ingest.openLog('c1', path);
    const [opus, pcmu] = await Promise.all([ingest.openTrack('c1', 0, 'opus', 100), ingest.openTrack('c1', 1, 'PCMU', 0)]);
    for (let i = 0; i < 20; i++) {
      await send(opus, 100, i, 1000 + i * 960, Buffer.from([1, 2, 3, i]));
      await send(pcmu, 0, i, i * 160, Buffer.alloc(160, i));
    }
    await send(opus, 101, 99, 0, Buffer.from([9])); // another payload type (telephone-event): not audio
    sender.send(Buffer.from('garbage'), opus, '127.0.0.1');
    await written(ingest, 'c1', 40);
    assert.deepEqual((await ingest.stats()).c1, { packets: 40, bytes: 20 * 4 + 20 * 160 });
    // Written while the call goes on (a crash keeps them): the test's timeout bounds the wait.
    while ([...readFrameLog(path)].length < 42) await new Promise((r) => setTimeout(r, 10));
    await ingest.closeLog('c1');
    assert.deepEqual(await ingest.stats(), {}, 'a closed log is gone from the worker');
    const entries = [...readFrameLog(path)];
    assert.deepEqual(entries.filter((e) => 'codec' in e).map((e) => [e.track, 'codec' in e && e.codec]), [[0, 'opus'], [1, 'PCMU']]);
    const frames = entries.filter((e) => 'payload' in e);
    assert.equal(frames.length, 40, 'every audio packet is in the log once it is closed');
    assert.deepEqual(frames.filter((f) => f.track === 0).map((f) => 'rtpTimestamp' in f && f.rtpTimestamp), Array.from({ length: 20 }, (_, i) => 1000 + i * 960));
    await assert.rejects(ingest.openTrack('c1', 2, 'opus', 100), /no recording of call c1/, 'a closed log takes no track');
  } finally {
    await ingest.terminate();
  }
});

test('a frame log that cannot be written is reported with its error code', async () => {
  const ingest = RecordingIngest.start();
  try {
    const failed = new Promise<[string, LogWriteError]>((r) => ingest.once('failed', (callId: string, err: LogWriteError) => r([callId, err])));
    ingest.openLog('c2', join(dir, 'missing-dir', 'call.rec'));
    const [callId, err] = await failed;
    assert.equal(callId, 'c2');
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.holdsFrames, false);
    await ingest.closeLog('c2'); // closing a failed log still answers
  } finally {
    await ingest.terminate();
  }
});

test('a dead worker settles what waited on it: closes resolve, track opens reject', async () => {
  const ingest = RecordingIngest.start();
  await new Promise((r) => ingest.once('ready', r));
  ingest.openLog('c3', join(dir, 'dead.rec'));
  const exited = new Promise<Error>((r) => ingest.once('exit', r));
  await ingest.terminate();
  assert.match((await exited).message, /recording ingest worker exited/);
  await ingest.closeLog('c3');
  await assert.rejects(ingest.openTrack('c3', 0, 'opus', 100));
  assert.deepEqual(await ingest.stats(), {});
});

test('frames of any size reach the file in the order appended', async () => {
  const path = join(dir, 'sizes.rec');
  const writer = new FrameLogWriter(path, (err) => assert.fail(err));
  const payloads = [Buffer.alloc(100, 1), Buffer.alloc(20_000, 2), Buffer.alloc(8_000, 3), Buffer.alloc(1, 4), Buffer.alloc(60_000, 5)];
  payloads.forEach((payload, i) => writer.append(0, i, payload));
  await writer.close();
  const frames = [...readFrameLog(path)].filter((e) => 'payload' in e);
  assert.deepEqual(
    frames.map((f) => 'payload' in f && [f.rtpTimestamp, f.payload.length, f.payload[0]]),
    payloads.map((p, i) => [i, p.length, p[0]]),
  );
});
