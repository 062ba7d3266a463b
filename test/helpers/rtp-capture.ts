// RTP as a SIP peer (SIPp) got it: a packet capture on the loopback interface (tcpdump, else dumpcap) filtered to a UDP
// port, parsed here: RTP headers, G.711 decoded to 8 kHz PCM, RFC 4733 telephone-events turned into digits. Also writes
// pcaps SIPp can play (g711a audio with DTMF events in the same RTP stream) and judges 8 kHz audio (silence, tone).
import { buildRtp } from '../../packages/server/src/media/rtp.js';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import alawmulaw from 'alawmulaw';

const { alaw, mulaw } = alawmulaw;
import { rms, tonePower } from './tone.js';

export interface UdpPacket {
  /** Capture time in ms since the epoch. */
  time: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export interface RtpPacket {
  time: number;
  srcPort: number;
  dstPort: number;
  pt: number;
  marker: boolean;
  seq: number;
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
}

export interface TelephoneEvent {
  digit: string;
  /** RTP timestamp of the event (one event may be sent in many packets). */
  timestamp: number;
  ssrc: number;
  /** Longest duration seen, in 8 kHz samples. */
  duration: number;
  ended: boolean;
}

export interface RtpCaptureResult {
  /** RTP packets seen (version 2, not RTCP). */
  packets: number;
  rtp: RtpPacket[];
  /** Packet count per payload type. */
  payloadTypes: Record<number, number>;
  ssrcs: number[];
  /** The most frequent G.711 payload type (0 PCMU or 8 PCMA), if any. */
  mainPt?: number;
  /** G.711 of mainPt decoded, in sequence order per SSRC, 8 kHz. */
  pcm: Int16Array;
  telephoneEvents: TelephoneEvent[];
  /** The telephone-event digits in order ("12#"). */
  digits: string;
  /** Where the pcap is (removed by stop() unless keep). */
  file: string;
}

const DIGITS = '0123456789*#ABCD';

function ip4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** UDP/IPv4 packets of a classic pcap file (Ethernet, Linux cooked v1/v2, BSD null/raw). */
export function parsePcap(buf: Uint8Array): UdpPacket[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 24) return [];
  const magic = dv.getUint32(0, true);
  let le: boolean;
  let nano = false;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`not a classic pcap file (magic ${magic.toString(16)}); pcapng is not supported`);
  if (magic === 0xa1b23c4d || magic === 0x4d3cb2a1) nano = true;
  const linktype = dv.getUint32(20, le);
  const out: UdpPacket[] = [];
  let off = 24;
  while (off + 16 <= buf.byteLength) {
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const incl = dv.getUint32(off + 8, le);
    const start = off + 16;
    off = start + incl;
    if (off > buf.byteLength) break;
    let l3: number;
    let etherType: number;
    if (linktype === 1) {
      l3 = start + 14;
      etherType = dv.getUint16(start + 12);
      if (etherType === 0x8100) {
        etherType = dv.getUint16(start + 16);
        l3 += 4;
      }
    } else if (linktype === 113) {
      l3 = start + 16;
      etherType = dv.getUint16(start + 14);
    } else if (linktype === 276) {
      l3 = start + 20;
      etherType = dv.getUint16(start);
    } else if (linktype === 0 || linktype === 108) {
      l3 = start + 4;
      etherType = 0x0800;
    } else if (linktype === 101 || linktype === 228) {
      l3 = start;
      etherType = 0x0800;
    } else throw new Error(`unsupported pcap link type ${linktype}`);
    if (etherType !== 0x0800 || l3 + 20 > off) continue;
    if (buf[l3]! >> 4 !== 4 || buf[l3 + 9] !== 17) continue; // IPv4 UDP only
    const ihl = (buf[l3]! & 0x0f) * 4;
    const l4 = l3 + ihl;
    if (l4 + 8 > off) continue;
    const udpLen = dv.getUint16(l4 + 4);
    const end = Math.min(off, l4 + udpLen);
    out.push({
      time: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3),
      srcIp: ip4(buf, l3 + 12),
      dstIp: ip4(buf, l3 + 16),
      srcPort: dv.getUint16(l4),
      dstPort: dv.getUint16(l4 + 2),
      payload: buf.subarray(l4 + 8, end),
    });
  }
  return out;
}

/** The RTP header of a UDP payload, or undefined when it is not RTP (RTCP, STUN, junk). */
export function parseRtp(p: Uint8Array): Omit<RtpPacket, 'time' | 'srcPort' | 'dstPort'> | undefined {
  if (p.length < 12 || p[0]! >> 6 !== 2) return undefined;
  const pt = p[1]! & 0x7f;
  if (pt >= 72 && pt <= 76) return undefined; // RTCP 200-204 with the marker bit
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const cc = p[0]! & 0x0f;
  let off = 12 + cc * 4;
  if (p[0]! & 0x10) {
    if (off + 4 > p.length) return undefined;
    off += 4 + dv.getUint16(off + 2) * 4;
  }
  let end = p.length;
  if (p[0]! & 0x20) end -= p[p.length - 1]!;
  if (off > end) return undefined;
  return { pt, marker: (p[1]! & 0x80) !== 0, seq: dv.getUint16(2), timestamp: dv.getUint32(4), ssrc: dv.getUint32(8), payload: p.subarray(off, end) };
}

