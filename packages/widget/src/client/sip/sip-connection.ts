// SipConnection: one sip.js UserAgent + Registerer that reconnects and re-registers with exponential back-off.
import { Registerer, RegistererState, SIPExtension, UserAgent, type Invitation } from 'sip.js';
import { SipError } from './sip-account.js';
import type { SipAccount, SipClientOptions } from './sip-types.js';

export interface ConnectionHandlers {
  /** Registered (again): calls may be placed and received. `again` after a reconnect. */
  registered(again: boolean): void;
  /** The WebSocket dropped; a reconnect is scheduled. */
  lost(): void;
  invite(invitation: Invitation): void;
  /** The PBX refused the account (e.g. 401/403 to REGISTER): retrying will not help. */
  fatal(err: SipError): void;
}

export class SipConnection {
  readonly ua: UserAgent;
  private readonly registerer: Registerer;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private everRegistered = false;
  private readonly delays: { initial: number; max: number };

  constructor(
    readonly account: SipAccount,
    options: SipClientOptions,
    private readonly on: ConnectionHandlers,
  ) {
    this.delays = options.reconnectDelay ?? { initial: 500, max: 30_000 };
    const uri = UserAgent.makeURI(account.uri);
    if (!uri) throw new SipError('unauthorized', `not a SIP URI: ${account.uri}`);
    this.ua = new UserAgent({
      uri,
      displayName: account.display_name,
      authorizationUsername: account.authorization_user ?? uri.user,
      authorizationPassword: account.password,
      transportOptions: { server: account.server, traceSip: options.traceSip ?? false, connectionTimeout: 5 },
      sessionDescriptionHandlerFactoryOptions: {
        peerConnectionConfiguration: { iceServers: options.iceServers ?? account.ice_servers ?? [] },
        // Offers/answers go out at end-of-candidates; this only caps a gathering that never completes.
        iceGatheringTimeout: options.iceGatheringTimeout ?? 500,
      },
      sipExtensionReplaces: SIPExtension.Supported,
      logLevel: options.traceSip ? 'debug' : 'error',
      userAgentString: 'Astral sip.js',
      delegate: {
        onInvite: (invitation) => this.on.invite(invitation),
        onDisconnect: (error) => this.onDisconnect(error),
      },
    });
    this.registerer = new Registerer(this.ua, { expires: options.registerExpires ?? 300 });
    // A refresh that got no answer (a half-open connection nobody closed): drop the socket and start over.
    this.registerer.stateChange.addListener((state) => {
      if (state !== RegistererState.Unregistered || this.stopped || !this.everRegistered || !this.ua.isConnected()) return;
      this.on.lost();
      void this.ua.transport.disconnect().catch(() => undefined).finally(() => this.scheduleReconnect());
    });
  }

  /** Connects and registers; network failures keep retrying (the state stays connecting/reconnecting). */
  start(): void {
    globalThis.addEventListener?.('online', this.onOnline);
    this.ua.start().then(
      () => this.register(),
      () => this.scheduleReconnect(),
    );
  }

  stop(): void {
    this.stopped = true;
    globalThis.removeEventListener?.('online', this.onOnline);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ua = this.ua;
    const stopUa = () => ua.stop().catch(() => undefined);
    if (this.registerer.state === RegistererState.Registered && ua.isConnected()) {
      // Unregister (bounded), then close the socket.
      const done = this.registerer.unregister().catch(() => undefined);
      void Promise.race([done, new Promise((r) => setTimeout(r, 1000))]).then(stopUa);
    } else void stopUa();
  }

  get connected(): boolean {
    return this.ua.isConnected();
  }

  private register(): void {
    if (this.stopped) return;
    this.registerer
      .register({
        requestDelegate: {
          onAccept: () => {
            if (this.stopped) return;
            this.attempt = 0;
            const again = this.everRegistered;
            this.everRegistered = true;
            this.on.registered(again);
          },
          onReject: (response) => {
            const code = response.message.statusCode ?? 0;
            const reason = response.message.reasonPhrase ?? '';
            if (code === 401 || code === 403 || code === 404 || code === 407) {
              this.on.fatal(new SipError('unauthorized', `the PBX refused registration: ${code} ${reason}`));
            } else this.scheduleReconnect();
          },
        },
      })
      .catch(() => this.scheduleReconnect());
  }

  private onDisconnect(error?: Error): void {
    if (this.stopped) return;
    if (!error) return; // a deliberate stop
    this.on.lost();
    this.scheduleReconnect();
  }

  /** Back on the network: retry now instead of at the end of a long back-off. */
  private readonly onOnline = (): void => {
    if (this.stopped || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.attempt = 0;
    this.scheduleReconnect();
  };

  /** Exponential back-off with jitter: initial, 2x, 4x ... up to max. */
  private scheduleReconnect(): void {
    if (this.stopped || this.timer) return;
    const base = Math.min(this.delays.max, this.delays.initial * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      const connect = this.ua.isConnected() ? Promise.resolve() : this.ua.reconnect();
      connect.then(
        () => this.register(),
        () => this.scheduleReconnect(),
      );
    }, delay);
  }
}
