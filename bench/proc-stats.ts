// /proc sampling for the load benches: CPU time of processes and threads, mediasoup-worker children, RSS, UDP drops, machine facts.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cpus } from 'node:os';

/** Linux USER_HZ (getconf CLK_TCK is 100 on every mainstream kernel build). */
const CLK_TCK = 100;

const read = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** utime + stime (ms) of a process (all its threads) or of one thread of it; NaN when gone. */
export function cpuMs(pid: number, tid?: number): number {
  const stat = read(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`);
  if (!stat) return NaN;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Thread ids of a process. */
export function threads(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

/** Child processes of `ppid` whose comm starts with `name` (comm is cut at 15 characters: "mediasoup-worke"). */
export function children(ppid: number, name: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (!stat) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppidField = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppidField === ppid && name.startsWith(comm.slice(0, 15))) out.push(Number(entry));
  }
  return out;
}

/** Datagrams the kernel dropped (receive buffer full) on the UDP sockets the processes hold, from /proc/net/udp{,6}. */
export function udpDrops(pids: number[]): number {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  }
  let drops = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of (read(table) ?? '').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 12 && inodes.has(f[9]!)) drops += Number(f[f.length - 1]);
    }
  }
  return drops;
}

/** VmRSS of a process in bytes (0 when gone). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) * 1024 : 0;
}

/** What the CPU-time counters of a set of processes/threads read at one moment. */
export interface CpuProbe {
  /** Named groups of [pid, tid?] whose CPU time is summed. */
  groups: Record<string, [number, number?][]>;
}

export interface CpuWindow {
  /** Per group: CPU % of one core over the window (100 = one core busy). */
  percent: Record<string, number>;
  seconds: number;
}

/** Starts a CPU window over the groups; `end()` returns each group's CPU % of one core since `start`. */
export function cpuWindow(probe: CpuProbe): { end(): CpuWindow } {
  const sum = (members: [number, number?][]) => members.reduce((s, [pid, tid]) => s + (cpuMs(pid, tid) || 0), 0);
  const t0 = performance.now();
  const before = Object.fromEntries(Object.entries(probe.groups).map(([k, m]) => [k, sum(m)]));
  return {
    end() {
      const seconds = (performance.now() - t0) / 1000;
      const percent: Record<string, number> = {};
      for (const [k, m] of Object.entries(probe.groups)) percent[k] = ((sum(m) - before[k]!) / (seconds * 1000)) * 100;
      return { percent, seconds };
    },
  };
}

/** "2 × AMD EPYC, 23.5 GiB RAM, Linux 6.1" for the section headers. */
export function machine(): string {
  const list = cpus();
  const mem = /MemTotal:\s+(\d+) kB/.exec(read('/proc/meminfo') ?? '');
  const kernel = (read('/proc/sys/kernel/osrelease') ?? '').trim();
  return `${list.length} × ${list[0]?.model.trim() ?? 'CPU'}${mem ? `, ${(Number(mem[1]) / 1024 / 1024).toFixed(1)} GiB RAM` : ''}${kernel ? `, Linux ${kernel}` : ''}`;
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
export const pct = (v: number, digits = 1): string => (Number.isFinite(v) ? `${v.toFixed(digits)} %` : 'n/a');
