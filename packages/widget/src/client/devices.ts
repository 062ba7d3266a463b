// DeviceManager (`client.devices`): audio inputs/outputs, mid-call microphone switching, output sinks, unplug and
// track-end recovery, audio processing switches and the remembered choice; shared by both engines.

export interface AudioDevice {
  deviceId: string;
  label: string;
  groupId: string;
}

/** The devices the browser lists (labels are empty until the page may use the microphone). */
export interface DeviceLists {
  inputs: AudioDevice[];
  outputs: AudioDevice[];
}

/** The microphone's audio processing (each on by default). */
export interface AudioProcessing {
  echoCancellation?: boolean;
  noiseSuppression?: boolean;
  autoGainControl?: boolean;
}

/** Where an output choice applies: the call's audio or the ringtone. */
export type OutputTarget = 'call' | 'ringtone';

export interface DeviceChangedDetail {
  kind: 'input' | OutputTarget;
  /** The device now chosen; `''` is the system default. */
  deviceId: string;
  /** `selected` by the app or user; `unplugged` (the device in use went away); `track-ended` (the microphone stopped). */
  reason: 'selected' | 'unplugged' | 'track-ended';
}

/** The events the manager raises through its client (`client.on('devicechange', ...)`). */
export interface DeviceEvents {
  /** The device lists changed (a device was plugged in or out), or were first read. */
  devicechange: DeviceLists;
  /** A choice took effect: by selection, or a fallback to the default after an unplug or a stopped microphone. */
  deviceChanged: DeviceChangedDetail;
}

/** An engine's live microphone: its track, and how to put another track in its place without renegotiating. */
export interface MicLine {
  micTrack(): MediaStreamTrack | null;
  /** Sends `track` instead (same mute state) and stops the old track. */
  replaceMic(track: MediaStreamTrack): Promise<void>;
}

export interface DeviceManagerOptions {
  /** Names this site's remembered choice (the engine's server URL). */
  storageKey: string;
  /** Base microphone constraints (the client's `audioConstraints`). */
  constraints?: MediaTrackConstraints;
  processing?: AudioProcessing;
  emit<K extends keyof DeviceEvents>(name: K, detail: DeviceEvents[K]): void;
  /** What failures are thrown as (the engine's error class). */
  errorType: new (code: string, message: string) => Error;
}

interface Choice {
  input: string;
  call: string;
  ringtone: string;
}

const DEFAULT_AUDIO: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const PROCESSING_KEYS = ['echoCancellation', 'noiseSuppression', 'autoGainControl'] as const;
const STORAGE_PREFIX = 'astral-devices:';

/** True where audio can be sent to a chosen output (HTMLMediaElement.setSinkId). */
export const canChooseOutput = (): boolean => typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

