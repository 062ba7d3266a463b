// Region move audio gap: two <astral-phone> pages talk in a channel call while a bot PATCHes its region back and forth.
import { performance } from 'node:perf_hooks';
import type { Browser, Page } from 'playwright-core';
import { PhonePage } from '../test/helpers/phone.js';
import { mintTokenBody, startServer, type RunningServer } from '../test/helpers/server.js';
import { startSite, type Site } from '../test/helpers/site.js';
import { asBot, createBot, createChannel, rest } from './fanout.js';
import { POLL_MS, preparePage } from './probes.js';
import { latencyRow, row } from './stats.js';

export const MOVE_REGIONS = [
  { id: 'eu-central', name: 'EU Central', emoji: '\u{1F1E9}\u{1F1EA}', workers: [0] },
  { id: 'us-east', name: 'US East', emoji: '\u{1F1FA}\u{1F1F8}', workers: [1] },
];
/** Audio gap target across a move. */
export const GAP_TARGET_MS = 500;
const STEP_TIMEOUT_MS = 10_000;
/** Steady audio after each move before the next one. */
const SETTLE_MS = 700;

/** Per-page record of inbound audio, kept by the monitor: [wall ms, receiver number] per observed new packet. */
interface MoveScratch {
  stop: boolean;
  /** A new frame in a receiver's getSynchronizationSources() (rtpTimestamp changed). */
  frames: [number, number][];
  /** A receiver's getStats() inbound-rtp packetsReceived went up. */
  stats: [number, number][];
  /** Receiver number → wall ms it was first seen in the remote stream. */
  born: number[];
}

type MoveWindow = Window & { astralBenchPcs: Set<RTCPeerConnection>; astralMove?: MoveScratch };

/** Same-machine wall clock with sub-ms resolution, comparable between node and the pages. */
const wallNow = (): number => performance.timeOrigin + performance.now();

/**
 * Polls, every `pollMs`, every RTCRtpReceiver whose track is in the client's remote stream, across all peer
 * connections the page ever made (a move replaces them), and records each new packet seen.
 */
function startMonitor(page: Page): Promise<void> {
  return page.evaluate((pollMs) => {
    const w = window as unknown as MoveWindow;
    const client = (document.getElementById('phone') as unknown as { client: { remoteStream: MediaStream | null } }).client;
    if (w.astralMove) w.astralMove.stop = true;
    const s: MoveScratch = { stop: false, frames: [], stats: [], born: [] };
    w.astralMove = s;
    const now = () => performance.timeOrigin + performance.now();
    const ids = new Map<RTCRtpReceiver, number>();
    const lastRtp = new Map<number, number>();
    const lastPackets = new Map<number, number>();
    const receivers = (): [RTCRtpReceiver, number][] => {
      const tracks = client.remoteStream?.getTracks() ?? [];
      const out: [RTCRtpReceiver, number][] = [];
      for (const pc of w.astralBenchPcs) {
        for (const r of pc.getReceivers()) {
          if (!tracks.includes(r.track)) continue;
          let id = ids.get(r);
          if (id === undefined) {
            id = s.born.length;
            ids.set(r, id);
            s.born.push(now());
          }
          out.push([r, id]);
        }
      }
      return out;
    };
    const sleep = () => new Promise((resolve) => setTimeout(resolve, pollMs));
    void (async () => {
      while (!s.stop) {
        const t = now();
        for (const [r, id] of receivers()) {
          const sources = r.getSynchronizationSources();
          if (sources.length === 0) continue;
          const rtp = Math.max(...sources.map((x) => x.rtpTimestamp));
          if (rtp !== lastRtp.get(id)) {
            lastRtp.set(id, rtp);
            s.frames.push([t, id]);
          }
        }
        await sleep();
      }
    })();
    void (async () => {
      while (!s.stop) {
        for (const [r, id] of receivers()) {
          const report = await r.getStats().catch(() => null);
          let packets = 0;
          report?.forEach((x: { type: string; packetsReceived?: number }) => {
            if (x.type === 'inbound-rtp') packets += x.packetsReceived ?? 0;
          });
          if (packets > (lastPackets.get(id) ?? 0)) {
            lastPackets.set(id, packets);
            s.stats.push([now(), id]);
          }
        }
        await sleep();
      }
    })();
  }, POLL_MS);
}

