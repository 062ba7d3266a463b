// Opus decoding with opusscript (WASM libopus), working around its decode() writing outside its output buffer.
import OpusScript from 'opusscript';

export type OpusDecoder = OpusScript;

/** What opusscript 0.1.1 keeps on its instances: the native handler and the malloc'd buffers' addresses in the wasm heap. */
interface OpusNative {
  handler: { _decode(input: number, bytes: number, output: number): number };
  inOpusPointer: number;
  outPCMPointer: number;
  outPCM: Uint16Array;
}

/** The wasm heap as of the newest decoder (only creating one mallocs, so only that can grow and replace the heap). */
let opusHeap: ArrayBuffer | null = null;

/** A 48 kHz stereo decoder (free it with `.delete()`). */
export function newOpusDecoder(): OpusDecoder {
  const opus = new OpusScript(48_000, 2, OpusScript.Application.VOIP);
  opusHeap = (opus as unknown as OpusNative).outPCM.buffer as ArrayBuffer;
  return opus;
}

/**
 * opusscript 0.1.1's decode() gives its native side twice its output buffer's address (a HEAPU16 view indexed by a byte
 * address), so every decode writes kilobytes outside its allocation: with three or more decoders the wasm heap is corrupted
 * and whatever holds them aborts (the relay worker: every SIP leg loses its media). Decode through the real address instead: the native side writes
 * each sample as two 16-bit halves (low byte, high byte). Packets longer than the buffer holds (> 30 ms) are dropped.
 */
export function decodeOpusStereo(opus: OpusDecoder, payload: Buffer): Int16Array | null {
  const native = opus as unknown as OpusNative;
  if (decodableSamples(payload) === 0) return null;
  new Uint8Array(opusHeap!, native.inOpusPointer, payload.length).set(payload);
  let len: number;
  try {
    len = native.handler._decode(native.inOpusPointer, payload.length, native.outPCMPointer);
  } catch {
    return null;
  }
  if (len <= 0) return null;
  const halves = new Uint16Array(opusHeap!, native.outPCMPointer, len * 4);
  const stereo = new Int16Array(len * 2);
  for (let i = 0; i < stereo.length; i++) stereo[i] = ((halves[2 * i + 1]! & 0xff) << 8) | (halves[2 * i]! & 0xff);
  return stereo;
}

/** Samples per channel decodeOpusStereo gives for a packet, from its TOC byte; 0 for one it drops. */
export function decodableSamples(payload: Buffer): number {
  const samples = opusSamples(payload);
  return samples > 1440 || payload.length > OpusScript.MAX_PACKET_SIZE ? 0 : samples;
}

/** Samples per channel at 48 kHz in an Opus packet, from its TOC byte (RFC 6716 section 3.1). */
function opusSamples(packet: Buffer): number {
  if (packet.length === 0) return 0;
  const config = packet[0]! >> 3;
  const frame = config < 12 ? [480, 960, 1920, 2880][config & 3]! : config < 16 ? (config & 1 ? 960 : 480) : [120, 240, 480, 960][config & 3]!;
  const code = packet[0]! & 3;
  const count = code === 0 ? 1 : code === 3 ? (packet.length > 1 ? packet[1]! & 0x3f : 0) : 2;
  return frame * count;
}

