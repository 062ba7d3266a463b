// Inbound admission by source address when several trunks share it (a carrier such as Twilio sends every instance's
// calls from the same signalling addresses): the trunk whose instance serves the dialled number wins, else the first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SecretBox } from '../src/auth/secret-box.js';
import type { Store } from '../src/store/index.js';
import type { Trunk } from '../src/store/trunks.js';
import { TrunkDirectory } from '../src/sip/trunk-directory.js';
import type { InboundInvite } from '../src/sip/types.js';
import type { SipUserAgent } from '../src/sip/user-agent.js';
import { captureLogger } from './sip-helpers.js';

const trunk = (id: string, instanceId: string, allowedIps: string[]) => ({ id, instanceId, name: 'twilio', host: 'example.pstn.twilio.com', allowedIps, username: 'astral0123456789abcdef', hasPassword: true }) as unknown as Trunk;

test('of two trunks admitting the same address, the one serving the call is chosen; a lone match needs no lookup', async () => {
  const trunks = [trunk('t1', 'instance-1', ['127.0.0.0/8']), trunk('t2', 'instance-2', ['127.0.0.1']), trunk('t3', 'instance-3', ['10.0.0.0/8'])];
  const store = { trunks: { listAll: async () => trunks, withSecret: async (id: string) => trunks.find((t) => t.id === id) } } as unknown as Store;
  const directory = new TrunkDirectory({ store, secrets: {} as SecretBox, ua: {} as SipUserAgent, log: captureLogger() });
  const rejected: number[] = [];
  const invite = (address: string) => ({ source: { address }, reject: (code: number) => rejected.push(code) }) as unknown as InboundInvite;
  const asked: string[] = [];
  const serves = (instanceId: string) => async (t: Trunk) => (asked.push(t.id), t.instanceId === instanceId);
  assert.equal((await directory.admit(invite('127.0.0.1'), serves('instance-2')))?.id, 't2');
  assert.equal((await directory.admit(invite('127.0.0.1'), serves('nobody')))?.id, 't1', 'none serves it: the first (its 404 follows)');
  asked.length = 0;
  assert.equal((await directory.admit(invite('10.1.2.3'), serves('nobody')))?.id, 't3');
  assert.deepEqual(asked, [], 'a single match is admitted without asking');
  assert.deepEqual(rejected, []);
});
