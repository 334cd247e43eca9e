/**
 * One pool (scheduler × workers) as the racing runner drives it. This runs in the pool's own
 * process (harness/runner/pool-process.ts), so memory and JIT state of one scheduler never
 * count against another, and a pool that crashes its process fails only its own cells.
 *
 * The runner keeps every pool of a run alive and asks each, cell by cell, to `prepare` (build
 * the workload once per pool, warm up), then to take one `sample` at a time, interleaved with
 * the other pools' samples, then to `finish` (harness/runner/bench.ts). Nothing here throws for
 * a bad cell: a scheduler that cannot be loaded or started, a workload that cannot be built, a
 * failed task or a wrong answer each become a failed or unverified cell with the reason, and
 * the pool goes on. After a failure that may have broken the pool (a lost worker, a timed-out
 * run) the pool is restarted before its next cell. Only Ctrl-C throws (InterruptedError).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Cell } from '../../results/schema.js';
import type { Scheduler, SchedulerName } from '../../schedulers/types.js';
import type { BuiltWorkload, SizeName, Workload } from '../../workloads/types.js';
import { CellMeasurement, InterruptedError, describeError, failedCell, type CellIdentity, type MeasureSettings } from '../measure/cell.js';
import { poolLabel, type PoolId } from '../../common/cells.js';
import { stopResourceSampling } from '../measure/resources.js';

/** A pool gets this long to start before its cells are marked failed. */
const POOL_START_TIMEOUT_MS = 120_000;
/** A pool gets this long to close. */
const POOL_CLOSE_TIMEOUT_MS = 3_000;

/**
 * Errors after which a scheduler is still usable (its contract: a failed task or a bad
 * graph rejects `get`, and the scheduler stays usable). Anything else — a lost worker, a
 * timed-out run, a broken connection — gets the pool restarted before its next cell.
 */
const POOL_SURVIVES = new Set(['TASK_FAILED', 'VERIFY_FAILED', 'CYCLE', 'MISSING_KEY', 'BAD_NODE', 'UNKNOWN_OP']);

/** Starts a scheduler: `createScheduler` of the library unless a caller (a test) passes another. */
export type SchedulerFactory = (name: SchedulerName, options: { workers: number; redis?: string }) => Promise<Scheduler>;

export interface PoolCell {
  workload: Workload;
  size: SizeName;
}

export interface PoolHooks {
  /** Aborted on Ctrl-C: the current run is dropped. */
  interrupt: AbortSignal;
  note(message: string): void;
  createScheduler?: SchedulerFactory;
}

/** The pool's state between requests: no cell, or the cell being measured. */
export class PoolSession {
  private started: StartedPool | Error | null = null;
  private restartBeforeNext = false;
  private current: { identity: CellIdentity; measurement: CellMeasurement } | null = null;
  private readonly builds: WorkloadBuilds;

  constructor(
    readonly pool: PoolId,
    private readonly settings: MeasureSettings,
    workloadOptions: Record<string, string | undefined>,
    private readonly hooks: PoolHooks,
  ) {
    this.builds = new WorkloadBuilds(workloadOptions);
  }

  async start(): Promise<void> {
    this.started = await startPool(this.pool, this.hooks);
  }

  /** Build and warm up a cell; null when it is ready to sample, else the failed cell. */
  async prepare(spec: PoolCell): Promise<Cell | null> {
    this.current = null;
    if (this.restartBeforeNext && !(this.started instanceof Error)) {
      this.restartBeforeNext = false;
      this.hooks.note(`restarting ${poolLabel(this.pool)}: its last run failed in a way that may have left it broken`);
      if (this.started) await closeQuietly(this.started.scheduler);
      this.started = await startPool(this.pool, this.hooks);
    }
    const started = this.started ?? new Error(`${poolLabel(this.pool)} was not started`);
    const { workload, size } = spec;
    const identity: CellIdentity = {
      workload: workload.name,
      size,
      params: workload.sizes[size],
      scheduler: this.pool.scheduler,
      workers: this.pool.workers,
      startupSeconds: started instanceof Error ? 0 : started.startupSeconds,
    };
    if (started instanceof Error) return { ...failedCell(identity, started), peakMemoryBytes: 0 };
    let built: BuiltWorkload;
    try {
      built = await this.builds.get(workload, size);
    } catch (err) {
      const error = new Error(`could not build ${workload.name}/${size}: ${describeError(err).message}`);
      return { ...failedCell(identity, error), peakMemoryBytes: 0 };
    }
    const input = { ...identity, workload, size, scheduler: started.scheduler, built, settings: this.settings, interrupt: this.hooks.interrupt };
    try {
      this.current = { identity, measurement: await CellMeasurement.prepare(input) };
      return null;
    } catch (err) {
      return this.failed(identity, err, 0);
    }
  }

