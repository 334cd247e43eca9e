/**
 * Measure one cell: a workload at one size on a started, shared pool.
 *
 * 1. Warm-up: one untimed, verified run. It imports the op modules in the workers, lets
 *    the JIT settle, and estimates how long one run takes.
 * 2. Timing with tinybench, configured for long tasks: its own warm-up is off (done above),
 *    `iterations` (a minimum in tinybench's sequential mode) is lowered so that a
 *    multi-second run is not repeated 64 times — at most as many as fit the budget, at
 *    least 1 — and `time` is the cell's budget. Very fast cells are stopped at
 *    `maxSamples` through the task's abort signal (tinybench keeps the statistics of an
 *    aborted task). `throws: true` turns a failed run into a failed cell.
 * 3. Every run verifies its answer. Only `get` is timed (tinybench's `overriddenDuration`);
 *    the whole iteration, verification and memory sampling included, counts against the
 *    budget (`overriddenIterationCost`), so the budget bounds the cell's wall time. A
 *    wrong answer makes the cell `unverified` with no samples, so it can never pass for a
 *    fast time.
 *
 * Counters (`stats()`) and CPU time are taken as deltas over the timed runs and divided by
 * the number of runs; worker busy time is kept per run, paired with its wall time. CPU of the main process (worker threads
 * included) is measured around `get` only, so verification does not count; worker
 * processes are idle while the main process verifies. Peak memory covers the whole cell.
 */
import { Bench } from 'tinybench';
import type { Cell } from '../../results/schema.js';
import type { Scheduler, TransferStats } from '../../schedulers/types.js';
import { VerificationError, type BuiltWorkload, type SizeName, type Workload, type WorkloadParams } from '../../workloads/types.js';
import { perTaskOverheadUs, statsFromLatency } from './metrics.js';
import { ProcessTreeSampler, childCpuSecondsBetween } from './resources.js';
import { RunEventRecorder } from './task-stream.js';

/** How hard to measure each cell. */
export interface MeasureSettings {
  /** Target wall time of the timed samples of one cell, seconds (tinybench `time`). */
  budgetSeconds: number;
  /** Samples to take when one run fits the budget that many times (tinybench `iterations`). */
  minSamples: number;
  /** Upper bound on samples for very fast cells (keeps results files small). */
  maxSamples: number;
  /** A single run longer than this fails the cell (a hung or pathological scheduler). */
  runTimeoutSeconds: number;
}

/** The run was stopped by the user (Ctrl-C): the cell is not recorded. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'InterruptedError';
  }
}

export interface CellInput {
  scheduler: Scheduler;
  workers: number;
  workload: Workload;
  size: SizeName;
  params: WorkloadParams;
  built: BuiltWorkload;
  startupSeconds: number;
  settings: MeasureSettings;
  /** Aborted on Ctrl-C. */
  interrupt: AbortSignal;
}

interface RunOutcome {
  /** Wall time of `get`, ms. */
  getMs: number;
  /** CPU time of this process (all its threads) during `get`, seconds. */
  mainCpuSeconds: number;
  /** Wall time of get + verify, ms. */
  iterationMs: number;
  recorder: RunEventRecorder;
}

export async function measureCell(input: CellInput): Promise<Cell> {
  const identity = cellIdentity(input);
  const sampler = new ProcessTreeSampler();
  await sampler.start();
  let cell: Omit<Cell, 'peakMemoryBytes'>;
  try {
    cell = await measureRuns(input, sampler);
  } catch (err) {
    if (input.interrupt.aborted) {
      await sampler.stop();
      throw new InterruptedError();
    }
    cell = failedCell(identity, err);
  }
  return { ...cell, peakMemoryBytes: await sampler.stop() };
}

