// SIP trunk bench section: trunk call setup (widget dials a number → INVITE at SIPp; SIPp's 200 OK → first audio at the widget) and load.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../test/helpers/browser.js';
import { PhonePage } from '../test/helpers/phone.js';
import { mintToken, startServer, type RunningServer } from '../test/helpers/server.js';
import { startSite } from '../test/helpers/site.js';
import { freeSipPort, startSipp, type SipMessage } from '../test/helpers/sipp.js';
import { toneFile } from '../test/helpers/tone.js';
import { configureTrunk } from '../test/helpers/trunks.js';
import { runBaseline } from './calls.js';
import { machine } from './proc-stats.js';
import { armMedia, dial, POLL_MS, preparePage, stopPolling, waitMedia } from './probes.js';
import { runSipLoad } from './sip-load.js';
import { latencyRow, percentile, row } from './stats.js';

const CALLS = Math.max(1, Number.parseInt(process.env.BENCH_SIP_CALLS ?? '', 10) || 20);
const STEP_TIMEOUT_MS = 10_000;
const TRUNK_USER = 'astral';
const TRUNK_PASS = 's3cret-pw';
/** Call 0 is the server's first trunk call (reported on its own), 1..CALLS the measured ones. */
const numberOf = (i: number) => `+1555010${String(i).padStart(4, '0')}`;

type Closer = { close(): Promise<void> };

/** SIPp's -trace_msg timestamps ("2026-12-01 09:14:02.727325", local time, µs) as epoch ms. */
export function sippTime(time: string): number {
  const [date, clock = ''] = time.trim().split(/\s+/);
  const [hms, frac = '0'] = clock.split('.');
  return Date.parse(`${date}T${hms}`) + Number(`0.${frac}`) * 1000;
}

/** What one call's dialog looked like at SIPp (epoch ms). */
interface CarrierSide {
  invite?: number;
  authInvite?: number;
  ok?: number;
  ack?: number;
}

/** Per dialled number: when SIPp received the first and the authenticated INVITE, sent the 200 OK and got the ACK. */
function carrierSides(messages: SipMessage[]): Map<string, CarrierSide> {
  const byCallId = new Map<string, CarrierSide>();
  const numberOf = new Map<string, string>();
  for (const m of messages) {
    const at = sippTime(m.time);
    if (m.direction === 'received' && m.method === 'INVITE') {
      const number = /^INVITE sip:([^@;]+)@/.exec(m.firstLine)?.[1];
      if (number) numberOf.set(m.callId, number);
    }
    const side = byCallId.get(m.callId) ?? {};
    byCallId.set(m.callId, side);
    if (m.direction === 'received' && m.method === 'INVITE') {
      side.invite ??= at;
      if (m.header('authorization')) side.authInvite ??= at;
    }
    if (m.direction === 'sent' && m.status === 200 && m.cseq.method === 'INVITE') side.ok ??= at;
    if (m.direction === 'received' && m.method === 'ACK' && side.ok !== undefined) side.ack ??= at;
  }
  const out = new Map<string, CarrierSide>();
  for (const [callId, number] of numberOf) out.set(number, byCallId.get(callId)!);
  return out;
}

interface SetupSamples {
  /** The first trunk call of the server process (cold paths: the relay's first leg, first SDP): call() → INVITE, → first frame. */
  first: { invite?: number; frame?: number };
  baseline: number[];
  ok: number[];
  ring: number[];
  invite: number[];
  authInvite: number[];
  okToAck: number[];
  okToFrame: number[];
  ackToFrame: number[];
  dialToFrame: number[];
  /** Click-to-call external: the widget (`from`) answers → the INVITE reaches the carrier. */
  clickAnswerToInvite: number[];
  failures: string[];
}

/** Opens what the setup rows need (closed again before the load rows, which would compete with it for the CPU). */
async function runSetup(out: (line?: string) => void, register: (c: Closer) => void): Promise<SetupSamples> {
  const opened: Closer[] = [];
  const keep = (c: Closer) => void opened.push(c);
  const closeOpened = async () => {
    for (const c of opened.splice(0).reverse()) await c.close().catch(() => undefined);
  };
  register({ close: closeOpened });
  try {
    return await measureSetup(out, keep);
  } finally {
    await closeOpened();
  }
}

