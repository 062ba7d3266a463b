// A fake of Retell's register-phone-call (docs.retellai.com/api-references/register-phone-call): POST /v2/register-phone-call
// with `Authorization: Bearer <api key>` and {agent_id (required), from_number, to_number, direction, metadata,
// retell_llm_dynamic_variables}; 201 with the call object (call_type phone_call, call_id, call_status registered, ...).
// Errors as Retell answers them: 401 for a wrong key, 404 for an unknown agent, 422 for a bad body; `mode` forces 429, a 500
// or no answer at all (a timeout). Every accepted registration is kept for the test to inspect.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RetellRegistration {
  agent_id: string;
  from_number?: string;
  to_number?: string;
  direction?: 'inbound' | 'outbound';
  metadata?: Record<string, unknown>;
  retell_llm_dynamic_variables?: Record<string, string>;
}

export interface FakeRetell {
  url: string;
  /** Accepted registrations with the call_id each got. */
  registered: (RetellRegistration & { call_id: string })[];
  /** Requests seen, accepted or not. */
  requests: number;
  mode: 'ok' | 'rate-limited' | 'server-error' | 'hang';
  close(): Promise<void>;
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

export async function startFakeRetell(opts: { apiKey: string; agentIds: string[] }): Promise<FakeRetell> {
  const hanging = new Set<ServerResponse>();
  const fake: FakeRetell = { url: '', registered: [], requests: 0, mode: 'ok', close: async () => undefined };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    fake.requests += 1;
    if (req.method !== 'POST' || req.url !== '/v2/register-phone-call') return send(res, 404, { error_message: 'Not Found' });
    if (req.headers.authorization !== `Bearer ${opts.apiKey}`) return send(res, 401, { error_message: 'Invalid API key' });
    if (fake.mode === 'rate-limited') return send(res, 429, { error_message: 'Too many requests' });
    if (fake.mode === 'server-error') return send(res, 500, { error_message: 'Internal server error' });
    if (fake.mode === 'hang') return void hanging.add(res);
    let body: RetellRegistration;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RetellRegistration;
    } catch {
      return send(res, 400, { error_message: 'Invalid JSON' });
    }
    if (req.headers['content-type'] !== 'application/json' || typeof body.agent_id !== 'string') return send(res, 422, { error_message: 'agent_id is required' });
    if (body.direction !== undefined && body.direction !== 'inbound' && body.direction !== 'outbound') return send(res, 422, { error_message: 'direction must be inbound or outbound' });
    if (!opts.agentIds.includes(body.agent_id)) return send(res, 404, { error_message: 'Agent not found' });
    const call_id = `call_${randomBytes(12).toString('hex')}`;
    fake.registered.push({ ...body, call_id });
    send(res, 201, {
      call_type: 'phone_call',
      from_number: body.from_number ?? '',
      to_number: body.to_number ?? '',
      direction: body.direction ?? 'inbound',
      call_id,
      agent_id: body.agent_id,
      call_status: 'registered',
      metadata: body.metadata ?? {},
      retell_llm_dynamic_variables: body.retell_llm_dynamic_variables ?? {},
      opt_out_sensitive_data_storage: false,
    });
  };
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return fake;
}
