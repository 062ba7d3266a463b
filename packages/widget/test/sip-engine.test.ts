// The sip engine in the browser: <astral-phone engine="sip"> picks SipClient (loaded lazily), account checks, SDP/INFO parsing.
import '../src/ui/astral-phone.js';
import type { AstralPhone } from '../src/ui/astral-phone.js';
import { resolveAccount, targetUri } from '../src/client/sip/sip-account.js';
import { infoDigits, sdpHolds } from '../src/client/sip/sip-media.js';
import { SipClient } from '../src/client/sip/sip-client.js';
import { assert, equal, mount, unmountAll, waitFor } from './helpers.js';

afterEach(unmountAll);

function sipPhone(attrs: Record<string, string>): AstralPhone {
  const el = document.createElement('astral-phone');
  el.setAttribute('engine', 'sip');
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return mount(el);
}

describe('<astral-phone engine="sip">', () => {
  it('creates a SipClient from the sip-* attributes and starts connecting (no server attribute needed)', async () => {
    // Nothing listens on port 9: the client keeps trying, state connecting.
    const el = sipPhone({ 'sip-server': 'ws://127.0.0.1:9/ws', 'sip-uri': 'sip:1001@pbx.test' });
    const client = await waitFor(() => el.client, 'the sip client');
    assert(client instanceof SipClient, 'engine="sip" uses SipClient');
    await waitFor(() => el.state === 'connecting', 'connecting');
    el.remove();
    equal(client.state, 'disconnected', 'removing the element disconnects the client');
  });

  it('reports a bad SIP URI as an unauthorized error and stays disconnected', async () => {
    const el = sipPhone({ 'sip-server': 'ws://127.0.0.1:9/ws', 'sip-uri': 'not-a-uri' });
    const errors: { code: string }[] = [];
    el.addEventListener('astral-error', (e) => errors.push(e.detail));
    await waitFor(() => errors.length > 0, 'astral-error');
    equal(errors[0]!.code, 'unauthorized', 'error code');
    equal(el.state, 'disconnected', 'state');
  });

  it('without sip-* attributes or token-url it creates no client', async () => {
    const el = sipPhone({ server: 'http://astral.test', token: 'tok' });
    await el.updateComplete;
    await new Promise((r) => setTimeout(r, 50));
    equal(el.client, null, 'the native token does not start the sip engine');
  });
});

describe('sip account and parsing helpers', () => {
  it('fetches {"sip": {...}} from the token URL and refuses answers without one', async () => {
    const account = { server: 'wss://pbx.test:8089/ws', uri: 'sip:1001@pbx.test', password: 'pw' };
    const ok = URL.createObjectURL(new Blob([JSON.stringify({ sip: account })], { type: 'application/json' }));
    const bad = URL.createObjectURL(new Blob([JSON.stringify({ token: 'native' })], { type: 'application/json' }));
    equal((await resolveAccount({ tokenUrl: ok })).uri, 'sip:1001@pbx.test', 'account from the URL');
    const err = await resolveAccount({ tokenUrl: bad }).then(() => null, (e: { code: string }) => e);
    equal(err?.code, 'unauthorized', 'a native token answer is refused');
    const turn = { ...account, ice_servers: [{ urls: 'turn:turn.test', username: 'u', credential: 'c' }] };
    equal((await resolveAccount({ account: turn })).ice_servers?.length, 1, 'ICE servers pass through');
    const badIce = await resolveAccount({ account: { ...account, ice_servers: 'stun:x' as never } }).then(() => null, (e: { code: string }) => e);
    equal(badIce?.code, 'unauthorized', 'malformed ice_servers are refused');
  });

  it('targets: numbers go to the account domain, full URIs pass through', () => {
    const account = { server: 'ws://x', uri: 'sip:1001@pbx.test' };
    equal(targetUri('1002', account), 'sip:1002@pbx.test', 'number');
    equal(targetUri('sip:bob@other.test', account), 'sip:bob@other.test', 'uri');
    equal(targetUri('bob@other.test', account), 'sip:bob@other.test', 'user@host');
  });

  it('reads hold from SDP directions and digits from INFO bodies', () => {
    const sdp = (dir: string) => `v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=${dir}\r\n`;
    equal(sdpHolds(sdp('sendonly')), true, 'sendonly holds');
    equal(sdpHolds(sdp('inactive')), true, 'inactive holds');
    equal(sdpHolds(sdp('sendrecv')), false, 'sendrecv resumes');
    equal(sdpHolds(undefined), null, 'no SDP says nothing');
    equal(infoDigits('application/dtmf-relay', 'Signal=5\r\nDuration=100\r\n'), '5', 'dtmf-relay');
    equal(infoDigits('application/dtmf-relay', 'Signal= #\r\n'), '#', 'dtmf-relay #');
    equal(infoDigits('application/dtmf', '7'), '7', 'application/dtmf');
    equal(infoDigits('text/plain', 'Signal=5'), null, 'other content types');
  });
});
