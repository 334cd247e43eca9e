/**
 * Measure one cell: a workload at one size on a started, shared pool, one sample at a time.
 *
 * The runner decides how many samples a cell gets and when (harness/runner/race.ts): the cells
 * of a workload race, their samples interleaved. So a cell is measured in steps:
 * 1. `prepare`: untimed warm-up runs (warm-up.ts): one, then more until WARM_UP.seconds have
 *    passed, at most WARM_UP.max. They import the op modules in the workers and let the JIT
 *    and the heaps settle, which a short graph needs several runs for; a failed task fails
 *    the cell here, its answer is checked with the first sample's.
 * 2. `sample`, as often as the runner asks: one timed run, verified. Only `get` is timed. A
 *    wrong answer throws a VerificationError (the cell becomes `unverified` with no samples,
 *    so it can never pass for a fast time); a failed task or a timeout throws too.
 *    The first sample's answer is always verified. When verifying took more than
 *    VERIFY_ONCE_SHARE of that sample (the json workloads recompute the whole answer), later
 *    answers byte-identical to a verified one (same v8 serialization, compared by digest) are
 *    not verified again, so the runner's sample windows time the work, not the check; an answer
 *    that differs in any byte is verified in full.
 * 3. `result`: the cell with its samples and statistics. Before that the runner may
 *    `discardLast`: a sample other programs crowded is taken again, and everything it
 *    measured is forgotten with it.
 *
 * Counters (`stats()`) and CPU time are kept per timed run, summed over the runs kept and
 * divided by their number; worker busy time is kept per run, paired with its wall time. CPU of the main process
 * (worker threads included) is measured around `get` only, so verification does not count;
 * worker processes are idle while the main process verifies. Memory and child CPU are sampled
 * only while this cell's own runs go (other pools idle meanwhile must not disturb the cell
 * being timed); peak memory covers the warm-up and every sample.
 */
import { createHash } from 'node:crypto';
import { serialize } from 'node:v8';
import type { Cell } from '../../results/schema.js';
import type { Scheduler, TransferStats } from '../../schedulers/types.js';
import { VerificationError, type BuiltWorkload, type SizeName, type Workload, type WorkloadParams } from '../../workloads/types.js';
import { perTaskOverheadUs, statsFromSamples } from './metrics.js';
import { repeatRuns } from './warm-up.js';
import { ProcessTreeSampler, childCpuSecondsBetween } from './resources.js';
import { RunEventRecorder } from './task-stream.js';

/** How hard to measure: the race of each workload and size (see harness/runner/race.ts). */
export interface MeasureSettings {
  /** Seconds the samples of one (workload, size) may take in all, all its cells together. */
  budgetSeconds: number;
  /** Samples every cell gets, whatever the budget (at least 3, the test's minimum). */
  minSamples: number;
  /** Samples after which a cell within noise of the leader stops. */
  maxSamples: number;
  /** A single run longer than this fails the cell (a hung or pathological scheduler). */
  runTimeoutSeconds: number;
}

/** Verifying costs more than this share of the first sample: identical answers are verified once. */
export const VERIFY_ONCE_SHARE = 0.25;

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
  values: unknown[];
  /** Wall time of `get`, ms. */
  getMs: number;
  /** CPU time of this process (all its threads) during `get`, seconds. */
  mainCpuSeconds: number;
  recorder: RunEventRecorder;
}

/** What one timed run measured; the cell's figures are summed over the runs it keeps. */
interface TakenSample {
  seconds: number;
  /** Workers' busy time, seconds. */
  computeSeconds: number;
  mainCpuSeconds: number;
  childCpuSeconds: number;
  eventTasks: number;
  moved: TransferStats;
  /** The first kept sample's task stream. */
  taskStream: Cell['taskStream'];
}

const MOVED_COUNTERS = ['tasks', 'bytesToWorkers', 'bytesFromWorkers', 'bytesBetweenWorkers', 'bytesSpilled', 'bytesReadBack'] as const;

/** One cell being measured (see the top of this file). */
export class CellMeasurement {
  private readonly taken: TakenSample[] = [];
  private readonly sampler = new ProcessTreeSampler();
  /** Digests of the answers verified so far; null while every answer is verified (cheap checks, or no digest). */
  private verifiedDigests: Set<string> | null = null;

  private constructor(private readonly input: CellInput) {}

  /** The warm-up run. Throws what the run threw (InterruptedError on Ctrl-C). */
  static async prepare(input: CellInput): Promise<CellMeasurement> {
    const cell = new CellMeasurement(input);
    await cell.sampler.start();
    try {
      await repeatRuns(() => cell.guard(() => runOnce(input, false)), WARM_UP); // Ctrl-C: the run in flight throws
    } finally {
      await cell.sampler.stop();
    }
    return cell;
  }

  /** Seconds of each sample kept so far. */
  get samples(): number[] {
    return this.taken.map((t) => t.seconds);
  }

