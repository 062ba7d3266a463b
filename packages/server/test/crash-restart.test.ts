// A server SIGKILLed mid-call: at the next start the call is closed `server_restart`, keeping the time talked up to its last heartbeat.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import type { Socket } from 'socket.io-client';
import { ackRequest, ADMIN_KEY, api, startTestServer, widgetSocket, type TestServer } from './helpers.js';

const HEARTBEAT_SECONDS = 1;

/** A test server in a child process (so it can be SIGKILLed), on `dataDir`. */
async function startChild(dataDir: string) {
  const script = `const { startTestServer } = await import(${JSON.stringify(new URL('./helpers.ts', import.meta.url).href)});
    const t = await startTestServer({ ASTRAL_CALL_HEARTBEAT: '${HEARTBEAT_SECONDS}' }, ${JSON.stringify(dataDir)});
    process.stdout.write(t.url + '\\n');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, server: { url: line.toString().trim() } as TestServer };
}

test('an answered call cut by SIGKILL is stored ANSWERED, server_restart, with its talk time up to the last heartbeat', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'astral-crash-test-'));
  const sockets: Socket[] = [];
  try {
    const { child, server } = await startChild(dataDir);
    const alice = await widgetSocket(server, 'crash-alice', { extension: '5001' });
    const bob = await widgetSocket(server, 'crash-bob', { extension: '5002' });
    sockets.push(alice, bob);
    const { data } = await ackRequest(alice, 'call:dial', { destination: '5002' });
    const callId = data!.callId!;
    assert.equal((await ackRequest(bob, 'call:answer', { callId })).ok, true);

    // Wait (by polling the record, no timer assertion) until a heartbeat lands two intervals after the answer.
    const db = new SqliteDatabase(join(dataDir, 'astral.db'), { readonly: true });
    let seen: { answered_at: string | null; last_seen_at: string | null } | undefined;
    const answeredFor = () => (seen?.answered_at && seen.last_seen_at ? Date.parse(seen.last_seen_at) - Date.parse(seen.answered_at) : 0);
    while (answeredFor() < 2 * HEARTBEAT_SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 100));
      seen = db.prepare('SELECT answered_at, last_seen_at FROM calls WHERE id = ?').get(callId) as typeof seen;
    }
    db.close();
    child.kill('SIGKILL');
    await once(child, 'exit');
    for (const s of sockets) s.disconnect();

    const t = await startTestServer({}, dataDir);
    try {
      const { status, body } = await api(t, 'GET', `/api/v1/calls/${callId}`, { key: ADMIN_KEY });
      assert.equal(status, 200);
      assert.deepEqual([body.status, body.disposition, body.end_reason, body.answered_at], ['completed', 'ANSWERED', 'server_restart', seen!.answered_at]);
      assert.ok(Date.parse(body.ended_at as string) >= Date.parse(seen!.last_seen_at!), `ends at its last heartbeat or later: ${body.ended_at}`);
      const talked = Math.round((Date.parse(body.ended_at as string) - Date.parse(seen!.answered_at!)) / 1000);
      assert.equal(body.talk_time, talked, 'talk time runs from the answer to the last heartbeat');
      assert.ok((body.talk_time as number) >= 2 * HEARTBEAT_SECONDS, `talk_time ${body.talk_time}`);
      assert.ok((body.duration as number) >= (body.talk_time as number), `duration ${body.duration} >= talk_time`);
    } finally {
      await t.close();
    }
  } finally {
    for (const s of sockets) s.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('calls left open without a heartbeat end at their answer (ANSWERED) or start (FAILED)', async () => {
  const t = await startTestServer();
  const { store, instanceId } = t.server;
  try {
    const dial = (id: string, startedAt: string) =>
      store.calls.insert({ id, instanceId, fromUserId: '1', toUserId: '2', fromNumber: '1001', toNumber: '1002', direction: 'internal', startedAt: new Date(startedAt) });
    await dial('6100000000000000001', '2025-04-13T10:00:00.000Z');
    await store.calls.markAnswered('6100000000000000001', new Date('2025-04-13T10:00:07.000Z'));
    await dial('6100000000000000002', '2025-04-13T11:00:00.000Z');
    await dial('6100000000000000003', '2025-04-13T12:00:00.000Z');
    await store.calls.heartbeat(['6100000000000000003'], new Date('2025-04-13T12:00:09.400Z'));
    assert.equal(await store.calls.closeDangling(), 3);
    const record = async (id: string) => {
      const r = (await store.calls.get(instanceId, id))!;
      return [r.disposition, r.end_reason, r.ended_at, r.duration, r.talk_time];
    };
    assert.deepEqual(await record('6100000000000000001'), ['ANSWERED', 'server_restart', '2025-04-13T10:00:07.000Z', 7, 0]);
    assert.deepEqual(await record('6100000000000000002'), ['FAILED', 'server_restart', '2025-04-13T11:00:00.000Z', 0, 0]);
    assert.deepEqual(await record('6100000000000000003'), ['FAILED', 'server_restart', '2025-04-13T12:00:09.400Z', 9, 0], 'a ringing call lived until its heartbeat');
    assert.equal(await store.calls.closeDangling(), 0, 'ended calls stay as they are');
  } finally {
    await t.close();
  }
});
