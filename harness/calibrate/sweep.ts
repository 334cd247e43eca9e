/**
 * The calibration sweep for one pool: a parametric synthetic workload run on a started
 * scheduler, each graph profiled on the main thread (the same profiler `advise` uses) just
 * before and just after it is timed on the pool, with the pool's byte counters per get.
 *
 * The pool is first warmed up (`warmUp`), then runs are sized from a probe of its per-task
 * cost (`probePerTask`) so that each takes a fraction of a second whatever the scheduler:
 * - overhead: one empty task; two widths of independent empty tasks plus a reduction tree
 *   (fan-in 16), the wider also timed with every task's events observed, as the bench
 *   observes its samples, in pairs with plain gets (the cost of that is `observedTaskSeconds`);
 * - bytes, for each kind of value (plain, shared, object) and each size (256 KiB and 2 MiB;
 *   16 MiB too in the full sweep, and for plain arrays' back and stages): "to" (tasks read a
 *   literal of that size), "back" (tasks return a value of that size), and "stages" (each
 *   task of a second stage reads k = 2 values of the first, which moves values between
 *   workers on a peer-to-peer pool; at 2 MiB and above);
 * - strings: tasks reading 2 MiB literals of JSON text, for the pool's `stringWeight`;
 * - compute: independent busy tasks plus a reduction, task durations 10 µs … 10 ms (quick)
 *   or 1 µs … 30 ms (full): efficiency and METG.
 * A run that fails is left out with a note; the pool goes on. A run other processes crowded
 * (a quarter of a core or more beyond what the pool leaves idle: /proc, measure/outside-load.ts
 * `crowded`, the bench's rule too) is measured again, twice at most, and the quietest attempt
 * kept; the pool's mean outside load is in the file.
 */
import os from 'node:os';
import { opRef } from '../../schedulers/graph.js';
import type { Graph, Key, RunOptions, Scheduler } from '../../schedulers/types.js';
import type { CalibrationRun } from '../../model/fit.js';
import type { ValueKind } from '../../model/calibration.js';
import { VALUE_KINDS } from '../../model/calibration.js';
import { OutsideLoadMeter, leastCrowded } from '../measure/outside-load.js';
import { repeatRuns } from '../measure/warm-up.js';
import { RunEventRecorder } from '../measure/task-stream.js';
import { profileGraph, profileWarm } from './profile.js';
import { produce, spin } from './ops.js';

const OPS = import.meta.url.replace(/sweep\.js$/, 'ops.js');
const SPIN = opRef(OPS, 'spin');
const PRODUCE = opRef(OPS, 'produce');
const CONSUME = opRef(OPS, 'consume');
const REDUCE = opRef(OPS, 'reduce');

export type SweepKind = 'quick' | 'full';

export interface SweepSettings {
  sweep: SweepKind;
  /** spin iterations per second on the main thread (measureSpinRate). */
  spinRate: number;
  /** A single get longer than this fails the run. */
  runTimeoutSeconds: number;
  note: (message: string) => void;
  interrupt?: AbortSignal;
}

interface Experiment {
  name: string;
  purpose: CalibrationRun['purpose'];
  kind: ValueKind | null;
  build: () => { graph: Graph; keys: Key[] };
  /** Also time it with every task's events observed (`CalibrationRun.observedSamples`). */
  observe?: boolean;
}

/** Iterations of `spin` per second on this thread: the fastest of a few timed runs. */
export function measureSpinRate(): number {
  const iterations = 2_000_000;
  let best = Infinity;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    spin(iterations);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return iterations / Math.max(best, 1e-6);
}

/** Fan-in of the reduction trees that gather independent tasks (the catalog's shape: a tree, not one task reading thousands of values). */
const FAN_IN = 16;

function independent(n: number, iterations: number): { graph: Graph; keys: Key[] } {
  const graph: Graph = {};
  let level: Key[] = [];
  for (let i = 0; i < n; i++) {
    graph[`t${i}`] = { op: SPIN, args: [iterations] };
    level.push(`t${i}`);
  }
  let depth = 0;
  do {
    const next: Key[] = [];
    for (let i = 0; i < level.length; i += FAN_IN) {
      const key = `r${depth}-${i / FAN_IN}`;
      graph[key] = { op: REDUCE, args: level.slice(i, i + FAN_IN).map((k) => ({ $ref: k })) };
      next.push(key);
    }
    level = next;
    depth++;
  } while (level.length > 1);
  return { graph, keys: level };
}

