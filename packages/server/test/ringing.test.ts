// The one ring operation: outcomes for answer, decline, busy, absence, timeout, abort and call end; and how SIP answers map.
import type { EndReason, PartyInfo } from '@astral/protocol';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Call } from '../src/calls/call.js';
import { DECLINED, dispositionOf, Ringer, type RingTarget } from '../src/calls/ringing.js';
import { SessionRegistry } from '../src/calls/sessions.js';
import { refusalOf, rejectStatusOf } from '../src/sip/responses.js';

const party = (userId: string): PartyInfo => ({ userId, identity: userId, displayName: userId, extension: null });

function setup(busy: string[] = []) {
  const sessions = new SessionRegistry();
  for (const [sid, user] of [['s1', 'u1'], ['s1b', 'u1'], ['s2', 'u2'], ['s3', 'u3']] as const) {
    sessions.add({ id: sid, principal: { kind: 'user', instanceId: 'i', party: party(user) }, dnd: false });
  }
  const alerted: string[] = [];
  const stopped: [string, EndReason][] = [];
  const call = new Call('c1', 'i', 'direct', party('caller'), null, party('u1'), null, 'local', new Date());
  const target: RingTarget = {
    alert: (c, sessionId, p) => {
      alerted.push(sessionId);
      c.ringing.set(sessionId, p);
    },
    stopAlerting: (c, userId, reason) => {
      c.stopRinging(userId);
      stopped.push([userId, reason]);
    },
    isBusy: (userId) => busy.includes(userId),
  };
  return { ringer: new Ringer(sessions, target), call, alerted, stopped };
}

/** What call control does when a rung session answers / refuses. */
const answer = (s: ReturnType<typeof setup>, sessionId: string) => {
  const p = s.call.ringing.get(sessionId)!;
  s.call.join(sessionId, p, new Date());
  s.ringer.answered(s.call, sessionId);
};
const refuse = (s: ReturnType<typeof setup>, sessionId: string) => {
  const userId = s.call.ringing.get(sessionId)!.userId;
  s.call.stopRinging(userId);
  s.ringer.refused(s.call, userId, DECLINED);
};

describe('Ringer', () => {
  test('rings every session of every party; the first answer wins and the others stop as answered elsewhere', async () => {
    const s = setup();
    const ringing = s.ringer.ring(s.call, [party('u1'), party('u2')], { timeoutMs: 5000 });
    assert.deepEqual(s.alerted, ['s1', 's1b', 's2']);
    answer(s, 's2');
    const outcome = await ringing;
    assert.equal(outcome.result, 'answered');
    assert.equal(outcome.sessionId, 's2');
    assert.deepEqual(s.stopped, [['u1', 'answered_elsewhere']]);
    assert.equal(s.ringer.ringing(s.call), false);
  });

  test('one declining party does not end a ring-all; the last one does, as declined (BUSY)', async () => {
    const s = setup();
    const ringing = s.ringer.ring(s.call, [party('u1'), party('u2')], { timeoutMs: 5000 });
    refuse(s, 's2');
    assert.equal(s.ringer.ringing(s.call), true, 'u1 still rings');
    refuse(s, 's1');
    const outcome = await ringing;
    assert.deepEqual(outcome, { result: 'declined', reason: 'declined' });
    assert.equal(dispositionOf(outcome), 'BUSY');
  });

  test('nobody reachable: busy when a party is in a call, else failed (unavailable) — settled after the current turn', async () => {
    const busy = setup(['u1']);
    let settled = false;
    const ringing = busy.ringer.ring(busy.call, [party('u1')], { timeoutMs: 5000 }).then((o) => ((settled = true), o));
    await Promise.resolve();
    assert.equal(settled, false, 'the caller gets its dial ack before the outcome');
    assert.deepEqual(await ringing, { result: 'busy', reason: 'busy' });
    const absent = setup();
    assert.deepEqual(await absent.ringer.ring(absent.call, [party('nobody')], { timeoutMs: 5000 }), { result: 'failed', reason: 'unavailable' });
  });

  test('the timeout settles as no-answer and stops the ringing; an abort as cancelled', async () => {
    const s = setup();
    const outcome = await s.ringer.ring(s.call, [party('u3')], { timeoutMs: 30 });
    assert.deepEqual(outcome, { result: 'no-answer', reason: 'timeout' });
    assert.deepEqual(s.stopped, [['u3', 'timeout']]);
    assert.equal(dispositionOf(outcome), 'NO ANSWER');
    const abort = new AbortController();
    const ringing = s.ringer.ring(s.call, [party('u3')], { timeoutMs: 5000, signal: abort.signal });
    abort.abort();
    assert.deepEqual(await ringing, { result: 'cancelled', reason: 'cancelled' });
  });

  test('rings of different users of one call settle on their own (channel calls); cancel and call end settle them', async () => {
    const s = setup();
    const a = s.ringer.ring(s.call, [party('u1')], { timeoutMs: 5000 });
    const b = s.ringer.ring(s.call, [party('u2')], { timeoutMs: 5000 });
    s.ringer.cancel(s.call, ['u1']);
    assert.equal((await a).result, 'cancelled');
    assert.equal(s.ringer.ringing(s.call), true);
    s.call.end();
    s.ringer.callEnded(s.call);
    assert.equal((await b).result, 'cancelled');
  });
});

describe('SIP answers and call outcomes', () => {
  test("a carrier's final response becomes a refusal with the right disposition", () => {
    const cases: [number, string, string][] = [
      [486, 'BUSY', 'busy'],
      [600, 'BUSY', 'busy'],
      [603, 'BUSY', 'declined'],
      [408, 'NO ANSWER', 'sip_408'],
      [480, 'NO ANSWER', 'sip_480'],
      [487, 'NO ANSWER', 'sip_487'],
      [404, 'FAILED', 'sip_404'],
      [503, 'FAILED', 'sip_503'],
    ];
    for (const [status, disposition, reason] of cases) {
      const refusal = refusalOf(status);
      assert.equal(dispositionOf(refusal), disposition, String(status));
      assert.equal(refusal.reason, reason, String(status));
    }
  });

  test('an unanswered inbound call ending a given way answers the carrier with the matching final response', () => {
    assert.equal(rejectStatusOf('BUSY', 'busy'), 486);
    assert.equal(rejectStatusOf('BUSY', 'declined'), 486);
    assert.equal(rejectStatusOf('NO ANSWER', 'timeout'), 480);
    assert.equal(rejectStatusOf('NO ANSWER', 'cancelled'), 487);
    assert.equal(rejectStatusOf('FAILED', 'unavailable'), 480);
    assert.equal(rejectStatusOf('FAILED', 'media_failed'), 488);
    assert.equal(rejectStatusOf('FAILED', 'sip_503'), 503);
  });
});
