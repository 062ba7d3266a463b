// AstralClientCore: the headless softphone's connection, call state machine and media; AstralClient adds in-call controls.
import type { CallCodec, CallEnded, PartyInfo } from '@astral/protocol';
import { DeviceManager } from './devices.js';
import { MediaSession } from './media-session.js';
import { loadMediasoup } from './mediasoup-loader.js';
import { measureRegionRtts } from './regions.js';
import { AstralError, openSocket, request, type GatewaySocket } from './signaling.js';
import { TokenSource } from './token-source.js';
import type { AstralClientEvents, AstralClientOptions, CallInfo, CallStats } from './types.js';
// Last, so the bundle places the base class right before this one.
import { ClientCoreBase } from './client-core-base.js';

const AUTH_CODES = new Set(['unauthorized', 'token_expired']);
/** How long a call survives a dropped connection on this side (the server keeps it ASTRAL_RECONNECT_GRACE). */
const RESUME_WAIT_MS = 15_000;

export class AstralClientCore extends ClientCoreBase {
  protected readonly errorType = AstralError;
  protected socket: GatewaySocket | null = null;
  protected media: MediaSession | null = null;
  private readonly tokens: TokenSource;
  /** `call:ended` that raced ahead of our own dial ack. */
  private readonly earlyEnds = new Map<string, CallEnded>();
  /** The codec the server asked a call's microphone to be sent in (G.711 toward the phone network). */
  private readonly codecs = new Map<string, CallCodec>();
  /** Latest region of each channel's call, from CALL_CREATE / CALL_UPDATE / VOICE_SERVER_UPDATE. */
  private readonly channelRegions = new Map<string, string>();
  /** Media operations run one at a time (mic start, region rebuilds). */
  private mediaQueue: Promise<void> = Promise.resolve();
  private rebuildPending = false;
  /** `reconnecting` stands for a lost media path with the socket up (ICE restarts run), not a lost socket. */
  private mediaLost = false;
  /** Until when an answered call may be resumed after a dropped connection (ms since epoch). */
  private resumeBy = 0;
  private _regionRtts: Record<string, number> | null = null;
  /** Microphone and speaker choice, mid-call switching, audio processing switches. */
  readonly devices: DeviceManager;

  constructor(protected readonly options: AstralClientOptions) {
    super();
    this.tokens = new TokenSource(options.token, options.tokenUrl);
    this.devices = new DeviceManager({
      storageKey: options.server,
      constraints: options.audioConstraints,
      processing: options.audioProcessing,
      errorType: AstralError,
      emit: (name, detail) => this.emit(name, detail as AstralClientEvents[typeof name]),
    });
  }

  get remoteStream(): MediaStream | null {
    return this.media?.remoteStream ?? null;
  }
  /** Round-trip times (ms) measured to each region's endpoint, once known (only with two or more regions). */
  get regionRtts(): Readonly<Record<string, number>> | null {
    return this._regionRtts;
  }
  get localStream(): MediaStream | null {
    return this.media?.localStream ?? null;
  }

  /** Connects and prepares media; resolves once the phone is ready. */
  connect(): Promise<void> {
    if (this.socket) return this._state === 'ready' ? Promise.resolve() : this.waitReady('connection closed before the phone was ready');
    this.setState('connecting');
    this.devices.listen(true);
    loadMediasoup().catch(() => undefined); // fetched while the token and socket come up; media setup reports a failure
    return this.tokens.get().then(
      (token) => {
        this.openSocket(token);
        return this.waitReady('connection closed before the phone was ready');
      },
      (err: unknown) => {
        this.fail(err);
        this.setState('disconnected');
        throw err;
      },
    );
  }

  disconnect(): void {
    this.tokens.stop();
    const socket = this.socket;
    const call = this._call;
    this.finishCall(null);
    this.media?.close();
    this.media = null;
    this.socket = null;
    this.devices.listen(false);
    this.setState('disconnected');
    // Leaving on purpose hangs up first, so the call does not wait for our return; the socket closes once the
    // server confirmed (or after a second).
    if (socket?.connected && call) socket.timeout(1000).emit('call:hangup', { callId: call.id }, () => socket.disconnect());
    else socket?.disconnect();
  }

