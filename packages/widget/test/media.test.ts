// Ringtone, ringback and mic level meter of <astral-phone>: WebAudio tones, autoplay fallback, AnalyserNode levels.
import '../src/ui/astral-phone.js';
import type { AstralPhone } from '../src/ui/astral-phone.js';
import { Ringtone, toneFor, type RingtoneController } from '../src/ui/ringtone.js';
import { formatDuration } from '../src/ui/call-timer.js';
import { BOB, assert, emit, equal, mountPhone, part, sleep, startCall, unmountAll, waitFor } from './helpers.js';

afterEach(unmountAll);

const ringtoneOf = (el: AstralPhone) => (el as unknown as { ring: RingtoneController }).ring.ringtone;

describe('ringtone', () => {
  it('maps states to tones', () => {
    equal(toneFor('incoming'), 'ring', 'incoming rings');
    equal(toneFor('ringing'), 'ringback', 'ringing plays ringback');
    for (const s of ['ready', 'in-call', 'dialing', 'disconnected'] as const) equal(toneFor(s), null, `${s} is quiet`);
  });

  it('rings audibly while incoming and stops at once when the state changes', async () => {
    const { el, client } = await mountPhone();
    client.emit('state', { state: 'incoming' });
    await emit(el, client, 'incoming', { callId: 'c', from: BOB });
    const ringtone = ringtoneOf(el);
    equal(ringtone.kind, 'ring', 'ringing');
    await waitFor(() => part(el, 'incoming')?.dataset.ring === 'audible', 'an audible ring');
    await emit(el, client, 'state', { state: 'in-call' });
    equal(ringtone.kind, null, 'silent after answering');
    equal(ringtone.audible, false, 'not audible');
  });

  it('plays ringback while the far end rings', async () => {
    const { el, client } = await mountPhone();
    await emit(el, client, 'state', { state: 'ringing' });
    equal(ringtoneOf(el).kind, 'ringback', 'ringback');
    await emit(el, client, 'state', { state: 'ready' });
    equal(ringtoneOf(el).kind, null, 'stopped');
  });

  it('falls back to a visual ring when autoplay is blocked, then sounds on the next gesture', async () => {
    const real = new AudioContext();
    await real.suspend();
    let allowed = false;
    // an AudioContext whose resume() hangs until a "gesture" is allowed, like Chrome's autoplay policy
    const ctx = new Proxy(real, {
      get(target, prop) {
        if (prop === 'resume') return () => (allowed ? target.resume() : new Promise(() => undefined));
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    let changes = 0;
    const ringtone = new Ringtone(() => changes++, () => ctx);
    try {
      await ringtone.play('ring');
      equal(ringtone.kind, 'ring', 'still ringing (visually)');
      equal(ringtone.audible, false, 'not audible while blocked');
      equal(real.state, 'suspended', 'context still suspended');
      allowed = true;
      document.dispatchEvent(new PointerEvent('pointerdown'));
      await waitFor(() => ringtone.audible, 'audio after the gesture');
      equal(real.state, 'running', 'context resumed');
      assert(changes >= 2, 'host told about the change');
      ringtone.stop();
      equal(ringtone.kind, null, 'stopped');
    } finally {
      ringtone.stop();
      await real.close();
    }
  });

  it('the incoming panel pulses while ringing', async () => {
    const { el, client } = await mountPhone();
    client.emit('state', { state: 'incoming' });
    await emit(el, client, 'incoming', { callId: 'c', from: BOB });
    const anim = getComputedStyle(part(el, 'incoming')!).animationName;
    equal(anim, 'astral-ring', 'pulse animation');
  });
});

describe('mic level meter and timer', () => {
  it('formats durations', () => {
    equal(formatDuration(0), '00:00', 'zero');
    equal(formatDuration(65_999), '01:05', 'floors seconds');
    equal(formatDuration(3_725_000), '1:02:05', 'hours');
  });

  it('shows the local microphone level from an AnalyserNode', async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    try {
      const { el, client } = await mountPhone();
      const meter = part(el, 'meter')!;
      equal(meter.getAttribute('aria-valuenow'), '0', 'idle before a call');
      client.localStream = stream;
      await startCall(el, client);
      // Chrome's fake device beeps periodically; some frame must show signal
      await waitFor(() => Number(meter.getAttribute('aria-valuenow')) > 0, 'a non-zero mic level', 5000);
      await emit(el, client, 'call', { call: null });
      client.localStream = null;
      await emit(el, client, 'state', { state: 'ready' });
      await sleep(50);
      equal(meter.getAttribute('aria-valuenow'), '0', 'idle after the call');
    } finally {
      stream.getTracks().forEach((t) => t.stop());
    }
  });
});