export class DeviceManager {
  inputs: AudioDevice[] = [];
  outputs: AudioDevice[] = [];
  private processing: AudioProcessing;
  private choice: Choice;
  private line: MicLine | null = null;
  private watched: MediaStreamTrack | null = null;
  private callOutput: HTMLMediaElement | null = null;
  private listening = false;
  /** Microphone swaps run one at a time. */
  private switching: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DeviceManagerOptions) {
    this.processing = { ...options.processing };
    this.choice = { input: '', call: '', ringtone: '', ...this.load() };
  }

  /** The chosen microphone (`''`: the system default). */
  get inputId(): string {
    return this.choice.input;
  }
  get outputId(): string {
    return this.choice.call;
  }
  get ringtoneOutputId(): string {
    return this.choice.ringtone;
  }

  /** The constraints a call's microphone opens with: base, processing switches, the remembered device if present. */
  audioConstraints(deviceId: string = this.choice.input, exact = false): MediaTrackConstraints {
    const base: MediaTrackConstraints = { ...DEFAULT_AUDIO, ...this.options.constraints, ...this.processing };
    return deviceId ? { ...base, deviceId: exact ? { exact: deviceId } : { ideal: deviceId } } : base;
  }

  /** Lists the devices again; `withLabels` opens the microphone briefly first when the browser hides labels. */
  async refresh(withLabels = false): Promise<DeviceLists> {
    const media = navigator.mediaDevices;
    if (!media?.enumerateDevices) return this.lists();
    let all = await media.enumerateDevices();
    if (withLabels && !this.line && all.some((d) => d.kind === 'audioinput' && !d.label)) {
      const probe = await media.getUserMedia({ audio: true }).catch(() => null);
      probe?.getTracks().forEach((t) => t.stop());
      if (probe) all = await media.enumerateDevices();
    }
    const pick = (kind: MediaDeviceKind) =>
      all.filter((d) => d.kind === kind && d.deviceId).map(({ deviceId, label, groupId }) => ({ deviceId, label, groupId }));
    this.inputs = pick('audioinput');
    this.outputs = pick('audiooutput');
    return this.lists();
  }

  /** Uses microphone `deviceId` (`''`: default) from now on; during a call the new track replaces the old, no renegotiation. */
  async setInputDevice(deviceId: string): Promise<void> {
    this.requireListed(this.inputs, deviceId, 'microphone');
    if (this.line) await this.swapMic(this.audioConstraints(deviceId, true));
    this.remember('input', deviceId, 'selected');
  }

  /** Plays the call's audio (or the ringtone) on output `deviceId` (`''`: default); needs setSinkId. */
  async setOutputDevice(deviceId: string, target: OutputTarget = 'call'): Promise<void> {
    if (!canChooseOutput()) throw new this.options.errorType('unsupported', 'this browser cannot choose an audio output');
    this.requireListed(this.outputs, deviceId, 'audio output');
    if (target === 'call' && this.callOutput) await this.sink(this.callOutput, deviceId);
    this.remember(target, deviceId, 'selected');
  }

  /** Turns processing switches on or off: on the live microphone via applyConstraints, else by reopening it. */
  async setProcessing(processing: AudioProcessing): Promise<void> {
    this.processing = { ...this.processing, ...processing };
    const track = this.line?.micTrack();
    if (!track) return;
    const wanted = this.audioConstraints();
    await track.applyConstraints(wanted).catch(() => undefined);
    const settings = track.getSettings() as Record<string, unknown>;
    // Chromium accepts but ignores processing changes on a live track: open one with them instead.
    if (PROCESSING_KEYS.some((k) => k in wanted && settings[k] !== undefined && settings[k] !== wanted[k])) await this.swapMic(wanted);
  }

  /** The engine's call audio element: the chosen output applies to it (and to every later one). */
  setCallOutput(element: HTMLMediaElement): void {
    this.callOutput = element;
    if (this.choice.call && canChooseOutput()) this.sink(element, this.choice.call).catch(() => this.remember('call', '', 'unplugged'));
  }

  /** The engine's microphone during a call (null between calls); its end is watched. Safe to call repeatedly. */
  useMic(line: MicLine | null): void {
    const first = line && !this.line;
    this.line = line;
    const track = line?.micTrack() ?? null;
    if (track === this.watched) return;
    this.watched?.removeEventListener('ended', this.onTrackEnded);
    this.watched = track;
    track?.addEventListener('ended', this.onTrackEnded);
    if (first) void this.refresh().then((lists) => this.options.emit('devicechange', lists), () => undefined);
  }

  /** Follows the browser's `devicechange` (plugged or unplugged devices) while the client is connected. */
  listen(on: boolean): void {
    if (on === this.listening || !navigator.mediaDevices) return;
    this.listening = on;
    if (on) navigator.mediaDevices.addEventListener('devicechange', this.onDeviceChange);
    else navigator.mediaDevices.removeEventListener('devicechange', this.onDeviceChange);
  }

  private lists(): DeviceLists {
    return { inputs: this.inputs, outputs: this.outputs };
  }

  private requireListed(list: AudioDevice[], deviceId: string, what: string): void {
    if (deviceId && list.length > 0 && !list.some((d) => d.deviceId === deviceId)) throw new this.options.errorType('not_found', `no ${what} ${deviceId}`);
  }

  /** Opens a microphone with `constraints` and puts it in the call in place of the current one. */
  private swapMic(constraints: MediaTrackConstraints): Promise<void> {
    const run = this.switching.then(async () => {
      const line = this.line;
      if (!line) return;
      let stream: MediaStream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: constraints, video: false });
      } catch (err) {
        throw new this.options.errorType('media_error', `microphone unavailable: ${String((err as Error).message ?? err)}`);
      }
      const track = stream.getAudioTracks()[0]!;
      if (this.line !== line) return track.stop(); // the call ended meanwhile
      track.enabled = line.micTrack()?.enabled ?? true; // muted stays muted
      await line.replaceMic(track);
      this.useMic(line);
    });
    this.switching = run.catch(() => undefined);
    return run;
  }

  private readonly onTrackEnded = (): void => {
    // The microphone stopped under the call (unplugged, revoked by the OS): take the chosen one if still there, else the default.
    this.swapMic(this.audioConstraints()).then(
      () => this.options.emit('deviceChanged', { kind: 'input', deviceId: this.choice.input, reason: 'track-ended' }),
      () => undefined,
    );
  };

  private readonly onDeviceChange = (): void => {
    void this.refresh().then((lists) => {
      this.options.emit('devicechange', lists);
      const gone = (id: string, list: AudioDevice[]) => id !== '' && id !== 'default' && !list.some((d) => d.deviceId === id);
      const used = this.line?.micTrack()?.getSettings().deviceId ?? '';
      // The microphone in use went away: the call goes on with the default one.
      if (this.inputs.length > 0 && gone(used, this.inputs)) {
        this.swapMic(this.audioConstraints('')).then(() => this.options.emit('deviceChanged', { kind: 'input', deviceId: '', reason: 'unplugged' }), () => undefined);
      }
      if (this.outputs.length === 0) return;
      if (gone(this.choice.call, this.outputs)) {
        if (this.callOutput) void this.sink(this.callOutput, '').catch(() => undefined);
        this.options.emit('deviceChanged', { kind: 'call', deviceId: '', reason: 'unplugged' });
      }
      if (gone(this.choice.ringtone, this.outputs)) this.options.emit('deviceChanged', { kind: 'ringtone', deviceId: '', reason: 'unplugged' });
    }, () => undefined);
  };

  private async sink(element: HTMLMediaElement, deviceId: string): Promise<void> {
    try {
      await element.setSinkId(deviceId);
    } catch (err) {
      throw new this.options.errorType('not_found', `cannot play on ${deviceId}: ${String((err as Error).message ?? err)}`);
    }
  }

  /** Records a choice (kept for this site unless it is a fallback) and reports it. */
  private remember(key: keyof Choice, deviceId: string, reason: DeviceChangedDetail['reason']): void {
    if (reason === 'selected') {
      this.choice = { ...this.choice, [key]: deviceId };
      try {
        localStorage.setItem(STORAGE_PREFIX + this.options.storageKey, JSON.stringify(this.choice));
      } catch {
        // storage blocked (private mode, sandboxed frame): the choice lasts for this page only
      }
    }
    this.options.emit('deviceChanged', { kind: key === 'input' ? 'input' : key, deviceId, reason });
  }

  private load(): Partial<Choice> {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_PREFIX + this.options.storageKey) ?? '{}') as Partial<Choice>;
      return Object.fromEntries(Object.entries(saved).filter(([, v]) => typeof v === 'string'));
    } catch {
      return {};
    }
  }
}
