// Component tests for <astral-phone>'s customisation: cancelable astral-incoming / astral-call-ended and the header, idle and in-call slots.
import '../src/ui/astral-phone.js';
import type { AstralPhone } from '../src/ui/astral-phone.js';
import type { Ringtone } from '../src/ui/ringtone.js';
import { BOB, assert, callInfo, emit, equal, mountPhone, part, startCall, text, unmountAll, waitFor, type FakeClient } from './helpers.js';

afterEach(unmountAll);

/** The phone's ringtone (a private controller's), to see whether the built-in ring plays. */
function ringtone(el: AstralPhone): Ringtone {
  return (el as unknown as { ring: { ringtone: Ringtone } }).ring.ringtone;
}

async function ringFromBob(el: AstralPhone, client: FakeClient): Promise<void> {
  client.emit('call', { call: callInfo({ direction: 'incoming' }) });
  client.emit('state', { state: 'incoming' });
  await emit(el, client, 'incoming', { callId: 'call-1', from: BOB });
}

/** The element a named slot of the phone's shadow root shows, or null when that slot is not rendered. */
function slot(el: AstralPhone, name: string): HTMLSlotElement | null {
  return el.shadowRoot!.querySelector<HTMLSlotElement>(`slot[name="${name}"]`);
}

function slotted(el: AstralPhone, name: string, content: string): HTMLElement {
  const node = document.createElement('div');
  node.slot = name;
  node.textContent = content;
  el.append(node);
  return node;
}

describe('<astral-phone> cancelable events', () => {
  it('astral-incoming is cancelable; without preventDefault the built-in panel rings', async () => {
    const { el, client } = await mountPhone();
    let event: CustomEvent | null = null;
    el.addEventListener('astral-incoming', (e) => (event = e));
    await ringFromBob(el, client);
    assert(event, 'astral-incoming dispatched');
    equal((event as CustomEvent).cancelable, true, 'cancelable');
    assert(part(el, 'incoming'), 'the incoming panel shows');
    equal(ringtone(el).kind, 'ring', 'the ringtone plays');
  });

  it('preventDefault() on astral-incoming leaves the ringing UI to the page; the call still rings and the element API answers it', async () => {
    const { el, client } = await mountPhone();
    el.addEventListener('astral-incoming', (e) => e.preventDefault());
    await ringFromBob(el, client);
    equal(el.state, 'incoming', 'the call still rings');
    equal(part(el, 'incoming'), null, 'no built-in incoming panel');
    equal(ringtone(el).kind, null, 'no built-in ringtone');
    assert(!text(el.shadowRoot!.querySelector('[aria-live="assertive"]')).includes('Bob'), 'no built-in announcement');
    await el.answer();
    equal(client.calls('answer').length, 1, 'answered through the element');
    await emit(el, client, 'state', { state: 'in-call' });
    await emit(el, client, 'state', { state: 'ready' });
    // The next call is the page's choice again.
    await ringFromBob(el, client);
    equal(part(el, 'incoming'), null, 'still the page’s UI while it keeps preventing');
  });

  it('the built-in ring comes back for a call the page lets through', async () => {
    const { el, client } = await mountPhone();
    let take = true;
    el.addEventListener('astral-incoming', (e) => take && e.preventDefault());
    await ringFromBob(el, client);
    equal(part(el, 'incoming'), null, 'first call: the page’s');
    await emit(el, client, 'state', { state: 'ready' });
    take = false;
    await ringFromBob(el, client);
    assert(part(el, 'incoming'), 'second call: the built-in panel');
    equal(ringtone(el).kind, 'ring', 'and its ringtone');
  });

  it('preventDefault() on astral-call-ended leaves out the last call’s summary', async () => {
    const { el, client } = await mountPhone();
    let event: CustomEvent | null = null;
    el.addEventListener('astral-call-ended', (e) => {
      event = e;
      e.preventDefault();
    });
    await startCall(el, client);
    client.emit('call', { call: null });
    client.emit('call-ended', { callId: 'call-1', disposition: 'ANSWERED', reason: 'hangup', duration: 3 });
    await emit(el, client, 'state', { state: 'ready' });
    equal((event as CustomEvent | null)?.cancelable, true, 'cancelable');
    equal(part(el, 'last-call'), null, 'no summary');
    assert(!text(part(el, 'status')).includes('Call ended'), `nor in the status line: ${text(part(el, 'status'))}`);
  });
});

describe('<astral-phone> slots', () => {
  it('header: the page’s header replaces the status line, which stays a live region for screen readers', async () => {
    const { el } = await mountPhone();
    assert(part(el, 'status')!.getBoundingClientRect().height > 0, 'status line visible by default');
    const header = slotted(el, 'header', 'Acme support');
    // the slot's slotchange re-renders the phone
    await waitFor(() => part(el, 'status')!.closest('.visually-hidden'), 'the status line to step aside');
    equal(header.assignedSlot, slot(el, 'header'), 'assigned to the header slot');
    assert(header.getBoundingClientRect().height > 0, 'the header shows');
    const status = part(el, 'status')!;
    equal(status.getAttribute('aria-live'), 'polite', 'status still a live region');
    assert(text(status).includes('Ready'), 'and still says the state');
    const clip = status.closest('.visually-hidden');
    assert(clip && clip.getBoundingClientRect().height <= 1, 'but clipped out of sight');
    header.remove();
    await waitFor(() => !part(el, 'status')!.closest('.visually-hidden'), 'the status line to come back');
    assert(part(el, 'status')!.getBoundingClientRect().height > 1, 'status line visible again');
  });

  it('idle: shown while there is no call, in place of the last call’s summary', async () => {
    const { el, client } = await mountPhone();
    await startCall(el, client);
    client.emit('call', { call: null });
    client.emit('call-ended', { callId: 'call-1', disposition: 'ANSWERED', reason: 'hangup', duration: 3 });
    await emit(el, client, 'state', { state: 'ready' });
    assert(slot(el, 'idle'), 'idle slot rendered while ready');
    assert(part(el, 'last-call')!.getBoundingClientRect().height > 0, 'fallback: the last call shows');
    const idle = slotted(el, 'idle', 'Queue: 3 waiting');
    await el.updateComplete;
    equal(idle.assignedSlot, slot(el, 'idle'), 'assigned');
    assert(idle.getBoundingClientRect().height > 0, 'the idle content shows');
    equal(part(el, 'last-call')?.getBoundingClientRect().height ?? 0, 0, 'instead of the summary');
    await startCall(el, client);
    equal(slot(el, 'idle'), null, 'no idle slot during a call');
    equal(idle.getBoundingClientRect().height, 0, 'the idle content is hidden in a call');
  });

  it('in-call: shown during a call in place of the call panel', async () => {
    const { el, client } = await mountPhone();
    const area = slotted(el, 'in-call', 'Customer: Bob, order #42');
    await el.updateComplete;
    equal(slot(el, 'in-call'), null, 'no in-call slot while ready');
    equal(area.getBoundingClientRect().height, 0, 'content hidden while ready');
    area.remove();
    await startCall(el, client);
    assert(part(el, 'call')!.getBoundingClientRect().height > 0, 'fallback: the call panel');
    el.append(area);
    await el.updateComplete;
    equal(area.assignedSlot, slot(el, 'in-call'), 'assigned');
    assert(area.getBoundingClientRect().height > 0, 'the page’s in-call area shows');
    equal(part(el, 'call')?.getBoundingClientRect().height ?? 0, 0, 'instead of the call panel');
    assert(part(el, 'hangup-button')!.getBoundingClientRect().height > 0, 'the controls stay');
  });
});
