/**
 * The bench runner: runs a validated plan pool by pool and keeps the results file current.
 *
 * Each pool (scheduler × workers) runs in a process of its own (harness/runner/pool-process.ts,
 * measuring with harness/runner/pool.ts), forked here one after another. A fresh process per pool
 * means memory, heap garbage and JIT state of one scheduler never count against the next,
 * and a pool that crashes its process fails only its own remaining cells.
 *
 * This process only collects: every cell a pool reports is added to the results file,
 * which is rewritten atomically with `status: 'partial'`, so a crash or Ctrl-C keeps every
 * finished cell; the last write says `complete`. Speedups are recomputed over all cells at
 * each write (sync runs first, so later cells get theirs at once).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { writeResultsFileAtomic } from '../../results/io.js';
import { RESULTS_SCHEMA_VERSION, type Cell, type ResultsFile } from '../../results/schema.js';
import { failedCell } from '../measure/cell.js';
import { captureEnvironment } from '../measure/environment.js';
import { withSpeedups } from '../measure/metrics.js';
import { poolLabel } from '../../common/cells.js';
import { cellLabel, countCells, type BenchPlan, type PoolPlan } from './plan.js';
import type { FromPool, PoolJob, ToPool } from './pool-protocol.js';
import type { DashboardState } from '../../schedulers/dashboard/state.js';
import { applyBatch } from './dashboard-relay.js';

/** What the runner reports as cells start and finish (the CLI draws it: cli/progress.ts). */
export interface ProgressReporter {
  cellStarted(index: number, label: string): void;
  cellFinished(index: number, label: string, cell: Cell): void;
  /** A message that must stay visible (a pool that could not start...). */
  note(message: string): void;
  /** Clear the live line and say how many cells ran in how long. */
  stop(): void;
}

const POOL_PROCESS = new URL('./pool-process.js', import.meta.url);
/** After an interrupt (or its last message), a pool process gets this long to exit before it is killed. */
const POOL_EXIT_TIMEOUT_MS = 10_000;

export interface BenchOutcome {
  path: string;
  results: ResultsFile;
  interrupted: boolean;
}

export interface RunContext {
  progress: ProgressReporter;
  /** Aborted on Ctrl-C: the current cell is dropped, the pool closed, what finished is saved. */
  interrupt: AbortSignal;
  argv?: string[];
  /** `--dashboard`: shows the cell being measured and its pool's events. */
  dashboard?: DashboardState;
}

/** A sortable, file-name-safe id: the start time in UTC, e.g. `2026-11-27T14-03-12-345Z`. */
function newRunId(now: Date): string {
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

  let first = 0;
  for (const poolPlan of plan.pools) {
    if (ctx.interrupt.aborted) break;
    const base = first;
    const record = async (index: number, cell: Cell): Promise<void> => {
      results.cells = withSpeedups([...results.cells, cell]);
      await writeResultsFileAtomic(path, results);
      ctx.progress.cellFinished(base + index, cellLabel(poolPlan.cells[index]!), results.cells[results.cells.length - 1]!);
    };
    const board = ctx.dashboard;
    board?.forgetWorkers();
    const ended = await runPoolProcess(plan, poolPlan, {
      interrupt: ctx.interrupt,
      cellStarted: (index) => {
        ctx.progress.cellStarted(base + index, cellLabel(poolPlan.cells[index]!));
        if (board) board.title = `bench: cell ${base + index + 1}/${results.plannedCells}, ${cellLabel(poolPlan.cells[index]!)}`;
      },
      ...(board ? { dashboard: board } : {}),
      cellFinished: record,
      note: (message) => ctx.progress.note(message),
    });
    if (!ended.done && !ctx.interrupt.aborted) {
      // The pool's process died: its remaining cells fail with the reason.
      for (let index = ended.reported; index < poolPlan.cells.length; index++) {
        const spec = poolPlan.cells[index]!;
        const identity = {
          workload: spec.workload.name,
          size: spec.size,
          params: spec.workload.sizes[spec.size],
          scheduler: spec.pool.scheduler,
          workers: spec.pool.workers,
          startupSeconds: 0,
        };
        await record(index, { ...failedCell(identity, new Error(ended.reason)), peakMemoryBytes: 0 });
      }
    }
    first += poolPlan.cells.length;
  }

  const interrupted = ctx.interrupt.aborted;
  results.finishedAt = new Date().toISOString();
  results.status = !interrupted && results.cells.length === results.plannedCells ? 'complete' : 'partial';
  await writeResultsFileAtomic(path, results);
  return { path, results, interrupted };
}

interface PoolEvents {
  interrupt: AbortSignal;
  cellStarted(index: number): void;
  cellFinished(index: number, cell: Cell): Promise<void>;
  note(message: string): void;
  dashboard?: DashboardState;
}

/** How a pool process ended: `done` when it reported everything it was going to. */
interface PoolEnd {
  done: boolean;
  /** Cells reported. */
  reported: number;
  /** Why it ended early (for the cells it could not measure). */
  reason: string;
}

/** Fork the pool's process, relay its messages in order, and wait for it to exit. */
async function runPoolProcess(plan: BenchPlan, poolPlan: PoolPlan, events: PoolEvents): Promise<PoolEnd> {
  const job: PoolJob = {
    pool: poolPlan.pool,
    cells: poolPlan.cells.map((c) => ({ workload: c.workload.name, size: c.size })),
    settings: plan.settings,
    workloadOptions: plan.workloadOptions,
    ...(plan.workloadFile ? { workloadFile: plan.workloadFile } : {}),
    ...(events.dashboard ? { dashboard: true } : {}),
  };
  const child = fork(POOL_PROCESS, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const end: PoolEnd = { done: false, reported: 0, reason: '' };
  let handled = Promise.resolve(); // messages are handled one at a time, in order
  child.on('message', (message: FromPool) => {
    handled = handled.then(async () => {
      if (message.type === 'cell-start') events.cellStarted(message.index);
      else if (message.type === 'note') events.note(message.message);
      else if (message.type === 'dashboard') {
        if (events.dashboard) applyBatch(events.dashboard, message.batch);
      }
      else if (message.type === 'cell') {
        await events.cellFinished(message.index, message.cell);
        end.reported = message.index + 1;
      } else if (message.type === 'done') {
        end.done = true;
        killLater(child);
      } else {
        end.reason = `${poolLabel(poolPlan.pool)} could not run: ${message.message}`;
        killLater(child);
      }
    });
  });
  const onInterrupt = (): void => {
    sendQuietly(child, { type: 'interrupt' });
    killLater(child);
  };
  events.interrupt.addEventListener('abort', onInterrupt, { once: true });
  try {
    const exit = await new Promise<string>((resolve) => {
      child.on('error', (err) => resolve(`could not start the pool process: ${err.message}`));
      child.on('close', (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`));
      sendQuietly(child, { type: 'job', job });
    });
    await handled;
    if (!end.done && !end.reason) end.reason = `the process running ${poolLabel(poolPlan.pool)} died (${exit})`;
    return end;
  } finally {
    events.interrupt.removeEventListener('abort', onInterrupt);
  }
}

function sendQuietly(child: ChildProcess, message: ToPool): void {
  if (child.connected) child.send(message, (err) => void err); // a child that just exited cannot receive: fine
}

/** A pool process that has said its last word, or was asked to stop, gets a while to exit. */
function killLater(child: ChildProcess): void {
  setTimeout(() => child.kill('SIGKILL'), POOL_EXIT_TIMEOUT_MS).unref();
}