/** Analyses RTP packets: payload types, SSRCs, G.711 audio decoded, telephone-events (PT `dtmfPt`, or any 96-127 with
 * 4-byte payloads when not given). */
export function analyseRtp(rtp: RtpPacket[], opts: { dtmfPt?: number } = {}): Omit<RtpCaptureResult, 'file'> {
  const payloadTypes: Record<number, number> = {};
  for (const r of rtp) payloadTypes[r.pt] = (payloadTypes[r.pt] ?? 0) + 1;
  const ssrcs = [...new Set(rtp.map((r) => r.ssrc))];
  const g711 = [0, 8].filter((pt) => payloadTypes[pt]).sort((a, b) => payloadTypes[b]! - payloadTypes[a]!);
  const mainPt = g711[0];
  // audio: per SSRC in sequence order (wrap-aware), SSRCs in order of first appearance, duplicates dropped
  const chunks: Int16Array[] = [];
  if (mainPt !== undefined) {
    for (const ssrc of ssrcs) {
      const pkts = rtp.filter((r) => r.ssrc === ssrc && r.pt === mainPt);
      if (!pkts.length) continue;
      let ext = 0;
      let last = pkts[0]!.seq;
      const seen = new Set<number>();
      const ordered = pkts
        .map((r) => {
          const d = ((r.seq - last + 0x8000) & 0xffff) - 0x8000;
          ext += d;
          last = r.seq;
          return { r, n: ext };
        })
        .filter(({ n }) => (seen.has(n) ? false : (seen.add(n), true)))
        .sort((a, b) => a.n - b.n);
      for (const { r } of ordered) chunks.push(mainPt === 8 ? alaw.decode(r.payload) : mulaw.decode(r.payload));
    }
  }
  const pcm = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    pcm.set(c, o);
    o += c.length;
  }
  const isEvent = (r: RtpPacket) =>
    opts.dtmfPt !== undefined ? r.pt === opts.dtmfPt : r.pt >= 96 && r.pt <= 127 && r.payload.length === 4;
  const events = new Map<string, TelephoneEvent>();
  for (const r of rtp) {
    if (!isEvent(r) || r.payload.length < 4) continue;
    const id = r.payload[0]!;
    const ended = (r.payload[1]! & 0x80) !== 0;
    const duration = (r.payload[2]! << 8) | r.payload[3]!;
    const key = `${r.ssrc}:${r.timestamp}:${id}`;
    const ev = events.get(key);
    const digit = id < DIGITS.length ? DIGITS[id]! : id === 16 ? 'flash' : `event${id}`;
    if (!ev) events.set(key, { digit, timestamp: r.timestamp, ssrc: r.ssrc, duration, ended });
    else {
      ev.duration = Math.max(ev.duration, duration);
      ev.ended ||= ended;
    }
  }
  const telephoneEvents = [...events.values()];
  return {
    packets: rtp.length,
    rtp,
    payloadTypes,
    ssrcs,
    mainPt,
    pcm,
    telephoneEvents,
    digits: telephoneEvents.map((e) => e.digit).join(''),
  };
}

/** RTP of a pcap file, optionally only the packets to (`dstPort`) or from (`srcPort`) a port. */
export function readRtpPcap(file: string, filter: { dstPort?: number; srcPort?: number } = {}): RtpPacket[] {
  const out: RtpPacket[] = [];
  for (const u of parsePcap(readFileSync(file))) {
    if (filter.dstPort !== undefined && u.dstPort !== filter.dstPort) continue;
    if (filter.srcPort !== undefined && u.srcPort !== filter.srcPort) continue;
    const r = parseRtp(u.payload);
    if (r) out.push({ time: u.time, srcPort: u.srcPort, dstPort: u.dstPort, ...r });
  }
  return out;
}

export interface RtpCapture {
  file: string;
  tool: string;
  /** Stops the capture and analyses what arrived. */
  stop(opts?: { keep?: boolean; dtmfPt?: number }): Promise<RtpCaptureResult>;
}

