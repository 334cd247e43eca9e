/**
 * Fitting one pool's cost model from its calibration runs.
 *
 * 1. **Data path** from the pool's own byte counters: none at all is inline; bytes counted
 *    between workers in a run where none could go worker to worker (a literal read once) is
 *    via-store; bytes counted between workers, or (one worker) intermediate values that
 *    never came back in any run, make it peer-to-peer; otherwise via-main.
 * 2. **Overhead** by ordinary least squares (ml-regression-multivariate-linear) over the
 *    overhead runs (tasks too short for their compute to matter): time minus the ideal share
 *    of compute = get + task × tasks + Σ byteCost[kind][direction] × bytes charged, where the
 *    bytes are those the simulator charges for the run's graph on that data path (not the
 *    pool's counters, which count copies only: a transferred array counts nothing, a BullMQ
 *    value counts twice). Each run moves one kind of value, so its bytes go to that kind's
 *    columns. Columns that are zero in every run (sync's bytes; a run's bytes count only
 *    from 16 kB, so scalar results are not taken for payload) are dropped
 *    and cost 0. Columns are scaled to 1 and rows weighted by 1 / time (relative errors, so
 *    short runs count as much as long ones); intervals are ±1.96 standard errors.
 * 3. **Efficiency** from the compute runs that are compute-bound (ideal compute share at
 *    least 4× the fitted overhead): ideal compute share / (time − get); value the median,
 *    interval the 95 % interval of the mean ratio. The runs' own ratios, by task duration,
 *    are the efficiency curve the simulator reads a task's efficiency from: on a pool that
 *    pays a round trip per batch (BullMQ's ~2 ms job), 100 µs tasks ran at 0.48 and 10 ms
 *    ones at 0.84 (bullmq×1, same run), and the median alone priced mandelbrot's 11 ms
 *    tasks at 0.54.
 * 4. **Relative error**: the simulator replays every run with the point costs (but the byte
 *    runs step 2 left out, and an inline pool's compute runs, which replay their own profile);
 *    the median of |predicted − measured| / measured (the typical error) widens every
 *    prediction interval.
 * 5. **METG** (Task Bench, Slaughter et al. SC'20): for the compute runs, efficiency =
 *    useful compute / (wall × workers) and granularity = wall × workers / tasks; METG is the
 *    granularity where efficiency falls to 50 %, interpolated on log axes.
 */
import MultivariateLinearRegression from 'ml-regression-multivariate-linear';
import { mean, median, standardDeviation } from 'simple-statistics';
import { DIRECTIONS, VALUE_KINDS, type DataPath, type Direction, type Estimate, type Metg, type MetgPoint, type PoolCosts, type ValueKind } from './calibration.js';
import { summarize, type ProfiledGraph } from './profile.js';
import { emptyTally, simulate, type ByteTally, type EfficiencyPoint, type SimulationCosts } from './simulate.js';
import type { SchedulerName } from '../common/cells.js';

/** Bytes one run moved, per get, as the pool's `stats()` counted them. */
export type MovedBytes = Record<Direction, number>;

/** One calibration run: a synthetic graph, profiled on the main thread, timed on the pool. */
export interface CalibrationRun {
  name: string;
  /** overhead: compute negligible, fits get/task/byte costs; compute: fits efficiency and METG; strings: long string literals, fits `stringWeight` once the rest is fitted. */
  purpose: 'overhead' | 'compute' | 'strings';
  graph: ProfiledGraph;
  /** Seconds per get. */
  samples: number[];
  moved: MovedBytes;
  /** The kind of value this run moves (null: none to speak of). */
  kind: ValueKind | null;
  /** Share of a core other processes used while it ran (absent: not measured). */
  outsideShare?: number;
  /** Seconds per get with every task's events observed (`onEvent`), as the bench runs its samples. */
  observedSamples?: number[];
}

export interface PoolRuns {
  scheduler: SchedulerName;
  workers: number;
  startupSeconds: number;
  /** The pool hands results with one consumer on unread (`Scheduler.sealsResults`). */
  seals?: boolean;
  /** Cores of the machine (os.availableParallelism()); absent: the simulator does not share them. */
  cores?: number;
  runs: CalibrationRun[];
}

const Z95 = 1.96;
const COMPUTE_BOUND = 4;
const METG_EFFICIENCY = 0.5;
/** Bytes a run must move in one direction for them to count as its kind's payload. */
const MIN_PAYLOAD = 16 * 1024;

