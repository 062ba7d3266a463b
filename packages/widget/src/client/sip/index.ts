// The sip engine chunk's entry (built as astral-phone-sip.mjs, loaded on demand by <astral-phone engine="sip">).
export { SipClient } from './sip-client.js';
export { SipError } from './sip-account.js';
export type { SipAccount, SipClientOptions, SipDtmfOptions } from './sip-types.js';
