// Public types of the headless AstralClient: options, call snapshot, stats and typed events.
import type { Disposition, EndReason, PartyInfo, PhoneState } from '@astral/protocol';
import type { CallQuality, QualitySample, QualityWarning } from './call-quality.js';
import type { AudioProcessing, DeviceEvents } from './devices.js';

export interface AstralClientOptions {
  /** Base URL of the Astral server, e.g. `http://localhost:8000`. */
  server: string;
  /** A widget token minted by the site's backend (`POST /api/v1/tokens`). */
  token?: string;
  /** Or a URL answering `{token, expires_at}`; fetched on connect and again before expiry. */
  tokenUrl?: string;
  /** Microphone constraints for calls (default: echo cancellation, noise suppression, auto gain). */
  audioConstraints?: MediaTrackConstraints;
  /** Audio processing switches (each on by default); changed later with `client.devices.setProcessing()`. */
  audioProcessing?: AudioProcessing;
}

/** A snapshot of the current call; replaced (never mutated) on every change. */
export interface CallInfo {
  id: string;
  direction: 'outgoing' | 'incoming';
  /** The other party; for an outgoing call before it connects, only `identity` is known. */
  remote: PartyInfo;
  /** ms since epoch when the call was answered, or null. */
  answeredAt: number | null;
  muted: boolean;
  remoteMuted: boolean;
  /** The server is recording this call. */
  recording?: boolean;
  /** This side put the call on hold. */
  held?: boolean;
  /** The other side put the call on hold. */
  remoteHeld?: boolean;
  /** An attended transfer this side started: ringing the target, consulting it, or null. */
  transfer?: { state: 'ringing' | 'consulting'; target: PartyInfo } | null;
  /** The channel, for a channel call (joined, or answered after a ring). */
  channelId?: string;
  /** The RTC region carrying a channel call's media; follows region moves. */
  region?: string;
}

export interface CallStats {
  packetsSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Inbound audio level 0..1 (RTCInboundRtpStreamStats.audioLevel). */
  audioLevel: number;
  /** Microphone level 0..1 (the media-source audioLevel). */
  inputLevel: number;
  /** Inbound jitter, seconds. */
  jitter: number;
  /** Round-trip time to the server, seconds. */
  roundTripTime: number;
  packetsLost: number;
  /** Estimated MOS (1..4.5, E-model from RTT, jitter and the loss so far, as Twilio computes it); null before audio arrives. */
  mos: number | null;
  /** The call's audio codec (`opus`, `PCMU`, `PCMA`), once media flows. */
  codec: string | null;
  /** The selected ICE candidate pair's types (`host`, `srflx`, `prflx`, `relay`) and transport protocol. */
  iceCandidates: { local: string; remote: string; protocol: string } | null;
}

export interface CallEndedDetail {
  callId: string;
  disposition: Disposition;
  reason: EndReason;
  duration: number;
}

/** Event name → `detail` type for every event AstralClient dispatches (the device events: see devices.ts). */
export interface AstralClientEvents extends DeviceEvents {
  ready: { user: PartyInfo };
  state: { state: PhoneState };
  /** `silent`: the user is in do-not-disturb, so the phone rings without sound. */
  incoming: { callId: string; from: PartyInfo; channelId?: string; silent?: boolean };
  call: { call: CallInfo | null };
  'call-ended': CallEndedDetail;
  dtmf: { callId: string; digits: string };
  /** Attended transfer progress for the transferer. */
  transfer: { callId: string; state: 'ringing' | 'consulting' | 'failed' | 'completed' | 'cancelled'; target: PartyInfo };
  error: { code: string; message: string };
  /**
   * The call's media path (ICE) was lost with the signalling connection up — the phone shows `reconnecting` while ICE
   * restarts — or is back (`reconnected`, the phone is `in-call` again).
   */
  media: { state: 'reconnecting' | 'reconnected' };
  /** A call-quality warning was raised (Twilio-compatible names; see call-quality.ts for the thresholds). */
  warning: QualityWarning;
  /** A raised warning cleared (also for every raised warning when the call ends). */
  'warning-cleared': QualityWarning;
  /** A preflight test's progress, once a second. */
  'preflight-progress': PreflightProgress;
  /** The server is shutting down: live calls go on for up to `seconds`, new ones are refused (`unavailable`). */
  draining: { seconds: number };
}

export interface PreflightOptions {
  /** How long the test call runs (ms); default 8000, at least 2000. */
  durationMs?: number;
}

export interface PreflightProgress {
  elapsedMs: number;
  durationMs: number;
  sample: QualitySample;
}

/** min / average / max of one figure over a preflight's samples. */
export interface PreflightFigure {
  min: number;
  average: number;
  max: number;
}

/** What `preflight()` found, in the spirit of Twilio's PreflightTest report. */
export interface PreflightReport {
  /** From the average MOS (Twilio's ranges); `unsupported`: this browser cannot make calls (no WebRTC or microphone API). */
  callQuality: CallQuality;
  mos: PreflightFigure | null;
  /** Round-trip time to the server, ms. */
  rtt: PreflightFigure | null;
  /** Jitter of the returning audio, ms. */
  jitter: PreflightFigure | null;
  /** Share of the looped-back packets lost over the whole test (%). */
  packetLoss: number;
  packetsSent: number;
  packetsReceived: number;
  codec: string | null;
  iceCandidates: CallStats['iceCandidates'];
  /** The media went through a TURN relay. */
  isTurnRequired: boolean;
  /** Warnings the samples raised during the test. */
  warnings: QualityWarning['name'][];
  durationMs: number;
}
