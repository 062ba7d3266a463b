// A fake of the Twilio REST resources an Elastic SIP trunk is made of, written from Twilio's API reference: on the
// trunking API (v1) Trunks (FriendlyName, DomainName ending in pstn.twilio.com), a trunk's CredentialLists
// (CredentialListSid), PhoneNumbers (PhoneNumberSid) and OriginationUrls (FriendlyName, SipUrl, Priority, Weight, Enabled,
// all required); on the 2010-04-01 API an account's SIP/CredentialLists.json
// (FriendlyName), their Credentials.json (Username <= 32 chars, Password >= 12 with a digit and mixed case) and
// IncomingPhoneNumbers.json?PhoneNumber=. HTTP Basic auth with the Account SID and Auth Token (401 error 20003 otherwise),
// form-encoded bodies, snake_case JSON with Twilio's paging (meta.next_page_url / next_page_uri), errors as
// {code, message, more_info, status}; `mode` forces 429 (20429), a 500 or no answer at all.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Resource {
  sid: string;
  [field: string]: unknown;
}

export interface FakeTwilioRequest {
  api: 'api' | 'trunking';
  method: string;
  path: string;
  form: Record<string, string>;
}

export interface FakeTwilio {
  apiUrl: string;
  trunkingUrl: string;
  accountSid: string;
  authToken: string;
  /** The account's numbers (IncomingPhoneNumber resources). */
  numbers: Resource[];
  trunks: Resource[];
  credentialLists: Resource[];
  /** Credentials with the password they were created with (Twilio keeps only its digest; the test checks it). */
  credentials: (Resource & { credential_list_sid: string; username: string; password: string })[];
  /** trunk sid -> associated credential list sids / phone number sids. */
  trunkLists: Map<string, string[]>;
  trunkNumbers: Map<string, string[]>;
  /** OriginationUrl resources, with their trunk_sid. */
  originationUrls: Resource[];
  requests: FakeTwilioRequest[];
  mode: 'ok' | 'rate-limited' | 'server-error' | 'hang';
  /** Items per page unless the request's PageSize is smaller (a small value exercises the paging). */
  pageSize: number;
  close(): Promise<void>;
}

