// Devices: DeviceManager over Chromium's fake devices (three inputs, three outputs) and a real RTCPeerConnection call
// leg; plugging and unplugging simulated by stubbing enumerateDevices and dispatching `devicechange`; the device menu.
import '../src/ui/astral-phone.js';
import { AstralPhone } from '../src/ui/astral-phone.js';
import { DeviceManager, type AudioDevice, type DeviceChangedDetail, type DeviceLists, type MicLine } from '../src/client/devices.js';
import { localStreamOf, replaceMicTrack } from '../src/client/sip/sip-media.js';
import type { AstralClientEvents, AstralClientOptions } from '../src/client/types.js';
import type { PhoneClient } from '../src/ui/client-controller.js';
import { Ringtone } from '../src/ui/ringtone.js';
import { FakeClient, assert, equal, mount, part, unmountAll, waitFor } from './helpers.js';

class DeviceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let storageKey = '';
let n = 0;
beforeEach(() => {
  storageKey = `test-${Date.now()}-${n++}`;
});

/** A FakeClient with a real DeviceManager whose events it dispatches as its own (as both engines do). */
class DeviceClient extends FakeClient {
  readonly devices: DeviceManager;
  constructor(options?: AstralClientOptions) {
    super(options);
    this.devices = new DeviceManager({
      storageKey,
      processing: options?.audioProcessing,
      errorType: DeviceError,
      emit: (name, detail) => this.emit(name, detail as AstralClientEvents[typeof name]),
    });
  }
}

function manager(events: { name: string; detail: unknown }[] = [], key = storageKey): DeviceManager {
  return new DeviceManager({ storageKey: key, errorType: DeviceError, emit: (name, detail) => events.push({ name, detail }) });
}

/** A call leg like the sip engine's: a real RTCPeerConnection pair carrying the microphone, switched by sip-media. */
async function callLeg(): Promise<{ line: MicLine; sender: RTCRtpSender; renegotiations: () => number; close(): void }> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && void b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && void a.addIceCandidate(e.candidate);
  const sender = a.addTrack(stream.getAudioTracks()[0]!, stream);
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  let count = 0;
  a.onnegotiationneeded = () => count++;
  const session = { sessionDescriptionHandler: { peerConnection: a, localMediaStream: stream, remoteMediaStream: new MediaStream() } } as never;
  const line: MicLine = {
    micTrack: () => localStreamOf(session)?.getAudioTracks()[0] ?? null,
    replaceMic: (track) => replaceMicTrack(session, track),
  };
  return {
    line,
    sender,
    renegotiations: () => count,
    close: () => {
      stream.getTracks().forEach((t) => t.stop());
      a.close();
      b.close();
    },
  };
}

/** Makes enumerateDevices answer without `gone` (as after unplugging it) until `restore()`. */
function unplug(gone: string): { restore(): void } {
  const media = navigator.mediaDevices;
  const real = media.enumerateDevices.bind(media);
  media.enumerateDevices = async () => (await real()).filter((d) => d.deviceId !== gone);
  return { restore: () => delete (media as { enumerateDevices?: unknown }).enumerateDevices };
}

const named = (list: AudioDevice[]) => list.filter((d) => d.deviceId !== 'default');
const changed = (events: { name: string; detail: unknown }[]) => events.filter((e) => e.name === 'deviceChanged').map((e) => e.detail as DeviceChangedDetail);

