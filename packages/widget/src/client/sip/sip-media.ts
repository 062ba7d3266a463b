// Media of one sip.js session: its streams, track enabling for mute/hold, RFC 4733 DTMF, remote hold detection, ICE path, stats.
import type { Session } from 'sip.js';
import { statsFrom } from '../call-stats.js';
import type { CallStats } from '../types.js';

interface WebSdh {
  peerConnection: RTCPeerConnection | undefined;
  localMediaStream: MediaStream;
  remoteMediaStream: MediaStream;
}

function sdh(session: Session | null | undefined): WebSdh | null {
  return (session?.sessionDescriptionHandler as unknown as WebSdh | undefined) ?? null;
}

export function peerOf(session: Session | null | undefined): RTCPeerConnection | null {
  return sdh(session)?.peerConnection ?? null;
}

export function remoteStreamOf(session: Session | null | undefined): MediaStream | null {
  return sdh(session)?.remoteMediaStream ?? null;
}

export function localStreamOf(session: Session | null | undefined): MediaStream | null {
  return sdh(session)?.localMediaStream ?? null;
}

/**
 * Re-applies what this side wants after any (re-)negotiation: the microphone sends unless muted or held, and the
 * far side's audio plays unless held. Resuming after hold re-enables both, so no side is left with one-way audio.
 */
export function applyTracks(session: Session | null | undefined, state: { muted: boolean; held: boolean }): void {
  const pc = peerOf(session);
  if (!pc) return;
  for (const sender of pc.getSenders()) {
    // Held: no RTP at all (a disabled track would still send silence); resumed: the same microphone track again.
    const track = sender.track ?? heldTracks.get(sender) ?? null;
    if (!track) continue;
    track.enabled = !state.muted;
    if (state.held && sender.track) {
      heldTracks.set(sender, sender.track);
      void sender.replaceTrack(null).catch(() => undefined);
    } else if (!state.held && !sender.track) {
      heldTracks.delete(sender);
      void sender.replaceTrack(track).catch(() => undefined);
    }
  }
  for (const receiver of pc.getReceivers()) if (receiver.track) receiver.track.enabled = !state.held;
}

const heldTracks = new WeakMap<RTCRtpSender, MediaStreamTrack>();

/** Puts `track` in place of the session's microphone (RTCRtpSender.replaceTrack: no re-INVITE) and stops the old one. */
export async function replaceMicTrack(session: Session | null | undefined, track: MediaStreamTrack): Promise<void> {
  const pc = peerOf(session);
  const stream = localStreamOf(session);
  if (!pc || !stream) return;
  for (const sender of pc.getSenders()) {
    const current = sender.track ?? heldTracks.get(sender);
    if (current?.kind !== 'audio') continue;
    // A held sender sends nothing: it gets the new track on resume.
    if (sender.track) await sender.replaceTrack(track);
    else heldTracks.set(sender, track);
  }
  for (const old of stream.getAudioTracks()) {
    stream.removeTrack(old);
    if (old !== track) old.stop();
  }
  stream.addTrack(track);
}

/** The audio sender's DTMF sender, when telephone-event was negotiated (RFC 4733). */
export function rtpDtmfSender(session: Session | null | undefined): RTCDTMFSender | null {
  const pc = peerOf(session);
  const sender = pc?.getSenders().find((s) => s.track?.kind === 'audio') ?? pc?.getSenders().find((s) => s.dtmf);
  const dtmf = sender?.dtmf ?? null;
  return dtmf?.canInsertDTMF ? dtmf : null;
}

/** True when an SDP body puts us on hold: its audio is sendonly or inactive (or the old c=0.0.0.0 form). */
export function sdpHolds(sdp: string | undefined): boolean | null {
  if (!sdp) return null;
  const audio = sdp.split(/\r?\nm=/).find((part) => part.startsWith('audio')) ?? sdp;
  if (/\r?\na=(sendonly|inactive)\b/.test(audio) || /\r?\nc=IN IP4 0\.0\.0\.0\b/.test(audio)) return true;
  return false;
}

/** The first digits of an INFO body: `application/dtmf-relay` (`Signal=5`) or `application/dtmf` (`5`). */
export function infoDigits(contentType: string, body: string): string | null {
  const type = contentType.toLowerCase();
  if (type.startsWith('application/dtmf-relay')) {
    const m = /^\s*signal\s*=\s*([0-9A-D*#])/im.exec(body);
    return m ? m[1]!.toUpperCase() : null;
  }
  if (type.startsWith('application/dtmf')) {
    const m = /^\s*([0-9A-D*#])/i.exec(body);
    return m ? m[1]!.toUpperCase() : null;
  }
  return null;
}

/** Tells `onPath(false)` when the session's ICE path is lost (disconnected, failed) and `onPath(true)` when it is back. */
export function watchIcePath(session: Session, onPath: (up: boolean) => void): void {
  const pc = peerOf(session);
  pc?.addEventListener('iceconnectionstatechange', () => {
    const state = pc.iceConnectionState;
    if (state === 'disconnected' || state === 'failed') onPath(false);
    else if (state === 'connected' || state === 'completed') onPath(true);
  });
}

/** The same stats shape as the native engine, from the session's RTCPeerConnection. */
export async function sessionStats(session: Session | null | undefined): Promise<CallStats> {
  const pc = peerOf(session);
  return statsFrom(pc ? [await pc.getStats()] : []);
}