export function fitPool(input: PoolRuns): PoolCosts {
  const { runs, workers } = input;
  if (runs.length === 0) throw new Error(`${input.scheduler}×${workers}: no calibration runs to fit`);
  const dataPath = dataPathOf(runs, workers);
  const slots = dataPath === 'inline' ? 1 : workers;
  const overhead = fitOverhead(runs.filter((r) => r.purpose === 'overhead'), slots, dataPath, workers, input.seals === true);
  const { efficiency, curve } = fitEfficiency(runs.filter((r) => r.purpose === 'compute'), slots, overhead);
  const costs: Omit<PoolCosts, 'relativeError' | 'metg'> = {
    scheduler: input.scheduler,
    workers,
    dataPath,
    startupSeconds: { value: input.startupSeconds, low: input.startupSeconds, high: input.startupSeconds },
    getSeconds: overhead.get,
    taskSeconds: overhead.task,
    byteSeconds: overhead.bytes,
    efficiency,
    ...(curve.length > 0 ? { efficiencyCurve: curve } : {}),
    ...outsideLoadOf(runs),
    ...observedTaskCostOf(runs),
    observations: runs.length,
    ...(input.seals ? { seals: true } : {}),
    ...(input.cores ? { cores: input.cores } : {}),
  };
  const weight = stringWeightOf(runs.filter((r) => r.purpose === 'strings'), pointCosts(costs, 'value'));
  if (weight) costs.stringWeight = weight;
  const point = pointCosts(costs, 'value');
  // Over the runs the model explains: a byte run whose bytes this pool does not charge (sync's)
  // is left out of the fit as noise, and so of the error too. Sync's byte runs time the
  // allocation of 2-16 MiB values against their profile's (back object 2 MiB: 15 ms timed,
  // 66 ms profiled); their median error of 40 % widened sync's interval in one calibration until
  // it reached threads×2's prediction on four catalog rows (shuffle 304 ms against 194), and
  // the simpler sync was picked where threads×2 measured 1.4x faster. An inline pool's compute
  // runs test nothing either: their prediction is their own profile, run on the same thread
  // moments before (0 % error).
  const fitted = new Set(overhead.runs);
  const explained = runs.filter((r) => (r.purpose === 'overhead' ? fitted.has(r) : dataPath !== 'inline' || r.purpose !== 'compute'));
  const errors = (explained.length ? explained : runs).map((r) => Math.abs(simulate(r.graph, point) - median(r.samples)) / median(r.samples));
  return { ...costs, relativeError: median(errors), metg: metgOf(runs.filter((r) => r.purpose === 'compute'), slots) };
}

/**
 * The factor on long strings' byte weights that makes the string runs take what they
 * measured, the other costs fitted: (measured − simulated without the strings' bytes) /
 * (their cost at weight 1), the median over the runs; the interval from the runs' fastest
 * and slowest samples. Undefined without a string run whose strings cost anything.
 */
export function stringWeightOf(runs: readonly CalibrationRun[], point: SimulationCosts): Estimate | undefined {
  const ratios: Array<{ value: number; low: number; high: number }> = [];
  for (const r of runs) {
    const without = simulate(r.graph, { ...point, stringWeight: 0 });
    const atOne = simulate(r.graph, { ...point, stringWeight: 1 }) - without;
    if (!(atOne > 0)) continue;
    const of = (t: number): number => Math.max(0, (t - without) / atOne);
    ratios.push({ value: of(median(r.samples)), low: of(Math.min(...r.samples)), high: of(Math.max(...r.samples)) });
  }
  if (!ratios.length) return undefined;
  return { value: median(ratios.map((x) => x.value)), low: Math.min(...ratios.map((x) => x.low)), high: Math.max(...ratios.map((x) => x.high)) };
}

/** What observing every task's events adds per task: the runs timed both ways, the median difference over their tasks. */
function observedTaskCostOf(runs: readonly CalibrationRun[]): Pick<PoolCosts, 'observedTaskSeconds'> {
  const extra = runs.filter((r) => r.observedSamples?.length).map((r) => (median(r.observedSamples!) - median(r.samples)) / Math.max(1, summarize(r.graph).tasks));
  return extra.length ? { observedTaskSeconds: Math.max(0, median(extra)) } : {};
}

