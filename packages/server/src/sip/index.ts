// Starts the server's SIP side: the user agent on ASTRAL_SIP_PORT (and ASTRAL_SIP_TLS_PORT), the trunk directory and its monitors, the gateway into call control.
import { readFileSync } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';
import type { SipTlsConfig } from '../config.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { CallControl } from '../calls/call-control.js';
import type { Journeys } from '../calls/journey.js';
import type { Router } from '../calls/routing.js';
import type { SessionRegistry } from '../calls/sessions.js';
import type { MediaService } from '../media/service.js';
import type { Store } from '../store/index.js';
import { SipGateway } from './gateway.js';
import { InboundCalls } from './inbound-calls.js';
import { TrunkDirectory } from './trunk-directory.js';
import { SipUserAgent } from './user-agent.js';

export interface SipDeps {
  ip: string;
  port: number;
  announcedIp: string;
  /** SIP over TLS (listener and extra CA); absent: UDP and TCP only. */
  tls?: SipTlsConfig;
  store: Store;
  secrets: SecretBox;
  calls: CallControl;
  router: Router;
  sessions: SessionRegistry;
  media: MediaService;
  journeys: Journeys;
  ringTimeoutMs: number;
  log: FastifyBaseLogger;
}

export interface SipService {
  gateway: SipGateway;
  trunks: TrunkDirectory;
  port: number;
  /** True while the SIP listener is bound. */
  readonly listening: boolean;
  close(): Promise<void>;
}

export async function startSip(deps: SipDeps): Promise<SipService> {
  const log = deps.log.child({ component: 'sip' });
  const t = deps.tls;
  const ua = await SipUserAgent.start(
    {
      ip: deps.ip,
      port: deps.port,
      announcedIp: deps.announcedIp,
      tls: t?.certFile && t.keyFile ? { port: t.port, cert: readFileSync(t.certFile), key: readFileSync(t.keyFile) } : null,
      tlsCa: t?.caFile ? readFileSync(t.caFile) : null,
    },
    log,
  );
  const trunks = new TrunkDirectory({ store: deps.store, secrets: deps.secrets, ua, log });
  const gateway = new SipGateway({ ua, calls: deps.calls, sessions: deps.sessions, media: deps.media, trunks, log });
  const inbound = new InboundCalls({ gateway, trunks, ...deps, log });
  ua.onInvite = (invite) => {
    inbound.handle(invite).catch((err: unknown) => {
      log.error({ err, sipCallId: invite.callId }, 'sip: inbound call failed');
      invite.reject(500, 'Server Internal Error');
    });
  };
  deps.media.startRelay();
  await trunks.watchAll();
  log.info({ port: ua.port, tlsPort: ua.tlsPort, ip: deps.ip }, ua.tlsPort === null ? 'sip: listening (udp, tcp)' : 'sip: listening (udp, tcp, tls)');
  return {
    gateway,
    trunks,
    port: ua.port,
    get listening() {
      return ua.listening;
    },
    async close() {
      gateway.closeAll();
      trunks.stopAll();
      await ua.close();
    },
  };
}
