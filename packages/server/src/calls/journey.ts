// Journeys: each step of a call (dial, bridge, hold, transfer, DTMF, hangup) with time, parties, duration and status.
import type { PartyInfo } from '@astral/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/index.js';
import type { StepRow } from '../store/journeys.js';
import { KeyedQueue } from '../util/keyed-queue.js';
import type { Call } from './call.js';

const seconds = (from: string, to: Date) => Math.max(0, Math.round((to.getTime() - Date.parse(from)) / 1000));

export class Journeys {
  /** The open (last) step of each live call, whose duration runs until the next step. */
  private readonly last = new Map<string, StepRow>();
  /** Writes per call run in order. */
  private readonly writes = new KeyedQueue();

  constructor(
    private readonly store: Store,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Live calls with an open journey or writes still queued. */
  get open(): number {
    return new Set([...this.last.keys(), ...this.writes.keys()]).size;
  }

  step(call: Call, action: string, from: string, to: string, status: string): void {
    if (call.state === 'ended') return; // too late (an await outlived the call): finish() closed its journey
    this.append(call, action, from, to, status);
  }

  private append(call: Call, action: string, from: string, to: string, status: string): void {
    const now = new Date();
    const previous = this.last.get(call.id);
    const row: StepRow = { id: this.store.ids.next(), call_id: call.id, time: now.toISOString(), action, from_number: from, to_number: to, duration: 0, status };
    this.last.set(call.id, row);
    this.write(call.id, async () => {
      if (previous) await this.store.journeys.setDuration(previous.id, seconds(previous.time, now));
      await this.store.journeys.append(row);
    });
  }

  /** A join: a channel Join, a direct call's Bridged (with whoever was waiting), or a first-leg Answer. */
  joined(call: Call, who: PartyInfo, sessionId: string, wasRung: boolean): void {
    const number = who.extension ?? who.identity;
    if (call.kind === 'channel') return this.step(call, 'Join', number, call.toNumber, 'joined');
    if (!wasRung) return;
    const peer = call.joined.get(call.peersOf(sessionId)[0] ?? '')?.party;
    if (!peer) return this.step(call, 'Answer', number, call.toNumber, 'waiting');
    this.step(call, 'Bridged', peer.extension ?? peer.identity, number, 'answered');
  }

  /** The call ended: a final Hangup step closes the journey. */
  finish(call: Call, from: string, status: string): void {
    this.append(call, 'Hangup', from, call.toNumber, status);
    this.last.delete(call.id);
  }

  /** Steps so far, the live call's last step timed up to now. */
  async steps(callId: string): Promise<StepRow[]> {
    await this.writes.settled(callId);
    const rows = await this.store.journeys.steps(callId);
    const open = this.last.get(callId);
    return rows.map((r) => (open && r.id === open.id ? { ...r, duration: seconds(r.time, new Date()) } : r));
  }

  private write(callId: string, op: () => Promise<void>): void {
    this.writes.run(callId, op).catch((err: unknown) => this.log.error({ err }, 'could not record a journey step'));
  }
}
