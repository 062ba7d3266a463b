// Recording frame log: Opus packets of each track appended as they arrive, so a crash keeps everything written so far.
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';

const MAGIC = Buffer.from('ASTRALREC1\n');
const FRAME_HEADER = 11; // track u8, rtp timestamp u32, ms since start u32, length u16

export interface Frame {
  track: number;
  rtpTimestamp: number;
  /** Milliseconds since the recording started, when the packet arrived. */
  atMs: number;
  payload: Buffer;
}

export class FrameLogWriter {
  private readonly out: WriteStream;
  private readonly started = Date.now();

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: 'w' });
    this.out.write(MAGIC);
  }

  append(track: number, rtpTimestamp: number, payload: Buffer): void {
    const header = Buffer.alloc(FRAME_HEADER);
    header.writeUInt8(track, 0);
    header.writeUInt32BE(rtpTimestamp >>> 0, 1);
    header.writeUInt32BE(Date.now() - this.started, 5);
    header.writeUInt16BE(payload.length, 9);
    this.out.write(Buffer.concat([header, payload]));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}

/** Reads every complete frame; a torn last frame (crash mid-write) is ignored. */
export function readFrameLog(path: string): Frame[] {
  const data = readFileSync(path);
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${path} is not an Astral recording`);
  const frames: Frame[] = [];
  let at = MAGIC.length;
  while (at + FRAME_HEADER <= data.length) {
    const length = data.readUInt16BE(at + 9);
    if (at + FRAME_HEADER + length > data.length) break;
    frames.push({
      track: data.readUInt8(at),
      rtpTimestamp: data.readUInt32BE(at + 1),
      atMs: data.readUInt32BE(at + 5),
      payload: data.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length),
    });
    at += FRAME_HEADER + length;
  }
  return frames;
}
