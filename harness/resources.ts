/**
 * Memory and CPU of the whole process tree while a cell runs.
 *
 * Worker threads live inside the main process, so the main RSS and `process.cpuUsage()`
 * already include them. Worker processes (the processes scheduler, a local distributed
 * cluster) are found with pidtree (all descendants of this process) and measured with
 * pidusage (RSS and cumulative CPU time per pid, read from /proc on Linux).
 *
 * Listing descendants spawns `ps`, so the pid list is refreshed at most once a second;
 * memory of the known pids is sampled more often. A pid that vanished between listing
 * and sampling (a short-lived `ps`, a worker that exited) is skipped, not an error.
 * Peak memory is the largest sum (main + children) seen at one sampling instant.
 */
import pidtree from 'pidtree';
import pidusage from 'pidusage';

const SAMPLE_INTERVAL_MS = 200;
const PID_REFRESH_MS = 1000;

/** CPU time of the tree at one instant: main process, and each child by pid (seconds). */
export interface CpuSnapshot {
  mainSeconds: number;
  children: Map<number, number>;
}

export class ProcessTreeSampler {
  private pids: number[] = [];
  private pidsListedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private peak = 0;
  private lastSampleAt = 0;
  /** Set when descendants cannot be listed (no `ps`): memory and CPU then cover the main process only. */
  childrenUnavailable: string | undefined;

  /** Start sampling in the background (the first sample is taken now). */
  async start(): Promise<void> {
    await this.sample();
    // Never overlap two samples; a slow `ps` just skips a tick.
    this.timer = setInterval(() => void this.sampleIfDue(), SAMPLE_INTERVAL_MS / 2);
    this.timer.unref();
  }

  /** Stop sampling; returns the peak bytes seen (a final sample is taken first). */
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

  /** Take one memory sample now. */
  private async sample(): Promise<void> {
    this.lastSampleAt = Date.now();
    const children = await this.childUsage();
    let total = process.memoryUsage.rss();
    for (const usage of children.values()) total += usage.memory;
    if (total > this.peak) this.peak = total;
  }

  /** CPU time of the tree now; subtract two snapshots with `cpuSecondsBetween`. */
  async cpuSnapshot(): Promise<CpuSnapshot> {
    this.pidsListedAt = 0; // a snapshot must see every current child
    const children = await this.childUsage();
    const cpu = process.cpuUsage();
    const byPid = new Map<number, number>();
    for (const [pid, usage] of children) byPid.set(pid, usage.ctime / 1000);
    return { mainSeconds: (cpu.user + cpu.system) / 1e6, children: byPid };
  }

  private async childUsage(): Promise<Map<number, { memory: number; ctime: number }>> {
    const now = Date.now();
    if (now - this.pidsListedAt >= PID_REFRESH_MS) {
      this.pidsListedAt = now;
      try {
        this.pids = await pidtree(process.pid);
      } catch (err) {
        this.childrenUnavailable = `cannot list child processes (${(err as Error).message})`;
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

/** CPU seconds used by the tree between two snapshots (children present in both). */
export function cpuSecondsBetween(before: CpuSnapshot, after: CpuSnapshot): number {
  let total = after.mainSeconds - before.mainSeconds;
  for (const [pid, seconds] of after.children) {
    const start = before.children.get(pid);
    if (start !== undefined) total += Math.max(0, seconds - start);
  }
  return total;
}

/** Release pidusage's cached file handles once the run is over. */
export function releaseSamplerCaches(): void {
  pidusage.clear();
}
