// Recording frame log: each track's packets (Opus, or G.711 from the phone network) appended as they arrive, so a crash
// keeps everything written so far. A track's codec is declared by a frame whose track byte has the high bit set.
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';

const MAGIC = Buffer.from('ASTRALREC1\n');
const FRAME_HEADER = 11; // track u8, rtp timestamp u32, ms since start u32, length u16

export type TrackCodec = 'opus' | 'PCMU' | 'PCMA';
const DECLARATION = 0x80;

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

  /** Declares a track's codec (before its first packet); undeclared tracks are Opus. */
  declare(track: number, codec: TrackCodec): void {
    this.append(track | DECLARATION, 0, Buffer.from(codec, 'ascii'));
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

/** Reads every complete frame and the tracks' codecs; a torn last frame (crash mid-write) is ignored. */
export function readFrameLog(path: string): { frames: Frame[]; codecs: Map<number, TrackCodec> } {
  const codecs = new Map<number, TrackCodec>();
  const data = readFileSync(path);
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${path} is not an Astral recording`);
  const frames: Frame[] = [];
  let at = MAGIC.length;
  while (at + FRAME_HEADER <= data.length) {
    const length = data.readUInt16BE(at + 9);
    if (at + FRAME_HEADER + length > data.length) break;
    const track = data.readUInt8(at);
    if (track & DECLARATION) {
      const codec = data.toString('ascii', at + FRAME_HEADER, at + FRAME_HEADER + length);
      if (codec === 'PCMU' || codec === 'PCMA' || codec === 'opus') codecs.set(track & ~DECLARATION, codec);
      at += FRAME_HEADER + length;
      continue;
    }
    frames.push({
      track,
      rtpTimestamp: data.readUInt32BE(at + 1),
      atMs: data.readUInt32BE(at + 5),
      payload: data.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length),
    });
    at += FRAME_HEADER + length;
  }
  return { frames, codecs };
}
