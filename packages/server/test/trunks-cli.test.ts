// The trunk and number CLI: same rules as the API, password sealed with the server's key, visible to the running server.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { SecretBox, SecretPurposes } from '../src/auth/secret-box.js';
import { ADMIN_KEY, api, startTestServer, type TestServer } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'astral-trunk-cli-test-'));
const SECRET_KEY = 'trunk-cli-secret-key-0123456789abcdef';
const PASSWORD = 'cli-Pa55word-9c1e';

function cli(args: string[], input?: string) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'packages/server/src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ASTRAL_DATA_DIR: dataDir, ASTRAL_SECRET_KEY: SECRET_KEY },
    encoding: 'utf8',
    input,
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

let t: TestServer;
before(async () => (t = await startTestServer({ ASTRAL_DATA_DIR: dataDir, ASTRAL_SECRET_KEY: SECRET_KEY })));
after(() => t.close());

test('trunks create/list/delete and numbers create/list/delete', async () => {
  const created = cli([
    'trunks', 'create', '--name', 'carrier', '--host', '10.0.0.1', '--port', '5080', '--transport', 'tcp', '--username', 'acct',
    '--password', PASSWORD, '--realm', 'sip.example', '--caller-id', '+15550001000', '--register', '--codecs', 'PCMA,PCMU',
    '--allowed-ips', '1.2.3.0/24, 10.0.0.1', '--default',
  ]);
  assert.equal(created.code, 0, created.err);
  const id = /created trunk ([0-9]+) "carrier" 10\.0\.0\.1:5080\/tcp \(default\)/.exec(created.out)?.[1];
  assert.ok(id, created.out);
  assert.equal(created.out.includes(PASSWORD), false);
  const viaApi = await api(t, 'GET', `/api/v1/trunks/${id}`, { key: ADMIN_KEY });
  assert.deepEqual(viaApi.body, {
    id, name: 'carrier', host: '10.0.0.1', port: 5080, transport: 'tcp', username: 'acct', has_password: true, realm: 'sip.example',
    register: true, caller_id: '+15550001000', codecs: ['PCMA', 'PCMU'], allowed_ips: ['1.2.3.0/24', '10.0.0.1'], default: true, status: 'unknown',
  });
  const box = new SecretBox(Buffer.from(SECRET_KEY), SecretPurposes.trunkPassword);
  assert.equal((await t.server.store.trunks.withSecret(id, box))?.password, PASSWORD, 'sealed with the same key the server uses');

  const fromStdin = cli(['trunks', 'create', '--name', 'backup', '--host', 'sip.backup.example', '--username', 'b', '--password-stdin'], `${PASSWORD}-stdin\n`);
  assert.equal(fromStdin.code, 0, fromStdin.err);
  const backupId = /created trunk ([0-9]+)/.exec(fromStdin.out)![1]!;
  assert.equal((await t.server.store.trunks.withSecret(backupId, box))?.password, `${PASSWORD}-stdin`);
  assert.equal((await t.server.store.trunks.get(t.server.instanceId, backupId))?.isDefault, false);

  const listed = cli(['trunks', 'list']);
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out, new RegExp(`^${id}\\tcarrier\\t10\\.0\\.0\\.1:5080/tcp\\tacct \\(password set\\)\\tregister\\tPCMA,PCMU\\t1\\.2\\.3\\.0/24,10\\.0\\.0\\.1\\tdefault$`, 'm'));
  assert.match(listed.out, /backup\tsip\.backup\.example:5060\/udp/);
  assert.equal(listed.out.includes(PASSWORD), false);

  const num = cli(['numbers', 'create', '--number', '+15551234567', '--destination', '1001', '--type', 'extension', '--trunk', 'carrier']);
  assert.equal(num.code, 0, num.err);
  assert.match(num.out, /created number \+15551234567 → extension 1001 on trunk [0-9]+/);
  assert.equal(cli(['numbers', 'create', '--number', '4930123456', '--destination', '1002', '--type', 'extension']).code, 0);
  assert.deepEqual((await api(t, 'GET', '/api/v1/numbers', { key: ADMIN_KEY })).body, [
    { number: '+15551234567', destination: '1001', destination_type: 'extension', trunk_id: id },
    { number: '4930123456', destination: '1002', destination_type: 'extension', trunk_id: null },
  ]);
  assert.match(cli(['numbers', 'list']).out, /^\+15551234567\textension\t1001\t[0-9]+$/m);

  const refused = cli(['trunks', 'delete', 'carrier']);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /still has 1 number/);
  assert.equal(cli(['numbers', 'delete', '15551234567']).code, 0, 'without the +');
  assert.equal(cli(['numbers', 'delete', '+4930123456']).code, 0);
  assert.match(cli(['numbers', 'delete', '+4930123456']).err, /no number/);
  const deleted = cli(['trunks', 'delete', id]);
  assert.equal(deleted.code, 0, deleted.err);
  assert.equal((await api(t, 'GET', `/api/v1/trunks/${id}`, { key: ADMIN_KEY })).status, 404);
  assert.equal((await t.server.store.trunks.defaultOf(t.server.instanceId))?.id, backupId, 'the default moved to the remaining trunk');
  assert.equal(cli(['trunks', 'delete', 'backup']).code, 0);
});

test('bad CLI input is refused naming the field', () => {
  const cases: [string[], RegExp][] = [
    [['trunks', 'create', '--host', 'h.example'], /name/],
    [['trunks', 'create', '--name', 'x'], /host/],
    [['trunks', 'create', '--name', 'bad name', '--host', 'h.example'], /name/],
    [['trunks', 'create', '--name', 'x', '--host', 'bad_host'], /host/],
    [['trunks', 'create', '--name', 'x', '--host', 'h.example', '--port', '0'], /port/],
    [['trunks', 'create', '--name', 'x', '--host', 'h.example', '--port', 'abc'], /port/],
    [['trunks', 'create', '--name', 'x', '--host', 'h.example', '--transport', 'sctp'], /transport/],
    [['trunks', 'create', '--name', 'x', '--host', 'h.example', '--codecs', 'G729'], /codecs/],
    [['trunks', 'create', '--name', 'x', '--host', 'h.example', '--allowed-ips', '10.0.0.0/8,1.2.3.0/33'], /allowed_ips\.1/],
    [['trunks', 'create', '--name', 'x', '--host', 'h.example', '--register', '--username', 'u'], /register/],
    [['trunks', 'create', '--name', 'x', '--host', 'h.example', '--bogus'], /bogus/],
    [['trunks', 'delete'], /which trunk/],
    [['trunks', 'delete', 'nothing'], /no trunk "nothing"/],
    [['numbers', 'create', '--number', 'abc', '--destination', '1001', '--type', 'extension'], /number/],
    [['numbers', 'create', '--number', '15550001', '--destination', '1001', '--type', 'fax'], /destination_type/],
    [['numbers', 'create', '--number', '15550001', '--destination', 'nobody', '--type', 'ai_agent'], /no agent "nobody"/],
    [['numbers', 'create', '--number', '15550001', '--destination', '700', '--type', 'queue'], /no queue 700/],
    [['numbers', 'create', '--number', '15550001', '--destination', '1001', '--type', 'extension', '--trunk', 'nope'], /no trunk/],
  ];
  for (const [args, message] of cases) {
    const res = cli(args);
    assert.equal(res.code, 1, `${args.join(' ')}: ${res.out}${res.err}`);
    assert.match(res.err, message, args.join(' '));
  }
  assert.equal(cli(['trunks', 'bogus']).code, 2);
});