function bytesTo(kind: ValueKind | 'text', bytes: number, tasks: number): { graph: Graph; keys: Key[] } {
  // Literal inputs, made on the main thread by the same op the tasks use.
  const graph: Graph = {};
  const keys: Key[] = [];
  for (let i = 0; i < tasks; i++) {
    graph[`in${i}`] = { value: produce(kind, bytes, 0) };
    graph[`c${i}`] = { op: CONSUME, args: [0, { $ref: `in${i}` }] };
    keys.push(`c${i}`);
  }
  return { graph, keys };
}

function bytesBack(kind: ValueKind, bytes: number, tasks: number): { graph: Graph; keys: Key[] } {
  const graph: Graph = {};
  const keys: Key[] = [];
  for (let i = 0; i < tasks; i++) {
    graph[`p${i}`] = { op: PRODUCE, args: [kind, bytes, 0] };
    keys.push(`p${i}`);
  }
  return { graph, keys };
}

function stages(kind: ValueKind, bytes: number, width: number): { graph: Graph; keys: Key[] } {
  const graph: Graph = {};
  for (let i = 0; i < width; i++) graph[`a${i}`] = { op: PRODUCE, args: [kind, bytes, 0] };
  const refs: Array<{ $ref: Key }> = [];
  for (let i = 0; i < width; i++) {
    graph[`b${i}`] = { op: CONSUME, args: [0, { $ref: `a${i}` }, { $ref: `a${(i + 1) % width}` }] };
    refs.push({ $ref: `b${i}` });
  }
  graph.total = { op: REDUCE, args: refs };
  return { graph, keys: ['total'] };
}

function experiments(settings: SweepSettings, workers: number, perTaskSeconds: number): Experiment[] {
  const quick = settings.sweep === 'quick';
  // About 0.05 s and 0.2 s of per-task cost (at most 4,000 and 16,000 tasks): long enough
  // that the slope (the cost of a task) is not lost in the get's fixed cost on the slowest
  // pools, now that the probe measures that slope and not the get.
  const narrow = Math.round(Math.min(4000, Math.max(16, 0.05 / perTaskSeconds)));
  const list: Experiment[] = [
    { name: 'empty', purpose: 'overhead', kind: null, build: () => independent(1, 0) },
    { name: `tasks×${narrow}`, purpose: 'overhead', kind: null, build: () => independent(narrow, 0) },
    { name: `tasks×${narrow * 4}`, purpose: 'overhead', kind: null, build: () => independent(narrow * 4, 0), observe: true },
  ];
  const tasks = Math.max(4, 2 * workers);
  const MiB = 1024 * 1024;
  // Plain arrays, the numeric workloads' data, also at 16 MiB in the quick sweep (back and stages): a worker
  // that makes a new array that large pays for fresh pages (its memory was freed where the
  // array went), which 2 MiB arrays, reused from the allocator, do not show (tree-reduce's
  // 16 MB leaves on threads×1 took 7 ms each more than the 2 MiB rows priced).
  const sizesOf = (kind: ValueKind): number[] => (quick && kind !== 'plain' ? [256 * 1024, 2 * MiB] : [256 * 1024, 2 * MiB, 16 * MiB]);
  for (const kind of VALUE_KINDS) {
    const sizes = sizesOf(kind);
    for (const bytes of sizes) {
      const mb = `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0)} MiB`;
      // Literals of 16 MiB only in the full sweep: the catalog's literal inputs are 2 MB blocks at most.
      if (!quick || bytes <= 2 * MiB) list.push({ name: `to ${kind} ${mb}×${tasks}`, purpose: 'overhead', kind, build: () => bytesTo(kind, bytes, tasks) });
      list.push({ name: `back ${kind} ${mb}×${tasks}`, purpose: 'overhead', kind, build: () => bytesBack(kind, bytes, tasks) });
    }
    for (const stageBytes of sizes.slice(1)) {
      list.push({ name: `stages ${kind} ${stageBytes / MiB} MiB×${tasks}`, purpose: 'overhead', kind, build: () => stages(kind, stageBytes, tasks) });
    }
  }
  // Long strings: what this pool's wire format charges for text, against its profiled weight (`stringWeight`).
  list.push({ name: `to text 2 MiB×${tasks}`, purpose: 'strings', kind: 'object', build: () => bytesTo('text', 2 * MiB, tasks) });
  const durations = quick ? [1e-5, 1e-4, 1e-3, 1e-2] : [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2];
  // Seconds of compute per worker in each run (0.15 in the quick sweep took it past 3 minutes).
  const target = quick ? 0.1 : 0.5;
  for (const d of durations) {
    const n = Math.round(Math.min(20_000, Math.max(4 * workers, Math.ceil((target * workers) / Math.max(d, perTaskSeconds)))));
    const iterations = Math.max(1, Math.round(d * settings.spinRate));
    list.push({ name: `compute ${formatShort(d)}×${n}`, purpose: 'compute', kind: null, build: () => independent(n, iterations) });
  }
  return list;
}