async function measureSetup(out: (line?: string) => void, keep: (c: Closer) => void): Promise<SetupSamples> {
  const sipPort = await freeSipPort();
  const server: RunningServer = await startServer({ ASTRAL_WORKERS: '2', ASTRAL_SIP_PORT: String(sipPort), ASTRAL_RING_TIMEOUT: '30' });
  keep({ close: () => server.stop() });
  const site = await startSite(server.url);
  keep(site);
  const browser: Browser = await launchBrowser(toneFile(join(tmpdir(), 'astral-fixtures'), 440));
  keep({ close: () => browser.close() });
  const sipp = await startSipp({ scenario: 'uas-auth-answer-pcap.xml', vars: { user: TRUNK_USER, pass: TRUNK_PASS }, calls: 2 * CALLS + 1, timeoutS: 200 });
  keep({ close: async () => void (await sipp.stop()) });
  await configureTrunk(server, { name: 'carrier', host: '127.0.0.1', port: sipp.port, username: TRUNK_USER, password: TRUNK_PASS, allowed_ips: ['127.0.0.1/32'] });
  const phone = await PhonePage.open(browser, site.url, server.url, await mintToken(server, 'agent', { display_name: 'Agent', extension: '1001' }));
  keep({ close: () => phone.close() });
  await phone.waitState('ready', 15_000);
  await preparePage(phone.page);
  out(`  Chromium ${browser.version()} (headless), one widget (440 Hz mic); server ${server.url} (child process, ASTRAL_WORKERS=2), SIP on UDP ${sipPort}`);

  const s: SetupSamples = {
    first: {},
    baseline: [],
    ok: [],
    ring: [],
    invite: [],
    authInvite: [],
    okToAck: [],
    okToFrame: [],
    ackToFrame: [],
    dialToFrame: [],
    clickAnswerToInvite: [],
    failures: [],
  };
  const base = await runBaseline(phone, CALLS);
  s.baseline.push(...base.samples);
  s.failures.push(...base.failures);

  const widgetSide = new Map<string, { wall0: number; frame?: number }>();
  for (let i = 0; i <= CALLS; i++) {
    const number = numberOf(i);
    try {
      await armMedia(phone.page, STEP_TIMEOUT_MS);
      const d = await dial(phone.page, number, STEP_TIMEOUT_MS);
      if (d.error) throw new Error(d.error);
      if (d.ringMs !== null && i > 0) s.ring.push(d.ringMs);
      const marks = await waitMedia(phone.page, STEP_TIMEOUT_MS);
      await stopPolling(phone.page);
      widgetSide.set(number, { wall0: d.wall0, frame: marks.frame?.wall });
      if (!marks.frame) s.failures.push(`call ${i}: no inbound audio frame within ${STEP_TIMEOUT_MS} ms`);
      await phone.invoke('hangup');
      await phone.waitState('ready', STEP_TIMEOUT_MS);
    } catch (err) {
      s.failures.push(`call ${i}: ${String((err as Error).message ?? err).split('\n')[0]}`);
      await stopPolling(phone.page).catch(() => undefined);
      await phone.invoke('hangup').catch(() => undefined);
      await phone.waitState('ready', STEP_TIMEOUT_MS).catch(() => undefined);
    }
  }
  // Click-to-call external (seed 002): the API rings the widget first; its answer sends the INVITE to the trunk.
  const answeredAt = new Map<string, number>();
  for (let i = 0; i < CALLS; i++) {
    const number = numberOf(1000 + i);
    try {
      const res = await fetch(`${server.url}/api/v1/calls/click-to-call`, {
        method: 'POST',
        headers: { 'x-api-key': server.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ from: '1001', to: number, to_type: 'external' }),
      });
      if (res.status !== 200) throw new Error(`click-to-call answered ${res.status}`);
      await phone.waitState('incoming', STEP_TIMEOUT_MS);
      answeredAt.set(number, await phone.page.evaluate(() => {
        const at = Date.now();
        void (document.getElementById('phone') as unknown as { answer(): Promise<void> }).answer();
        return at;
      }));
      await phone.waitState('in-call', STEP_TIMEOUT_MS);
      await new Promise((r) => setTimeout(r, 400)); // the carrier answers after 300 ms of ringing
      await phone.invoke('hangup');
      await phone.waitState('ready', STEP_TIMEOUT_MS);
    } catch (err) {
      s.failures.push(`click-to-call ${i}: ${String((err as Error).message ?? err).split('\n')[0]}`);
      await phone.invoke('hangup').catch(() => undefined);
      await phone.waitState('ready', STEP_TIMEOUT_MS).catch(() => undefined);
    }
  }
  const result = await sipp.stop();
  const carrier = carrierSides(result.messages);
  for (const [number, at] of answeredAt) {
    const invite = carrier.get(number)?.invite;
    if (invite === undefined) s.failures.push(`${number}: SIPp logged no INVITE for the click-to-call`);
    else s.clickAnswerToInvite.push(invite - at);
  }
  for (const [number, w] of widgetSide) {
    const c = carrier.get(number);
    if (!c?.invite) {
      s.failures.push(`${number}: SIPp logged no INVITE`);
      continue;
    }
    if (number === numberOf(0)) {
      s.first = { invite: c.invite - w.wall0, frame: w.frame === undefined ? undefined : w.frame - w.wall0 };
      continue;
    }
    if (c.ok !== undefined) s.ok.push(c.ok - w.wall0);
    s.invite.push(c.invite - w.wall0);
    if (c.authInvite !== undefined) s.authInvite.push(c.authInvite - w.wall0);
    if (c.ok !== undefined && c.ack !== undefined) s.okToAck.push(c.ack - c.ok);
    if (w.frame !== undefined && c.ok !== undefined) s.okToFrame.push(w.frame - c.ok);
    if (w.frame !== undefined && c.ack !== undefined) s.ackToFrame.push(w.frame - c.ack);
    if (w.frame !== undefined) s.dialToFrame.push(w.frame - w.wall0);
  }
  return s;
}