describe('DeviceManager', () => {
  afterEach(unmountAll);

  it('lists inputs and outputs with labels once the microphone may be used', async () => {
    const { inputs, outputs } = await manager().refresh(true);
    assert(named(inputs).length >= 2, `two fake microphones: ${JSON.stringify(inputs)}`);
    assert(named(outputs).length >= 2, `two fake outputs: ${JSON.stringify(outputs)}`);
    assert(inputs.every((d) => d.label && d.deviceId), 'every input has a label and an id');
  });

  it('switches the microphone mid-call by replaceTrack, without renegotiating, and keeps mute', async () => {
    const events: { name: string; detail: unknown }[] = [];
    const devices = manager(events);
    const leg = await callLeg();
    try {
      const target = named((await devices.refresh(true)).inputs)[1]!;
      leg.line.micTrack()!.enabled = false; // muted
      devices.useMic(leg.line);
      const before = leg.sender.track!;
      await devices.setInputDevice(target.deviceId);
      const after = leg.sender.track!;
      assert(after !== before, 'the sender carries a new track');
      equal(after.getSettings().deviceId, target.deviceId, 'from the chosen microphone');
      equal(before.readyState, 'ended', 'the old microphone is released');
      equal(after.enabled, false, 'still muted');
      equal(leg.renegotiations(), 0, 'no renegotiation');
      equal(devices.inputId, target.deviceId, 'the choice');
      equal(changed(events).at(-1)?.reason, 'selected', 'deviceChanged: selected');
      equal(devices.audioConstraints().deviceId && JSON.stringify(devices.audioConstraints().deviceId), JSON.stringify({ ideal: target.deviceId }), 'the next call opens it too');
    } finally {
      leg.close();
    }
  });

  it('refuses a microphone that is not there', async () => {
    const devices = manager();
    await devices.refresh(true);
    let code = '';
    await devices.setInputDevice('no-such-device').catch((e: DeviceError) => (code = e.code));
    equal(code, 'not_found', 'not_found');
  });

  it('an unplugged microphone in use falls back to the default one and the call keeps sending', async () => {
    const events: { name: string; detail: unknown }[] = [];
    const devices = manager(events);
    devices.listen(true);
    const leg = await callLeg();
    await devices.refresh(true);
    try {
      const headset = named(devices.inputs)[0]!;
      devices.useMic(leg.line);
      await devices.setInputDevice(headset.deviceId);
      const unplugged = unplug(headset.deviceId);
      try {
        navigator.mediaDevices.dispatchEvent(new Event('devicechange'));
        await waitFor(() => changed(events).some((c) => c.reason === 'unplugged'), 'the fallback');
      } finally {
        unplugged.restore();
      }
      const lists = events.filter((e) => e.name === 'devicechange').at(-1)!.detail as DeviceLists;
      assert(!lists.inputs.some((d) => d.deviceId === headset.deviceId), 'devicechange carries the new list');
      const now = leg.sender.track!;
      equal(now.readyState, 'live', 'a live microphone');
      equal(now.getSettings().deviceId, 'default', 'the default one');
      equal(leg.renegotiations(), 0, 'no renegotiation');
    } finally {
      devices.listen(false);
      leg.close();
    }
  });

  it('a microphone track that ends mid-call is reacquired and replaced', async () => {
    const events: { name: string; detail: unknown }[] = [];
    const devices = manager(events);
    const leg = await callLeg();
    try {
      devices.useMic(leg.line);
      const dead = leg.sender.track!;
      dead.stop();
      dead.dispatchEvent(new Event('ended')); // what the browser fires when the source goes (stop() alone does not)
      await waitFor(() => changed(events).some((c) => c.reason === 'track-ended'), 'the recovery');
      assert(leg.sender.track !== dead && leg.sender.track!.readyState === 'live', 'a live track is sent again');
      equal(leg.renegotiations(), 0, 'no renegotiation');
    } finally {
      leg.close();
    }
  });

  it('turns audio processing off on the live microphone', async () => {
    const devices = manager();
    const leg = await callLeg();
    try {
      devices.useMic(leg.line);
      equal(leg.sender.track!.getSettings().echoCancellation, true, 'on by default');
      await devices.setProcessing({ echoCancellation: false, noiseSuppression: false, autoGainControl: false });
      const settings = leg.sender.track!.getSettings();
      equal(settings.echoCancellation, false, 'echo cancellation off');
      equal(settings.noiseSuppression, false, 'noise suppression off');
      equal(settings.autoGainControl, false, 'auto gain off');
      equal(leg.renegotiations(), 0, 'no renegotiation');
    } finally {
      leg.close();
    }
  });

  it('plays the call on the chosen output and remembers every choice for the site only', async () => {
    const devices = manager();
    const { inputs, outputs } = await devices.refresh(true);
    const audio = new Audio();
    devices.setCallOutput(audio);
    const speaker = named(outputs)[0]!;
    const bell = named(outputs)[1]!;
    await devices.setOutputDevice(speaker.deviceId);
    equal(audio.sinkId, speaker.deviceId, 'the call element plays there');
    await devices.setOutputDevice(bell.deviceId, 'ringtone');
    equal(audio.sinkId, speaker.deviceId, 'the ringtone choice leaves the call alone');
    await devices.setInputDevice(named(inputs)[1]!.deviceId);

    const again = manager([], storageKey);
    equal(again.inputId, named(inputs)[1]!.deviceId, 'input remembered');
    equal(again.outputId, speaker.deviceId, 'output remembered');
    equal(again.ringtoneOutputId, bell.deviceId, 'ringtone output remembered');
    const later = new Audio();
    again.setCallOutput(later);
    await waitFor(() => later.sinkId === speaker.deviceId, 'a later call element gets the output');
    equal(manager([], `${storageKey}-other`).inputId, '', 'another server has its own choice');
  });

  it('rings on the ringtone output', async () => {
    const outputs = named((await manager().refresh(true)).outputs);
    const ringtone = new Ringtone();
    ringtone.setSink(outputs[1]!.deviceId);
    await ringtone.play('ring');
    const element = (ringtone as unknown as { sinkElement: HTMLAudioElement | null }).sinkElement;
    assert(element, 'an element plays the tone');
    await waitFor(() => element.sinkId === outputs[1]!.deviceId, 'on the chosen output');
    ringtone.setSink('');
    equal((ringtone as unknown as { sinkElement: HTMLAudioElement | null }).sinkElement, null, 'back on the context output');
    equal(ringtone.kind, 'ring', 'still ringing');
    ringtone.stop();
  });
});