  async call(destination: string): Promise<string> {
    const socket = this.requireState('ready', this.socket);
    this.setState('dialing');
    let callId: string;
    let to: PartyInfo;
    try {
      let codec: CallCodec | undefined;
      ({ callId, to, codec } = await request(socket, 'call:dial', { destination }));
      if (codec) this.codecs.set(callId, codec);
    } catch (err) {
      if (this._state === 'dialing') this.setState('ready');
      this.failAndThrow(err);
    }
    this.setCall({ id: callId, direction: 'outgoing', remote: to, answeredAt: null, muted: false, remoteMuted: false });
    const early = this.earlyEnds.get(callId);
    if (early) {
      this.earlyEnds.delete(callId);
      this.finishCall(early);
      return callId;
    }
    this.startMic(callId);
    return callId;
  }

  async answer(): Promise<void> {
    const socket = this.requireState('incoming', this.socket);
    const call = this._call!;
    const region = call.channelId ? this.channelRegions.get(call.channelId) : undefined;
    this.setCall({ ...call, answeredAt: Date.now(), ...(region ? { region } : {}) });
    this.setState('in-call');
    this.startMic(call.id);
    await request(socket, 'call:answer', { callId: call.id }).catch((err: unknown) => this.fail(err));
  }

  /** Joins a channel's call (starting it when none runs); resolves with the call id. */
  async joinChannel(channelId: string): Promise<string> {
    const socket = this.requireState('ready', this.socket);
    this.setState('dialing');
    let callId: string | null;
    try {
      ({ callId } = await request(socket, 'voice:state', { channel_id: channelId }));
    } catch (err) {
      if (this._state === 'dialing') this.setState('ready');
      this.failAndThrow(err);
    }
    const region = this.channelRegions.get(channelId);
    const remote = { userId: channelId, identity: channelId, displayName: `Channel ${channelId}`, extension: null };
    this.setCall({ id: callId!, direction: 'outgoing', remote, answeredAt: Date.now(), muted: false, remoteMuted: false, channelId, ...(region ? { region } : {}) });
    this.setState('in-call');
    this.startMic(callId!);
    return callId!;
  }

  async decline(): Promise<void> {
    const socket = this.requireState('incoming', this.socket);
    await request(socket, 'call:decline', { callId: this._call!.id }).catch((err: unknown) => this.fail(err));
  }

  async hangup(): Promise<void> {
    if (!this._call || !this.socket) return;
    await request(this.socket, 'call:hangup', { callId: this._call.id }).catch((err: unknown) => this.fail(err));
  }

  setMuted(muted: boolean): void {
    if (!this._call || !this.socket) return;
    this.setCall({ ...this._call, muted });
    this.media?.setMuted(muted);
    request(this.socket, 'call:mute', { callId: this._call.id, muted }).catch((err: unknown) => this.fail(err));
  }

  sendDtmf(digits: string): void {
    if (!this._call || !this.socket || this._state !== 'in-call') return;
    request(this.socket, 'call:dtmf', { callId: this._call.id, digits }).catch((err: unknown) => this.fail(err));
  }

  getStats(): Promise<CallStats> {
    if (!this.media) return Promise.reject(new AstralError('invalid_state', 'not connected'));
    return this.media.getStats();
  }