/** Resolves once the page saw a new frame on a receiver first seen after `since` (audio flows on new transports). */
async function waitNewAudio(page: Page, since: number, timeoutMs: number): Promise<boolean> {
  return page
    .waitForFunction(
      (since) => {
        const s = (window as unknown as MoveWindow).astralMove!;
        return s.frames.some(([t, id]) => t > since && s.born[id]! > since);
      },
      since,
      { timeout: timeoutMs, polling: 10 },
    )
    .then(
      () => true,
      () => false,
    );
}

const snapshot = (page: Page, from: number): Promise<MoveScratch> =>
  page.evaluate((from) => {
    const s = (window as unknown as MoveWindow).astralMove!;
    return { stop: s.stop, frames: s.frames.filter(([t]) => t >= from), stats: s.stats.filter(([t]) => t >= from), born: s.born };
  }, from);

/** From PATCH sent to the first packet on a new receiver, and the longest packet-less interval up to it. */
function gapOf(events: [number, number][], born: number[], patchAt: number): { resume: number; gap: number } | null {
  const sorted = [...events].sort((a, b) => a[0] - b[0]);
  const resumeAt = sorted.find(([t, id]) => t > patchAt && born[id]! > patchAt)?.[0];
  if (resumeAt === undefined) return null;
  const times = sorted.map(([t]) => t);
  const lastBefore = times.filter((t) => t <= patchAt).at(-1);
  const window = [...(lastBefore === undefined ? [patchAt] : [lastBefore]), ...times.filter((t) => t > patchAt && t <= resumeAt)];
  let gap = 0;
  for (let i = 1; i < window.length; i++) gap = Math.max(gap, window[i]! - window[i - 1]!);
  return { resume: resumeAt - patchAt, gap };
}

interface Direction {
  label: string;
  /** PATCH sent → first frame on the new transports (getSynchronizationSources). */
  resume: number[];
  /** Longest interval without a new frame, last frame before the PATCH → first new-transport frame. */
  gap: number[];
  /** The same two from getStats() packetsReceived increments (Chromium caches stats ~50 ms). */
  statsResume: number[];
  statsGap: number[];
}

const fmt = (v: number | undefined): string => (v === undefined ? '     —' : v.toFixed(1).padStart(6));

/**
 * Starts its own server (two workers, one region on each), joins two pages to one channel call, then PATCHes
 * the call's region `moves` times, alternating. Returns the table lines to print.
 */