/** Hands out DeviceClients built with the element's options (the real engines build their DeviceManager so). */
class ProcessingPhone extends AstralPhone {
  static options: AstralClientOptions | null = null;
  protected override createClient(options: AstralClientOptions): PhoneClient {
    ProcessingPhone.options = options;
    return new DeviceClient(options);
  }
}
customElements.define('processing-test-phone', ProcessingPhone);

describe('<astral-phone> devices', () => {
  afterEach(unmountAll);

  async function phone(): Promise<{ el: AstralPhone; client: DeviceClient }> {
    const client = new DeviceClient();
    const el = mount(document.createElement('astral-phone'));
    el.attachClient(client);
    await el.updateComplete;
    return { el, client };
  }

  it('the settings button opens the device panel from the keyboard; a choice goes to setInputDevice; Escape closes it', async () => {
    const { el, client } = await phone();
    const events: CustomEvent[] = [];
    el.addEventListener('astral-device-changed', (e) => events.push(e));
    const button = part<HTMLButtonElement>(el, 'devices-button')!;
    assert(button, 'a settings button');
    equal(button.getAttribute('aria-expanded'), 'false', 'closed');
    button.focus();
    button.click(); // what Enter or Space on a focused button does
    const select = await waitFor(() => part<HTMLSelectElement>(el, 'input-select'), 'the microphone select');
    await waitFor(() => el.shadowRoot!.activeElement === select, 'focus on the microphone select');
    equal(button.getAttribute('aria-expanded'), 'true', 'expanded');
    assert(part(el, 'output-select') && part(el, 'ringtone-select'), 'speaker and ringtone selects (setSinkId is there)');
    const options = [...select.options];
    equal(options[0]!.value, '', 'system default first');
    const fake = options.find((o) => o.textContent?.includes('Fake Audio Input'));
    assert(fake, `labelled options: ${options.map((o) => o.textContent).join(', ')}`);

    select.value = fake.value;
    select.dispatchEvent(new Event('change'));
    await waitFor(() => events.length > 0, 'astral-device-changed');
    equal(client.devices.inputId, fake.value, 'chosen');
    equal((events[0]!.detail as DeviceChangedDetail).deviceId, fake.value, 'the event says which');
    assert(events[0]!.bubbles && events[0]!.composed, 'bubbling, composed');

    select.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, composed: true }));
    await waitFor(() => !part(el, 'devices'), 'closed');
    await waitFor(() => el.shadowRoot!.activeElement === button, 'focus back on the button');
  });

  it('re-dispatches devicechange as astral-devicechange and exposes devices / setOutputDevice', async () => {
    const { el, client } = await phone();
    client.devices.listen(true);
    try {
      const got = new Promise<DeviceLists>((resolve) => el.addEventListener('astral-devicechange', (e) => resolve(e.detail), { once: true }));
      navigator.mediaDevices.dispatchEvent(new Event('devicechange'));
      const detail = await got;
      assert(detail.inputs.length > 0 && detail.outputs.length > 0, 'the new lists');
      equal(el.devices, client.devices, 'element.devices is the client’s');
      const output = named(detail.outputs)[0]!;
      await el.setOutputDevice(output.deviceId, 'ringtone');
      equal(client.devices.ringtoneOutputId, output.deviceId, 'ringtone output chosen through the element');
    } finally {
      client.devices.listen(false);
    }
  });

  it('audio processing attributes reach the client options and switch live', async () => {
    const el = document.createElement('processing-test-phone') as ProcessingPhone;
    for (const [k, v] of Object.entries({ server: 'http://astral.test', token: 't', 'echo-cancellation': 'false', 'auto-gain-control': 'off' })) el.setAttribute(k, v);
    mount(el);
    await el.updateComplete;
    equal(el.noiseSuppression, undefined, 'absent: the default');
    equal(JSON.stringify(ProcessingPhone.options?.audioProcessing), JSON.stringify({ echoCancellation: false, autoGainControl: false }), 'client options');
    const client = el.client as DeviceClient;
    equal(client.devices.audioConstraints().echoCancellation, false, 'the microphone opens without echo cancellation');
    el.setAttribute('noise-suppression', 'false');
    await el.updateComplete;
    equal(client.devices.audioConstraints().noiseSuppression, false, 'switched on the same client');
    equal(el.client, client, 'no new client for a processing switch');
  });
});
