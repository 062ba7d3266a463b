// The one validated configuration object, read from the environment; nothing else reads process.env.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import type { WebhookDeliveryConfig } from './webhooks/dispatcher.js';
import { RETELL_DEFAULTS, type RetellSettings } from './agents/retell.js';
import type { SipTransport } from './sip/types.js';
import { TWILIO_DEFAULTS, TWILIO_SIGNALLING_IPS, type TwilioEdge, type TwilioSettings } from './sip/twilio-rest.js';
import { parseIpBlock } from './util/net.js';

export interface ClusterSettings {
  redisUrl: string;
  /** ASTRAL_NODE_ID: unique per node (default: the host name and a random suffix). */
  nodeId: string;
  /** ASTRAL_NODE_HEARTBEAT_MS: how often the node refreshes its entry; ASTRAL_NODE_TTL_MS: when peers call it lost. */
  heartbeatMs: number;
  nodeTtlMs: number;
}

export interface Config {
  port: number;
  host: string;
  /** This server's base URL as providers reach it (their webhooks), no trailing slash; null: http://localhost:<port>. */
  publicUrl: string | null;
  dataDir: string;
  /** ASTRAL_DATABASE_URL: the store on PostgreSQL (postgres://…); null: the embedded SQLite file in dataDir. */
  databaseUrl: string | null;
  /** ASTRAL_REDIS_URL: this server is one node of several (Redis: fan-out, node registry, presence, call ownership); null: alone. */
  cluster: ClusterSettings | null;
  /** 32+ bytes that sign widget tokens and, later, encrypt provider credentials. */
  secretKey: Buffer;
  bootstrapApiKey: string | null;
  /** Browser origins allowed for CORS and socket.io besides the server's own; null: localhost origins only; `['*']`: any. */
  allowedOrigins: string[] | null;
  /** Serve the demo and its dashboard proxy (development only: never in production, never through a proxy, loopback only). */
  demo: boolean;
  /** Fastify's trustProxy: which proxies' X-Forwarded-For to believe for the client address (false: none). */
  trustProxy: boolean | number | string[];
  /** Requests per client address per minute (null: no limits). */
  rateLimits: RateLimits | null;
  ringTimeoutSeconds: number;
  /** Seconds an answered call waits for a party whose connection dropped (0: end at once). */
  reconnectGraceSeconds: number;
  /** Seconds a SIGTERM lets live calls finish before ending them (`server_shutdown`). */
  drainSeconds: number;
  /** Seconds between heartbeats of live calls: after a kill, a call's record keeps its time up to its last one. */
  callHeartbeatSeconds: number;
  /** Record answered calls (frame logs under <dataDir>/recordings). */
  recording: boolean;
  logLevel: string;
  /** Bearer token that /metrics requires; null: /metrics answers clients on this machine (not through a proxy) only. */
  metricsToken: string | null;
  regions: RegionConfig[];
  /** SIP trunks: UDP and TCP on `port` (null: SIP off) at `ip`, announcing media.announcedIp; TLS per `tls`. */
  sip: { port: number | null; ip: string; tls: SipTlsConfig };
  /** Retell's REST API and SIP server (ASTRAL_RETELL_*; tests point them at fakes). */
  retell: RetellSettings;
  /** Twilio's REST APIs and the SIP side of the trunks made from a voice channel's Twilio credentials (ASTRAL_TWILIO_*). */
  twilio: TwilioSettings;
  /** Outgoing event webhooks: retry schedule and per-attempt timeout. */
  webhooks: WebhookDeliveryConfig;
  media: {
    workers: number;
    listenIp: string;
    /** The IP put in ICE candidates (ASTRAL_ANNOUNCED_IP behind NAT). */
    announcedIp: string;
    rtcMinPort: number;
    rtcMaxPort: number;
  };
}

export class ConfigError extends Error {}

/** Per client address and minute: widget tokens minted, calls created, and requests answered 401. */
export interface RateLimits {
  tokens: number;
  calls: number;
  authFailures: number;
}

/** SIP over TLS: a listener on `port` (0: ephemeral) when `certFile` and `keyFile` are set; `caFile` adds a CA trusted for trunks. */
export interface SipTlsConfig {
  port: number;
  certFile: string | null;
  keyFile: string | null;
  caFile: string | null;
}

