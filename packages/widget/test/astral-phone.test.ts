// Component tests for <astral-phone> with an injected FakeClient: rendering per state, actions, keyboard, events, theming.
import { sendKeys } from '@web/test-runner-commands';
import '../src/ui/astral-phone.js';
import { AstralPhone } from '../src/ui/astral-phone.js';
import type { PhoneState } from '@astral/protocol';
import { ALICE, BOB, assert, callInfo, deepEqual, emit, equal, mountPhone, padKey, part, startCall, text, unmountAll, waitFor } from './helpers.js';

afterEach(unmountAll);

describe('<astral-phone> rendering', () => {
  it('is defined once and exposes the attached client', async () => {
    equal(customElements.get('astral-phone'), AstralPhone, 'registered class');
    const { el, client } = await mountPhone();
    equal(el.client, client, 'client getter');
    equal(el.state, 'ready', 'state property');
    equal(el.getAttribute('state'), 'ready', 'state attribute');
  });

  it('shows the state and own identity in the status line', async () => {
    const { el } = await mountPhone();
    const status = part(el, 'status');
    equal(status?.getAttribute('role'), 'status', 'status role');
    const t = text(status);
    assert(t.includes('Ready'), `status shows Ready: ${t}`);
    assert(t.includes(ALICE.displayName) && t.includes('ext. 1001'), `status shows identity: ${t}`);
  });

  it('follows every state change', async () => {
    const { el, client } = await mountPhone();
    const labels: Partial<Record<PhoneState, string>> = { disconnected: 'Offline', connecting: 'Connecting', reconnecting: 'Reconnecting', ready: 'Ready' };
    for (const [state, label] of Object.entries(labels)) {
      await emit(el, client, 'state', { state: state as PhoneState });
      equal(el.state, state, 'state property');
      equal(el.getAttribute('state'), state, 'state attribute');
      assert(text(part(el, 'status')).includes(label), `status shows ${label}`);
    }
  });

  it('shows the incoming panel with the caller, and Accept/Decline call the client', async () => {
    const { el, client } = await mountPhone();
    equal(part(el, 'incoming'), null, 'no incoming panel while ready');
    client.emit('call', { call: callInfo({ direction: 'incoming' }) });
    client.emit('state', { state: 'incoming' });
    await emit(el, client, 'incoming', { callId: 'call-1', from: BOB });
    const panel = part(el, 'incoming');
    assert(panel, 'incoming panel shown');
    assert(text(panel).includes('Bob Smith') && text(panel).includes('1002'), `caller shown: ${text(panel)}`);
    const accept = part<HTMLButtonElement>(el, 'accept-button')!;
    assert(accept.getAttribute('aria-label')?.includes('Bob Smith'), 'accept label names the caller');
    accept.click();
    part<HTMLButtonElement>(el, 'decline-button')!.click();
    deepEqual(client.log.map((e) => e.method), ['answer', 'decline'], 'client methods called');
  });

  it('shows a running mm:ss timer in a call', async () => {
    const { el, client } = await mountPhone();
    equal(part(el, 'timer'), null, 'no timer while ready');
    await startCall(el, client, { answeredAt: Date.now() - 65_400 });
    equal(text(part(el, 'timer')), '01:05', 'timer since answeredAt');
    assert(text(el.shadowRoot!.querySelector('.remote-name')).includes('Bob Smith'), 'remote party shown');
    await waitFor(() => text(part(el, 'timer')) === '01:06', 'the timer to tick', 2000);
  });

  it('shows an error banner with role=alert on an error event, and can dismiss it', async () => {
    const { el, client } = await mountPhone();
    equal(part(el, 'error'), null, 'no banner before an error');
    await emit(el, client, 'error', { code: 'token_expired', message: 'the token has expired' });
    const banner = part(el, 'error')!;
    equal(banner.getAttribute('role'), 'alert', 'banner role');
    assert(text(banner).includes('the token has expired'), `message shown: ${text(banner)}`);
    assert(banner.getBoundingClientRect().height > 0, 'banner is visible');
    part<HTMLButtonElement>(el, 'dismiss-button')!.click();
    await el.updateComplete;
    equal(part(el, 'error'), null, 'dismissed');
  });

  it('names a session the server ended: revoked access', async () => {
    const { el, client } = await mountPhone();
    await emit(el, client, 'error', { code: 'revoked', message: 'access was revoked' });
    await emit(el, client, 'state', { state: 'disconnected' });
    assert(text(part(el, 'error')).includes('Access revoked'), `title shown: ${text(part(el, 'error'))}`);
  });

  it('shows when the other party is muted and how the last call ended', async () => {
    const { el, client } = await mountPhone();
    await startCall(el, client, { remoteMuted: true });
    assert(text(part(el, 'remote-muted')).includes('muted'), 'remote-muted indicator');
    client.emit('call', { call: null });
    client.emit('call-ended', { callId: 'call-1', disposition: 'BUSY', reason: 'declined', duration: 3 });
    await emit(el, client, 'state', { state: 'ready' });
    equal(part(el, 'remote-muted'), null, 'indicator gone after the call');
    assert(text(part(el, 'last-call')).includes('declined'), `end reason shown: ${text(part(el, 'last-call'))}`);
  });
});

