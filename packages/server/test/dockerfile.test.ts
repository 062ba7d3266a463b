// The Dockerfile builds as `npm run setup` and CI do (docker is not run here): same worker script, apt packages, build, non-root start.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const read = (p: string) => readFileSync(fileURLToPath(new URL(`../../../${p}`, import.meta.url)), 'utf8');
const dockerfile = read('Dockerfile');
const stages = dockerfile.split(/^FROM /m).slice(1);
const [build, runtime] = stages as [string, string];
/** Packages a text's `apt-get install` lines name (flags and `$VAR`s left out). */
const aptPackages = (text: string) =>
  new Set([...text.matchAll(/apt-get install ([^()\n&]*)/g)].flatMap((m) => m[1]!.split(/[\s"]+/).filter((w) => w && !w.startsWith('-') && !w.startsWith('$'))));
/** The DEB_PKGS array of the worker's source build. */
const workerBuildPackages = new Set(/DEB_PKGS=\(([^)]*)\)/.exec(read('scripts/mediasoup-worker/build.sh'))![1]!.split(/\s+/).filter(Boolean));

test('two stages on Node 20 / Debian 12: build tools in the first, a slim runtime', () => {
  assert.equal(stages.length, 2);
  assert.match(build, /^node:20-bookworm AS build\n/);
  assert.match(runtime, /^node:20-bookworm(-slim)?\n/);
  for (const pkg of workerBuildPackages) assert.ok(!aptPackages(runtime).has(pkg), `build package ${pkg} in the runtime stage`);
});

test('the build stage installs and builds the mediasoup worker as npm run setup does', () => {
  const setup = read('scripts/setup.sh');
  assert.match(setup, /MEDIASOUP_WORKER_BIN=skip npm install/);
  assert.match(build, /MEDIASOUP_WORKER_BIN=skip npm ci /);
  assert.match(setup, /bash scripts\/mediasoup-worker\/ensure\.sh/);
  assert.match(build, /RUN bash scripts\/mediasoup-worker\/ensure\.sh/);
  for (const pkg of workerBuildPackages) assert.ok(aptPackages(build).has(pkg), `the worker's source build needs ${pkg}`);
  assert.match(build, /RUN npm run build\n/);
  assert.match(build, /npm ci --omit=dev/);
});

test('the runtime stage has the speech packages setup.sh and CI install, runs as a non-root user and starts the compiled server', () => {
  // PostgreSQL and Redis are the tests' (a deployment runs them as their own services: docker-compose.nodes.yml).
  const testOnly = new Set(['postgresql-15', 'redis-server']);
  const speech = [...aptPackages(read('scripts/setup.sh'))].filter((pkg) => !testOnly.has(pkg));
  assert.ok(speech.length > 0);
  for (const pkg of speech) {
    assert.ok(aptPackages(read('.ci/run')).has(pkg), `.ci/run installs ${pkg}`);
    assert.ok(aptPackages(runtime).has(pkg), `the image installs ${pkg}`);
  }
  assert.match(runtime, /^ENV [^]*MEDIASOUP_WORKER_BIN=\/usr\/local\/bin\/mediasoup-worker/m);
  assert.match(runtime, /^USER (?!root\b|0\b)\S+$/m);
  assert.match(runtime, /^EXPOSE 8000 /m);
  const serve = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.serve!;
  const cmd = JSON.parse(/^CMD (.*)$/m.exec(runtime)![1]!) as string[];
  assert.equal(cmd.join(' '), serve, 'CMD is npm run serve, run directly');
  assert.ok(read('docker-compose.yml').includes('stop_grace_period'), 'compose gives SIGTERM time to drain');
});

test('docker-compose.nodes.yml: two nodes of the one image on one PostgreSQL and one Redis, a shared secret, their own ports and ids', () => {
  const compose = read('docker-compose.nodes.yml');
  const services = [...compose.slice(0, compose.indexOf('\nvolumes:')).matchAll(/^  ([a-z0-9-]+):/gm)].map((m) => m[1]);
  assert.deepEqual(services, ['postgres', 'redis', 'astral-a', 'astral-b']);
  assert.match(compose, /image: postgres:15-bookworm/);
  assert.match(compose, /image: redis:7-bookworm/);
  assert.match(compose, /ASTRAL_DATABASE_URL: postgres:\/\/astral:\S+@127\.0\.0\.1:5432\/astral\n/);
  assert.match(compose, /ASTRAL_REDIS_URL: redis:\/\/127\.0\.0\.1:6379\n/);
  assert.match(compose, /ASTRAL_SECRET_KEY: \$\{ASTRAL_SECRET_KEY:\?/, 'the shared secret is required, not generated per node');
  // astral-b is astral-a (same image, environment) with its own port, node id, RTC range and data volume.
  const b = compose.slice(compose.indexOf('  astral-b:'));
  assert.match(b, /<<: \*node/);
  assert.match(b, /<<: \*env/);
  const pick = (text: string, name: string) => new RegExp(`${name}: (\\S+)`).exec(text)![1];
  const a = compose.slice(compose.indexOf('  astral-a:'), compose.indexOf('  astral-b:'));
  for (const name of ['PORT', 'ASTRAL_NODE_ID', 'ASTRAL_RTC_MIN_PORT']) assert.notEqual(pick(a, name), pick(b, name), `${name} differs`);
  assert.ok(Number(pick(a, 'ASTRAL_RTC_MAX_PORT')) < Number(pick(b, 'ASTRAL_RTC_MIN_PORT')), 'RTC port ranges do not overlap');
  assert.notEqual(/- (astral-[ab]-data):\/data/.exec(a)![1], /- (astral-[ab]-data):\/data/.exec(b)![1]);
  assert.match(a, /stop_grace_period/);
});
