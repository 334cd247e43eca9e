/**
 * What the rest of the machine did while a sample ran: CPU time used by processes outside this
 * run's process tree, and VM steal, as pyperf and hyperfine make noise visible.
 *
 * Linux only, from /proc: `/proc/stat` gives the machine's busy time (user + nice + system +
 * irq + softirq, every core) and its steal time; `/proc/<pid>/stat` of every process of this
 * run's tree (this process and its descendants, listed with pidtree) gives the tree's own CPU
 * (utime + stime, plus cutime + cstime for children that exited and were reaped). The busy time
 * not spent by the tree was spent by someone else. Reading is synchronous and spawns nothing,
 * so it can be done right around each sample; listing the tree spawns `ps`, so it is done only
 * when pools change (`relist`). Counters are in clock ticks (USER_HZ, 100 on Linux: a 10 ms
 * resolution, fine once summed over a cell's samples).
 */
import { readFileSync } from 'node:fs';
import pidtree from 'pidtree';
import type { PoolId } from '../../common/cells.js';

const USER_HZ = 100;

/** Machine-wide and tree CPU counters at one instant, seconds. */
export interface CpuCounters {
  busySeconds: number;
  stealSeconds: number;
  /** CPU of each process of the tree. */
  tree: Map<number, number>;
}

/** What others used between two snapshots, seconds (all cores together). */
export interface OutsideUse {
  outsideCpuSeconds: number;
  stealSeconds: number;
}

/** The aggregate "cpu" line of /proc/stat: busy and steal seconds; null when absent. */
export function parseProcStat(text: string): { busySeconds: number; stealSeconds: number } | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  if ([user, nice, system, irq, softirq].some((x) => x === undefined || !Number.isFinite(x))) return null;
  return { busySeconds: (user! + nice! + system! + irq! + softirq!) / USER_HZ, stealSeconds: (steal ?? 0) / USER_HZ };
}

/** utime + stime + cutime + cstime of one /proc/<pid>/stat, seconds (the name in brackets may hold spaces). */
export function parsePidStat(text: string): number | null {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Field 3 (state) is fields[0]; utime, stime, cutime, cstime are fields 14..17.
  const ticks = fields.slice(11, 15).map(Number);
  if (ticks.length < 4 || ticks.some((x) => !Number.isFinite(x))) return null;
  return ticks.reduce((a, b) => a + b, 0) / USER_HZ;
}

/** Others' CPU and steal between two snapshots (processes of the tree present in both count as ours). */
export function outsideUseBetween(before: CpuCounters, after: CpuCounters): OutsideUse {
  let ours = 0;
  for (const [pid, seconds] of after.tree) {
    const start = before.tree.get(pid);
    if (start !== undefined) ours += Math.max(0, seconds - start);
  }
  const busy = Math.max(0, after.busySeconds - before.busySeconds);
  return { outsideCpuSeconds: Math.max(0, busy - ours), stealSeconds: Math.max(0, after.stealSeconds - before.stealSeconds) };
}

/** Other processes' use, in cores, from which a measurement counts as crowded (beyond the cores it leaves idle). */
export const CROWDED_CORES = 0.25;

/** Threads a pool keeps busy: its workers and the thread that schedules them (sync: the one thread). */
export function poolThreads(pool: PoolId): number {
  return pool.scheduler === 'sync' ? 1 : pool.workers + 1;
}

/**
 * Whether other processes crowded a measurement of `pool` on `cores` cores: during the window
 * they used CROWDED_CORES or more beyond the cores the pool leaves idle, the pool counting
 * twice its threads as its own (the kernel shares a core between runnable threads, so a
 * program beside a 1-thread sync run on 2 cores took 1.14 cores and made a 23 ms sample take
 * 261 ms). On 2 cores any quarter of a core is crowding; on 64, a pool of 2 workers is
 * crowded only once others take 58 cores.
 */
export function crowded(use: OutsideUse, windowSeconds: number, cores: number, pool: PoolId): boolean {
  const spare = Math.max(0, cores - 2 * poolThreads(pool));
  return use.outsideCpuSeconds / Math.max(windowSeconds, 1e-3) >= spare + CROWDED_CORES;
}

/**
 * Measure with `measure` until other processes did not crowd it (`crowded` for `pool`), at
 * most `attempts` times, and keep the quietest attempt with its outside load in cores
 * (0 where /proc is missing, and then measured once). `stop` ends the retries early (Ctrl-C).
 */
export async function leastCrowded<T>(
  measure: () => Promise<T>,
  options: { meter: OutsideLoadMeter; pool: PoolId; cores: number; attempts: number; stop?: () => boolean },
): Promise<{ value: T; outsideShare: number }> {
  let kept: { value: T; outsideShare: number } | undefined;
  let keptCrowded = true;
  for (let attempt = 0; attempt < options.attempts && keptCrowded; attempt++) {
    if (attempt > 0 && options.stop?.()) break;
    const start = options.meter.snapshot();
    const t0 = performance.now();
    const value = await measure();
    const end = options.meter.snapshot();
    const window = (performance.now() - t0) / 1000;
    const use = start && end ? outsideUseBetween(start, end) : null;
    const outsideShare = use ? use.outsideCpuSeconds / Math.max(window, 1e-3) : 0;
    if (!kept || outsideShare < kept.outsideShare) {
      kept = { value, outsideShare };
      keptCrowded = use !== null && crowded(use, window, options.cores, options.pool);
    }
  }
  return kept!;
}

/** Reads the counters of this run's process tree; inert (null snapshots) where /proc is missing. */
export class OutsideLoadMeter {
  private pids: number[] = [process.pid];
  private readonly available = readText('/proc/stat') !== null;

  /** List the tree again (after pools started or restarted). */
  async relist(): Promise<void> {
    if (!this.available) return;
    try {
      this.pids = [process.pid, ...(await pidtree(process.pid))];
    } catch {
      this.pids = [process.pid]; // no `ps`: children's CPU then counts as outside (overstated, never hidden)
    }
  }

  snapshot(): CpuCounters | null {
    if (!this.available) return null;
    const machine = parseProcStat(readText('/proc/stat') ?? '');
    if (!machine) return null;
    const tree = new Map<number, number>();
    for (const pid of this.pids) {
      const text = readText(`/proc/${pid}/stat`);
      const seconds = text === null ? null : parsePidStat(text);
      if (seconds !== null) tree.set(pid, seconds);
    }
    return { ...machine, tree };
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
