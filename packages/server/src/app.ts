// Composes the Astral server: store, auth, media, call control, gateway and the REST plugins, on one port.
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance } from 'fastify';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoApi } from './api/demo.js';
import { dashboardSession } from './api/dashboard-session.js';
import { agentsApi } from './api/agents.js';
import { errorMapper } from './api/errors.js';
import { serviceFamily, type ServiceAuth } from './api/fastapi-family.js';
import { instancesApi } from './api/instances.js';
import { botsApi } from './api/bots.js';
import { callHistoryApi } from './api/call-history.js';
import { callsApi } from './api/calls.js';
import { channelsApi } from './api/channels.js';
import { healthApi } from './api/health.js';
import { rateLimits } from './api/rate-limits.js';
import { securityHeaders } from './api/security-headers.js';
import { openApi } from './api/openapi.js';
import { metricsApi } from './api/metrics.js';
import { authFirst } from './api/auth.js';
import { Metrics } from './metrics.js';
import { recordingsApi } from './api/recordings.js';
import { journeyApi } from './api/journey.js';
import { routingApi } from './api/routing.js';
import { trunksApi } from './api/trunks.js';
import { callControlApi } from './api/call-control.js';
import { staticFiles } from './api/static.js';
import { tokensApi } from './api/tokens.js';
import { serviceCallsApi } from './api/service-calls.js';
import { voiceChannelApi } from './api/voice-channel.js';
import { webhooksApi } from './api/webhooks.js';
import { useStrictValidation } from './api/validation.js';
import { ApiKeyService } from './auth/api-keys.js';
import { BotService } from './auth/bots.js';
import { PrincipalResolver } from './auth/principal.js';
import { SecretBox, SecretPurposes } from './auth/secret-box.js';
import { TokenIssuer } from './auth/token-issuer.js';
import { WidgetTokens } from './auth/widget-tokens.js';
import { CallControl } from './calls/call-control.js';
import { ChannelCalls, LocalLatencies } from './calls/channel-calls.js';
import { callLog } from './calls/log.js';
import { Transfers } from './calls/transfers.js';
import { startCallHeartbeat } from './calls/heartbeat.js';
import { ClickToCall } from './calls/click-to-call.js';
import { Recordings } from './calls/recordings.js';
import { Journeys } from './calls/journey.js';
import { Router } from './calls/routing.js';
import { SessionRegistry } from './calls/sessions.js';
import type { Config } from './config.js';
import { Gateway } from './gateway/index.js';
import { originPolicy } from './util/origins.js';
import { PartyNotifier } from './calls/notifier.js';
import { AgentGateway } from './agents/gateway.js';
import { AgentDialer } from './agents/outbound.js';
import { RetellAgents } from './agents/retell.js';
import { startSip } from './sip/index.js';
import { TwilioTrunks } from './sip/twilio-trunk.js';
import { MediaService } from './media/service.js';
import { WorkerPool } from './media/worker-pool.js';
import type { TrunkStatus } from './sip/types.js';
import { Store } from './store/index.js';
import { publishCallEvents } from './webhooks/call-events.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { WebhookEvents } from './webhooks/events.js';
import { VOICE_CREDENTIALS } from './store/voice-channels.js';
import { Cluster } from './cluster/cluster.js';
import { SnowflakeGenerator } from './util/snowflake.js';
import { hostname } from 'node:os';

const repoPath = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

export interface AstralServer {
  app: FastifyInstance;
  store: Store;
  instanceId: string;
  /** Starts listening; resolves to the bound port. */
  listen(): Promise<number>;
  /** Graceful shutdown, before close(): tells widgets, refuses new calls, lets live ones finish for up to `graceMs`, ends the rest. */
  drain(graceMs: number): Promise<void>;
  close(): Promise<void>;
  /** Per-call state the server still holds (CallControl.retained). */
  retained(): ReturnType<CallControl['retained']>;
}