async function measureRuns(input: CellInput, sampler: ProcessTreeSampler): Promise<Omit<Cell, 'peakMemoryBytes'>> {
  const { scheduler, settings } = input;
  const warm = await runOnce(input, false);
  // tinybench's `iterations` is a minimum: never ask for more runs than fit the budget.
  const iterations = Math.max(1, Math.min(settings.minSamples, Math.floor((settings.budgetSeconds * 1000) / warm.iterationMs)));
  // ...and its `time` has no sample cap: stop very fast cells at `maxSamples` (state 'aborted-with-statistics').
  const enough = new AbortController();

  const samples: number[] = [];
  /** Workers' busy time of each sample, seconds (paired with `samples`). */
  const computeSeconds: number[] = [];
  let mainCpuSeconds = 0;
  let eventTasks = 0;
  let taskStream: Cell['taskStream'] = null;
  const statsBefore = scheduler.stats();
  const childCpuBefore = await sampler.childCpuSnapshot();

  const bench = new Bench({ iterations, time: settings.budgetSeconds * 1000, warmup: false, throws: true });
  bench.add(
    `${input.workload.name}/${input.size}`,
    async () => {
      const iterationStart = performance.now();
      const run = await runOnce(input, samples.length === 0);
      if (samples.length === 0) taskStream = run.recorder.taskStream();
      samples.push(run.getMs / 1000);
      computeSeconds.push(run.recorder.computeSeconds);
      mainCpuSeconds += run.mainCpuSeconds;
      eventTasks += run.recorder.tasksEnded;
      if (samples.length >= settings.maxSamples) enough.abort();
      await sampler.sampleIfDue(); // the main thread is free between runs (matters for sync)
      // The budget counts everything the iteration cost (verify, sampling), so it bounds wall time.
      return { overriddenDuration: run.getMs, overriddenIterationCost: performance.now() - iterationStart };
    },
    { signal: enough.signal },
  );
  const [task] = await bench.run();
  const result = task!.result;
  if (result.state !== 'completed' && result.state !== 'aborted-with-statistics') {
    throw result.state === 'errored' ? result.error : new Error(`tinybench ended the cell in state "${result.state}"`);
  }

  const runs = samples.length;
  const childCpuSeconds = childCpuSecondsBetween(childCpuBefore, await sampler.childCpuSnapshot());
  const moved = perRun(statsBefore, scheduler.stats(), runs);
  const tasks = Math.round(moved.tasks > 0 ? moved.tasks : eventTasks / runs);
  const stats = statsFromLatency(result.latency);
  return {
    ...cellIdentity(input),
    status: 'ok',
    verified: true,
    samples,
    stats,
    speedup: null,
    efficiency: null,
    tasks,
    perTaskOverheadUs: perTaskOverheadUs(samples, computeSeconds, input.workers, tasks),
    bytes: {
      toWorkers: Math.round(moved.bytesToWorkers),
      fromWorkers: Math.round(moved.bytesFromWorkers),
      betweenWorkers: Math.round(moved.bytesBetweenWorkers),
      ...(moved.bytesSpilled === undefined ? {} : { spilled: Math.round(moved.bytesSpilled), readBack: Math.round(moved.bytesReadBack ?? 0) }),
    },
    cpuSeconds: (mainCpuSeconds + childCpuSeconds) / runs,
    taskStream,
  };
}

/** One run: get (timed), then verify. Rejects on a failed task, a timeout or a wrong answer. */
async function runOnce(input: CellInput, keepSpans: boolean): Promise<RunOutcome> {
  const timeout = AbortSignal.timeout(input.settings.runTimeoutSeconds * 1000);
  const signal = AbortSignal.any([input.interrupt, timeout]);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const recorder = new RunEventRecorder(performance.timeOrigin + start, keepSpans);
  let values: unknown[];
  try {
    values = await input.scheduler.get(input.built.graph, input.built.keys, { onEvent: recorder.onEvent, signal });
  } catch (err) {
    if (timeout.aborted && !input.interrupt.aborted) {
      throw new Error(`one run took longer than ${input.settings.runTimeoutSeconds} s and was abandoned`);
    }
    throw err;
  }
  const getMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  try {
    await input.workload.verify(values, input.params, input.built);
  } catch (err) {
    // Whatever verify throws means "no verified answer": the cell is unverified, not failed.
    throw err instanceof VerificationError ? err : new VerificationError(input.workload.name, describeError(err).message);
  }
  return { getMs, mainCpuSeconds: (cpu.user + cpu.system) / 1e6, iterationMs: performance.now() - start, recorder };
}

function perRun(before: TransferStats, after: TransferStats, runs: number): TransferStats {
  return {
    tasks: (after.tasks - before.tasks) / runs,
    bytesToWorkers: (after.bytesToWorkers - before.bytesToWorkers) / runs,
    bytesFromWorkers: (after.bytesFromWorkers - before.bytesFromWorkers) / runs,
    bytesBetweenWorkers: (after.bytesBetweenWorkers - before.bytesBetweenWorkers) / runs,
    ...(after.bytesSpilled === undefined
      ? {}
      : { bytesSpilled: (after.bytesSpilled - (before.bytesSpilled ?? 0)) / runs, bytesReadBack: ((after.bytesReadBack ?? 0) - (before.bytesReadBack ?? 0)) / runs }),
  };
}

/** What names a cell, plus its pool's start-up time. */
export type CellIdentity = Pick<Cell, 'workload' | 'size' | 'params' | 'scheduler' | 'workers' | 'startupSeconds'>;

function cellIdentity(input: CellInput): CellIdentity {
  return {
    workload: input.workload.name,
    size: input.size,
    params: input.params,
    scheduler: input.scheduler.name,
    workers: input.workers,
    startupSeconds: input.startupSeconds,
  };
}

/** A cell that produced no valid time: a wrong answer (`unverified`) or any other error (`failed`). */
export function failedCell(identity: CellIdentity, err: unknown): Omit<Cell, 'peakMemoryBytes'> {
  const error = describeError(err);
  return {
    ...identity,
    status: error.code === 'VERIFY_FAILED' ? 'unverified' : 'failed',
    error,
    verified: false,
    samples: [],
    stats: null,
    speedup: null,
    efficiency: null,
    tasks: 0,
    perTaskOverheadUs: null,
    bytes: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 },
    cpuSeconds: null,
    taskStream: null,
  };
}

/** name / message / code of anything thrown. */
export function describeError(err: unknown): { name: string; message: string; code?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}