  /** One timed, verified run; returns its time in seconds. */
  async sample(): Promise<number> {
    const { input } = this;
    const first = this.taken.length === 0;
    await this.sampler.start();
    try {
      const childBefore = await this.sampler.childCpuSnapshot(first);
      const statsBefore = input.scheduler.stats();
      const run = await this.guard(() => runOnce(input, first));
      const statsAfter = input.scheduler.stats();
      await this.check(run);
      const moved = { tasks: 0, bytesToWorkers: 0, bytesFromWorkers: 0, bytesBetweenWorkers: 0 } as TransferStats;
      for (const k of MOVED_COUNTERS) if (statsAfter[k] !== undefined) moved[k] = statsAfter[k]! - (statsBefore[k] ?? 0);
      this.taken.push({
        seconds: run.getMs / 1000,
        computeSeconds: run.recorder.computeSeconds,
        mainCpuSeconds: run.mainCpuSeconds,
        childCpuSeconds: childCpuSecondsBetween(childBefore, await this.sampler.childCpuSnapshot(false)),
        eventTasks: run.recorder.tasksEnded,
        moved,
        taskStream: first ? run.recorder.taskStream() : null,
      });
      return run.getMs / 1000;
    } finally {
      await this.sampler.stop();
    }
  }

  /**
   * Forget the last sample, everything it measured included (the runner retakes a sample that
   * other programs crowded: harness/runner/bench.ts). The next sample is verified in full.
   */
  discardLast(): void {
    if (!this.taken.pop()) throw new Error('no sample to discard');
  }

  /** The measured cell (at least one sample taken); `raceEnd` says why it stopped. */
  async result(raceEnd: Cell['raceEnd']): Promise<Cell> {
    const { input, taken } = this;
    const runs = taken.length;
    const sum = (of: (t: TakenSample) => number | undefined): number => taken.reduce((n, t) => n + (of(t) ?? 0), 0);
    const spilled = taken.some((t) => t.moved.bytesSpilled !== undefined);
    const movedTasks = sum((t) => t.moved.tasks);
    const tasks = Math.round(movedTasks > 0 ? movedTasks / runs : sum((t) => t.eventTasks) / runs);
    const samples = this.samples;
    return {
      ...cellIdentity(input),
      status: 'ok',
      verified: true,
      samples,
      stats: statsFromSamples(samples),
      speedup: null,
      efficiency: null,
      tasks,
      perTaskOverheadUs: perTaskOverheadUs(samples, taken.map((t) => t.computeSeconds), input.workers, tasks),
      bytes: {
        toWorkers: Math.round(sum((t) => t.moved.bytesToWorkers) / runs),
        fromWorkers: Math.round(sum((t) => t.moved.bytesFromWorkers) / runs),
        betweenWorkers: Math.round(sum((t) => t.moved.bytesBetweenWorkers) / runs),
        ...(spilled ? { spilled: Math.round(sum((t) => t.moved.bytesSpilled) / runs), readBack: Math.round(sum((t) => t.moved.bytesReadBack) / runs) } : {}),
      },
      peakMemoryBytes: await this.peakMemoryBytes(),
      cpuSeconds: sum((t) => t.mainCpuSeconds + t.childCpuSeconds) / runs,
      startupSeconds: input.startupSeconds,
      taskStream: taken[0]?.taskStream ?? null,
      raceEnd,
      noise: null,
    };
  }

  /** Peak memory of the process tree over the warm-up and the samples. */
  async peakMemoryBytes(): Promise<number> {
    return this.sampler.stop();
  }

  /** Verify a sample's answer, or find it byte-identical to one verified before (see the top of this file). */
  private async check(run: RunOutcome): Promise<void> {
    const { input } = this;
    if (this.taken.length === 0) {
      const start = performance.now();
      await verifyAnswer(input, run.values);
      const digest = performance.now() - start > VERIFY_ONCE_SHARE * run.getMs ? digestOf(run.values) : null;
      if (digest !== null) this.verifiedDigests = new Set([digest]);
      return;
    }
    const digest = this.verifiedDigests ? digestOf(run.values) : null;
    if (digest !== null && this.verifiedDigests!.has(digest)) return;
    await verifyAnswer(input, run.values);
    if (digest !== null) this.verifiedDigests!.add(digest);
  }

  /** A run that throws after Ctrl-C was interrupted, whatever it threw. */
  private async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (this.input.interrupt.aborted) throw new InterruptedError();
      throw err;
    }
  }
}

/**
 * Warm-up runs of a cell: at least one, then on for half a second, at most ten. tiny-tasks
 * quick on threads×2 took 90, 64, 85, 47, 32 and 32 ms in its first runs and 16-25 ms after,
 * so with one warm-up its race stopped it after three cold samples at twice threads×1's time
 * (and the model check counted it 2x off); a graph of half a second or more still gets one.
 */
const WARM_UP = { min: 1, max: 10, seconds: 0.5 } as const;

/** One run of `get`, timed. Rejects on a failed task or a timeout. */
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
  return { values, getMs, mainCpuSeconds: (cpu.user + cpu.system) / 1e6, recorder };
}

/** The workload's check of an answer. Whatever verify throws means "no verified answer": the cell is unverified, not failed. */
async function verifyAnswer(input: CellInput, values: unknown[]): Promise<void> {
  try {
    await input.workload.verify(values, input.params, input.built);
  } catch (err) {
    throw err instanceof VerificationError ? err : new VerificationError(input.workload.name, describeError(err).message);
  }
}

/** A digest of the answer's v8 serialization (what crossed the boundary, byte for byte); null when it cannot be serialized. */
function digestOf(values: unknown[]): string | null {
  try {
    return createHash('sha256').update(serialize(values)).digest('base64');
  } catch {
    return null;
  }
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
    raceEnd: 'failed',
    noise: null,
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