/** An RTC region: a named set of media workers; `endpoint` is where widgets measure latency (default: this server). */
export interface RegionConfig {
  id: string;
  name: string;
  emoji: string;
  workers: number[];
  endpoint: string | null;
}

/** Regions from ASTRAL_REGIONS (JSON) or ASTRAL_REGIONS_FILE; by default one region served by every worker. */
function loadRegions(env: Env, workers: number): RegionConfig[] {
  const all = Array.from({ length: workers }, (_, i) => i);
  let raw: string | undefined = env.ASTRAL_REGIONS;
  if (!raw && env.ASTRAL_REGIONS_FILE) raw = readFileSync(env.ASTRAL_REGIONS_FILE, 'utf8');
  if (!raw) return [{ id: 'local', name: 'Local', emoji: '\u{1F3E0}', workers: all, endpoint: null }];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('ASTRAL_REGIONS must be a JSON array of {id, name, emoji, workers?, endpoint?}');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new ConfigError('ASTRAL_REGIONS must be a non-empty JSON array');
  const seen = new Set<string>();
  return parsed.map((r: Record<string, unknown>, i) => {
    const where = `ASTRAL_REGIONS[${i}]`;
    if (typeof r.id !== 'string' || !/^[a-z0-9-]{1,64}$/.test(r.id)) throw new ConfigError(`${where}.id must match [a-z0-9-]{1,64}`);
    if (seen.has(r.id)) throw new ConfigError(`${where}.id "${r.id}" is repeated`);
    seen.add(r.id);
    if (typeof r.name !== 'string' || !r.name) throw new ConfigError(`${where}.name is required`);
    const ws = r.workers ?? all;
    if (!Array.isArray(ws) || ws.length === 0 || !ws.every((w) => Number.isInteger(w) && w >= 0 && w < workers)) {
      throw new ConfigError(`${where}.workers must list worker indexes between 0 and ${workers - 1}`);
    }
    if (r.endpoint !== undefined && typeof r.endpoint !== 'string') throw new ConfigError(`${where}.endpoint must be a URL string`);
    return { id: r.id, name: r.name, emoji: typeof r.emoji === 'string' ? r.emoji : '', workers: ws as number[], endpoint: (r.endpoint as string) ?? null };
  });
}

