// Dial races: a caller who drops while its call is still being stored ends the call, the record says so, and nobody rings.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_KEY, api, startTestServer, widgetSocket, type TestServer } from './helpers.js';

let t: TestServer;
before(async () => (t = await startTestServer()));
after(() => t.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the caller drops while the dial is being stored: the call ends NO ANSWER on record and the callee never rings', async () => {
  const callee = await widgetSocket(t, 'race-callee', { extension: '4102' });
  let rang = false;
  callee.on('call:incoming', () => (rang = true));
  const caller = await widgetSocket(t, 'race-caller', { extension: '4101' });

  // Storing the dial takes a while (a busy database): the caller's connection drops meanwhile.
  const calls = t.server.store.calls;
  const insert = calls.insert.bind(calls);
  let inserted: (() => void) | null = null;
  const insertDone = new Promise<void>((resolve) => (inserted = resolve));
  calls.insert = async (call) => {
    caller.disconnect();
    await sleep(300);
    await insert(call);
    inserted!();
  };
  try {
    caller.emit('call:dial', { destination: '4102' }, () => undefined);
    await insertDone;
  } finally {
    calls.insert = insert;
  }
  await sleep(300);

  const history = await api(t, 'GET', '/api/v1/calls?from=4101', { key: ADMIN_KEY });
  const rows = history.body.data as { id: string; status: string }[];
  assert.equal(rows.length, 1, JSON.stringify(history.body));
  const record = await api(t, 'GET', `/api/v1/calls/${rows[0]!.id}`, { key: ADMIN_KEY });
  assert.equal(record.body.status, 'completed', `the record is closed, not left ringing: ${JSON.stringify(record.body)}`);
  assert.equal(record.body.disposition, 'NO ANSWER');
  assert.equal(rang, false, 'nobody rings for a call whose caller is gone');
  callee.disconnect();
});
