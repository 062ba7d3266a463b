// RTP packets (RFC 3550): parsing what arrives from the network (RTCP and junk rejected), building what we send, and
// comparing timestamps and sequence numbers modulo their wrap.
export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  seq: number;
  timestamp: number;
  ssrc: number;
}

export interface ParsedRtp extends RtpHeader {
  /** The payload, CSRCs, header extension and padding skipped. */
  payload: Buffer;
}

/** An RTP packet, or null for RTCP (payload types 200-204 with the marker bit) and anything malformed. */
export function parseRtp(msg: Buffer): ParsedRtp | null {
  if (msg.length < 12 || msg[0]! >> 6 !== 2) return null;
  const payloadType = msg[1]! & 0x7f;
  if (payloadType >= 72 && payloadType <= 76) return null;
  let start = 12 + 4 * (msg[0]! & 0x0f);
  if (msg[0]! & 0x10) {
    if (msg.length < start + 4) return null;
    start += 4 + 4 * msg.readUInt16BE(start + 2);
  }
  let end = msg.length;
  if (msg[0]! & 0x20) end -= msg[end - 1]!;
  if (start > end) return null;
  return {
    payloadType,
    marker: (msg[1]! & 0x80) !== 0,
    seq: msg.readUInt16BE(2),
    timestamp: msg.readUInt32BE(4),
    ssrc: msg.readUInt32BE(8),
    payload: msg.subarray(start, end),
  };
}

/** A 12-byte header (no CSRCs, extensions or padding) and the payload. */
export function buildRtp(h: RtpHeader, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + payload.length);
  out[0] = 0x80;
  out[1] = (h.marker ? 0x80 : 0) | h.payloadType;
  out.writeUInt16BE(h.seq & 0xffff, 2);
  out.writeUInt32BE(h.timestamp >>> 0, 4);
  out.writeUInt32BE(h.ssrc >>> 0, 8);
  payload.copy(out, 12);
  return out;
}

/** `a - b` for 32-bit RTP timestamps, signed: positive when `a` is later, across the wrap at 2^32. */
export function tsDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/** `a - b` for 16-bit RTP sequence numbers, signed: positive when `a` is later, across the wrap at 2^16. */
export function seqDelta(a: number, b: number): number {
  return ((a - b) << 16) >> 16;
}