/** The mean share of a core others used during the runs that measured it. */
function outsideLoadOf(runs: readonly CalibrationRun[]): Pick<PoolCosts, 'outsideLoad'> {
  const shares = runs.map((r) => r.outsideShare).filter((x): x is number => x !== undefined);
  return shares.length ? { outsideLoad: mean(shares) } : {};
}

export function dataPathOf(runs: readonly CalibrationRun[], workers: number): DataPath {
  if (!runs.some((r) => r.moved.toWorkers > 0 || r.moved.fromWorkers > 0 || r.moved.betweenWorkers > 0)) return 'inline';
  // Bytes counted between workers where no value could have gone from one worker to another
  // (a literal read by one task, a result only the caller reads): every read is a fetch
  // from a store.
  const between = (r: CalibrationRun): number => {
    const tally = chargedBytes(r.graph, 'peer-to-peer', workers);
    return VALUE_KINDS.reduce((sum, k) => sum + tally[k].betweenWorkers, 0);
  };
  // Only runs without literals tell: a peer-to-peer pool may store an uploaded literal on
  // one worker and run its reader on another (distributed places uploads before it runs the
  // graph), while a store counts what its workers write (a result only the caller reads).
  const literalFree = (r: CalibrationRun): boolean => !r.graph.literal.some((l) => l);
  if (runs.some((r) => literalFree(r) && r.moved.betweenWorkers >= MIN_PAYLOAD && between(r) < MIN_PAYLOAD)) return 'via-store';
  // Values that went from worker to worker without the main process: peer-to-peer. A pool
  // that moves results through main (copied or transferred) counts none there.
  if (runs.some((r) => r.moved.betweenWorkers >= MIN_PAYLOAD)) return 'peer-to-peer';
  // With one worker nothing moves between workers: peer-to-peer when the intermediate values
  // of every run that has them stayed on the worker. A pool that transfers some kinds back
  // (uncounted) still copies others back, so not every run looks kept.
  const withIntermediates = runs.map((r) => ({ r, bytes: intermediateBytes(r) })).filter(({ bytes }) => bytes >= 4 * MIN_PAYLOAD);
  if (withIntermediates.length > 0 && withIntermediates.every(({ r, bytes }) => r.moved.fromWorkers < 0.5 * bytes)) return 'peer-to-peer';
  return 'via-main';
}

/** Bytes of a run's intermediate values: task results other tasks consume and the caller did not ask for. */
function intermediateBytes(r: CalibrationRun): number {
  const g = r.graph;
  const requested = new Set(g.outputs);
  const consumed = new Uint8Array(g.seconds.length);
  for (const deps of g.deps) for (const d of deps) consumed[d] = 1;
  let bytes = 0;
  for (let i = 0; i < g.seconds.length; i++) if (!g.literal[i] && consumed[i] && !requested.has(i)) bytes += g.bytes[i]!;
  return bytes;
}

/** The bytes the simulator charges in one get of `graph` on a pool with this data path (placement with no byte costs). */
export function chargedBytes(graph: ProfiledGraph, dataPath: DataPath, workers: number, seals = false): ByteTally {
  const tally = emptyTally();
  const free = { value: 0, low: 0, high: 0 };
  const zero = Object.fromEntries(VALUE_KINDS.map((k) => [k, Object.fromEntries(DIRECTIONS.map((d) => [d, free]))])) as PoolCosts['byteSeconds'];
  simulate(graph, pointCosts({ workers, dataPath, getSeconds: free, taskSeconds: free, byteSeconds: zero, efficiency: { value: 1, low: 1, high: 1 }, seals }, 'value'), tally);
  return tally;
}

interface OverheadFit {
  get: Estimate;
  task: Estimate;
  /** The overhead runs it was fitted on (a byte run whose bytes the pool does not charge is left out). */
  runs: readonly CalibrationRun[];
  bytes: PoolCosts['byteSeconds'];
}

function zeroBytes(): PoolCosts['byteSeconds'] {
  const zero = (): Estimate => ({ value: 0, low: 0, high: 0 });
  return Object.fromEntries(VALUE_KINDS.map((k) => [k, Object.fromEntries(DIRECTIONS.map((d) => [d, zero()]))])) as PoolCosts['byteSeconds'];
}

