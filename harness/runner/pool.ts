/**
 * Measure every cell of one pool (scheduler × workers). This runs in the pool's own
 * process (harness/runner/pool-process.ts), so each pool starts from a fresh process: memory and
 * JIT state left by earlier pools cannot leak into its measurements.
 *
 * The scheduler is started once, then each planned workload and size is built (once per
 * pool) and measured on it (harness/measure/cell.ts), then the pool is closed. Nothing here throws
 * for a bad cell: a scheduler that cannot be loaded or started, a workload that cannot be
 * built, a failed task or a wrong answer each become a failed or unverified cell with the
 * reason, and the pool goes on. After a failure that may have broken the pool (a lost
 * worker, a timed-out run) the pool is restarted before its next cell.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Cell } from '../../results/schema.js';
import type { Scheduler, SchedulerName } from '../../schedulers/types.js';
import type { BuiltWorkload, SizeName, Workload } from '../../workloads/types.js';
import { InterruptedError, describeError, failedCell, measureCell, type CellIdentity, type MeasureSettings } from '../measure/cell.js';
import { poolLabel, type PoolId } from '../../common/cells.js';
import { stopResourceSampling } from '../measure/resources.js';

/** A pool gets this long to start before its cells are marked failed. */
const POOL_START_TIMEOUT_MS = 120_000;
/** A pool gets this long to close. */
const POOL_CLOSE_TIMEOUT_MS = 3_000;
/** How long a failed cell waits for a Ctrl-C that may be on its way (see runPool). */
const INTERRUPT_GRACE_MS = 250;

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

export interface PoolRun {
  pool: PoolId;
  cells: PoolCell[];
  settings: MeasureSettings;
  /** Passed to every workload's `build` as `ctx.options`. */
  workloadOptions: Record<string, string | undefined>;
}

export interface PoolHooks {
  /** Aborted on Ctrl-C: the current cell is dropped and the pool closed. */
  interrupt: AbortSignal;
  cellStarted(index: number): void;
  /** Called in order; the promise is awaited before the next cell starts. */
  cellFinished(index: number, cell: Cell): void | Promise<void>;
  note(message: string): void;
  createScheduler?: SchedulerFactory;
}

/** Measure the pool's cells in order; stops early (without recording the current cell) when interrupted. */
export async function runPool(run: PoolRun, hooks: PoolHooks): Promise<void> {
  const { pool, cells } = run;
  const builds = new WorkloadBuilds(run.workloadOptions);
  let started = await startPool(pool, hooks);
  try {
    for (const [index, spec] of cells.entries()) {
      if (hooks.interrupt.aborted) break;
      hooks.cellStarted(index);
      const outcome = await runCell(spec, pool, started, builds, run.settings, hooks.interrupt);
      // Ctrl-C in a terminal signals the whole process group: worker processes may die
      // (failing the cell) a moment before our own handler runs. Such a cell is not a result.
      if (outcome?.cell.status === 'failed') await new Promise((resolve) => setTimeout(resolve, INTERRUPT_GRACE_MS));
      if (outcome === null || hooks.interrupt.aborted) break;
      await hooks.cellFinished(index, outcome.cell);
      if (outcome.poolSuspect && !(started instanceof Error) && index < cells.length - 1) {
        hooks.note(`restarting ${poolLabel(pool)}: its last run failed in a way that may have left it broken`);
        await closeQuietly(started.scheduler);
        started = await startPool(pool, hooks);
      }
    }
  } finally {
    if (!(started instanceof Error)) await closeQuietly(started.scheduler);
    await builds.disposeAll();
    await stopResourceSampling();
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

interface CellOutcome {
  cell: Cell;
  /** The failure happened on the pool and may have left it broken. */
  poolSuspect: boolean;
}

/** Measure one cell; null when interrupted. */
async function runCell(
  spec: PoolCell,
  pool: PoolId,
  started: StartedPool | Error,
  builds: WorkloadBuilds,
  settings: MeasureSettings,
  interrupt: AbortSignal,
): Promise<CellOutcome | null> {
  const { workload, size } = spec;
  const identity: CellIdentity = {
    workload: workload.name,
    size,
    params: workload.sizes[size],
    scheduler: pool.scheduler,
    workers: pool.workers,
    startupSeconds: started instanceof Error ? 0 : started.startupSeconds,
  };
  if (started instanceof Error) return { cell: { ...failedCell(identity, started), peakMemoryBytes: 0 }, poolSuspect: false };
  let built: BuiltWorkload;
  try {
    built = await builds.get(workload, size);
  } catch (err) {
    const error = new Error(`could not build ${workload.name}/${size}: ${describeError(err).message}`);
    return { cell: { ...failedCell(identity, error), peakMemoryBytes: 0 }, poolSuspect: false };
  }
  try {
    const cell = await measureCell({ ...identity, workload, size, scheduler: started.scheduler, built, settings, interrupt });
    return { cell, poolSuspect: cell.status === 'failed' && !POOL_SURVIVES.has(cell.error?.code ?? '') };
  } catch (err) {
    if (err instanceof InterruptedError) return null;
    throw err;
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