  private openSocket(token: string): void {
    const socket = openSocket(this.options.server, token);
    this.socket = socket;
    this.media = new MediaSession(socket, () => this.devices.audioConstraints(), (up) => this.onMediaPath(socket, up));
    this.devices.setCallOutput(this.media.audio);
    socket.on('connect_error', (err: Error & { data?: { code?: string; message?: string } }) => this.onConnectError(socket, err));
    socket.on('disconnect', (reason) => {
      if (this.socket !== socket) return;
      this.mediaLost = false; // the socket's own recovery rebuilds the transports
      const lost = reason === 'io server disconnect';
      // An answered call waits on the server for us to come back; anything else ends here.
      if (lost || !this._call?.answeredAt) this.finishCall(null);
      else {
        this.resumeBy = Date.now() + RESUME_WAIT_MS;
        const call = this._call;
        setTimeout(() => {
          if (this._call === call && !socket.connected) this.finishCall(null); // never came back in time
        }, RESUME_WAIT_MS);
      }
      this.setState(lost ? 'disconnected' : 'reconnecting');
    });
    socket.on('session:ready', ({ user, regions }) => {
      this._user = user;
      void this.measureRegions(socket, regions);
      const resuming = this._call?.answeredAt && Date.now() < this.resumeBy ? this._call : null;
      this.enqueueMedia(() => (resuming ? this.resumeCall(socket, resuming) : this.media!.setup())).then(
        () => {
          if (!resuming || !this._call) {
            this.finishCall(null);
            this.setState('ready');
          }
          this.emit('ready', { user });
          this.tokens.startRefreshing(
            (fresh) => {
              // The next reconnect uses it, and the live session is extended (the server ends it at its token's expiry).
              socket.auth = { token: fresh };
              socket.emit('session:refresh', { token: fresh }, (res) => {
                if (!res.ok) this.fail(new AstralError(res.error.code, res.error.message));
              });
            },
            (err) => this.fail(err),
          );
        },
        (err: unknown) => this.fail(new AstralError('media_error', `media setup failed: ${String((err as Error).message ?? err)}`)),
      );
    });
    socket.on('session:expired', ({ reason }) => {
      if (this.socket !== socket) return;
      // The server closes this socket next: report why and stay disconnected (a reconnect would be refused too).
      this.fail(new AstralError(reason, reason === 'revoked' ? 'access was revoked' : 'the session token expired'));
      this.disconnect();
    });
    socket.on('server:draining', ({ seconds }) => this.emit('draining', { seconds }));
    socket.on('call:incoming', ({ callId, from, channelId, silent, codec }, ack) => {
      if (codec) this.codecs.set(callId, codec);
      if (this._state !== 'ready') return ack({ ok: false, error: { code: 'invalid_state', message: `phone is ${this._state}` } });
      this.setCall({ id: callId, direction: 'incoming', remote: from, answeredAt: null, muted: false, remoteMuted: false, ...(channelId ? { channelId } : {}) });
      this.setState('incoming');
      this.emit('incoming', { callId, from, ...(channelId ? { channelId } : {}), ...(silent ? { silent } : {}) });
      ack({ ok: true, data: {} });
    });
    socket.on('call:ringing', ({ callId }) => {
      if (this._call?.id === callId && this._state === 'dialing') this.setState('ringing');
    });
    socket.on('call:answered', ({ callId }) => {
      if (this._call?.id !== callId) return;
      this.setCall({ ...this._call, answeredAt: Date.now() });
      this.setState('in-call');
    });
    socket.on('call:ended', (ended) => {
      if (this._call?.id === ended.callId) this.finishCall(ended);
      else if (this._state === 'dialing') this.earlyEnds.set(ended.callId, ended);
    });
    socket.on('call:remote-muted', ({ callId, muted }) => {
      if (this._call?.id === callId) this.setCall({ ...this._call, remoteMuted: muted });
    });
    socket.on('call:remote-changed', ({ callId, remote }) => {
      if (this._call?.id === callId) this.setCall({ ...this._call, remote, remoteHeld: false, remoteMuted: false });
    });
    socket.on('call:transfer', (detail) => {
      if (this._call?.id !== detail.callId) return;
      const active = detail.state === 'ringing' || detail.state === 'consulting';
      this.setCall({ ...this._call, transfer: active ? { state: detail.state as 'ringing' | 'consulting', target: detail.target } : null });
      this.emit('transfer', detail);
    });
    socket.on('call:recording', ({ callId, recording }) => {
      if (this._call?.id === callId) this.setCall({ ...this._call, recording });
    });
    socket.on('call:remote-held', ({ callId, held }) => {
      if (this._call?.id === callId) this.setCall({ ...this._call, remoteHeld: held });
    });
    socket.on('call:dtmf', (detail) => this.emit('dtmf', detail));
    socket.on('CALL_CREATE', ({ channel_id, region }) => this.channelRegions.set(channel_id, region));
    socket.on('CALL_UPDATE', ({ channel_id, region }) => this.noteRegion(channel_id, region));
    socket.on('CALL_DELETE', ({ channel_id }) => this.channelRegions.delete(channel_id));
    socket.on('VOICE_SERVER_UPDATE', ({ channel_id, region }) => this.noteRegion(channel_id, region));
    socket.on('media:relocated', ({ region }) => {
      const media = this.media;
      if (!media) return;
      // The server moved our media: rebuild transports there and keep talking, no re-dial.
      this.rebuildPending = true;
      this.enqueueMedia(() => {
        const call = this._call?.answeredAt ? this._call : null;
        return media.rebuild(call?.id ?? null, call?.muted ?? false);
      }).then(
        () => (this.rebuildPending = false),
        (err: unknown) => {
          this.rebuildPending = false;
          this.fail(new AstralError('media_error', `could not move media to ${region}: ${String((err as Error).message ?? err)}`));
        },
      );
    });
    socket.on('media:consumer-closed', ({ consumerId }) => this.media?.removeConsumer(consumerId));
    socket.on('media:consume', (offer, ack) => {
      if (this._call?.id !== offer.callId || !this.media) return ack({ ok: false, error: { code: 'invalid_state', message: 'not in that call' } });
      this.media.consume(offer).then(
        () => ack({ ok: true, data: {} }),
        (err: unknown) => ack({ ok: false, error: { code: 'media_error', message: String((err as Error).message ?? err) } }),
      );
    });
  }

