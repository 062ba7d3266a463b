// The capacity load generator against a real server: 20 concurrent 1:1 calls from werift parties (widget tokens,
// Astral's signalling, ICE/DTLS/SRTP on the workers' WebRtcServer ports); every call carries audio both ways.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LoadClient } from '../../bench/capacity/load-client.js';
import { mintToken, startServer, type RunningServer } from '../helpers/server.js';

const CALLS = 20;
let server: RunningServer;
let client: LoadClient | undefined;

before(async () => (server = await startServer()));
after(async () => {
  client?.close();
  await server.stop();
});

test(`${CALLS} concurrent calls from the load generator: all set up, each side receives packets and the other's tone`, { timeout: 120_000 }, async () => {
  const specs = [];
  for (let i = 0; i < CALLS; i++) {
    specs.push({ caller: await mintToken(server, `smoke-${i}-a`), callee: await mintToken(server, `smoke-${i}-b`), calleeIdentity: `smoke-${i}-b` });
  }
  client = new LoadClient(server.url, 'astral');
  const results = await client.add(specs, 5);
  assert.deepEqual(results.filter((r) => r.error).map((r) => r.error), [], 'no call failed to set up');
  // Each receiver collects more than the tone check's window of packets (the test's timeout bounds the wait).
  while (!client.counters().every((c) => c.received > 50)) await new Promise((r) => setTimeout(r, 100));
  const tones = client.tones();
  assert.equal(tones.length, CALLS);
  tones.forEach((t, i) => {
    assert.ok(t.packets[0] > 50 && t.packets[1] > 50, `call ${i}: packets both ways (${t.packets.join(' / ')})`);
    assert.ok(t.caller, `call ${i}: the caller hears the callee's 1000 Hz tone`);
    assert.ok(t.callee, `call ${i}: the callee hears the caller's 440 Hz tone`);
  });
});