/** The SIP section of `npm run bench`. */
export async function runSipSection(out: (line?: string) => void, keep: (c: Closer) => void): Promise<void> {
  out(`SIP trunk call setup (a widget call()s a phone number through a trunk whose carrier is SIPp 3.6.1, uas-auth-answer-pcap.xml; ${CALLS} calls, BENCH_SIP_CALLS):`);
  const s = await runSetup(out, keep);
  const rtt = percentile(s.baseline, 50);
  const ratio = (v: number[]) => (Number.isFinite(rtt) && v.length ? `${(percentile(v, 50) / rtt).toFixed(1)}x baseline p50` : '');
  out();
  out('Results');
  const rows: [string, number[], string?][] = [
    ['baseline: call(unknown) → rejected          [A]', s.baseline, 'one signaling round trip + DB lookup'],
    ['call(number) → INVITE at the carrier      [A→S]', s.invite, ratio(s.invite)],
    ['call(number) → INVITE with digest (401)   [A→S]', s.authInvite, 'after the carrier\'s 401 challenge'],
    ["call(number) → widget 'ringing' (180)       [A]", s.ring, ratio(s.ring)],
    ['call(number) → 200 OK sent by the carrier [A→S]', s.ok, 'the scenario rings 300 ms before answering'],
    ['200 OK sent → ACK received at the carrier   [S]', s.okToAck],
    ['200 OK sent → first audio frame at widget [S→A]', s.okToFrame, 'SIPp starts its pcap after the ACK'],
    ['ACK at the carrier → first audio frame    [S→A]', s.ackToFrame],
    ['call(number) → first audio frame (total)    [A]', s.dialToFrame],
    ['click-to-call: from answers → INVITE    [A→S]', s.clickAnswerToInvite, 'the widget rung first answers; the trunk leg starts'],
  ];
  for (const [label, samples, note] of rows) out('  ' + latencyRow(label, samples, note));
  const ms = (v?: number) => (v === undefined ? 'n/a' : `${v.toFixed(1)} ms`);
  out('  ' + row('first trunk call of the server (not in the rows)', `call(number) → INVITE ${ms(s.first.invite)}, → first audio frame ${ms(s.first.frame)} (cold: the first leg of the RTP relay worker, first SDP and SIP code paths)`));
  out();
  out("  [A] the widget's page (performance.now(), or Date.now() for totals); [S] SIPp's -trace_msg timestamps (wall clock, µs, logged");
  out('  when SIPp handles the message); [A→S], [S→A]: Date.now() in the page against SIPp\'s trace time (same machine, 1 ms resolution).');
  out('  The trunk has digest credentials, so every call is INVITE → 401 → ACK → INVITE with Authorization → 100/180/200 → ACK.');
  out(`  first audio frame: RTCRtpReceiver.getSynchronizationSources() of the remote stream's receiver, polled every ${POLL_MS} ms.`);
  out('  ' + row('failures', s.failures.length === 0 ? 'none' : String(s.failures.length)));
  for (const f of s.failures) out('    ' + f);
  out();
  out(`SIP trunk load (${machine()}; SIPp and the bench's carrier process are other processes and not counted):`);
  await runSipLoad(out, keep);
}
