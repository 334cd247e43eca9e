/**
 * The bench runner: runs a validated plan pool by pool and keeps the results file current.
 *
 * For each pool (scheduler × workers) the scheduler is started once, then every planned
 * workload and size is measured on it (harness/cell.ts), then it is closed. Workloads are
 * built once per (workload, size) and reused by every pool, so all pools measure the very
 * same graph; builds are disposed at the end of the run.
 *
 * After every cell the results file is rewritten atomically with `status: 'partial'`, so a
 * crash or Ctrl-C keeps every finished cell; the last write says `complete`. Nothing here
 * throws for a bad cell: a scheduler that cannot be loaded or started, a workload that
 * cannot be built, a failed task or a wrong answer each become a failed or unverified cell
 * with the reason, and the run goes on. After a failure that may have broken the pool (a
 * lost worker, a timed-out run) the pool is restarted before its next cell.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { writeResultsFileAtomic } from '../results/io.js';
import { RESULTS_SCHEMA_VERSION, type Cell, type ResultsFile } from '../results/schema.js';
import type { Scheduler } from '../schedulers/types.js';
import type { BuiltWorkload, SizeName, Workload } from '../workloads/types.js';
import type { BenchPlan } from './bench-options.js';
import { InterruptedError, describeError, failedCell, measureCell, type CellIdentity } from './cell.js';
import { captureEnvironment } from './environment.js';
import { withSpeedups } from './metrics.js';
import { cellLabel, countCells, poolLabel, type PoolSpec } from './plan.js';
import type { ProgressReporter } from './progress.js';
import { stopResourceSampling } from './resources.js';

/** A pool gets this long to start before its cells are marked failed. */
const POOL_START_TIMEOUT_MS = 120_000;
/** A pool gets this long to close. */
const POOL_CLOSE_TIMEOUT_MS = 3_000;
/** How long a failed cell waits for a Ctrl-C that may be on its way (see runBench). */
const INTERRUPT_GRACE_MS = 250;

export interface BenchOutcome {
  path: string;
  results: ResultsFile;
  interrupted: boolean;
}

export interface RunContext {
  progress: ProgressReporter;
  /** Aborted on Ctrl-C: the current cell is dropped, pools are closed, what finished is saved. */
  interrupt: AbortSignal;
  argv?: string[];
}

/** A sortable, file-name-safe id: the start time in UTC, e.g. `2026-11-27T14-03-12-345Z`. */
function newRunId(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, '-');
}

/** The run id and results path; a second run started in the same millisecond gets a suffix. */
async function freeRunPath(outDir: string, startedAt: Date): Promise<{ runId: string; path: string }> {
  const base = newRunId(startedAt);
  for (let n = 0; ; n++) {
    const runId = n === 0 ? base : `${base}-${n}`;
    const path = join(outDir, `${runId}.json`);
    try {
      await access(path);
    } catch {
      return { runId, path };
    }
  }
}

export async function runBench(plan: BenchPlan, ctx: RunContext): Promise<BenchOutcome> {
  const startedAt = new Date();
  const { runId, path } = await freeRunPath(plan.outDir, startedAt);
  const results: ResultsFile = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: null,
    status: 'partial',
    preset: plan.preset.name,
    plannedCells: countCells(plan.pools),
    environment: await captureEnvironment(ctx.argv),
    cells: [],
  };
  await writeResultsFileAtomic(path, results);

  const builds = new WorkloadBuilds(plan.workloadOptions);
  let index = 0;
  let interrupted = false;
  try {
    for (const { pool, cells } of plan.pools) {
      if (ctx.interrupt.aborted) break;
      let started = await startPool(pool, ctx.interrupt);
      try {
        for (const spec of cells) {
          if (ctx.interrupt.aborted) break;
          const label = cellLabel(spec);
          ctx.progress.cellStarted(index, label);
          const outcome = await runCell(spec.workload, spec.size, pool, started, builds, plan, ctx.interrupt);
          // Ctrl-C in a terminal signals the whole process group: worker processes may die
          // (failing the cell) a moment before our own handler runs. Such a cell is not a result.
          if (outcome?.cell.status === 'failed') await new Promise((resolve) => setTimeout(resolve, INTERRUPT_GRACE_MS));
          if (outcome === null || ctx.interrupt.aborted) break;
          results.cells = withSpeedups([...results.cells, outcome.cell]);
          await writeResultsFileAtomic(path, results);
          ctx.progress.cellFinished(index, label, results.cells[results.cells.length - 1]!);
          index++;
          if (outcome.poolSuspect && !(started instanceof Error) && spec !== cells[cells.length - 1]) {
            ctx.progress.note(`restarting ${poolLabel(pool)}: its last run failed in a way that may have left it broken`);
            await closeQuietly(started.scheduler);
            started = await startPool(pool, ctx.interrupt);
          }
        }
      } finally {
        if (!(started instanceof Error)) await closeQuietly(started.scheduler);
      }
    }
  } finally {
    interrupted = ctx.interrupt.aborted;
    await builds.disposeAll();
    await stopResourceSampling();
  }

  results.finishedAt = new Date().toISOString();
  results.status = !interrupted && results.cells.length === results.plannedCells ? 'complete' : 'partial';
  await writeResultsFileAtomic(path, results);
  return { path, results, interrupted };
}

interface StartedPool {
  scheduler: Scheduler;
  startupSeconds: number;
}

/** Start a pool; an error (module missing, spawn failure, timeout) is returned, not thrown. */
async function startPool(pool: PoolSpec, interrupt: AbortSignal): Promise<StartedPool | Error> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const creating = import('../schedulers/index.js').then(({ createScheduler }) =>
    createScheduler(pool.scheduler, { workers: pool.workers }),
  );
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
 * Errors after which a scheduler is still usable (its contract: a failed task or a bad
 * graph rejects `get`, and the scheduler stays usable). Anything else — a lost worker, a
 * timed-out run, a broken connection — gets the pool restarted before its next cell.
 */
const POOL_SURVIVES = new Set(['TASK_FAILED', 'VERIFY_FAILED', 'CYCLE', 'MISSING_KEY', 'BAD_NODE', 'UNKNOWN_OP']);

interface CellOutcome {
  cell: Cell;
  /** The failure happened on the pool and may have left it broken. */
  poolSuspect: boolean;
}

/** Measure one cell; null when interrupted. */
async function runCell(
  workload: Workload,
  size: SizeName,
  pool: PoolSpec,
  started: StartedPool | Error,
  builds: WorkloadBuilds,
  plan: BenchPlan,
  interrupt: AbortSignal,
): Promise<CellOutcome | null> {
  const params = workload.sizes[size];
  const identity: CellIdentity = {
    workload: workload.name,
    size,
    params,
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
    const cell = await measureCell({ ...identity, workload, size, scheduler: started.scheduler, built, settings: plan.settings, interrupt });
    return { cell, poolSuspect: cell.status === 'failed' && !POOL_SURVIVES.has(cell.error?.code ?? '') };
  } catch (err) {
    if (err instanceof InterruptedError) return null;
    throw err;
  }
}

/**
 * Close a pool, best effort: the run's results do not depend on it. Bounded in time, because
 * a pool whose workers were killed from outside (Ctrl-C reaches the whole process group)
 * may never settle its close — and a promise nobody can settle would end the process
 * before the results are saved.
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
