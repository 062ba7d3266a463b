// SDP for SIP calls (pure, sdp-transform): our G.711 offers/answers, parsing the far side's, codec negotiation.
import { parse, write, type SessionDescription } from 'sdp-transform';
import type { G711Codec } from './types.js';

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface BuildSdpOptions {
  ip: string;
  port: number;
  codec: G711Codec;
  payloadType: number;
  telephoneEventPt: number | null;
  direction: SdpDirection;
  sessionId: string;
  version: number;
}

export interface ParsedSdp {
  ip: string;
  port: number;
  codecs: { name: string; payloadType: number; clockRate: number }[];
  telephoneEventPt: number | null;
  direction: SdpDirection;
}

const STATIC: Record<number, { name: string; clockRate: number }> = { 0: { name: 'PCMU', clockRate: 8000 }, 8: { name: 'PCMA', clockRate: 8000 } };

export function buildSdp(o: BuildSdpOptions): string {
  const ipVer = o.ip.includes(':') ? 6 : 4;
  const rtp: { payload: number; codec: string; rate: number }[] = [{ payload: o.payloadType, codec: o.codec, rate: 8000 }];
  const fmtp: { payload: number; config: string }[] = [];
  const pts = [o.payloadType];
  if (o.telephoneEventPt !== null) {
    rtp.push({ payload: o.telephoneEventPt, codec: 'telephone-event', rate: 8000 });
    fmtp.push({ payload: o.telephoneEventPt, config: '0-16' });
    pts.push(o.telephoneEventPt);
  }
  const desc: SessionDescription = {
    version: 0,
    origin: { username: 'astral', sessionId: o.sessionId, sessionVersion: o.version, netType: 'IN', ipVer, address: o.ip },
    name: 'Astral',
    connection: { version: ipVer, ip: o.ip },
    timing: { start: 0, stop: 0 },
    media: [
      {
        type: 'audio',
        port: o.port,
        protocol: 'RTP/AVP',
        payloads: pts.join(' '),
        rtp,
        fmtp,
        ptime: 20,
        direction: o.direction,
      },
    ],
  };
  return write(desc);
}

export function parseSdp(sdp: string): ParsedSdp | null {
  if (typeof sdp !== 'string' || !/^v=0/m.test(sdp)) return null;
  let desc: SessionDescription;
  try {
    desc = parse(sdp);
  } catch {
    return null;
  }
  const audio = (desc.media ?? []).find((m) => m.type === 'audio' && typeof m.port === 'number');
  if (!audio) return null;
  const ip = audio.connection?.ip ?? desc.connection?.ip;
  if (!ip) return null;
  const pts = String(audio.payloads ?? '')
    .trim()
    .split(/\s+/)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 0 && n <= 127);
  const codecs: ParsedSdp['codecs'] = [];
  let telephoneEventPt: number | null = null;
  for (const pt of pts) {
    const map = (audio.rtp ?? []).find((r) => r.payload === pt);
    const name = map?.codec ?? STATIC[pt]?.name;
    const clockRate = map?.rate ?? STATIC[pt]?.clockRate ?? 8000;
    if (!name) continue;
    if (name.toLowerCase() === 'telephone-event') {
      if (telephoneEventPt === null && clockRate === 8000) telephoneEventPt = pt;
      continue;
    }
    codecs.push({ name, payloadType: pt, clockRate });
  }
  const dir = (audio.direction ?? desc.direction ?? 'sendrecv') as SdpDirection;
  return { ip, port: audio.port, codecs, telephoneEventPt, direction: dir };
}

export function negotiate(
  parsed: ParsedSdp,
  allowed: G711Codec[],
): { codec: G711Codec; payloadType: number; telephoneEventPt: number | null } | null {
  for (const c of parsed.codecs) {
    const name = c.name.toUpperCase() as G711Codec;
    if (c.clockRate === 8000 && allowed.includes(name)) return { codec: name, payloadType: c.payloadType, telephoneEventPt: parsed.telephoneEventPt };
  }
  return null;
}