function formatShort(seconds: number): string {
  return seconds < 1e-3 ? `${Math.round(seconds * 1e6)} µs` : `${Math.round(seconds * 1e3)} ms`;
}

/**
 * Time `graph` on `scheduler`: one warm-up get (on a pool already warmed up by `warmUp`, whose
 * engine paths are compiled; the bench warms each cell up for up to half a second, which
 * would take this sweep past its 3 minutes), then timed gets with the bytes each moved: `reps`
 * of them, fewer for a long get (about `SAMPLE_SECONDS` of them, never under `MIN_REPS`; a get
 * over a second is timed once). At five gets each, the slow pools' long runs (bullmq's compute
 * runs take 0.4 s a get, its 16 MiB runs 0.45 s) made 21 s of bullmq×2's 31.
 */
async function timeOnPool(
  scheduler: Scheduler,
  graph: Graph,
  keys: Key[],
  reps: number,
  settings: SweepSettings,
): Promise<{ samples: number[]; moved: CalibrationRun['moved'] }> {
  const options = (): RunOptions => runOptions(settings, false);
  const w0 = performance.now();
  await scheduler.get(graph, keys, options());
  const warm = (performance.now() - w0) / 1000;
  const count = warm > 1 ? 1 : Math.max(Math.min(reps, MIN_REPS), Math.min(reps, Math.round(SAMPLE_SECONDS / Math.max(warm, 1e-6))));
  const before = scheduler.stats();
  const samples: number[] = [];
  for (let r = 0; r < count; r++) {
    const t0 = performance.now();
    await scheduler.get(graph, keys, options());
    samples.push((performance.now() - t0) / 1000);
  }
  const after = scheduler.stats();
  return {
    samples,
    moved: {
      toWorkers: (after.bytesToWorkers - before.bytesToWorkers) / count,
      fromWorkers: (after.bytesFromWorkers - before.bytesFromWorkers) / count,
      betweenWorkers: (after.bytesBetweenWorkers - before.bytesBetweenWorkers) / count,
    },
  };
}

/** A get's options: the sweep's timeout and interrupt; `observe`: every task's events recorded, as the bench observes its samples. */
function runOptions(settings: SweepSettings, observe: boolean): RunOptions {
  const signal = AbortSignal.any([AbortSignal.timeout(settings.runTimeoutSeconds * 1000), ...(settings.interrupt ? [settings.interrupt] : [])]);
  return { signal, ...(observe ? { onEvent: new RunEventRecorder(performance.timeOrigin + performance.now(), false).onEvent } : {}) };
}

/**
 * Time `graph` with its events observed, in pairs with plain gets (one observed warm-up get
 * first). Timed one after the other, the observed gets came last and paid for their own
 * start: the first observed sample was the slowest of the three in 15 of 19 sweeps (65 ms
 * against 30-32 ms plain for 17,068 tasks on sync, say), and the fitted cost of observing
 * ranged 0-1.55 µs a task on sync over twelve calibrations, against 0.2 µs in an
 * interleaved measurement.
 */
async function timeObserved(scheduler: Scheduler, graph: Graph, keys: Key[], settings: SweepSettings): Promise<{ plain: number[]; observed: number[] }> {
  await scheduler.get(graph, keys, runOptions(settings, true));
  const plain: number[] = [];
  const observed: number[] = [];
  for (let r = 0; r < OBSERVED_REPS; r++) {
    for (const [observe, into] of [[false, plain], [true, observed]] as const) {
      const t0 = performance.now();
      await scheduler.get(graph, keys, runOptions(settings, observe));
      into.push((performance.now() - t0) / 1000);
    }
  }
  return { plain, observed };
}

/** Timed gets of a run: about this long in all, … */
const SAMPLE_SECONDS = 1;
/** … but at least this many (a get over a second excepted). */
const MIN_REPS = 3;

/** Two profiles of one graph (node by node): their mean durations. */
function meanProfile(a: CalibrationRun['graph'], b: CalibrationRun['graph']): CalibrationRun['graph'] {
  return { ...a, seconds: a.seconds.map((x, i) => (x + b.seconds[i]!) / 2) };
}

/** Pairs of plain and observed gets of the run observed with events (the difference is all the fit keeps of the observed ones). */
const OBSERVED_REPS = 3;