const which = (cmd: string): string | undefined => {
  for (const d of ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin']) if (existsSync(join(d, cmd))) return join(d, cmd);
  return undefined;
};

/**
 * Captures UDP on `lo` to (direction 'in', the default) or from ('out') or both ('any') `port`: RTP that reaches a
 * SIPp media port. Needs tcpdump (apt `tcpdump`) or dumpcap (apt `tshark`), and root or CAP_NET_RAW.
 * Resolves once the capture is running.
 */
export async function captureRtp(opts: { port: number; proto?: 'udp'; direction?: 'in' | 'out' | 'any'; iface?: string }): Promise<RtpCapture> {
  const dir = mkdtempSync(join(tmpdir(), 'astral-rtp-'));
  const file = join(dir, 'capture.pcap');
  const dirWord = { in: 'dst ', out: 'src ', any: '' }[opts.direction ?? 'in'];
  const filter = `udp and ${dirWord}port ${opts.port}`;
  const iface = opts.iface ?? 'lo';
  const pick = process.env.ASTRAL_CAPTURE_TOOL; // 'tcpdump' | 'dumpcap' to force one
  const tcpdump = pick && pick !== 'tcpdump' ? undefined : which('tcpdump');
  const dumpcap = pick && pick !== 'dumpcap' ? undefined : which('dumpcap');
  let cmd: string;
  let args: string[];
  let ready: RegExp;
  if (tcpdump) {
    cmd = tcpdump;
    args = ['-i', iface, '-n', '-U', '-s', '0', '-w', file, filter];
    ready = /listening on/;
  } else if (dumpcap) {
    cmd = dumpcap;
    args = ['-i', iface, '-P', '-q', '-w', file, '-f', filter];
    ready = /Capturing on/;
  } else throw new Error('captureRtp needs tcpdump or dumpcap: apt-get install -y tcpdump');
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${cmd} did not start capturing: ${err}`)), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (ready.test(err)) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${cmd} exited (${code}): ${err}`));
    });
  });
  return {
    file,
    tool: cmd,
    async stop(o = {}) {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        await new Promise((r) => setTimeout(r, 200)); // let the last packets in flight land
        child.kill('SIGINT');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      const rtp = existsSync(file) ? readRtpPcap(file) : [];
      const res = { ...analyseRtp(rtp, { dtmfPt: o.dtmfPt }), file };
      if (!o.keep) rmSync(dir, { recursive: true, force: true });
      return res;
    },
  };
}

/** True if a capture tool is available (for skipping tests on a machine without one). */
export const canCapture = (): boolean => !!(which('tcpdump') || which('dumpcap')) && spawnSync('id', ['-u']).stdout?.toString().trim() === '0';

// ---------------------------------------------------------------------------------------------------------------
// pcaps for SIPp's play_pcap_audio

interface PcapRecord {
  timeUs: number;
  rtp: Uint8Array;
}

/** A classic pcap (Ethernet/IPv4/UDP) of RTP payloads, as SIPp's play_pcap_audio reads them. */
export function writeRtpPcap(records: PcapRecord[], ports = { src: 5000, dst: 2006 }): Buffer {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(1, 20);
  parts.push(gh);
  for (const r of records) {
    const udpLen = 8 + r.rtp.length;
    const frame = Buffer.alloc(14 + 20 + udpLen);
    frame.writeUInt16BE(0x0800, 12);
    const ip = 14;
    frame[ip] = 0x45;
    frame.writeUInt16BE(20 + udpLen, ip + 2);
    frame[ip + 8] = 64;
    frame[ip + 9] = 17;
    Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]).copy(frame, ip + 12);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += frame.readUInt16BE(ip + i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    frame.writeUInt16BE(~sum & 0xffff, ip + 10);
    const udp = ip + 20;
    frame.writeUInt16BE(ports.src, udp);
    frame.writeUInt16BE(ports.dst, udp + 2);
    frame.writeUInt16BE(udpLen, udp + 4);
    Buffer.from(r.rtp).copy(frame, udp + 8);
    const ph = Buffer.alloc(16);
    ph.writeUInt32LE(Math.floor(r.timeUs / 1e6), 0);
    ph.writeUInt32LE(Math.round(r.timeUs % 1e6), 4);
    ph.writeUInt32LE(frame.length, 8);
    ph.writeUInt32LE(frame.length, 12);
    parts.push(ph, frame);
  }
  return Buffer.concat(parts);
}


/**
 * The g711a.pcap audio (or another PCMA/PCMU pcap) with RFC 4733 events for `digits` inserted `atMs` into it, in the
 * same RTP stream (its SSRC, continuous sequence numbers and timestamps), as a carrier sends them: each digit 160 ms
 * (8 packets, 20 ms apart, the first with the marker bit) + 3 end packets, 100 ms apart; the audio pauses meanwhile.
 */
