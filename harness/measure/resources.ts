/**
 * Memory and CPU of the whole process tree while a cell runs.
 *
 * Worker threads live inside the main process, so the main RSS and `process.cpuUsage()`
 * already include them (the cell measures the main process's CPU itself, around each
 * run). Worker processes (the processes scheduler, a local distributed cluster) are found
 * with pidtree (all descendants of this process) and measured with pidusage (RSS and
 * cumulative CPU time per pid, read from /proc on Linux).
 *
 * Listing descendants spawns `ps`, so the pid list is refreshed at most once a second;
 * memory of the known pids is sampled more often. A pid that vanished between listing
 * and sampling (a short-lived `ps`, a worker that exited) is skipped, not an error.
 * Peak memory is the largest sum seen at one sampling instant of the main process's peak
 * since the previous instant (harness/measure/main-rss.ts) and the children's current RSS.
 * "Main process" here is the pool process (harness/runner/pool-process.ts): each pool runs in a
 * fresh one, so nothing of earlier pools is counted. Within a pool, the builds of earlier
 * workloads (kept until the pool ends) and heap the allocator has not returned to the OS
 * do count in later cells.
 */
import pidtree from 'pidtree';
import pidusage from 'pidusage';
import { stopMainRssWatch, takeMainRssPeak } from './main-rss.js';

const SAMPLE_INTERVAL_MS = 200;
const PID_REFRESH_MS = 1000;

/** Cumulative CPU seconds of each child process, by pid. */
export type ChildCpuSnapshot = Map<number, number>;

export class ProcessTreeSampler {
  private pids: number[] = [];
  private pidsListedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private peak = 0;
  private lastSampleAt = 0;

  /** Start (or resume) sampling in the background (the first sample is taken now); the peak is kept across stops. */
  async start(): Promise<void> {
    await this.sample();
    // Never overlap two samples; a slow `ps` just skips a tick.
    this.timer = setInterval(() => void this.sampleIfDue(), SAMPLE_INTERVAL_MS / 2);
    this.timer.unref();
  }

  /** Stop (pause) sampling; returns the peak bytes seen so far (a final sample is taken first). */
  async stop(): Promise<number> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    return this.peak;
  }

  /** Sample now unless the last sample is recent (called between runs, when the main thread is free). */
  async sampleIfDue(): Promise<void> {
    if (Date.now() - this.lastSampleAt >= SAMPLE_INTERVAL_MS && !this.sampling) {
      this.sampling = this.sample().finally(() => (this.sampling = undefined));
    }
    await this.sampling;
  }

  /**
   * Take one memory sample now: the main process's peak since the previous sample (from
   * the watcher thread, so a busy main thread is covered) plus every child's RSS now.
   */
  private async sample(): Promise<void> {
    this.lastSampleAt = Date.now();
    const children = await this.childUsage();
    let total = takeMainRssPeak();
    for (const usage of children.values()) total += usage.memory;
    if (total > this.peak) this.peak = total;
  }

  /**
   * CPU time of every child process now; subtract two snapshots with `childCpuSecondsBetween`.
   * `relist`: list the children afresh (spawns `ps`) instead of using the list of the last second.
   */
  async childCpuSnapshot(relist = true): Promise<ChildCpuSnapshot> {
    if (relist) this.pidsListedAt = 0;
    const byPid: ChildCpuSnapshot = new Map();
    for (const [pid, usage] of await this.childUsage()) byPid.set(pid, usage.ctime / 1000);
    return byPid;
  }

  private async childUsage(): Promise<Map<number, { memory: number; ctime: number }>> {
    const now = Date.now();
    if (now - this.pidsListedAt >= PID_REFRESH_MS) {
      this.pidsListedAt = now;
      try {
        this.pids = await pidtree(process.pid);
      } catch (err) {
        warnChildrenUnavailable(err);
        this.pids = [];
      }
    }
    const usage = new Map<number, { memory: number; ctime: number }>();
    const settled = await Promise.allSettled(this.pids.map((pid) => pidusage(pid)));
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') usage.set(this.pids[i]!, result.value);
    });
    return usage;
  }
}

/** CPU seconds used by child processes between two snapshots (children present in both). */
export function childCpuSecondsBetween(before: ChildCpuSnapshot, after: ChildCpuSnapshot): number {
  let total = 0;
  for (const [pid, seconds] of after) {
    const start = before.get(pid);
    if (start !== undefined) total += Math.max(0, seconds - start);
  }
  return total;
}

let warnedChildrenUnavailable = false;

/** Without `ps` (a minimal container) worker processes cannot be found: say so once, measure the rest. */
function warnChildrenUnavailable(err: unknown): void {
  if (warnedChildrenUnavailable) return;
  warnedChildrenUnavailable = true;
  console.error(`schedlab: cannot list child processes (${(err as Error).message}); memory and CPU of worker processes are not counted`);
}

/** End the watcher thread and release pidusage's cached handles once the run is over. */
export async function stopResourceSampling(): Promise<void> {
  pidusage.clear();
  await stopMainRssWatch();
}