  /** One timed run of the prepared cell: its seconds, or the failed cell (which ends the cell). */
  async sample(): Promise<number | Cell> {
    const current = this.current;
    if (!current) throw new Error('no cell is prepared');
    try {
      return await current.measurement.sample();
    } catch (err) {
      this.current = null;
      return this.failed(current.identity, err, await current.measurement.peakMemoryBytes());
    }
  }

  /** Forget the prepared cell's last sample. */
  discard(): null {
    if (!this.current) throw new Error('no cell is prepared');
    this.current.measurement.discardLast();
    return null;
  }

  /** The prepared cell, measured. */
  async finish(raceEnd: NonNullable<Cell['raceEnd']>): Promise<Cell> {
    const current = this.current;
    if (!current || current.measurement.samples.length === 0) throw new Error('no cell with samples is prepared');
    this.current = null;
    return current.measurement.result(raceEnd);
  }

  async close(): Promise<void> {
    if (this.started && !(this.started instanceof Error)) await closeQuietly(this.started.scheduler);
    this.started = null;
    await this.builds.disposeAll();
    await stopResourceSampling();
  }

  private failed(identity: CellIdentity, err: unknown, peakMemoryBytes: number): Cell {
    if (err instanceof InterruptedError) throw err;
    const cell = { ...failedCell(identity, err), peakMemoryBytes };
    if (!POOL_SURVIVES.has(cell.error?.code ?? '')) this.restartBeforeNext = true;
    return cell;
  }
}

interface StartedPool {
  scheduler: Scheduler;
  startupSeconds: number;
}

/** Start a pool; an error (module missing, spawn failure, timeout) is returned, not thrown. */
async function startPool(pool: PoolId, hooks: PoolHooks): Promise<StartedPool | Error> {
  const { interrupt } = hooks;
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  // Imported lazily: a scheduler module that fails to load fails its cells, not the run.
  const create: SchedulerFactory =
    hooks.createScheduler ?? (async (name, options) => (await import('../../schedulers/index.js')).createScheduler(name, options));
  // `schedlab bench --redis URL` (set by the CLI before the pool processes are forked): bullmq's workers serve that Redis.
  const redis = pool.scheduler === 'bullmq' ? process.env.SCHEDLAB_BENCH_REDIS : undefined;
  const creating = create(pool.scheduler, { workers: pool.workers, ...(redis ? { redis } : {}) });
  try {
    const scheduler = await Promise.race([
      creating,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not start within ${POOL_START_TIMEOUT_MS / 1000} s`)), POOL_START_TIMEOUT_MS);
        interrupt.addEventListener('abort', () => reject(new InterruptedError()), { once: true });
      }),
    ]);
    const own = scheduler.startupSeconds;
    return { scheduler, startupSeconds: Number.isFinite(own) && own >= 0 ? own : (performance.now() - t0) / 1000 };
  } catch (err) {
    // A pool that starts after we gave up must still be stopped.
    creating.then((late) => closeQuietly(late), () => {});
    return new Error(`could not start ${poolLabel(pool)}: ${describeError(err).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Close a pool, best effort: the results do not depend on it. Bounded in time, because a
 * pool whose workers were killed from outside (Ctrl-C reaches the whole process group)
 * may never settle its close — and a promise nobody can settle would end the process
 * before the results are reported.
 */
async function closeQuietly(scheduler: Scheduler): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([scheduler.close(), new Promise((resolve) => (timer = setTimeout(resolve, POOL_CLOSE_TIMEOUT_MS)))]);
  } catch {
    // Already broken; nothing more to stop.
  } finally {
    clearTimeout(timer);
  }
}

/** Each (workload, size) built once, in its own temp dir; everything released by `disposeAll`. */
class WorkloadBuilds {
  private readonly builds = new Map<string, Promise<{ built: BuiltWorkload; tmpDir: string }>>();

  constructor(private readonly options: Record<string, string | undefined>) {}

  async get(workload: Workload, size: SizeName): Promise<BuiltWorkload> {
    const key = `${workload.name}\u0000${size}`;
    let entry = this.builds.get(key);
    if (!entry) {
      entry = this.build(workload, size);
      this.builds.set(key, entry);
    }
    return (await entry).built;
  }

  private async build(workload: Workload, size: SizeName): Promise<{ built: BuiltWorkload; tmpDir: string }> {
    const tmpDir = await mkdtemp(join(os.tmpdir(), `schedlab-${workload.name.replace(/[^\w-]/g, '_')}-`));
    try {
      const built = await workload.build(workload.sizes[size], { tmpDir, options: { ...this.options } });
      return { built, tmpDir };
    } catch (err) {
      await rm(tmpDir, { recursive: true, force: true });
      throw err;
    }
  }

  async disposeAll(): Promise<void> {
    for (const entry of this.builds.values()) {
      const settled = await entry.catch(() => null);
      if (!settled) continue;
      try {
        await settled.built.dispose?.();
      } finally {
        await rm(settled.tmpDir, { recursive: true, force: true });
      }
    }
    this.builds.clear();
  }
}