export async function runRegionMove(
  browsers: { a: Browser; b: Browser },
  moves: number,
  track: (closer: { close(): Promise<void> }) => void,
  log: (line: string) => void,
): Promise<string[]> {
  const server: RunningServer = await startServer({ ASTRAL_WORKERS: '2', ASTRAL_REGIONS: JSON.stringify(MOVE_REGIONS), ASTRAL_RING_TIMEOUT: '60' });
  track({ close: () => server.stop() });
  const site: Site = await startSite(server.url);
  track(site);
  const bot = await createBot(server, 'region-bench');
  const [ana, ben] = [await mintTokenBody(server, 'move-ana'), await mintTokenBody(server, 'move-ben')];
  const channelId = await createChannel(server, [bot.id, ana.user_id, ben.user_id]);
  const patch = (region: string) => rest(server, 'PATCH', `/api/v1/channels/${channelId}/call`, asBot(bot.token), { region }, 204);
  // Pin the channel to the first region before anyone joins, so the first move is to the other one.
  await patch(MOVE_REGIONS[0]!.id);

  const open = async (browser: Browser, token: string): Promise<PhonePage> => {
    const phone = await PhonePage.open(browser, site.url, server.url, token);
    track({ close: () => phone.close() });
    await phone.waitState('ready', 15_000);
    await preparePage(phone.page);
    return phone;
  };
  const a = await open(browsers.a, ana.token);
  const b = await open(browsers.b, ben.token);
  await Promise.all([startMonitor(a.page), startMonitor(b.page)]);
  const joinedAt = wallNow();
  await a.invoke('joinChannel', channelId);
  await b.invoke('joinChannel', channelId);
  await Promise.all([a.waitState('in-call'), b.waitState('in-call')]);
  for (const p of [a, b]) if (!(await waitNewAudio(p.page, joinedAt - 1, STEP_TIMEOUT_MS))) throw new Error('no audio before the first move');
  await new Promise((r) => setTimeout(r, SETTLE_MS));

  // a (440 Hz mic) hears b (1000 Hz mic) and the other way round.
  const sides: [PhonePage, Direction][] = [
    [a, { label: 'ana hears ben (1000 Hz)', resume: [], gap: [], statsResume: [], statsGap: [] }],
    [b, { label: 'ben hears ana (440 Hz)', resume: [], gap: [], statsResume: [], statsGap: [] }],
  ];
  const patchMs: number[] = [];
  const failures: string[] = [];
  for (let i = 1; i <= moves; i++) {
    const from = MOVE_REGIONS[(i - 1) % 2]!.id;
    const to = MOVE_REGIONS[i % 2]!.id;
    const tag = `  move ${String(i).padStart(2)}/${moves}  ${from.padEnd(10)} → ${to.padEnd(10)}`;
    const patchAt = wallNow();
    try {
      await patch(to);
      patchMs.push(wallNow() - patchAt);
      const flowing = await Promise.all(sides.map(([p]) => waitNewAudio(p.page, patchAt, STEP_TIMEOUT_MS)));
      // Lets the stats poller (cached ~50 ms) see the new transports too.
      await new Promise((r) => setTimeout(r, 300));
      let line = `${tag}  PATCH ${fmt(patchMs.at(-1))}`;
      for (const [k, [p, dir]] of sides.entries()) {
        const s = await snapshot(p.page, patchAt - 2000);
        const frames = flowing[k] ? gapOf(s.frames, s.born, patchAt) : null;
        const stats = gapOf(s.stats, s.born, patchAt);
        if (frames) dir.resume.push(frames.resume), dir.gap.push(frames.gap);
        else failures.push(`move ${i}: ${dir.label}: no audio on new transports within ${STEP_TIMEOUT_MS} ms`);
        if (stats) dir.statsResume.push(stats.resume), dir.statsGap.push(stats.gap);
        line += `  | ${dir.label.split(' (')[0]}: resume ${fmt(frames?.resume)} gap ${fmt(frames?.gap)} (stats ${fmt(stats?.resume)} ${fmt(stats?.gap)})`;
      }
      log(line + '  (ms)');
    } catch (err) {
      failures.push(`move ${i}: ${(err as Error).message}`);
      log(`${tag}  FAILED: ${(err as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }

  await Promise.all([a, b].map((p) => p.page.evaluate(() => void ((window as unknown as MoveWindow).astralMove!.stop = true))));
  const gaps = sides.flatMap(([, d]) => d.gap);
  const worst = gaps.length ? Math.max(...gaps) : NaN;
  const lines = [latencyRow('PATCH /channels/:id/call → 204', patchMs)];
  for (const [, d] of sides) {
    lines.push(`${d.label}:`);
    lines.push('  ' + latencyRow('PATCH sent → audio flowing again (frames)', d.resume));
    lines.push('  ' + latencyRow('audio gap (frames)', d.gap, `target <= ${GAP_TARGET_MS} ms`));
    lines.push('  ' + latencyRow('PATCH sent → audio flowing again (getStats)', d.statsResume));
    lines.push('  ' + latencyRow('audio gap (getStats)', d.statsGap));
  }
  lines.push(latencyRow('audio gap (frames), both directions', gaps, `target <= ${GAP_TARGET_MS} ms (max ${worst <= GAP_TARGET_MS ? 'met' : 'MISSED'})`));
  lines.push(row('failures', failures.length === 0 ? 'none' : String(failures.length)));
  for (const f of failures) lines.push('  ' + f);
  return lines;
}