/** A run other processes crowded (measure/outside-load.ts `crowded`, the bench's rule too) is measured again, up to MAX_ATTEMPTS in all. */
const MAX_ATTEMPTS = 3;

/** Gets of the warm-up graph: at least this many, and on until WARM_UP_SECONDS have passed (at most WARM_UP_MAX). */
const WARM_UP_MIN = 5;
const WARM_UP_MAX = 60;
const WARM_UP_SECONDS = 1;

/**
 * Bring a new pool to its steady state before measuring it. A fresh pool (and, for sync,
 * this process) runs its first gets of many small tasks 3-8x slower than later ones
 * (compiling the engine and the ops, growing the heap): sync took 44 ms for 4,000 empty
 * tasks at first and 5 ms after a dozen gets; a distributed cluster 105 ms for 183 and then
 * 20. The bench measures pools that are long warm, so calibrating cold overstates every
 * per-task cost. One graph of 1,000 empty tasks is run until the warm-up time has passed.
 */
async function warmUp(scheduler: Scheduler, settings: SweepSettings): Promise<void> {
  const { graph, keys } = independent(1000, 0);
  const signal = (): AbortSignal => AbortSignal.timeout(settings.runTimeoutSeconds * 1000);
  await repeatRuns(() => scheduler.get(graph, keys, { signal: signal() }), { min: WARM_UP_MIN, max: WARM_UP_MAX, seconds: WARM_UP_SECONDS, interrupt: settings.interrupt });
}

/**
 * A first estimate of the pool's cost per task, to size the runs: the slope between 32 and
 * 288 empty tasks (best of 3 each). The time of 32 tasks over 32 is mostly the get's fixed
 * cost on a remote pool (bullmq: 115 µs "a task" against a 6 µs slope), which sized its
 * per-task runs at a few hundred tasks, a batch or two, and left the slope to noise.
 */
async function probePerTask(scheduler: Scheduler, settings: SweepSettings): Promise<number> {
  const best = async (n: number): Promise<number> => {
    const probe = independent(n, 0);
    return Math.min(...(await timeOnPool(scheduler, probe.graph, probe.keys, 3, settings)).samples);
  };
  const small = await best(32);
  const large = await best(288);
  const slope = (large - small) / 256;
  return Math.max(1e-7, slope > 0 ? slope : large / 288);
}

/** Run the whole sweep on a started pool (warmed up first). */
export async function sweepPool(scheduler: Scheduler, workers: number, settings: SweepSettings): Promise<CalibrationRun[]> {
  const reps = settings.sweep === 'quick' ? 5 : 7;
  await warmUp(scheduler, settings);
  const perTask = await probePerTask(scheduler, settings);
  const meter = new OutsideLoadMeter();
  await meter.relist(); // the pool's processes, if it has any, are this process's descendants
  const pool = { scheduler: scheduler.name, workers };
  const cores = os.availableParallelism();
  const runs: CalibrationRun[] = [];
  for (const e of experiments(settings, workers, perTask)) {
    if (settings.interrupt?.aborted) break;
    try {
      const built = e.build();
      // A run other processes crowded (a quarter of a core beyond what the pool leaves idle)
      // is measured again (at most MAX_ATTEMPTS times in all) and the quietest attempt kept: the fit
      // has one run per point, and a build beside one compute run was enough to put a
      // pool's efficiency at 57 %.
      const { value, outsideShare } = await leastCrowded(
        async () => {
          // Profiled on the main thread just before (warm: a new graph's first run pays for
          // compiling and first-touch allocations, up to 3x on the byte runs) and just after
          // the pool's runs: on a busy machine the speed of a core drifts, and the two sides
          // must see the same machine.
          const before = await profileWarm(built.graph, built.keys);
          const { samples, moved } = await timeOnPool(scheduler, built.graph, built.keys, reps, settings);
          // The plain gets paired with the observed ones are samples of the run too.
          const paired = e.observe ? await timeObserved(scheduler, built.graph, built.keys, settings) : undefined;
          const after = await profileGraph(built.graph, built.keys);
          return { graph: meanProfile(before.graph, after.graph), samples: [...samples, ...(paired?.plain ?? [])], moved, ...(paired ? { observedSamples: paired.observed } : {}) };
        },
        { meter, pool, cores, attempts: MAX_ATTEMPTS, stop: () => settings.interrupt?.aborted ?? false },
      );
      runs.push({ name: e.name, purpose: e.purpose, kind: e.kind, ...value, outsideShare });
    } catch (err) {
      if (settings.interrupt?.aborted) break;
      settings.note(`  ${e.name}: left out (${(err as Error).message})`);
    }
  }
  return runs;
}