/** The address browsers should reach media on when none is configured: the first external IPv4. */
function defaultAnnouncedIp(listenIp: string): string {
  if (listenIp !== '0.0.0.0') return listenIp;
  for (const addrs of Object.values(networkInterfaces())) {
    const external = addrs?.find((a) => a.family === 'IPv4' && !a.internal);
    if (external) return external.address;
  }
  return '127.0.0.1';
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

/** ASTRAL_SIP_TLS_*: certificate and key together or neither; each named file must exist. */
function sipTls(env: Env): SipTlsConfig {
  const file = (name: string): string | null => {
    const v = env[name];
    if (!v) return null;
    if (!existsSync(v)) throw new ConfigError(`${name}: no such file "${v}"`);
    return resolve(v);
  };
  const certFile = file('ASTRAL_SIP_TLS_CERT');
  const keyFile = file('ASTRAL_SIP_TLS_KEY');
  if (!certFile !== !keyFile) throw new ConfigError('ASTRAL_SIP_TLS_CERT and ASTRAL_SIP_TLS_KEY must be set together');
  return { port: int(env, 'ASTRAL_SIP_TLS_PORT', 5061, 0, 65535), certFile, keyFile, caFile: file('ASTRAL_SIP_TLS_CA') };
}

/** ASTRAL_RETELL_API_URL, ASTRAL_RETELL_SIP_HOST/_PORT/_TRANSPORT, ASTRAL_RETELL_TIMEOUT_MS; defaults: Retell's own. */
function retell(env: Env): RetellSettings {
  const apiUrl = env.ASTRAL_RETELL_API_URL || RETELL_DEFAULTS.apiUrl;
  if (!/^https?:\/\//.test(apiUrl) || !URL.canParse(apiUrl)) throw new ConfigError(`ASTRAL_RETELL_API_URL must be an http(s) URL, got "${apiUrl}"`);
  const transport = (env.ASTRAL_RETELL_SIP_TRANSPORT || RETELL_DEFAULTS.sip.transport) as SipTransport;
  if (!['udp', 'tcp', 'tls'].includes(transport)) throw new ConfigError(`ASTRAL_RETELL_SIP_TRANSPORT must be udp, tcp or tls, got "${transport}"`);
  return {
    apiUrl: apiUrl.replace(/\/+$/, ''),
    sip: { host: env.ASTRAL_RETELL_SIP_HOST || RETELL_DEFAULTS.sip.host, port: int(env, 'ASTRAL_RETELL_SIP_PORT', RETELL_DEFAULTS.sip.port, 1, 65535), transport },
    timeoutMs: int(env, 'ASTRAL_RETELL_TIMEOUT_MS', RETELL_DEFAULTS.timeoutMs, 100, 120_000),
  };
}

/**
 * ASTRAL_TWILIO_API_URL / _TRUNKING_URL (Twilio's REST bases), ASTRAL_TWILIO_SIP_TRANSPORT (default tls when this server
 * has a TLS listener, so Twilio's in-dialog requests reach it, else udp), _SIP_PORT (5061 for tls, else 5060), _SIP_HOST
 * (default: the trunk's own <name>.pstn.twilio.com), ASTRAL_TWILIO_TIMEOUT_MS (per REST request).
 * ASTRAL_PUBLIC_SIP_URI (`sip:pbx.example.com:5060`, `sip:203.0.113.7;transport=tcp`): this server as Twilio reaches
 * it, the Twilio trunk's Origination URL (with `;edge=` of ASTRAL_TWILIO_EDGE when set); Twilio's INVITEs are admitted
 * from its signalling addresses of that edge (of all edges when unset), or of ASTRAL_TWILIO_SIGNALLING_IPS (CIDRs).
 */
function twilio(env: Env, tls: SipTlsConfig): TwilioSettings {
  const url = (name: string, fallback: string): string => {
    const value = env[name] || fallback;
    if (!/^https?:\/\//.test(value) || !URL.canParse(value)) throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
    return value.replace(/\/+$/, '');
  };
  const transport = (env.ASTRAL_TWILIO_SIP_TRANSPORT || (tls.certFile ? 'tls' : 'udp')) as SipTransport;
  if (!['udp', 'tcp', 'tls'].includes(transport)) throw new ConfigError(`ASTRAL_TWILIO_SIP_TRANSPORT must be udp, tcp or tls, got "${transport}"`);
  return {
    apiUrl: url('ASTRAL_TWILIO_API_URL', TWILIO_DEFAULTS.apiUrl),
    trunkingUrl: url('ASTRAL_TWILIO_TRUNKING_URL', TWILIO_DEFAULTS.trunkingUrl),
    sip: { host: env.ASTRAL_TWILIO_SIP_HOST || null, port: int(env, 'ASTRAL_TWILIO_SIP_PORT', transport === 'tls' ? 5061 : 5060, 1, 65535), transport },
    timeoutMs: int(env, 'ASTRAL_TWILIO_TIMEOUT_MS', TWILIO_DEFAULTS.timeoutMs, 100, 120_000),
    origination: twilioOrigination(env),
  };
}

function twilioOrigination(env: Env): TwilioSettings['origination'] {
  const edge = env.ASTRAL_TWILIO_EDGE || null;
  if (edge !== null && !Object.hasOwn(TWILIO_SIGNALLING_IPS, edge)) throw new ConfigError(`ASTRAL_TWILIO_EDGE must be one of ${Object.keys(TWILIO_SIGNALLING_IPS).join(', ')}, got "${edge}"`);
  const uri = env.ASTRAL_PUBLIC_SIP_URI || null;
  // A SIP URI without a user part (Twilio puts the dialled number there) and without headers.
  if (uri !== null && !/^sips?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(;[\w.=-]+)*$/.test(uri)) {
    throw new ConfigError(`ASTRAL_PUBLIC_SIP_URI must be a sip: URI of this server without a user part (sip:pbx.example.com:5060), got "${uri}"`);
  }
  const override = (env.ASTRAL_TWILIO_SIGNALLING_IPS ?? '').split(',').map((ip) => ip.trim()).filter(Boolean);
  const bad = override.find((ip) => !parseIpBlock(ip));
  if (bad !== undefined) throw new ConfigError(`ASTRAL_TWILIO_SIGNALLING_IPS must be IP addresses or CIDR blocks, got "${bad}"`);
  const edgeIps = edge ? TWILIO_SIGNALLING_IPS[edge as TwilioEdge] : Object.values(TWILIO_SIGNALLING_IPS).flat();
  return { sipUrl: uri && edge ? `${uri};edge=${edge}` : uri, signallingIps: override.length > 0 ? override : [...edgeIps] };
}

/** ASTRAL_PUBLIC_URL: an http(s) URL, kept without its trailing slash. */
function publicUrl(env: Env): string | null {
  const raw = env.ASTRAL_PUBLIC_URL;
  if (!raw) return null;
  const protocol = URL.canParse(raw) ? new URL(raw).protocol : null;
  if (protocol !== 'http:' && protocol !== 'https:') throw new ConfigError(`ASTRAL_PUBLIC_URL must be an http(s) URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

/** ASTRAL_REDIS_URL (redis:// or rediss://) turns multi-node on. */
function cluster(env: Env): ClusterSettings | null {
  const raw = env.ASTRAL_REDIS_URL;
  if (!raw) return null;
  if (!URL.canParse(raw) || !['redis:', 'rediss:'].includes(new URL(raw).protocol)) {
    throw new ConfigError('ASTRAL_REDIS_URL must be a Redis URL like redis://redis:6379');
  }
  const nodeId = env.ASTRAL_NODE_ID || `${hostname()}-${randomBytes(3).toString('hex')}`;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(nodeId)) throw new ConfigError('ASTRAL_NODE_ID must be 1-64 letters, digits, _ . or -');
  const heartbeatMs = int(env, 'ASTRAL_NODE_HEARTBEAT_MS', 1000, 100, 60_000);
  const nodeTtlMs = int(env, 'ASTRAL_NODE_TTL_MS', 3000, 300, 600_000);
  if (nodeTtlMs <= heartbeatMs) throw new ConfigError('ASTRAL_NODE_TTL_MS must be longer than ASTRAL_NODE_HEARTBEAT_MS');
  return { redisUrl: raw, nodeId, heartbeatMs, nodeTtlMs };
}

/** ASTRAL_DATABASE_URL: a postgres:// or postgresql:// URL with a database name; unset: null (SQLite). */
function databaseUrl(env: Env): string | null {
  const raw = env.ASTRAL_DATABASE_URL;
  if (!raw) return null;
  const url = URL.canParse(raw) ? new URL(raw) : null;
  if (!url || !['postgres:', 'postgresql:'].includes(url.protocol) || url.pathname.length < 2) {
    throw new ConfigError('ASTRAL_DATABASE_URL must be a PostgreSQL URL like postgres://user:password@host:5432/astral');
  }
  return raw;
}

/** ASTRAL_ALLOWED_ORIGINS: a comma-separated list of origins (scheme://host[:port]) or `*`; unset: null. */
function allowedOrigins(env: Env): string[] | null {
  const list = (env.ASTRAL_ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean);
  if (list.length === 0) return null;
  for (const origin of list) {
    if (origin !== '*' && !(URL.canParse(origin) && new URL(origin).origin === origin)) {
      throw new ConfigError(`ASTRAL_ALLOWED_ORIGINS: "${origin}" is not an origin like https://shop.example.com`);
    }
  }
  return list;
}

/** ASTRAL_TRUST_PROXY: true/false, a number of proxy hops, or a comma-separated list of proxy IPs/CIDRs. */
function trustProxy(env: Env): boolean | number | string[] {
  const raw = env.ASTRAL_TRUST_PROXY?.trim() ?? '';
  if (raw === '' || /^(false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) return Number(raw) === 0 ? false : Number(raw);
  const list = raw.split(',').map((a) => a.trim()).filter(Boolean);
  if (!list.every((a) => /^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(a))) {
    throw new ConfigError(`ASTRAL_TRUST_PROXY must be true, false, a hop count or a list of IPs/CIDRs, got "${raw}"`);
  }
  return list;
}

/** ASTRAL_RATE_LIMIT=0 turns the limits off; ASTRAL_RATE_LIMIT_* set each one (per client address and minute). */
function rateLimits(env: Env): RateLimits | null {
  if (!bool(env, 'ASTRAL_RATE_LIMIT', true)) return null;
  return {
    tokens: int(env, 'ASTRAL_RATE_LIMIT_TOKENS', 1200, 1, 1_000_000),
    calls: int(env, 'ASTRAL_RATE_LIMIT_CALLS', 600, 1, 1_000_000),
    authFailures: int(env, 'ASTRAL_RATE_LIMIT_AUTH_FAILURES', 600, 1, 1_000_000),
  };
}

/** Reads ASTRAL_SECRET_KEY, or the key kept in the data dir, or generates and keeps one. */
function loadSecretKey(env: Env, dataDir: string): Buffer {
  const given = env.ASTRAL_SECRET_KEY;
  if (given) {
    if (given.length < 32) throw new ConfigError('ASTRAL_SECRET_KEY must be at least 32 characters');
    return Buffer.from(given, 'utf8');
  }
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64url') + '\n', { mode: 0o600 });
  return key;
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = resolve(env.ASTRAL_DATA_DIR || './data');
  mkdirSync(dataDir, { recursive: true });
  const bootstrapApiKey = env.ASTRAL_BOOTSTRAP_API_KEY || null;
  if (bootstrapApiKey !== null && !/^ak_[A-Za-z0-9_-]{16,}$/.test(bootstrapApiKey)) {
    throw new ConfigError('ASTRAL_BOOTSTRAP_API_KEY must look like ak_ followed by at least 16 letters, digits, _ or -');
  }
  const rtcMinPort = int(env, 'ASTRAL_RTC_MIN_PORT', 40000, 1024, 65535);
  const rtcMaxPort = int(env, 'ASTRAL_RTC_MAX_PORT', 49999, 1024, 65535);
  const listenIp = env.ASTRAL_LISTEN_IP || '0.0.0.0';
  const workers = int(env, 'ASTRAL_WORKERS', cpus().length, 1, 256);
  // Worker i's WebRtcServer takes port ASTRAL_RTC_MIN_PORT + i; SIP legs and taps need ports above those.
  if (rtcMaxPort < rtcMinPort + workers) throw new ConfigError('ASTRAL_RTC_MAX_PORT must be >= ASTRAL_RTC_MIN_PORT + ASTRAL_WORKERS (one WebRTC port per worker, then ports for SIP media)');
  const tls = sipTls(env);
  return {
    port: int(env, 'PORT', 8000, 0, 65535),
    host: env.HOST || '0.0.0.0',
    publicUrl: publicUrl(env),
    dataDir,
    databaseUrl: databaseUrl(env),
    cluster: cluster(env),
    secretKey: loadSecretKey(env, dataDir),
    bootstrapApiKey,
    allowedOrigins: allowedOrigins(env),
    demo: env.NODE_ENV !== 'production' && bool(env, 'ASTRAL_DEMO', true),
    trustProxy: trustProxy(env),
    rateLimits: rateLimits(env),
    ringTimeoutSeconds: int(env, 'ASTRAL_RING_TIMEOUT', 30, 1, 600),
    recording: bool(env, 'ASTRAL_RECORDING', true),
    reconnectGraceSeconds: int(env, 'ASTRAL_RECONNECT_GRACE', 15, 0, 300),
    drainSeconds: int(env, 'ASTRAL_DRAIN_SECONDS', 30, 0, 3600),
    callHeartbeatSeconds: int(env, 'ASTRAL_CALL_HEARTBEAT', 5, 1, 300),
    logLevel: env.LOG_LEVEL || 'info',
    metricsToken: env.ASTRAL_METRICS_TOKEN || null,
    regions: loadRegions(env, workers),
    retell: retell(env),
    twilio: twilio(env, tls),
    webhooks: {
      retryBaseMs: int(env, 'ASTRAL_WEBHOOK_RETRY_BASE_MS', 1000, 1, 3_600_000),
      retryMaxMs: int(env, 'ASTRAL_WEBHOOK_RETRY_MAX_MS', 3_600_000, 1, 86_400_000),
      maxAttempts: int(env, 'ASTRAL_WEBHOOK_MAX_ATTEMPTS', 8, 1, 100),
      timeoutMs: int(env, 'ASTRAL_WEBHOOK_TIMEOUT_MS', 10_000, 100, 300_000),
    },
    sip: (() => {
      const sipPort = int(env, 'ASTRAL_SIP_PORT', 5060, 0, 65535);
      return { port: sipPort === 0 ? null : sipPort, ip: env.ASTRAL_SIP_IP || listenIp, tls };
    })(),
    media: {
      workers,
      listenIp,
      announcedIp: env.ASTRAL_ANNOUNCED_IP || defaultAnnouncedIp(listenIp),
      rtcMinPort,
      rtcMaxPort,
    },
  };
}