describe('<astral-phone> actions', () => {
  it('Call dials the typed destination; it is disabled while empty', async () => {
    const { el, client } = await mountPhone();
    const call = part<HTMLButtonElement>(el, 'call-button')!;
    assert(call.disabled, 'disabled with no destination');
    const input = part<HTMLInputElement>(el, 'input')!;
    input.value = 'bob';
    input.dispatchEvent(new Event('input'));
    await el.updateComplete;
    assert(!call.disabled, 'enabled with a destination');
    call.click();
    deepEqual(client.calls('call'), [['bob']], 'client.call(destination)');
  });

  it('Enter in the input dials (real key presses)', async () => {
    const { el, client } = await mountPhone();
    part<HTMLInputElement>(el, 'input')!.focus();
    await sendKeys({ type: '1002' });
    await sendKeys({ press: 'Enter' });
    deepEqual(client.calls('call'), [['1002']], 'dialled on Enter');
  });

  it('the dial pad types into the input out of a call, by click and by keyboard', async () => {
    const { el, client } = await mountPhone();
    padKey(el, '1').click();
    padKey(el, '#').click();
    await el.updateComplete;
    padKey(el, '0').focus();
    await sendKeys({ type: '42*' });
    await el.updateComplete;
    equal(part<HTMLInputElement>(el, 'input')!.value, '1#42*', 'typed digits');
    equal(client.calls('sendDtmf').length, 0, 'no DTMF out of a call');
    equal(padKey(el, '2').matches(':focus'), false, 'typing does not move focus');
  });

  it('during a call the dial pad sends DTMF instead of typing', async () => {
    const { el, client } = await mountPhone();
    await startCall(el, client);
    padKey(el, '5').click();
    padKey(el, '5').focus();
    await sendKeys({ press: '#' });
    await el.updateComplete;
    deepEqual(client.calls('sendDtmf'), [['5'], ['#']], 'sendDtmf per key');
    equal(part<HTMLInputElement>(el, 'input')!.value, '', 'input untouched');
    assert(text(part(el, 'tones')).includes('5#'), 'sent tones echoed');
  });

  it('Hang up and Mute act on the call; Mute reflects aria-pressed', async () => {
    const { el, client } = await mountPhone();
    const hangup = part<HTMLButtonElement>(el, 'hangup-button')!;
    const mute = part<HTMLButtonElement>(el, 'mute-button')!;
    assert(hangup.disabled && mute.disabled, 'disabled out of a call');
    await startCall(el, client);
    equal(mute.getAttribute('aria-pressed'), 'false', 'not muted');
    mute.click();
    deepEqual(client.calls('setMuted'), [[true]], 'setMuted(true)');
    await emit(el, client, 'call', { call: callInfo({ answeredAt: Date.now(), muted: true }) });
    equal(mute.getAttribute('aria-pressed'), 'true', 'muted');
    mute.click();
    hangup.click();
    deepEqual(client.calls('setMuted'), [[true], [false]], 'setMuted(false)');
    equal(client.calls('hangup').length, 1, 'hangup called');
  });

  it('methods delegate to the client', async () => {
    const { el, client } = await mountPhone();
    equal(await el.call('carol'), 'call-1', 'call resolves the call id');
    await el.answer();
    await el.decline();
    await el.hangup();
    el.setMuted(true);
    el.sendDtmf('12');
    equal((await el.getStats()).packetsReceived, 2, 'stats');
    el.disconnect();
    await el.connect();
    deepEqual(
      client.log.map((e) => [e.method, ...e.args]),
      [['call', 'carol'], ['answer'], ['decline'], ['hangup'], ['setMuted', true], ['sendDtmf', '12'], ['getStats'], ['disconnect'], ['connect']],
      'delegation',
    );
  });

  it('a rejected action shows its error', async () => {
    const { el, client } = await mountPhone();
    client.answer = () => Promise.reject(Object.assign(new Error('the phone is ready, not incoming'), { code: 'invalid_state' }));
    client.emit('state', { state: 'incoming' });
    await emit(el, client, 'incoming', { callId: 'c', from: BOB });
    part<HTMLButtonElement>(el, 'accept-button')!.click();
    const banner = await waitFor(() => part(el, 'error'), 'the error banner');
    assert(text(banner).includes('not incoming'), 'rejection message shown');
  });
});

