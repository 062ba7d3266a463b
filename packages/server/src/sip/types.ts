// The SIP layer's contract: what the SIP user agent offers call control's SIP gateway (dialogs, trunks, statuses).
import type { EventEmitter } from 'node:events';

export type SipTransport = 'udp' | 'tcp' | 'tls';
export type G711Codec = 'PCMU' | 'PCMA';

/** What the user agent needs to reach a trunk (the password decrypted, in memory only; never logged). */
export interface TrunkTarget {
  id: string;
  name: string;
  host: string;
  port: number;
  transport: SipTransport;
  username: string | null;
  password: string | null;
  realm: string | null;
}

/** `registered` (REGISTER accepted), `reachable` (answers OPTIONS), `unreachable`, `auth_failed`, `unknown` (not checked yet). */
export type TrunkStatus = 'registered' | 'reachable' | 'unreachable' | 'auth_failed' | 'unknown';

export interface SipSource {
  address: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
}

/** An established (or establishing) dialog, either direction. */
export interface SipDialog extends EventEmitter {
  /** The SIP Call-ID. */
  readonly callId: string;
  /** Ends an answered dialog (BYE). Safe to call more than once or after the far end hung up. */
  bye(): void;
  /** Sends a re-INVITE with this SDP (hold/resume); resolves to the far side's answer SDP. */
  reinvite(sdp: string): Promise<string>;
  // events: 'bye' () — the far end hung up (already answered 200 to its BYE)
  //         'reinvite' (sdp: string, reply: (answerSdp: string) => void) — the far end re-INVITEd (hold/resume/media change)
  //         'info' (body: string, contentType: string) — SIP INFO in the dialog (e.g. application/dtmf-relay)
}

/** An INVITE received from the network, not yet answered. */
export interface InboundInvite extends SipDialog {
  /** User part of the Request-URI, of To and of From (null when absent or not a sip/sips/tel URI). */
  readonly requestUser: string | null;
  readonly toUser: string | null;
  readonly fromUser: string | null;
  readonly fromDisplayName: string | null;
  readonly source: SipSource;
  /** The offer; null for an offerless INVITE (then the answer carries our offer, and the ACK the far answer). */
  readonly sdp: string | null;
  /** The Authorization / Proxy-Authorization the INVITE carried, parsed; null when none. */
  readonly authorization: { username: string; realm: string } | null;
  /** Checks the INVITE's digest response against this password (RFC 2617/7616 MD5, qop auth or none) and our nonce. */
  verifyDigest(password: string): boolean;
  /** Answers 401 with a fresh nonce for `realm`; the far end's next INVITE (new transaction) carries the response. */
  challenge(realm: string): void;
  /** 180 Ringing or 183 Session Progress (early media with our SDP). Repeats are fine. */
  progress(status: 180 | 183, sdp?: string): void;
  /** 200 OK with our SDP; resolves on the ACK (with the far SDP when the ACK carries one), rejects when none comes (timer H). */
  accept(sdp: string): Promise<{ ackSdp: string | null }>;
  /** A final failure (403, 404, 480, 486, 487, 488, 500, 503, 603 ...). */
  reject(status: number, reason?: string): void;
  // events (besides SipDialog's): 'cancel' () — CANCEL received before our final answer (the stack already answered 200 to the
  //         CANCEL and 487 to the INVITE)
}

/** Progress and outcome of an INVITE we sent. */
export interface OutboundInvite extends SipDialog {
  /** Gives up before an answer (CANCEL once a provisional arrived; the INVITE then ends with 487). */
  cancel(): void;
  // events (besides SipDialog's): 'progress' (status: number, sdp: string | null) — 180/183 (sdp for early media)
  //         'answered' (sdp: string) — 200 OK (the stack has sent the ACK)
  //         'failed' (status: number, reason: string, local: boolean) — a final failure after any digest retry; `local`
  //         with 408 when the trunk never answered at all (timer B / transport or TLS error, reason says which)
}

export interface OutboundInviteOptions {
  trunk: TrunkTarget;
  /** The number dialled (Request-URI and To user), e.g. `+15551234567`. */
  toUser: string;
  /** Caller id (From user) and optional display name. */
  fromUser: string;
  fromDisplayName?: string;
  sdp: string;
}

export interface SipUserAgentOptions {
  /** Listen address for UDP and TCP (ASTRAL_SIP_IP). */
  ip: string;
  /** ASTRAL_SIP_PORT; 0 binds an ephemeral port (tests) — `port` on the started agent tells which. */
  port: number;
  /** The address put in Via/Contact/SDP origin (ASTRAL_ANNOUNCED_IP). */
  announcedIp: string;
  /** Listen for SIP over TLS too (ASTRAL_SIP_TLS_PORT, 0: ephemeral; PEM contents of ASTRAL_SIP_TLS_CERT/_KEY). */
  tls?: { port: number; cert: string | Buffer; key: string | Buffer } | null;
  /** A CA (PEM, ASTRAL_SIP_TLS_CA) trusted for TLS trunks besides Node's bundled root CAs. */
  tlsCa?: string | Buffer | null;
}
