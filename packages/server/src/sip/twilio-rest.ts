// A small client for Twilio's REST APIs (api.twilio.com 2010-04-01 and trunking.twilio.com v1): HTTP Basic auth with the
// Account SID and Auth Token, form-encoded bodies, JSON answers, paged lists; errors carry Twilio's status and code only.
import type { SipTransport } from './types.js';

/** Where Twilio is (ASTRAL_TWILIO_*): its REST bases and how the trunks it gives are reached over SIP; tests use fakes. */
export interface TwilioSettings {
  apiUrl: string;
  trunkingUrl: string;
  /** `host` null: the trunk's own `<name>.pstn.twilio.com`. */
  sip: { host: string | null; port: number; transport: SipTransport };
  /**
   * Calls to the number: `sipUrl` (null: none) becomes the trunk's Origination URL (where Twilio sends them), and INVITEs
   * from `signallingIps` (Twilio's signalling addresses of the edge) are admitted on the local trunk.
   */
  origination: { sipUrl: string | null; signallingIps: string[] };
  /** How long one REST request may take. */
  timeoutMs: number;
}

export const TWILIO_DEFAULTS = { apiUrl: 'https://api.twilio.com', trunkingUrl: 'https://trunking.twilio.com', timeoutMs: 10_000 } as const;

/**
 * The signalling addresses Twilio's Elastic SIP Trunking sends INVITEs from, per edge location
 * (https://www.twilio.com/docs/sip-trunking/ip-addresses).
 */
export const TWILIO_SIGNALLING_IPS = {
  ashburn: ['54.172.60.0/30'],
  umatilla: ['54.244.51.0/30'],
  dublin: ['54.171.127.192/30'],
  frankfurt: ['35.156.191.128/30'],
  tokyo: ['54.65.63.192/30'],
  singapore: ['54.169.127.128/30'],
  sydney: ['54.252.254.64/30'],
  'sao-paulo': ['177.71.206.192/30'],
} as const satisfies Record<string, readonly string[]>;
export type TwilioEdge = keyof typeof TWILIO_SIGNALLING_IPS;

/** A Twilio request failed: Twilio's HTTP status and error code (null when it never answered); never a secret. */
export class TwilioError extends Error {
  constructor(
    readonly status: number | null,
    readonly code: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'TwilioError';
  }
}

export type TwilioApi = 'api' | 'trunking';

/** The JSON of a Twilio resource: snake_case fields, as documented. */
export type TwilioResource = Record<string, unknown> & { sid: string };

export class TwilioRest {
  private readonly authorization: string;

  constructor(
    private readonly settings: TwilioSettings,
    readonly accountSid: string,
    authToken: string,
  ) {
    this.authorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  }

  /** The 2010-04-01 path of this account's resource (`/SIP/CredentialLists.json`). */
  accountPath(path: string): string {
    return `/2010-04-01/Accounts/${encodeURIComponent(this.accountSid)}${path}`;
  }

  /** One request; resolves to the answer's JSON (null for a 204). */
  async call(method: 'GET' | 'POST' | 'DELETE', api: TwilioApi, path: string, form?: Record<string, string>): Promise<Record<string, unknown> | null> {
    const url = path.startsWith('http') ? path : `${this.base(api)}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: this.authorization, accept: 'application/json', ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        body: form ? new URLSearchParams(form).toString() : undefined,
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: unknown } };
      if (e.name === 'TimeoutError') throw new TwilioError(null, null, `Twilio did not answer within ${this.settings.timeoutMs} ms`);
      throw new TwilioError(null, null, `Twilio is unreachable (${typeof e.cause?.code === 'string' ? e.cause.code : e.name})`);
    }
    const body = res.status === 204 ? null : ((await res.json().catch(() => null)) as Record<string, unknown> | null);
    if (!res.ok) {
      // Twilio's error body: {code, message, more_info, status}; only the numeric code is kept.
      const code = typeof body?.code === 'number' ? body.code : null;
      throw new TwilioError(res.status, code, `Twilio answered ${res.status}${code === null ? '' : ` (error ${code})`} to ${method} ${new URL(url).pathname}`);
    }
    return body;
  }

  /** Creates a resource (POST with a form); resolves to it. */
  async create(api: TwilioApi, path: string, form: Record<string, string>): Promise<TwilioResource> {
    const created = await this.call('POST', api, path, form);
    if (typeof created?.sid !== 'string') throw new TwilioError(null, null, `Twilio answered POST ${path} without a sid`);
    return created as TwilioResource;
  }

  /** Every item of a list (`key`: "trunks", "credential_lists"...), following the next pages on the same API only. */
  async list(api: TwilioApi, path: string, key: string): Promise<TwilioResource[]> {
    const items: TwilioResource[] = [];
    const base = this.base(api);
    let next: string | null = `${path}${path.includes('?') ? '&' : '?'}PageSize=1000`;
    for (let pages = 0; next !== null && pages < 50; pages++) {
      const page = await this.call('GET', api, next);
      const found = page?.[key];
      if (Array.isArray(found)) items.push(...(found as TwilioResource[]).filter((r) => typeof r?.sid === 'string'));
      // trunking v1: meta.next_page_url (absolute); 2010-04-01: next_page_uri (relative to the API base).
      const meta = page?.meta as { next_page_url?: unknown } | undefined;
      const link = meta?.next_page_url ?? page?.next_page_uri;
      next = typeof link === 'string' && link ? link : null;
      // The credentials go to Twilio's own base only, never to a host a page names.
      if (next?.startsWith('http') && !next.startsWith(`${base}/`)) next = null;
    }
    return items;
  }

  private base(api: TwilioApi): string {
    return api === 'api' ? this.settings.apiUrl : this.settings.trunkingUrl;
  }
}
