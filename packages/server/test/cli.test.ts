// The API key CLI: create with permissions (key shown once), list without secrets, revoke; keys work against the API.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { api, startTestServer, type TestServer } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'astral-cli-test-'));

function cli(...args: string[]) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'packages/server/src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ASTRAL_DATA_DIR: dataDir },
    encoding: 'utf8',
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

let t: TestServer;
before(async () => (t = await startTestServer({ ASTRAL_DATA_DIR: dataDir })));
after(() => t.close());

test('keys create prints the key once; it works with exactly its permissions', async () => {
  const created = cli('keys', 'create', '--name', 'site-backend', '--permissions', 'tokens.create');
  assert.equal(created.code, 0, created.err);
  const key = /key \(shown once, store it now\): (ak_[A-Za-z0-9_-]+)/.exec(created.out)?.[1];
  assert.ok(key, created.out);
  assert.equal((await api(t, 'POST', '/api/v1/tokens', { key, body: { identity: 'from-cli' } })).status, 201);
  assert.equal((await api(t, 'GET', '/api/v1/calls/1', { key })).status, 403);

  const listed = cli('keys', 'list');
  assert.equal(listed.code, 0);
  assert.match(listed.out, /site-backend/);
  assert.equal(listed.out.includes(key), false, 'listing must not reveal the key');

  const revoked = cli('keys', 'revoke', 'site-backend');
  assert.equal(revoked.code, 0, revoked.err);
  assert.equal((await api(t, 'POST', '/api/v1/tokens', { key, body: { identity: 'from-cli' } })).status, 401);
  assert.match(cli('keys', 'list').out, /site-backend.*revoked/);
});

test('bots create prints the token once; it authenticates until revoked', async () => {
  const created = cli('bots', 'create', '--name', 'ops-bot');
  assert.equal(created.code, 0, created.err);
  const id = /created bot ([0-9]+)/.exec(created.out)?.[1];
  const token = /token \(shown once, store it now\): (bt_[A-Za-z0-9_-]+)/.exec(created.out)?.[1];
  assert.ok(id && token, created.out);
  const asBot = { headers: { authorization: `Bot ${token}` } };
  const channel = await api(t, 'POST', '/api/v1/channels', { ...asBot, body: { recipients: [id, id.slice(0, -1) + '9'] } });
  assert.equal(channel.status, 400, 'the bot authenticates; the made-up second recipient is refused');
  assert.equal(cli('bots', 'revoke', id).code, 0);
  assert.equal((await api(t, 'POST', '/api/v1/channels', { ...asBot, body: { recipients: [id, '1'] } })).status, 401);
  assert.match(cli('bots', 'revoke', id).err, /no active bot/);
});

test('bad CLI input is refused with a clear message', () => {
  const unknown = cli('keys', 'create', '--name', 'x', '--permissions', 'calls.read,root');
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /unknown permission "root"/);
  assert.match(cli('keys', 'create', '--permissions', 'admin').err, /--name is required/);
  assert.match(cli('keys', 'revoke', 'nothing-by-that-name').err, /no active key/);
  assert.equal(cli('bogus').code, 2);
});