  /** The call's media path was lost with the socket up (ICE restarts run), or is back: the call stays, no re-dial. */
  private onMediaPath(socket: GatewaySocket, up: boolean): void {
    if (this.socket !== socket) return;
    if (this._call) this.quality.monitor.setConnectivity(up);
    if (!up && this._state === 'in-call') {
      this.mediaLost = true;
      this.setState('reconnecting');
      this.emit('media', { state: 'reconnecting' });
    } else if (up && this.mediaLost) {
      this.mediaLost = false;
      if (this._state === 'reconnecting' && socket.connected && this._call) this.setState('in-call');
      this.emit('media', { state: 'reconnected' });
    }
  }

  private onConnectError(socket: GatewaySocket, err: Error & { data?: { code?: string; message?: string } }): void {
    const code = err.data?.code;
    if (!code || !AUTH_CODES.has(code)) {
      if (this._state !== 'connecting') this.setState('reconnecting');
      return; // network trouble: socket.io keeps retrying
    }
    // The server refused the token: a token URL may give a fresh one; a fixed token cannot recover.
    this.tokens.refresh().then(
      (refreshed) => {
        if (!refreshed) throw new AstralError(code, err.data?.message ?? err.message);
        return this.tokens.get().then((token) => {
          socket.auth = { token };
          socket.connect();
        });
      },
    ).catch((e: unknown) => {
      this.fail(e);
      this.disconnect();
    });
  }

  private startMic(callId: string): void {
    const media = this.media;
    if (!media) return;
    this.enqueueMedia(() => media.startMic(callId, this._call?.muted ?? false, this.codecs.get(callId))).then(() => {
      if (this._call?.id === callId) this.devices.useMic(media);
    }, (err: unknown) => {
      // A region move queued behind us re-produces the microphone; only a missing mic ends the call.
      if (this._call?.id !== callId || (this.rebuildPending && media.localStream)) return;
      this.fail(new AstralError('media_error', `microphone unavailable: ${String((err as Error).message ?? err)}`));
      void this.hangup();
    });
  }

  /**
   * Back on a new connection mid-call: new transports, take our place back, send the microphone again. Reconnected to
   * a node that does not own the call, the server moves our media to the owner (`media:relocated`, before the resume's
   * ack): the rebuild queued behind this one sends the microphone there, so it is not produced here.
   */
  private async resumeCall(socket: GatewaySocket, call: CallInfo): Promise<void> {
    const media = this.media!;
    await media.rebuild(null, call.muted);
    try {
      await request(socket, 'call:resume', { callId: call.id });
    } catch {
      media.endCall();
      this.finishCall(null); // the call ended while we were away
      return;
    }
    if (!this.rebuildPending) await media.produceMicAgain(call.id, call.muted);
    this.setState('in-call');
  }

  private enqueueMedia(op: () => Promise<void>): Promise<void> {
    const run = this.mediaQueue.then(op);
    this.mediaQueue = run.catch(() => undefined);
    return run;
  }

  private noteRegion(channelId: string, region: string): void {
    this.channelRegions.set(channelId, region);
    if (this._call?.channelId === channelId && this._call.region !== region) this.setCall({ ...this._call, region });
  }

  /** Reports measured region round-trip times for automatic region choice (with two or more regions). */
  private async measureRegions(socket: GatewaySocket, regions: { id: string; endpoint: string }[]): Promise<void> {
    if (regions.length < 2) return;
    const rtts = await measureRegionRtts(this.options.server, regions);
    if (Object.keys(rtts).length === 0 || this.socket !== socket) return;
    await request(socket, 'voice:latency', { rtts }).catch(() => undefined);
    this._regionRtts = rtts;
  }

  private finishCall(ended: CallEnded | null): void {
    const call = this._call;
    if (!call) return;
    this.mediaLost = false;
    this.devices.useMic(null);
    this.media?.endCall();
    this.codecs.delete(call.id);
    this.setCall(null);
    this.emitCallEnded(call, ended);
    if (this.socket?.connected && this._state !== 'disconnected') this.setState('ready');
  }
}
