// Recording frame log: each track's packets (Opus, or G.711 from the phone network) appended as they arrive, a log's frames
// gathered for at most FLUSH_MS and put on disk with one write, so a crash keeps all but the last FLUSH_MS of the call.
// A track's codec is declared by a frame whose track byte has the high bit set.
import { closeSync, createWriteStream, openSync, readSync, statSync, type WriteStream } from 'node:fs';

const MAGIC = Buffer.from('ASTRALREC1\n');
const FRAME_HEADER = 11; // track u8, rtp timestamp u32, ms since start u32, length u16

export type TrackCodec = 'opus' | 'PCMU' | 'PCMA';
const DECLARATION = 0x80;
/** How long a frame waits in memory before its log's pending frames are written together (what a crash can lose). */
const FLUSH_MS = 100;
/** A log's pending frames are written at once when this fills (at 100 packets/s a call fills about 2 KiB per FLUSH_MS). */
const PENDING_BYTES = 8 * 1024;

/** Writers with frames pending, flushed together by one timer per thread: no timer per call. */
const pending = new Set<FrameLogWriter>();
let flushTimer: NodeJS.Timeout | null = null;

function flushPending(): void {
  flushTimer = null;
  for (const writer of pending) writer.flush();
  pending.clear();
}

export interface Frame {
  track: number;
  rtpTimestamp: number;
  /** Milliseconds since the recording started, when the packet arrived. */
  atMs: number;
  payload: Buffer;
}

/** A track's codec declaration. */
export interface Declaration {
  track: number;
  codec: TrackCodec;
}

export class FrameLogWriter {
  private readonly out: WriteStream;
  private readonly started = Date.now();
  private failed = false;
  private readonly buffer = Buffer.allocUnsafe(PENDING_BYTES);
  /** Bytes of `buffer` holding frames not yet handed to the file. */
  private filled = 0;

  /** `onError` hears the first write error (a full, read-only or missing dir); the writer then drops whatever it is given. */
  constructor(
    readonly path: string,
    onError: (err: Error) => void,
  ) {
    this.out = createWriteStream(path, { flags: 'w' });
    this.out.on('error', (err) => {
      if (this.failed) return;
      this.failed = true;
      onError(err);
    });
    this.out.write(MAGIC);
  }

  /** True once something beyond the file's magic reached the disk (a failed recording may still hold a part of the call). */
  get holdsFrames(): boolean {
    return this.out.bytesWritten > MAGIC.length;
  }

  /** Declares a track's codec (before its first packet); undeclared tracks are Opus. */
  declare(track: number, codec: TrackCodec): void {
    this.append(track | DECLARATION, 0, Buffer.from(codec, 'ascii'));
  }

  /** Queues a frame; it reaches the file within FLUSH_MS, or at once when the pending frames fill their buffer. */
  append(track: number, rtpTimestamp: number, payload: Buffer): void {
    if (this.failed) return;
    const size = FRAME_HEADER + payload.length;
    if (this.filled + size > this.buffer.length) this.flush();
    if (size > this.buffer.length) return void this.out.write(this.encode(Buffer.allocUnsafe(size), track, rtpTimestamp, payload));
    this.encode(this.buffer.subarray(this.filled), track, rtpTimestamp, payload);
    this.filled += size;
    if (pending.has(this)) return;
    pending.add(this);
    flushTimer ??= setTimeout(flushPending, FLUSH_MS).unref();
  }

  /** Hands the pending frames to the file in one write. */
  flush(): void {
    if (this.filled === 0) return;
    if (!this.failed) this.out.write(Buffer.from(this.buffer.subarray(0, this.filled)));
    this.filled = 0;
  }

  private encode(into: Buffer, track: number, rtpTimestamp: number, payload: Buffer): Buffer {
    into.writeUInt8(track, 0);
    into.writeUInt32BE(rtpTimestamp >>> 0, 1);
    into.writeUInt32BE(Date.now() - this.started, 5);
    into.writeUInt16BE(payload.length, 9);
    payload.copy(into, FRAME_HEADER);
    return into;
  }

  /** Flushes and closes the file; resolves once it is closed, failed or not. */
  close(): Promise<void> {
    this.flush();
    pending.delete(this);
    if (this.out.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.out.once('close', resolve);
      this.out.end();
    });
  }
}

const READ_CHUNK = 256 * 1024;

/** True when the frame log at `path` holds something of the call: more than its magic (false for a missing file). */
export function logHoldsFrames(path: string): boolean {
  try {
    return statSync(path).size > MAGIC.length;
  } catch {
    return false;
  }
}

/**
 * Every complete frame and codec declaration up to byte `end`, in the order written, read a chunk at a time (memory stays
 * bounded however long the call); `end` of each entry is the byte after it. A torn last frame (crash mid-write) is ignored.
 */
export function* readFrameLog(path: string, end = Number.POSITIVE_INFINITY): Generator<(Frame | Declaration) & { end: number }> {
  const fd = openSync(path, 'r');
  try {
    let buf = Buffer.alloc(READ_CHUNK);
    let filled = 0; // bytes of buf holding file data
    let at = 0; // next unread byte of buf
    let position = 0; // file position of buf[0]
    /** Makes `bytes` bytes from `at` available; false at the end of the file (or of `end`). */
    const have = (bytes: number): boolean => {
      if (at + bytes <= filled) return true;
      if (position + at + bytes > end) return false;
      if (bytes > buf.length) buf = Buffer.concat([buf, Buffer.alloc(bytes)]);
      buf.copy(buf, 0, at, filled);
      position += at;
      filled -= at;
      at = 0;
      while (filled < bytes) {
        const read = readSync(fd, buf, filled, Math.min(buf.length - filled, end - position - filled), position + filled);
        if (read === 0) return false;
        filled += read;
      }
      return true;
    };
    if (!have(MAGIC.length) || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${path} is not an Astral recording`);
    at = MAGIC.length;
    while (have(FRAME_HEADER) && have(FRAME_HEADER + buf.readUInt16BE(at + 9))) {
      const length = buf.readUInt16BE(at + 9);
      const track = buf.readUInt8(at);
      const payload = Buffer.from(buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length));
      const rtpTimestamp = buf.readUInt32BE(at + 1);
      const atMs = buf.readUInt32BE(at + 5);
      at += FRAME_HEADER + length;
      const next = position + at;
      if (!(track & DECLARATION)) yield { track, rtpTimestamp, atMs, payload, end: next };
      else {
        const codec = payload.toString('ascii');
        if (codec === 'PCMU' || codec === 'PCMA' || codec === 'opus') yield { track: track & ~DECLARATION, codec, end: next };
      }
    }
  } finally {
    closeSync(fd);
  }
}
