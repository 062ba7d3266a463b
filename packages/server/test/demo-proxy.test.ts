// The dashboard proxy (/demo/api/v1/calls*) forwards request bodies as received and nothing outside /api/v1/calls.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
before(async () => (t = await startTestServer()));
after(() => t.close());

/** An HTTP request with its path sent exactly as written (fetch would resolve `..` and `\` first). */
function raw(method: string, path: string, body?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const { hostname, port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject).end(body);
  });
}

test('a 20,000-deep JSON array is refused by the target route as a bad body, not re-serialised', async () => {
  const deep = '['.repeat(20_000) + ']'.repeat(20_000);
  const res = await raw('POST', '/demo/api/v1/calls/hangup-channel', deep);
  assert.deepEqual([res.status, res.body.code], [400, 'bad_request'], JSON.stringify(res.body));
  assert.match(res.body.message as string, /^body/);
});

test('bodies still arrive intact, malformed JSON included', async () => {
  const hang = await raw('POST', '/demo/api/v1/calls/hangup-channel', JSON.stringify({ channel_id: 'WebRTC/x-00000001' }));
  assert.deepEqual([hang.status, hang.body.code], [404, 'not_found'], 'the body reached the route (no such channel)');
  const broken = await raw('POST', '/demo/api/v1/calls/hangup-channel', '{"channel_id": ');
  assert.deepEqual([broken.status, broken.body.code], [400, 'bad_request']);
});

test('paths that leave /api/v1/calls once decoded are refused, whatever the method', async () => {
  const escapes = [
    '/demo/api/v1/calls/../../v1/tokens',
    '/demo/api/v1/calls/%2e%2e/%2e%2e/v1/tokens',
    '/demo/api/v1/calls/%2E%2E/%2e./v1/tokens',
    '/demo/api/v1/calls/..%2f..%2fv1/tokens',
    '/demo/api/v1/calls/..%5c..%5cv1/tokens',
    '/demo/api/v1/calls\\..\\..\\v1/tokens',
    '/demo/api/v1/calls/./live',
    '/demo/api/v1/calls%00/live',
    '/demo/api/v1/callsx',
  ];
  for (const path of escapes) {
    for (const method of ['GET', 'POST']) {
      const res = await raw(method, path, method === 'POST' ? JSON.stringify({ identity: 'mallory' }) : undefined);
      assert.deepEqual([res.status, res.body.message], [404, 'the dashboard proxy forwards only paths under /api/v1/calls'], `${method} ${path}`);
    }
  }
  assert.equal((await raw('GET', '/demo/api/v1/calls/%zz')).status, 400, 'a malformed escape is refused by the router');
  const query = await raw('GET', '/demo/api/v1/calls?x=/../../tokens');
  assert.deepEqual([query.status, query.body.message], [400, 'querystring.x: must NOT have additional properties'], 'a query string is not a path: forwarded, and refused by the route');
});

test('a control character in search is a 400 naming search, through the proxy as directly', async () => {
  for (const path of ['/demo/api/v1/calls?search=a%00b', '/demo/api/v1/calls/count?search=abc%00def']) {
    const res = await raw('GET', path);
    assert.deepEqual([res.status, res.body.code], [400, 'bad_request'], path);
    assert.match(res.body.message as string, /^querystring\.search:/, path);
  }
});
