// Trunk test helpers: a stage whose server speaks SIP on a free port, and the admin calls a test makes (trunks, numbers, records).
import assert from 'node:assert/strict';
import { afterEach } from 'node:test';
import { captureRtp, type RtpCapture } from './rtp-capture.js';
import { freeSipPort, type RunningSipp } from './sipp.js';
import type { RunningServer } from './server.js';
import { closeStageAfter, startStage, type Stage, type StageOptions } from './stage.js';

export interface TrunkStage extends Stage {
  sipPort: number;
}

/** A stage whose server speaks SIP on `sipPort` (a free port unless the test needs to know it before the server starts). */
export async function startTrunkStage({ sipPort, ...options }: StageOptions & { sipPort?: number }): Promise<TrunkStage> {
  sipPort ??= await freeSipPort();
  const stage = await startStage({ ...options, env: { ASTRAL_SIP_PORT: String(sipPort), ...options.env } });
  return Object.assign(stage, { sipPort });
}

const captures: RtpCapture[] = [];

/** Records what reaches a carrier's media port; stopped by the suite hooks too, should the test fail before it does. */
export async function captureAtCarrier(mediaPort: number): Promise<RtpCapture> {
  const capture = await captureRtp({ port: mediaPort });
  captures.push(capture);
  return capture;
}

/** The hooks of a trunk e2e suite: phones, SIPp peers and captures gone after each test, then closeStageAfter. */
export function trunkSuiteHooks(stage: () => TrunkStage | undefined, sipps: RunningSipp[], closeFakes?: () => unknown): void {
  afterEach(async () => {
    await stage()?.closePhones();
    await Promise.all(sipps.splice(0).map((s) => s.stop()));
    await Promise.all(captures.splice(0).map((c) => c.stop().catch(() => undefined)));
  });
  closeStageAfter(stage, closeFakes);
}

export async function api(server: RunningServer, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'x-api-key': server.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Replaces every trunk and number of the instance with these (each test sets up the carrier it plays). */
export async function configureTrunk(server: RunningServer, trunk: Record<string, unknown>, numbers: Record<string, unknown>[] = []): Promise<string> {
  for (const n of (await api(server, 'GET', '/api/v1/numbers')).body as { number: string }[]) await api(server, 'DELETE', `/api/v1/numbers/${encodeURIComponent(n.number)}`);
  for (const t of (await api(server, 'GET', '/api/v1/trunks')).body as { id: string }[]) await api(server, 'DELETE', `/api/v1/trunks/${t.id}`);
  const created = await api(server, 'POST', '/api/v1/trunks', { default: true, ...trunk });
  if (created.status !== 201) throw new Error(`trunk: ${created.status} ${JSON.stringify(created.body)}`);
  for (const n of numbers) {
    const res = await api(server, 'POST', '/api/v1/numbers', { trunk_id: created.body.id, ...n });
    if (res.status !== 201) throw new Error(`number: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return created.body.id as string;
}

/** Waits (up to 5 s) until `server` reports the trunk's status (its OPTIONS ping or registration) as `status`. */
export async function trunkStatusIs(server: RunningServer, id: string, status: string): Promise<void> {
  let seen = '';
  for (let i = 0; i < 50 && seen !== status; i++) {
    seen = (await api(server, 'GET', `/api/v1/trunks/${id}`)).body.status as string;
    if (seen !== status) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(seen, status, `the trunk status ${server.url} reports`);
}

export interface HistoryRow {
  id: string;
  from_number: string;
  to_number: string;
  direction: string;
  status: string;
  duration: number;
  talk_time: number;
  recording_url: string | null;
}

/** The newest call record, once it has ended (records are written as the call ends). */
export async function lastEndedCall(server: RunningServer): Promise<HistoryRow & { record: Record<string, unknown> }> {
  for (let i = 0; i < 50; i++) {
    const [row] = (await api(server, 'GET', '/api/v1/calls?limit=1')).body.data as HistoryRow[];
    if (row && !['RINGING', 'IN PROGRESS'].includes(row.status)) {
      const record = (await api(server, 'GET', `/api/v1/calls/${row.id}`)).body as Record<string, unknown>;
      if (record.ended_at) return { ...row, record };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no ended call in the history');
}
