// The compiled build: tsc output started with plain node, as a production install (no dev dependencies) runs it.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../test/helpers/server.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * A copy of the repo as `npm ci --omit=dev` + the build output leaves it: package files, the server and protocol as
 * `npm run build:server` compiles them, the widget bundle and demo, and only the production dependencies' node_modules.
 */
function productionTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'astral-build-'));
  for (const pkg of ['', 'packages/protocol/', 'packages/server/']) {
    mkdirSync(join(dir, pkg), { recursive: true });
    cpSync(join(ROOT, pkg, 'package.json'), join(dir, pkg, 'package.json'));
  }
  try {
    execFileSync('npm', ['run', '--silent', 'build:server'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    assert.fail(`npm run build:server failed:\n${(err as { stdout: string }).stdout}`);
  }
  for (const pkg of ['protocol', 'server']) cpSync(join(ROOT, `packages/${pkg}/dist`), join(dir, `packages/${pkg}/dist`), { recursive: true });
  mkdirSync(join(dir, 'packages/widget'));
  symlinkSync(join(ROOT, 'packages/widget/dist'), join(dir, 'packages/widget/dist'));
  symlinkSync(join(ROOT, 'demo'), join(dir, 'demo'));
  const prod = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' });
  const top = new Set<string>();
  for (const line of prod.split('\n')) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(line.slice(ROOT.length));
    if (m && !m[1]!.startsWith('@astral/')) top.add(m[1]!);
  }
  assert.ok(top.has('fastify') && !top.has('tsx') && !top.has('typescript'), 'npm ls --omit=dev lists production dependencies only');
  for (const name of top) {
    mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  }
  mkdirSync(join(dir, 'node_modules/@astral'), { recursive: true });
  for (const pkg of ['protocol', 'server']) symlinkSync(join(dir, 'packages', pkg), join(dir, 'node_modules/@astral', pkg));
  symlinkSync(join(ROOT, 'packages/server/node_modules'), join(dir, 'packages/server/node_modules'));
  return dir;
}

test('the compiled server runs with plain node and no dev dependencies; its worker threads start from the compiled .js', { timeout: 120_000 }, async (t) => {
  const dir = productionTree();
  const dataDir = mkdtempSync(join(tmpdir(), 'astral-build-data-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  // `npm run serve` (what `npm start` runs after building), spawned directly so the test holds the server's own process.
  const scripts = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const [bin, ...args] = scripts.serve!.split(' ');
  assert.equal(bin, 'node');
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      ASTRAL_DATA_DIR: dataDir,
      ASTRAL_LISTEN_IP: '127.0.0.1',
      ASTRAL_WORKERS: '1',
      ASTRAL_SIP_PORT: String(await freePort()), // SIP on: its start-up starts the RTP relay worker
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.after(() => child.kill('SIGKILL'));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`${url}/healthz`).then((r) => r.ok, () => false))) {
    assert.equal(child.exitCode, null, `the compiled server exited:\n${output}`);
    assert.ok(Date.now() < deadline, `the compiled server did not become healthy:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  while (!output.includes('the RTP relay worker for SIP legs is running')) {
    assert.ok(!output.includes('RTP relay worker exited') && Date.now() < deadline, `the RTP relay worker did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Static paths computed from the compiled modules' location: the widget bundle and the demo page.
  for (const path of ['/widget/astral-phone.js', '/']) {
    const res = await fetch(url + path);
    assert.equal(res.status, 200, path);
    await res.arrayBuffer();
  }
  child.kill('SIGTERM');
  assert.equal(await exited, 0, output);
});