export async function createServer(config: Config): Promise<AstralServer> {
  const { trustProxy } = config;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Bodies are not logged by default; passwords and voice credentials are redacted anyway, should a body or a trunk ever be logged.
      redact: {
        paths: [
          'req.headers["x-api-key"]',
          'req.headers.authorization',
          'req.headers.cookie',
          'req.body.password',
          'body.password',
          'password',
          '*.password',
          ...VOICE_CREDENTIALS.flatMap((name) => [`req.body.${name}`, `body.${name}`]),
        ],
        censor: '[redacted]',
      },
    },
    bodyLimit: 64 * 1024,
    // close() (after a shutdown's drain) cuts connections still busy, such as a slow download, instead of waiting on them.
    forceCloseConnections: true,
    // A hop count as fastify would apply it (its types take no number): trust the nearest `n` proxies.
    trustProxy: typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy,
  });
  // Several nodes (ASTRAL_REDIS_URL): Redis first, for a snowflake node id no running node shares.
  const boundPort = () => (app.server.address() as { port?: number } | null)?.port ?? config.port;
  const cluster: Cluster | null = config.cluster
    ? new Cluster({ ...config.cluster, url: config.publicUrl ?? `http://${config.host === '0.0.0.0' ? hostname() : config.host}:${config.port}` }, app.log, () => ({
        mediaIp: config.media.announcedIp,
        regions: config.regions.map((r) => r.id),
        load: calls.activeCount,
        draining: calls.isDraining,
      }))
    : null;
  const snowflakeNode = cluster ? await cluster.connect() : null;
  const store = await Store.open(config, snowflakeNode === null ? undefined : new SnowflakeGenerator(BigInt(snowflakeNode)));
  const instanceId = await store.instances.ensureDefault();
  await store.agents.ensureDefault(instanceId);
  // Alone, every open call is a previous run's; with peers, only those no live node has kept alive lately.
  const closed = await store.calls.closeDangling(cluster ? new Date(Date.now() - 3 * config.callHeartbeatSeconds * 1000) : undefined);
  if (closed > 0) app.log.warn({ closed }, 'closed calls left open by a previous run');
  await store.agentCalls.closeDangling(new Date());
  // Outgoing event webhooks: publishing queues persisted deliveries; the dispatcher sends them (and those a previous run left).
  const webhookSecrets = new SecretBox(config.secretKey, SecretPurposes.webhookSecret);
  const webhookDispatcher = new WebhookDispatcher(store.webhooks, webhookSecrets, config.webhooks, app.log);
  const webhookEvents = new WebhookEvents(store.webhooks, store.ids, () => webhookDispatcher.kick());
  publishCallEvents(store.calls, store.agentCalls, webhookEvents, app.log);

  const keys = new ApiKeyService(store.apiKeys);
  if (config.bootstrapApiKey && (await keys.ensure(instanceId, config.bootstrapApiKey, 'bootstrap', ['admin']))) {
    app.log.info('created the bootstrap API key (admin)');
  }
  const tokens = new WidgetTokens(config.secretKey);
  const issuer = new TokenIssuer(store.users, tokens);
  const bots = new BotService(store.bots, store.ids);
  const principals = new PrincipalResolver(tokens, bots);

  const pool = await WorkerPool.start(config.media, app.log);
  const media = new MediaService(pool, { listenIp: config.media.listenIp, announcedIp: config.media.announcedIp }, config.regions);
  const sessions = new SessionRegistry();
  // Browser origins: this server's own (its public URL, localhost and 127.0.0.1 on its port), plus the allowlist.
  const ownOrigins = () => [config.publicUrl, `http://localhost:${boundPort()}`, `http://127.0.0.1:${boundPort()}`].filter((o): o is string => o !== null).map((o) => new URL(o).origin);
  const originAllowed = originPolicy(config.allowedOrigins, ownOrigins);
  const gateway = new Gateway(app.server, { principals, sessions, media, log: app.log, originAllowed, iceServers: [] });
  // Parties are reached through their transport: widgets over socket.io, trunk legs over SIP (plugged in below).
  const notifier = new PartyNotifier(cluster ? cluster.notifier(gateway) : gateway);
  media.onConsumerClosed = (sessionId, consumerId) => notifier.notify(sessionId, 'media:consumer-closed', { consumerId });
  media.onRelocated = (sessionId, region) => notifier.notify(sessionId, 'media:relocated', { region });
  media.onRelayReady = (threadId) => app.log.info({ threadId }, 'the RTP relay worker for SIP legs is running');
  media.onRelayLost = (err) => app.log.error({ err }, 'the RTP relay worker died; SIP legs on it lost their media');
  const ringTimeoutMs = config.ringTimeoutSeconds * 1000;
  const recordings = new Recordings({ media, store, notifier, log: app.log, dir: join(config.dataDir, 'recordings'), enabled: config.recording });
  const journeys = new Journeys(store, app.log);
  const metrics = new Metrics();
  media.onIceRestart = metrics.iceRestarted;
  const calls = new CallControl({ store, media, notifier, sessions, ringTimeoutMs, reconnectGraceMs: config.reconnectGraceSeconds * 1000, log: app.log, recordings, journeys, onRing: metrics.ringSettled, ...(cluster ? { ownership: cluster.ownership } : {}) });
  const localSessions = { get localSize() { return cluster?.localSessions ?? sessions.size; } };
  metrics.watch({ calls, sessions: localSessions, workers: () => pool.live, producers: () => media.liveProducers(), recordings, webhooks: store.webhooks });
  const stopHeartbeat = startCallHeartbeat(store.calls, () => calls.liveIds, config.callHeartbeatSeconds * 1000, app.log);
  // A mediasoup worker died under a session's media: one line per call it is in (legId = its session id).
  media.onWorkerLost = (sessionId, outcome) => {
    const joined = calls.callsJoinedBy(sessionId).map((call) => callLog(app.log, call, sessionId));
    for (const log of joined.length > 0 ? joined : [app.log.child({ legId: sessionId })]) {
      if (outcome instanceof Error) log.error({ err: outcome }, 'could not rebuild media lost with its mediasoup worker');
      else log.info({ outcome }, 'media rebuilt after its mediasoup worker died');
    }
    if (outcome === 'rebuilt') calls.mediaReady(sessionId);
  };
  const latencies = cluster ? cluster.latencies : new LocalLatencies();
  const channels = new ChannelCalls({ store, calls, sessions, notifier, media, ringTimeoutMs, latencies, ...(cluster ? { owner: cluster.channelOwnership } : {}) });
  const router = new Router({ store, calls, sessions, media, notifier, journeys, ringTimeoutMs, log: app.log });
  const busyAnywhere = cluster ? { busyAnywhere: (userId: string) => cluster.userBusy(userId) } : {};
  const transfers = new Transfers({ store, calls, sessions, notifier, journeys, ringTimeoutMs, route: (call, to) => router.route(call, to), ...busyAnywhere });
  const clickToCall = new ClickToCall({ store, calls, router, sessions, ringTimeoutMs, ...busyAnywhere });
  gateway.attach({ calls, channels, transfers, router });
  if (cluster) {
    gateway.cluster = cluster;
    await cluster.start({ gateway, calls, sessions, media, store });
  }
  bots.onRevoked = (botId) => gateway.revoke(botId);

  useStrictValidation(app);
  await app.register(cors, { origin: (origin, done) => done(null, originAllowed(origin)) });
  await app.register(securityHeaders, { connectOrigins: config.regions.flatMap((r) => (r.endpoint && URL.canParse(r.endpoint) ? [new URL(r.endpoint).origin] : [])) });
  if (config.rateLimits) await app.register(rateLimits, { limits: config.rateLimits });
  await app.register(errorMapper);
  await app.register(authFirst);
  await app.register(openApi);
  await app.register(metricsApi, { metrics, token: config.metricsToken });
  // Ready: the database answers, every worker is alive and, with SIP on, its listener is bound.
  const ready = { database: () => store.ping(), workers: () => media.healthy, ...(config.sip.port === null ? {} : { sip: () => sip?.listening === true }) };
  await app.register(healthApi, { healthy: () => media.healthy, ready, draining: () => calls.isDraining });
  await app.register(tokensApi, { keys, issuer });
  await app.register(callHistoryApi, { keys, history: store.callHistory });
  await app.register(callsApi, { keys, calls: store.calls, agentCalls: store.agentCalls });
  await app.register(recordingsApi, { keys, calls: store.calls });
  await app.register(journeyApi, { keys, calls: store.calls, journeys });
  await app.register(routingApi, { keys, store, promptDir: join(config.dataDir, 'prompts') });
  // SIP trunks: passwords sealed with trunkSecrets; the SIP side opens them only to authenticate.
  const trunkSecrets = new SecretBox(config.secretKey, SecretPurposes.trunkPassword);
  const sip = config.sip.port === null
    ? null
    : await startSip({ ...config.sip, port: config.sip.port, announcedIp: config.media.announcedIp, store, secrets: trunkSecrets, calls, router, sessions, media, journeys, ringTimeoutMs, log: app.log });
  if (sip) {
    notifier.sip = sip.gateway;
    router.phone = sip.gateway;
  }
  // AI agents: parties the server runs itself (speech and bots in the agent audio worker), reached as `agent:<key>`.
  const voiceSecrets = new SecretBox(config.secretKey, SecretPurposes.voiceCredentials);
  const retell = new RetellAgents({ store, calls, journeys, voiceSecrets, settings: config.retell, sip: () => sip?.gateway ?? null, ringTimeoutMs, log: app.log });
  const agents = new AgentGateway({ calls, sessions, media, store, journeys, events: webhookEvents, transfers, voiceSecrets, retell, log: app.log });
  notifier.agents = agents;
  router.agents = agents;
  const dialer = new AgentDialer({ store, calls, router, agents, retell, journeys, ringTimeoutMs });
  const trunkStatus = (trunkId: string): TrunkStatus => sip?.trunks.status(trunkId) ?? 'unknown';
  const refreshTrunks = async (instanceId: string): Promise<null> => (await sip?.trunks.refresh(instanceId), null);
  // Every node monitors every trunk (from its own SIP port, as at start-up): a change made on one is re-read by all.
  cluster?.serve('trunks:changed', ({ instanceId }: { instanceId: string }) => refreshTrunks(instanceId));
  const onTrunksChanged = (instanceId: string): void => {
    refreshTrunks(instanceId).catch((err: unknown) => app.log.error({ err }, 'sip: could not reload trunks'));
    void cluster?.onPeers('trunks:changed', { instanceId }).then(({ unanswered }) => {
      if (unanswered.length > 0) app.log.error({ nodes: unanswered }, 'sip: nodes did not reload trunks (they re-read them when they start)');
    });
  };
  await app.register(trunksApi, { keys, store, secrets: trunkSecrets, trunkStatus, onTrunksChanged });
  // A voice channel's Twilio credentials bring a trunk to Twilio Elastic SIP Trunking along (the `twilio` trunk).
  const twilioTrunks = new TwilioTrunks({ store, voiceSecrets, trunkSecrets, settings: config.twilio, onTrunksChanged, log: app.log });
  await app.register(callControlApi, { keys, calls, transfers, clickToCall, cluster });
  await app.register(botsApi, { keys, bots });
  const onInstanceRemoved = (removed: string, files: string[]): void => {
    for (const file of files) rmSync(file, { force: true });
    onTrunksChanged(removed);
  };
  await app.register(instancesApi, { keys, instances: store.instances, platformInstanceId: instanceId, onInstanceRemoved });
  // The `/v1` family (seeds 003 and 004): FastAPI-shaped errors, instance keys as Bearer or X-Api-Key.
  const serviceAuth: ServiceAuth = { keys, platformInstanceId: instanceId, instanceExists: async (id) => (await store.instances.get(id)) !== undefined };
  const publicUrl = () => config.publicUrl ?? `http://localhost:${boundPort()}`;
  await serviceFamily(app, async (v1) => {
    await v1.register(voiceChannelApi, { auth: serviceAuth, store, secrets: voiceSecrets, publicUrl, applyChange: (id, changes, save) => twilioTrunks.apply(id, changes, save) });
    await v1.register(serviceCallsApi, { auth: serviceAuth, store, dialer, voiceSecrets });
    await v1.register(agentsApi, { auth: serviceAuth, agents: store.agents, voiceChannels: store.voiceChannels, voiceSecrets });
    await v1.register(webhooksApi, { auth: serviceAuth, store: store.webhooks, events: webhookEvents, secrets: webhookSecrets });
  });
  await app.register(channelsApi, { store, keys, principals, channels, cluster });
  if (config.demo) await app.register(demoApi, { issuer, keys, store: store.apiKeys, instanceId });
  // The operator dashboard's login (a session cookie) and its proxy, in production too; the page itself is served below.
  await app.register(dashboardSession, { keys, secretKey: config.secretKey, demo: config.demo });
  await app.register(staticFiles, { demoDir: config.demo ? repoPath('demo') : null, dashboardDir: repoPath('demo'), widgetDir: repoPath('packages/widget/dist') });

  app.addHook('preClose', async () => {
    await gateway.close();
    await sip?.close();
    await agents.close();
  });
  app.addHook('onClose', async () => {
    stopHeartbeat();
    await cluster?.close();
    await webhookDispatcher.close();
    await recordings.close();
    await media.close();
    pool.close();
    await store.close();
  });

  return {
    app,
    store,
    instanceId,
    async listen() {
      await app.listen({ port: config.port, host: config.host });
      webhookDispatcher.start();
      const address = app.server.address();
      return typeof address === 'object' && address ? address.port : config.port;
    },
    async drain(graceMs) {
      app.log.info({ graceMs }, 'draining: no new calls; live calls end when they finish or the drain time is up');
      gateway.announceDraining(Math.ceil(graceMs / 1000));
      const drained = calls.drain(graceMs);
      // Peers stop placing new calls here at once (the registry entry says draining).
      await cluster?.registry.beat().catch((err: unknown) => app.log.warn({ err }, 'cluster: could not announce the drain'));
      await drained;
    },
    close: () => app.close(),
    retained: () => calls.retained(),
  };
}
