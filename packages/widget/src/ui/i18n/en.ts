// The English catalogue of <astral-phone>: every user-visible string, and the key set other catalogues must match.
/**
 * Keys are `area.name`; `{name}` placeholders are filled by `translate()`. Add a key here and to every other
 * catalogue (ru.ts, es.ts): a catalogue missing a key fails the typecheck.
 */
export const en = {
  'phone.label': 'Phone',
  'status.signedInAs': ', signed in as ',
  'state.disconnected': 'Offline',
  'state.connecting': 'Connecting\u2026',
  'state.ready': 'Ready',
  'state.incoming': 'Incoming call',
  'state.dialing': 'Calling\u2026',
  'state.ringing': 'Ringing\u2026',
  'state.in-call': 'In call',
  'state.reconnecting': 'Reconnecting\u2026',
  'party.extension': 'ext. {extension}',
  'party.other': 'The other party',
  'dest.label': 'Number or name to call',
  'dest.placeholder': 'Number or name',
  'dest.backspace': 'Delete last character',
  'dialpad.label': 'Dial pad',
  'dialpad.tonesLabel': 'Send tones',
  'controls.mute': 'Mute',
  'controls.muteLabel': 'Mute microphone',
  'controls.hold': 'Hold',
  'controls.call': 'Call',
  'controls.hangup': 'Hang up',
  'incoming.label': 'Incoming call',
  'incoming.announce': 'Incoming call from {name}',
  'incoming.accept': 'Accept',
  'incoming.acceptLabel': 'Accept call from {name}',
  'incoming.decline': 'Decline',
  'incoming.declineLabel': 'Decline call from {name}',
  'call.from': 'Call from',
  'call.to': 'Call to',
  'call.duration': 'Call duration',
  'call.remoteHeld': '{name} put you on hold',
  'call.held': 'On hold',
  'call.recording': 'REC',
  'call.recordingLabel': 'This call is being recorded',
  'call.region': 'Region: {region}',
  'call.remoteMuted': '{name} is muted',
  'call.tonesSent': 'Tones sent: {tones}',
  'meter.mic': 'Mic',
  'meter.label': 'Microphone level',
  'meter.muted': 'muted',
  'meter.off': 'microphone off',
  'transfer.label': 'Transfer',
  'transfer.input': 'Transfer to number or name',
  'transfer.placeholder': 'Transfer to\u2026',
  'transfer.blind': 'Transfer',
  'transfer.blindLabel': 'Transfer now (blind)',
  'transfer.consult': 'Consult',
  'transfer.consultLabel': 'Consult first (attended transfer)',
  'transfer.calling': 'Calling {name}\u2026',
  'transfer.talking': 'Talking to {name}',
  'transfer.complete': 'Complete transfer',
  'transfer.cancel': 'Cancel',
  'error.title': 'Error',
  'error.dismiss': 'Dismiss error',
  'error.unauthorized': 'Sign-in failed',
  'error.token_expired': 'Session expired',
  'error.revoked': 'Access revoked',
  'error.forbidden': 'Not allowed',
  'error.unavailable': 'Server unavailable',
  'error.media_error': 'Audio problem',
  'error.not_found': 'Not found',
  'error.rate_limited': 'Too many attempts',
  'ended.hangup': 'Call ended',
  'ended.declined': 'Call declined',
  'ended.busy': 'Busy',
  'ended.cancelled': 'Call cancelled',
  'ended.timeout': 'No answer',
  'ended.unavailable': 'Unavailable',
  'ended.answered_elsewhere': 'Answered elsewhere',
  'ended.transferred': 'Call transferred',
  'ended.transfer_failed': 'Transfer failed',
  'ended.disconnected': 'Connection lost',
  'ended.media_failed': 'Audio could not be connected',
  'ended.server_shutdown': 'Call ended: the server shut down',
  'ended.server_restart': 'Server restarted',
} as const;

/** A catalogue key. */
export type StringKey = keyof typeof en;

/** A complete catalogue: one string per key (a missing or unknown key is a type error). */
export type Strings = { readonly [K in StringKey]: string };

/** What the `strings` property takes: any subset, overriding the active catalogue. */
export type StringOverrides = Partial<Strings>;

/** True for a key of the catalogue (for keys built from server codes, e.g. `ended.${reason}`). */
export function isStringKey(key: string): key is StringKey {
  return Object.hasOwn(en, key);
}