describe('<astral-phone> events', () => {
  it('re-dispatches client events as bubbling, composed astral-* events that reach document', async () => {
    const { el, client } = await mountPhone();
    const seen: CustomEvent[] = [];
    const names = ['astral-ready', 'astral-state', 'astral-incoming', 'astral-call-ended', 'astral-draining', 'astral-error'];
    const listener = (e: Event) => seen.push(e as CustomEvent);
    names.forEach((n) => document.addEventListener(n, listener));
    try {
      client.emit('ready', { user: ALICE });
      client.emit('state', { state: 'incoming' });
      client.emit('incoming', { callId: 'c9', from: BOB });
      client.emit('call-ended', { callId: 'c9', disposition: 'NO ANSWER', reason: 'cancelled', duration: 4 });
      client.emit('draining', { seconds: 30 });
      client.emit('error', { code: 'unauthorized', message: 'bad token' });
    } finally {
      names.forEach((n) => document.removeEventListener(n, listener));
    }
    deepEqual(seen.map((e) => e.type), names, 'event names in order');
    assert(seen.every((e) => e.bubbles && e.composed && e.target === el), 'bubbling, composed, from the element');
    deepEqual(seen.map((e) => e.detail), [
      { user: ALICE },
      { state: 'incoming' },
      { callId: 'c9', from: BOB },
      { callId: 'c9', disposition: 'NO ANSWER', reason: 'cancelled', duration: 4 },
      { seconds: 30 },
      { code: 'unauthorized', message: 'bad token' },
    ], 'details');
  });

  it('stops listening to a replaced client', async () => {
    const { el, client } = await mountPhone();
    const next = new (client.constructor as new () => typeof client)();
    el.attachClient(next);
    let count = 0;
    const listener = () => count++;
    document.addEventListener('astral-state', listener);
    client.emit('state', { state: 'connecting' });
    next.emit('state', { state: 'reconnecting' });
    document.removeEventListener('astral-state', listener);
    equal(count, 1, 'only the attached client is heard');
    await el.updateComplete;
    equal(el.state, 'reconnecting', 'state from the new client');
  });
});

describe('<astral-phone> parts, theming and focus', () => {
  it('exposes the documented parts', async () => {
    const { el, client } = await mountPhone();
    await emit(el, client, 'error', { code: 'internal', message: 'x' });
    for (const name of ['status', 'dialpad', 'call-button', 'hangup-button', 'mute-button', 'meter', 'error', 'input']) {
      assert(part(el, name), `part ${name}`);
    }
    equal(part(el, 'meter')!.getAttribute('role'), 'meter', 'meter role');
    equal(part(el, 'dialpad')!.shadowRoot!.querySelectorAll('[part~="key"]').length, 12, 'twelve keys');
    client.emit('state', { state: 'incoming' });
    await emit(el, client, 'incoming', { callId: 'c', from: BOB });
    for (const name of ['incoming', 'accept-button', 'decline-button']) assert(part(el, name), `part ${name}`);
    await startCall(el, client);
    assert(part(el, 'timer'), 'part timer');
    for (const b of el.shadowRoot!.querySelectorAll('button')) assert(b.getAttribute('aria-label'), `button labelled: ${b.outerHTML}`);
  });

  it('::part(key) styles reach the dial keys through exportparts', async () => {
    const style = document.createElement('style');
    style.textContent = 'astral-phone.themed::part(key) { color: rgb(9, 8, 7); }';
    document.head.append(style);
    try {
      const { el } = await mountPhone();
      el.classList.add('themed');
      equal(getComputedStyle(padKey(el, '7')).color, 'rgb(9, 8, 7)', 'key color from ::part');
    } finally {
      style.remove();
    }
  });

  it('--astral-accent sets the call button colour and --astral-danger the hang-up button', async () => {
    const { el } = await mountPhone();
    const call = part(el, 'call-button')!;
    const before = getComputedStyle(call).backgroundColor;
    el.style.setProperty('--astral-accent', 'rgb(1, 2, 3)');
    el.style.setProperty('--astral-danger', 'rgb(200, 0, 1)');
    equal(getComputedStyle(call).backgroundColor, 'rgb(1, 2, 3)', 'call button background');
    assert(before !== 'rgb(1, 2, 3)', 'the colour changed');
    equal(getComputedStyle(part(el, 'hangup-button')!).backgroundColor, 'rgb(200, 0, 1)', 'hang-up background');
  });

  it('has visible focus styles for keyboard users', async () => {
    const { el } = await mountPhone();
    const input = part<HTMLInputElement>(el, 'input')!;
    input.focus();
    equal(getComputedStyle(input).outlineStyle, 'solid', 'input focus outline');
    await sendKeys({ press: 'Tab' }); // backspace is disabled while empty, so focus lands on key 1
    const key = padKey(el, '1');
    assert(key.matches(':focus-visible'), 'key 1 focused by keyboard');
    equal(getComputedStyle(key).outlineStyle, 'solid', 'key focus outline');
    await sendKeys({ press: 'ArrowDown' });
    assert(padKey(el, '4').matches(':focus'), 'arrow keys move between keys');
  });
});