export function buildDtmfPcap(opts: { digits: string; atMs?: number; pt?: number; audioPcap?: string }): { pcap: Buffer; durationMs: number } {
  const audioFile = opts.audioPcap ?? '/usr/share/sip-tester/g711a.pcap';
  const pt = opts.pt ?? 101;
  const udp = parsePcap(readFileSync(audioFile));
  const audio = udp.map((u) => ({ u, r: parseRtp(u.payload)! })).filter((x) => x.r);
  if (!audio.length) throw new Error(`${audioFile} has no RTP`);
  const t0 = audio[0]!.u.time;
  const ssrc = audio[0]!.r.ssrc;
  const atMs = opts.atMs ?? 1000;
  const out: PcapRecord[] = [];
  let seq = audio[0]!.r.seq;
  let shiftMs = 0;
  let shiftTs = 0;
  let inserted = false;
  const insertDtmf = (timeMs: number, ts: number) => {
    let t = timeMs;
    let evTs = ts;
    for (const ch of opts.digits.toUpperCase()) {
      const id = DIGITS.indexOf(ch);
      if (id < 0) throw new Error(`not a DTMF digit: ${ch}`);
      for (let i = 0; i < 11; i++) {
        const end = i >= 8;
        const duration = Math.min(i + 1, 8) * 160;
        const payload = Uint8Array.from([id, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff]);
        out.push({ timeUs: (t0 + t) * 1000, rtp: buildRtp({ payloadType: pt, marker: i === 0, seq: seq++, timestamp: evTs, ssrc }, Buffer.from(payload)) });
        if (i < 8) t += 20;
      }
      t += 100;
      evTs += 1280 + 800; // 160 ms of event + 100 ms gap, 8 kHz
    }
    return { ms: t - timeMs, ts: evTs - ts };
  };
  for (const { u, r } of audio) {
    const rel = u.time - t0;
    if (!inserted && rel >= atMs) {
      const d = insertDtmf(rel, r.timestamp);
      shiftMs = d.ms;
      shiftTs = d.ts;
      inserted = true;
    }
    const rtp = buildRtp({ payloadType: r.pt, marker: r.marker, seq: seq++, timestamp: r.timestamp + shiftTs, ssrc }, Buffer.from(r.payload));
    out.push({ timeUs: (u.time + shiftMs) * 1000, rtp });
  }
  if (!inserted) {
    const last = audio[audio.length - 1]!;
    insertDtmf(last.u.time - t0 + 30, last.r.timestamp + 240);
  }
  const durationMs = (out[out.length - 1]!.timeUs - out[0]!.timeUs) / 1000;
  return { pcap: writeRtpPcap(out), durationMs };
}

// ---------------------------------------------------------------------------------------------------------------
// judging 8 kHz audio


/** Audio is "not silent" when its RMS is above `threshold` (default 100 of 32767, about -50 dBFS; G.711 idle noise is
 * well below it) over at least `minSamples` samples (default 0.5 s at 8 kHz). */
export function isNotSilent(pcm: ArrayLike<number>, threshold = 100, minSamples = 4000): boolean {
  return pcm.length >= minSamples && rms(pcm) > threshold;
}

/** The strongest frequency in `pcm` between `min` and `max` Hz over (at most) `windowS` seconds from the middle of the
 * signal: a Goertzel scan every `step` Hz over short frames (bins as wide as the step, powers summed over the frames),
 * refined to 0.25 Hz over the whole window; `power` is the normalised power there (about 0.5 for a pure tone). */
export function dominantFrequency(
  pcm: ArrayLike<number>,
  { rate = 8000, min = 100, max = 3800, step = 5, windowS = 1 } = {},
): { frequency: number; power: number } {
  const n = Math.min(pcm.length, Math.round(rate * windowS));
  const start = Math.floor((pcm.length - n) / 2);
  const win = Array.prototype.slice.call(pcm, start, start + n) as number[];
  const frame = Math.max(16, Math.min(n, Math.round(rate / (2 * step))));
  let coarse = { frequency: 0, power: -1 };
  for (let f = min; f <= max; f += step) {
    let p = 0;
    for (let o = 0; o + frame <= n; o += frame) p += tonePower(win.slice(o, o + frame), rate, f);
    if (p > coarse.power) coarse = { frequency: f, power: p };
  }
  let best = { frequency: coarse.frequency, power: 0 };
  for (let f = Math.max(min, coarse.frequency - step); f <= Math.min(max, coarse.frequency + step); f += 0.25) {
    const p = tonePower(win, rate, f);
    if (p > best.power) best = { frequency: f, power: p };
  }
  return best;
}

/** True when the dominant frequency of `pcm` is within `toleranceHz` of `hz` (and clearly a tone: power > 0.1). */
export function hasTone(pcm: ArrayLike<number>, hz: number, { rate = 8000, toleranceHz = 15 } = {}): boolean {
  const d = dominantFrequency(pcm, { rate, min: Math.max(50, hz - 300), max: hz + 300, step: 2 });
  return Math.abs(d.frequency - hz) <= toleranceHz && d.power > 0.1;
}