function fitOverhead(all: readonly CalibrationRun[], slots: number, dataPath: DataPath, workers: number, seals: boolean): OverheadFit {
  if (all.length < 3) throw new Error(`need at least 3 overhead runs to fit get and task costs, got ${all.length}`);
  const columns: Array<{ name: string; value: (r: CalibrationRun) => number; kind?: ValueKind; direction?: Direction }> = [
    { name: 'tasks', value: (r) => summarize(r.graph).tasks },
  ];
  // Each run's bytes as the simulator charges them, so that the fitted cost per byte is the
  // one the simulator needs. Scalars that cross with every run (task results, a reduction's
  // inputs) are not a kind's payload: below MIN_PAYLOAD per get they stay with the per-task cost.
  const charged = new Map(all.map((r) => [r, chargedBytes(r.graph, dataPath, workers, seals)]));
  // A byte run whose bytes the pool does not charge (sync's: no boundary) says nothing about
  // the get or the task: its time is its tasks' allocations, and the difference between
  // their profile and the pool's run (milliseconds at 16 MiB) is noise on microseconds.
  const payload = (r: CalibrationRun): boolean => r.kind !== null && DIRECTIONS.some((d) => charged.get(r)![r.kind!][d] >= MIN_PAYLOAD);
  const runs = all.filter((r) => r.kind === null || payload(r));
  for (const kind of VALUE_KINDS) {
    for (const direction of DIRECTIONS) {
      const value = (r: CalibrationRun): number => {
        const bytes = charged.get(r)![kind][direction];
        return r.kind === kind && bytes >= MIN_PAYLOAD ? bytes : 0;
      };
      if (runs.some((r) => value(r) > 0)) columns.push({ name: `${kind}.${direction}`, value, kind, direction });
    }
  }
  // Keep the fit determined: drop the byte columns with the fewest runs until rows > columns + 1.
  while (columns.length + 1 >= runs.length && columns.length > 1) columns.pop();
  const scale = columns.map((c) => Math.max(...runs.map((r) => Math.abs(c.value(r)))) || 1);
  const y = runs.map((r) => median(r.samples) - summarize(r.graph).totalTaskSeconds / slots);
  // Weighted by 1 / the run's measured time, so a 0.2 ms run counts as much as a 200 ms one
  // (a run's noise grows with its time, not with what is left once its compute is taken
  // out: weighting by that gave runs whose remainder was near 0 the largest weights); the
  // intercept (the get's cost) is an explicit column so that it is weighted too.
  const weights = runs.map((r) => 1 / Math.max(median(r.samples), 1e-5));
  const x = runs.map((r, i) => [...columns.map((c, j) => c.value(r) / scale[j]!), 1].map((v) => v * weights[i]!));
  const fit = new MultivariateLinearRegression(x, y.map((v, i) => [v * weights[i]!]), { intercept: false, statistics: true });
  const estimate = (j: number, s: number): Estimate => {
    const value = fit.weights[j]![0]! / s;
    const se = (fit.stdErrors[j] ?? 0) / s;
    const half = Number.isFinite(se) ? Z95 * se : Math.abs(value);
    return { value: Math.max(0, value), low: Math.max(0, value - half), high: Math.max(0, value + half) };
  };
  const bytes = zeroBytes();
  columns.forEach((c, j) => {
    if (c.kind && c.direction) bytes[c.kind][c.direction] = estimate(j, scale[j]!);
  });
  return { get: estimate(columns.length, 1), task: estimate(0, scale[0]!), bytes, runs };
}

function fitEfficiency(runs: readonly CalibrationRun[], slots: number, overhead: OverheadFit): { efficiency: Estimate; curve: EfficiencyPoint[] } {
  const points: EfficiencyPoint[] = [];
  for (const r of runs) {
    const s = summarize(r.graph);
    const ideal = s.totalTaskSeconds / slots;
    if (ideal < COMPUTE_BOUND * s.tasks * overhead.task.value) continue;
    const spent = median(r.samples) - overhead.get.value - (slots === 1 ? s.tasks * overhead.task.value : 0);
    if (spent > 0 && s.meanTaskSeconds > 0) points.push({ taskSeconds: s.meanTaskSeconds, efficiency: Math.min(1.5, Math.max(0.02, ideal / spent)) });
  }
  if (points.length === 0) return { efficiency: { value: 1, low: 0.5, high: 1 }, curve: [] };
  const ratios = points.map((p) => p.efficiency);
  // 95 % interval of the mean ratio (normal approximation), around the median as the value.
  const value = median(ratios);
  const half = ratios.length > 1 ? (Z95 * standardDeviation(ratios)) / Math.sqrt(ratios.length) : 0.25 * value;
  const centre = mean(ratios);
  const efficiency = { value, low: Math.max(0.02, Math.min(value, centre - half)), high: Math.min(1.5, Math.max(value, centre + half)) };
  return { efficiency, curve: points.sort((a, b) => a.taskSeconds - b.taskSeconds) };
}