const sid = (prefix: string) => `${prefix}${randomBytes(16).toString('hex')}`;
const rfc2822 = () => new Date().toUTCString().replace('GMT', '+0000');

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status);
    return void res.end();
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const error = (res: ServerResponse, status: number, code: number, message: string) =>
  send(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

export async function startFakeTwilio(opts: { accountSid?: string; authToken?: string; numbers?: string[] } = {}): Promise<FakeTwilio> {
  const accountSid = opts.accountSid ?? sid('AC');
  const hanging = new Set<ServerResponse>();
  const fake: FakeTwilio = {
    apiUrl: '',
    trunkingUrl: '',
    accountSid,
    authToken: opts.authToken ?? randomBytes(16).toString('hex'),
    numbers: (opts.numbers ?? []).map((n) => ({ sid: sid('PN'), account_sid: accountSid, phone_number: n, friendly_name: n, trunk_sid: null })),
    trunks: [],
    credentialLists: [],
    credentials: [],
    trunkLists: new Map(),
    trunkNumbers: new Map(),
    originationUrls: [],
    requests: [],
    mode: 'ok',
    pageSize: 50,
    close: async () => undefined,
  };

  /** A page of `items` as the trunking API (meta) or the 2010-04-01 API (top-level paging fields) answers it. */
  function page(api: 'api' | 'trunking', url: URL, key: string, items: unknown[]): unknown {
    const size = Math.min(Number(url.searchParams.get('PageSize') ?? 50) || 50, fake.pageSize);
    const index = Number(url.searchParams.get('Page') ?? 0) || 0;
    const slice = items.slice(index * size, (index + 1) * size);
    const at = (p: number) => {
      const u = new URL(url.toString());
      u.searchParams.set('PageSize', String(size));
      u.searchParams.set('Page', String(p));
      return u;
    };
    const hasNext = (index + 1) * size < items.length;
    if (api === 'trunking') {
      const base = fake.trunkingUrl;
      const abs = (u: URL) => `${base}${u.pathname}${u.search}`;
      return { [key]: slice, meta: { page: index, page_size: size, first_page_url: abs(at(0)), previous_page_url: index > 0 ? abs(at(index - 1)) : null, url: abs(at(index)), next_page_url: hasNext ? abs(at(index + 1)) : null, key } };
    }
    const rel = (u: URL) => `${u.pathname}${u.search}`;
    return { [key]: slice, page: index, page_size: size, start: index * size, end: index * size + slice.length - 1, uri: rel(at(index)), first_page_uri: rel(at(0)), previous_page_uri: index > 0 ? rel(at(index - 1)) : null, next_page_uri: hasNext ? rel(at(index + 1)) : null };
  }

  function authorized(req: IncomingMessage): boolean {
    const m = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const [user, ...rest] = Buffer.from(m[1]!, 'base64').toString('utf8').split(':');
    return user === fake.accountSid && rest.join(':') === fake.authToken;
  }

  function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, form: Record<string, string>): void {
    const account = `/2010-04-01/Accounts/${fake.accountSid}`;
    if (!url.pathname.startsWith(`${account}/`)) return error(res, 401, 20003, 'Authenticate');
    const path = url.pathname.slice(account.length);
    const now = rfc2822();
    if (path === '/IncomingPhoneNumbers.json' && req.method === 'GET') {
      const wanted = url.searchParams.get('PhoneNumber');
      return send(res, 200, page('api', url, 'incoming_phone_numbers', fake.numbers.filter((n) => wanted === null || n.phone_number === wanted)));
    }
    if (path === '/SIP/CredentialLists.json') {
      if (req.method === 'GET') return send(res, 200, page('api', url, 'credential_lists', fake.credentialLists));
      if (req.method === 'POST') {
        if (!form.FriendlyName || form.FriendlyName.length > 64) return error(res, 400, 21622, 'FriendlyName is required (up to 64 characters)');
        const list = { sid: sid('CL'), account_sid: fake.accountSid, friendly_name: form.FriendlyName, date_created: now, date_updated: now };
        fake.credentialLists.push({ ...list, uri: `${account}/SIP/CredentialLists/${list.sid}.json`, subresource_uris: { credentials: `${account}/SIP/CredentialLists/${list.sid}/Credentials.json` } });
        return send(res, 201, fake.credentialLists.at(-1));
      }
    }
    const listMatch = /^\/SIP\/CredentialLists\/(CL[0-9a-f]{32})(\.json|\/Credentials\.json|\/Credentials\/(CR[0-9a-f]{32})\.json)$/.exec(path);
    const list = listMatch && fake.credentialLists.find((l) => l.sid === listMatch[1]);
    if (!listMatch || !list) return error(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
    if (listMatch[2] === '.json' && req.method === 'DELETE') {
      fake.credentialLists = fake.credentialLists.filter((l) => l !== list);
      fake.credentials = fake.credentials.filter((c) => c.credential_list_sid !== list.sid);
      for (const [trunk, lists] of fake.trunkLists) fake.trunkLists.set(trunk, lists.filter((l) => l !== list.sid));
      return send(res, 204);
    }
    if (listMatch[2] === '/Credentials.json') {
      const inList = fake.credentials.filter((c) => c.credential_list_sid === list.sid).map(({ password: _password, ...c }) => c);
      if (req.method === 'GET') return send(res, 200, page('api', url, 'credentials', inList));
      if (req.method === 'POST') {
        const { Username: username, Password: password } = form;
        if (!username || username.length > 32) return error(res, 400, 21614, 'Username is required, up to 32 characters');
        if (!password || password.length < 12 || !/\d/.test(password) || !/[a-z]/.test(password) || !/[A-Z]/.test(password)) {
          return error(res, 400, 21615, 'Password must be at least 12 characters with a digit and mixed case');
        }
        if (inList.some((c) => c.username === username)) return error(res, 400, 21616, 'Username already exists in this list');
        const crSid = sid('CR');
        const credential = { sid: crSid, account_sid: fake.accountSid, credential_list_sid: list.sid, username, date_created: now, date_updated: now, uri: `${account}/SIP/CredentialLists/${list.sid}/Credentials/${crSid}.json` };
        fake.credentials.push({ ...credential, password });
        return send(res, 201, credential);
      }
    }
    const credential = listMatch[3] && fake.credentials.find((c) => c.sid === listMatch[3] && c.credential_list_sid === list.sid);
    if (credential && req.method === 'DELETE') {
      fake.credentials = fake.credentials.filter((c) => c !== credential);
      return send(res, 204);
    }
    return error(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
  }

  function handleTrunking(req: IncomingMessage, res: ServerResponse, url: URL, form: Record<string, string>): void {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (url.pathname === '/v1/Trunks') {
      if (req.method === 'GET') return send(res, 200, page('trunking', url, 'trunks', fake.trunks));
      if (req.method === 'POST') {
        const domain = form.DomainName;
        if (domain !== undefined && !/^[A-Za-z0-9-]+\.pstn\.twilio\.com$/.test(domain)) return error(res, 400, 21245, 'DomainName must end with pstn.twilio.com');
        if (domain !== undefined && fake.trunks.some((t) => t.domain_name === domain)) return error(res, 400, 21248, 'DomainName is already in use');
        const trunk = { sid: sid('TK'), account_sid: fake.accountSid, friendly_name: form.FriendlyName ?? null, domain_name: domain ?? null, secure: form.Secure === 'true', cnam_lookup_enabled: false, recording: { mode: 'do-not-record', trim: 'do-not-trim' }, transfer_mode: 'disable-all', date_created: now, date_updated: now };
        fake.trunks.push({ ...trunk, url: `${fake.trunkingUrl}/v1/Trunks/${trunk.sid}` });
        return send(res, 201, fake.trunks.at(-1));
      }
    }
    const m = /^\/v1\/Trunks\/(TK[0-9a-f]{32})(?:\/(CredentialLists|PhoneNumbers|OriginationUrls)(?:\/((?:CL|PN|OU)[0-9a-f]{32}))?)?$/.exec(url.pathname);
    const trunk = m && fake.trunks.find((t) => t.sid === m[1]);
    if (!m || !trunk) return error(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
    const [, , sub, child] = m;
    if (sub === 'OriginationUrls') return originationUrls(req, res, url, form, trunk, child, now);
    if (!sub && req.method === 'GET') return send(res, 200, trunk);
    if (!sub && req.method === 'DELETE') {
      fake.trunks = fake.trunks.filter((t) => t !== trunk);
      fake.originationUrls = fake.originationUrls.filter((u) => u.trunk_sid !== trunk.sid);
      for (const n of fake.numbers) if (n.trunk_sid === trunk.sid) n.trunk_sid = null;
      fake.trunkLists.delete(trunk.sid);
      fake.trunkNumbers.delete(trunk.sid);
      return send(res, 204);
    }
    const links = sub === 'CredentialLists' ? fake.trunkLists : fake.trunkNumbers;
    const linked = links.get(trunk.sid) ?? [];
    const view = (s: string) =>
      sub === 'CredentialLists'
        ? { sid: s, account_sid: fake.accountSid, trunk_sid: trunk.sid, friendly_name: fake.credentialLists.find((l) => l.sid === s)?.friendly_name, date_created: now, date_updated: now, url: `${fake.trunkingUrl}/v1/Trunks/${trunk.sid}/CredentialLists/${s}` }
        : { ...fake.numbers.find((n) => n.sid === s), trunk_sid: trunk.sid, url: `${fake.trunkingUrl}/v1/Trunks/${trunk.sid}/PhoneNumbers/${s}` };
    if (!child && req.method === 'GET') return send(res, 200, page('trunking', url, sub === 'CredentialLists' ? 'credential_lists' : 'phone_numbers', linked.map(view)));
    if (!child && req.method === 'POST') {
      const wanted = sub === 'CredentialLists' ? form.CredentialListSid : form.PhoneNumberSid;
      const exists = sub === 'CredentialLists' ? fake.credentialLists.some((l) => l.sid === wanted) : fake.numbers.some((n) => n.sid === wanted);
      if (!wanted || !exists) return error(res, 400, 20001, `${sub === 'CredentialLists' ? 'CredentialListSid' : 'PhoneNumberSid'} is not a resource of this account`);
      if (linked.includes(wanted)) return error(res, 409, 20409, 'Already associated with this trunk');
      if (sub === 'PhoneNumbers') {
        for (const [other, nums] of fake.trunkNumbers) fake.trunkNumbers.set(other, nums.filter((n) => n !== wanted));
        fake.numbers.find((n) => n.sid === wanted)!.trunk_sid = trunk.sid;
      }
      links.set(trunk.sid, [...(links.get(trunk.sid) ?? []), wanted]);
      return send(res, 201, view(wanted));
    }
    if (child && req.method === 'DELETE' && linked.includes(child)) {
      links.set(trunk.sid, linked.filter((s) => s !== child));
      const number = fake.numbers.find((n) => n.sid === child);
      if (number) number.trunk_sid = null;
      return send(res, 204);
    }
    return error(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
  }

  /** A trunk's OriginationUrls: list, create (every field required, as documented), delete. */
  function originationUrls(req: IncomingMessage, res: ServerResponse, url: URL, form: Record<string, string>, trunk: Resource, child: string | undefined, now: string): void {
    const onTrunk = fake.originationUrls.filter((u) => u.trunk_sid === trunk.sid);
    if (!child && req.method === 'GET') return send(res, 200, page('trunking', url, 'origination_urls', onTrunk));
    if (!child && req.method === 'POST') {
      const { FriendlyName: friendlyName, SipUrl: sipUrl, Priority: priority, Weight: weight, Enabled: enabled } = form;
      const int = (v: string | undefined) => v !== undefined && /^\d{1,5}$/.test(v) && Number(v) <= 65535;
      if (!friendlyName || !sipUrl || !int(priority) || !int(weight) || !['true', 'false'].includes(enabled ?? '')) return error(res, 400, 20001, 'FriendlyName, SipUrl, Priority, Weight and Enabled are required');
      if (!/^sips?:[^\s@]+$/.test(sipUrl)) return error(res, 400, 21248, 'SipUrl must be a sip: URI');
      const ouSid = sid('OU');
      const resource = { sid: ouSid, account_sid: fake.accountSid, trunk_sid: trunk.sid, friendly_name: friendlyName, sip_url: sipUrl, priority: Number(priority), weight: Number(weight), enabled: enabled === 'true', date_created: now, date_updated: now, url: `${fake.trunkingUrl}/v1/Trunks/${trunk.sid}/OriginationUrls/${ouSid}` };
      fake.originationUrls.push(resource);
      return send(res, 201, resource);
    }
    const existing = child && onTrunk.find((u) => u.sid === child);
    if (existing && req.method === 'DELETE') {
      fake.originationUrls = fake.originationUrls.filter((u) => u !== existing);
      return send(res, 204);
    }
    return error(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
  }

  const handler = (api: 'api' | 'trunking') => async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = Buffer.concat(chunks).toString('utf8');
    if (raw && req.headers['content-type'] !== 'application/x-www-form-urlencoded') return error(res, 400, 20001, 'Bodies are application/x-www-form-urlencoded');
    const form = Object.fromEntries(new URLSearchParams(raw));
    fake.requests.push({ api, method: req.method ?? '', path: url.pathname, form });
    if (!authorized(req)) return error(res, 401, 20003, 'Authenticate');
    if (fake.mode === 'rate-limited') return error(res, 429, 20429, 'Too Many Requests');
    if (fake.mode === 'server-error') return error(res, 500, 20500, 'Internal Server Error');
    if (fake.mode === 'hang') return void hanging.add(res);
    return api === 'api' ? handleApi(req, res, url, form) : handleTrunking(req, res, url, form);
  };

  const listen = async (api: 'api' | 'trunking'): Promise<[Server, string]> => {
    const server = createServer((req, res) => void handler(api)(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`];
  };
  const [apiServer, apiUrl] = await listen('api');
  const [trunkingServer, trunkingUrl] = await listen('trunking');
  fake.apiUrl = apiUrl;
  fake.trunkingUrl = trunkingUrl;
  fake.close = async () => {
    for (const res of hanging) res.destroy();
    for (const server of [apiServer, trunkingServer]) {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  };
  return fake;
}
