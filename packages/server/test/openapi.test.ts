// /openapi.json: a valid OpenAPI 3.1 document that lists every route the server has, and real answers match it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers.js';

interface Operation {
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: Record<string, object> };

let t: TestServer;
let doc: Doc;
before(async () => {
  t = await startTestServer();
  doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as Doc;
});
after(() => t.close());

/** Routes left out of the document on purpose: the docs themselves, the demo, the dashboard proxy and the static files. */
const HIDDEN = [/^\/docs/, /^\/openapi\.json$/, /^\/demo\//, /^\/dashboard\/api\//, /^\/widget\//, /^\/\*?$/];

/** `METHOD /path` for every route in fastify's route tree (HEAD and OPTIONS are fastify's own, mirrored from GET and CORS). */
function fastifyRoutes(): string[] {
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of t.server.app.printRoutes().split('\n')) {
    const m = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2] === '(empty root node)' ? '' : m[2]!);
    for (const method of (m[3] ?? '').split(', ').filter((x) => x && x !== 'HEAD' && x !== 'OPTIONS')) routes.push(`${method} ${stack.join('')}`);
  }
  return routes;
}

/** Path parameters written either way (`:id`, `:id|:linkedId`, `{id}`) compare equal. */
const shape = (route: string) => route.replace(/:[A-Za-z_]+(\|:[A-Za-z_]+)*/g, '{}').replace(/\{[^}]+\}/g, '{}');

test('the document is valid OpenAPI 3.1 with the API key, Bearer and Bot schemes', async () => {
  assert.match(doc.openapi, /^3\.1\./);
  const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
  assert.equal(result.valid, true, JSON.stringify(result.errors));
  assert.deepEqual(Object.keys((doc.components as { securitySchemes: object }).securitySchemes).sort(), ['ApiKey', 'Bearer', 'Bot']);
  assert.deepEqual(doc.paths['/api/v1/tokens']!.post!.security, [{ ApiKey: [] }]);
  assert.deepEqual(doc.paths['/api/v1/channels']!.post!.security, [{ Bot: [] }, { Bearer: [] }]);
  assert.deepEqual(doc.paths['/v1/calls']!.post!.security, [{ ApiKey: [] }, { Bearer: [] }]);
});

test('every route the server answers is in the document, and nothing else', () => {
  const routes = fastifyRoutes().filter((r) => !HIDDEN.some((h) => h.test(r.split(' ')[1]!)));
  assert.ok(routes.length > 40, `found ${routes.length} routes`);
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => shape(`${m.toUpperCase()} ${path}`)));
  assert.deepEqual([...new Set(routes.map(shape))].sort(), [...new Set(documented)].sort());
});

test('every operation documents its error shape and a success answer', () => {
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const codes = Object.keys(op.responses);
      assert.ok(codes.some((c) => c.startsWith('2')), `${method} ${path} documents no success answer`);
      if (path.startsWith('/v1/')) {
        assert.ok(op.responses['422'] && op.responses['4XX'], `${method} ${path} lacks the FastAPI errors`);
        assert.ok(op.responses['4XX']!.content!['application/json']!.schema, `${method} ${path}`);
      } else if (path.startsWith('/api/v1/')) {
        type Shape = { required?: string[]; anyOf?: Shape[] };
        const body = op.responses['4XX']?.content?.['application/json']?.schema as Shape | undefined;
        const shapes = body?.anyOf ?? (body ? [body] : []);
        assert.ok(shapes.some((b) => b.required?.join() === 'code,message'), `${method} ${path} lacks {code, message}`);
      }
    }
  }
});

test('real answers of every documented GET endpoint match their documented schema', async () => {
  const ajv = addFormats.default(new Ajv2020({ strict: false, allErrors: true }));
  const params: Record<string, string> = { instance_id: t.server.instanceId, key: 'default', call_id: '00000000-0000-4000-8000-000000000000' };
  let checked = 0;
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (!ops.get) continue;
    const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => params[name] ?? '1');
    for (const headers of [{ 'x-api-key': ADMIN_KEY }, {}] as Record<string, string>[]) {
      const res = await fetch(t.url + url, { headers });
      const documented = ops.get.responses[String(res.status)] ?? ops.get.responses[`${String(res.status)[0]}XX`];
      assert.ok(documented, `GET ${url} answered ${res.status}, which its document does not list`);
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!;
      const media = documented.content?.[type];
      assert.ok(media || res.status === 204, `GET ${url} answered ${res.status} as ${type}, which its document does not list`);
      if (type !== 'application/json' || !media) continue;
      const validate = ajv.compile({ ...media.schema, components: doc.components });
      const body: unknown = await res.json();
      assert.ok(validate(body), `GET ${url} ${res.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
      checked += 1;
    }
  }
  assert.ok(checked > 30, `checked ${checked} JSON answers`);
});

test('/docs serves the interactive documentation', async () => {
  const res = await fetch(`${t.url}/docs/`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /swagger-ui/i);
});