/** METG from the compute runs; also the efficiency curve it was read from. */
export function metgOf(runs: readonly CalibrationRun[], slots: number): Metg {
  const points: MetgPoint[] = runs
    .map((r) => {
      const s = summarize(r.graph);
      const wall = median(r.samples);
      return {
        taskSeconds: s.meanTaskSeconds,
        granularitySeconds: (wall * slots) / Math.max(1, s.tasks),
        efficiency: s.totalTaskSeconds / (wall * slots),
      };
    })
    .sort((a, b) => a.granularitySeconds - b.granularitySeconds);
  return { ...metgFromPoints(points), points };
}

/** The smallest granularity at which efficiency is still ≥ 50 %, walking down from the coarsest point. */
export function metgFromPoints(points: readonly MetgPoint[]): Pick<Metg, 'seconds' | 'bound'> {
  const sorted = [...points].sort((a, b) => a.granularitySeconds - b.granularitySeconds);
  let i = sorted.length - 1;
  if (i < 0 || sorted[i]!.efficiency < METG_EFFICIENCY) return { seconds: null, bound: 'none' };
  while (i > 0 && sorted[i - 1]!.efficiency >= METG_EFFICIENCY) i--;
  if (i === 0) return { seconds: sorted[0]!.granularitySeconds, bound: 'at-most' };
  const above = sorted[i]!;
  const below = sorted[i - 1]!;
  // Interpolate log(granularity) linearly in efficiency between the two points around 50 %.
  const f = (METG_EFFICIENCY - below.efficiency) / (above.efficiency - below.efficiency);
  const lg = Math.log(below.granularitySeconds) + f * (Math.log(above.granularitySeconds) - Math.log(below.granularitySeconds));
  return { seconds: Math.exp(lg), bound: 'exact' };
}

/** One point of a pool's costs for the simulator: the fitted values, or the optimistic (low) or pessimistic (high) end of every interval. */
export function pointCosts(
  costs: Pick<PoolCosts, 'workers' | 'dataPath' | 'getSeconds' | 'taskSeconds' | 'byteSeconds' | 'efficiency' | 'efficiencyCurve' | 'stringWeight' | 'seals' | 'cores'>,
  end: 'value' | 'low' | 'high',
): SimulationCosts {
  const effEnd = end === 'low' ? 'high' : end === 'high' ? 'low' : 'value';
  const byteSeconds = Object.fromEntries(
    VALUE_KINDS.map((k) => [k, Object.fromEntries(DIRECTIONS.map((d) => [d, costs.byteSeconds[k][d][end]]))]),
  ) as SimulationCosts['byteSeconds'];
  return {
    workers: costs.workers,
    dataPath: costs.dataPath,
    getSeconds: costs.getSeconds[end],
    taskSeconds: costs.taskSeconds[end],
    byteSeconds,
    ...efficiencyEnd(costs, effEnd),
    ...(costs.stringWeight ? { stringWeight: costs.stringWeight[end] } : {}),
    ...(costs.seals ? { seals: true } : {}),
    ...(costs.cores ? { cores: costs.cores } : {}),
  };
}

/** The efficiency figures at one end of their interval: the curve moves with the median, in proportion. */
export function efficiencyEnd(costs: Pick<PoolCosts, 'efficiency' | 'efficiencyCurve'>, end: 'value' | 'low' | 'high'): Pick<SimulationCosts, 'efficiency' | 'efficiencyCurve'> {
  const efficiency = Math.max(0.02, costs.efficiency[end]);
  if (!costs.efficiencyCurve) return { efficiency };
  const scale = efficiency / Math.max(0.02, costs.efficiency.value);
  return { efficiency, efficiencyCurve: costs.efficiencyCurve.map((p) => ({ taskSeconds: p.taskSeconds, efficiency: Math.max(0.02, p.efficiency * scale) })) };
}
