// Public types of the sip.js engine: SipClient options and the token-url answer that carries SIP credentials.
import type { AudioProcessing } from '../devices.js';

/** SIP account for `engine="sip"`: any SIP-over-WebSocket PBX (Kamailio, Asterisk, FreeSWITCH...). */
export interface SipAccount {
  /** WebSocket URL of the PBX, e.g. `wss://pbx.example:8089/ws`. */
  server: string;
  /** Address of record, e.g. `sip:1001@pbx.example`. */
  uri: string;
  password?: string;
  /** Digest user name when it differs from the URI's user. */
  authorization_user?: string;
  display_name?: string;
  /** STUN/TURN servers for calls (default none; on a LAN or loopback host candidates suffice). */
  ice_servers?: RTCIceServer[];
}

export interface SipClientOptions {
  /** A fixed account (the element's `sip-server`, `sip-uri`, `sip-password` attributes)... */
  account?: SipAccount;
  /** ...or a URL answering `{"sip": SipAccount}`, fetched on connect(). */
  tokenUrl?: string;
  /** Microphone constraints (default: echo cancellation, noise suppression, auto gain). */
  audioConstraints?: MediaTrackConstraints;
  /** Audio processing switches (each on by default); changed later with `client.devices.setProcessing()`. */
  audioProcessing?: AudioProcessing;
  /** ICE servers; default the account's `ice_servers`, else none (no public STUN). */
  iceServers?: RTCIceServer[];
  /** Longest wait for ICE candidates before sending an offer/answer (ms, default 500; ends early on end-of-candidates). */
  iceGatheringTimeout?: number;
  /** Re-connect back-off: first and longest delay (ms, defaults 500 and 30000). */
  reconnectDelay?: { initial: number; max: number };
  /** REGISTER expiry in seconds (default 300). */
  registerExpires?: number;
  /** Log every SIP message to the console. */
  traceSip?: boolean;
}

/** How `sendDtmf` sends: RTP events through the sender (RFC 4733) when negotiated, else SIP INFO. */
export interface SipDtmfOptions {
  via?: 'auto' | 'rfc4733' | 'info';
  /** Tone length in ms (default 100). */
  duration?: number;
}
