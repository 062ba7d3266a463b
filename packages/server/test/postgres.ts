// Databases for tests and benchmarks on both dialects: a throwaway PostgreSQL cluster per process and a fresh database on it.
//
// ASTRAL_TEST_DATABASE_URL (a server whose user may CREATE DATABASE) is used when given; otherwise the first call
// starts a cluster from Debian's postgresql package (initdb + pg_ctl, as the `postgres` user when running as root:
// PostgreSQL refuses root) in a temp dir, on a free port, with its socket in that dir; it stops when the process exits.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const DIALECTS = ['sqlite', 'postgres'] as const;
export type TestDialect = (typeof DIALECTS)[number];

const PG_ROOT = '/usr/lib/postgresql';

let server: Promise<string> | undefined;

/** The URL of a PostgreSQL server for this process (its maintenance database `postgres`). */
export function postgresServerUrl(): Promise<string> {
  return (server ??= process.env.ASTRAL_TEST_DATABASE_URL ? Promise.resolve(process.env.ASTRAL_TEST_DATABASE_URL) : startCluster());
}

/** A new, empty database on the process's server: its URL. */
export async function freshPostgresDatabase(): Promise<string> {
  const url = new URL(await postgresServerUrl());
  const name = `astral_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    // C collation: text sorts byte-wise, as on SQLite.
    await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  return url.toString();
}

/** The server environment for a fresh database of `dialect`: nothing for SQLite (the data dir's file), else ASTRAL_DATABASE_URL. */
export async function databaseEnv(dialect: TestDialect): Promise<Record<string, string>> {
  return dialect === 'postgres' ? { ASTRAL_DATABASE_URL: await freshPostgresDatabase() } : {};
}

function binDir(): string {
  const versions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no PostgreSQL server under ${PG_ROOT}: apt-get install postgresql-15 (or set ASTRAL_TEST_DATABASE_URL)`);
  return join(PG_ROOT, newest, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function startCluster(): Promise<string> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'astral-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = userIds('postgres');
    chownSync(dir, uid, gid);
  }
  // As the postgres user when root; the cluster's superuser is `postgres` either way.
  const run = (tool: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { stdio: 'pipe' }) : execFileSync(join(bin, tool), args, { stdio: 'pipe' });
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C']);
  const port = await freePort();
  // Throwaway data: no fsync (tests and benchmarks measure queries, not the disk). A database server's usual share of
  // memory for its cache (taken only as it fills), so the benchmark's million calls stay cached as SQLite's mmap keeps them.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=1GB`;
  run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', 'start']);
  const stop = () => {
    const args = [join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop'];
    spawnSync(asRoot ? 'runuser' : args[0]!, asRoot ? ['-u', 'postgres', '--', ...args] : args.slice(1), { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  // A signal skips 'exit': stop the cluster, then die of the signal as before.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.off('exit', stop);
      stop();
      process.kill(process.pid, signal);
    });
  }
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

function userIds(name: string): { uid: number; gid: number } {
  return { uid: Number(execFileSync('id', ['-u', name])), gid: Number(execFileSync('id', ['-g', name])) };
}
