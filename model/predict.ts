/**
 * Prediction: every calibrated pool's time for a profiled graph, with an interval, and the
 * pick.
 *
 * A pool's interval combines two uncertainties in quadrature, as independent errors do:
 * - each fitted figure's (get, per task, efficiency, per byte of each kind and direction
 *   the graph moves, the weight of long strings when it has some): the simulation with that
 *   one figure at either end of its 95 % interval, the others at their values; the deviations below and above are summed as
 *   squares. Moving every figure to its end at once would assume they all err the same way
 *   together, and gives intervals so wide that no parallel pool could ever be told apart;
 * - the simulator's own: its typical relative error on the pool's calibration runs.
 *
 * The pick is the simplest pool (sync < threads < … then fewer workers) whose interval
 * reaches the fastest pool's predicted time: the model cannot tell that pool from the
 * fastest, so, as in the report, the simpler scheduler is preferred; a parallel scheduler
 * has to be faster by more than the model's uncertainty.
 */
import { comparePools, type PoolId } from '../common/cells.js';
import { DIRECTIONS, VALUE_KINDS, type CalibrationFile, type PoolCosts } from './calibration.js';
import { efficiencyEnd, pointCosts } from './fit.js';
import type { ProfiledGraph } from './profile.js';
import { chargedSize, efficiencyAt, sealed, simulate, type SimulationCosts } from './simulate.js';

export interface Prediction extends PoolId {
  /** Predicted seconds of one get (pool already started). */
  seconds: number;
  low: number;
  high: number;
  /** Predicted sync time / this pool's (null without a calibrated sync). */
  speedup: number | null;
  startupSeconds: number;
}

export function predictPool(graph: ProfiledGraph, pool: PoolCosts): Omit<Prediction, 'speedup'> {
  const point = pointCosts(pool, 'value');
  const seconds = simulate(graph, point);
  let below = (pool.relativeError * seconds) ** 2;
  let above = below;
  for (const vary of figuresOf(graph, pool, point)) {
    const ends = [simulate(graph, vary('low')), simulate(graph, vary('high'))];
    below += (seconds - Math.min(seconds, ...ends)) ** 2;
    above += (Math.max(seconds, ...ends) - seconds) ** 2;
  }
  return { scheduler: pool.scheduler, workers: pool.workers, seconds, low: Math.max(0, seconds - Math.sqrt(below)), high: seconds + Math.sqrt(above), startupSeconds: pool.startupSeconds.value };
}

type Vary = (end: 'low' | 'high') => SimulationCosts;

/** One function per fitted figure that matters for this graph: the point costs with that figure at one end of its interval. */
function figuresOf(graph: ProfiledGraph, pool: PoolCosts, point: SimulationCosts): Vary[] {
  const out: Vary[] = [
    (end) => ({ ...point, getSeconds: pool.getSeconds[end] }),
    (end) => ({ ...point, taskSeconds: pool.taskSeconds[end] }),
    (end) => ({ ...point, ...efficiencyEnd(pool, end) }),
  ];
  if (point.dataPath === 'inline') return out;
  const kindsMoved = new Set(graph.kinds.filter((_, i) => chargedSize(graph, i) > 0));
  VALUE_KINDS.forEach((kind, k) => {
    if (!kindsMoved.has(k)) return;
    for (const direction of DIRECTIONS) {
      const e = pool.byteSeconds[kind][direction];
      if (e.low === e.high) continue;
      out.push((end) => ({ ...point, byteSeconds: { ...point.byteSeconds, [kind]: { ...point.byteSeconds[kind], [direction]: e[end] } } }));
    }
  });
  const w = pool.stringWeight;
  if (w && w.low !== w.high && graph.strings?.some((s, i) => s && chargedSize(graph, i) > 0)) out.push((end) => ({ ...point, stringWeight: w[end] }));
  return out;
}

/** The pool as a caller that observes every task's events sees it (the bench): each task costs `observedTaskSeconds` more. */
export function observedPool(pool: PoolCosts): PoolCosts {
  const extra = pool.observedTaskSeconds ?? 0;
  if (extra === 0) return pool;
  const t = pool.taskSeconds;
  return { ...pool, taskSeconds: { value: t.value + extra, low: t.low + extra, high: t.high + extra } };
}

/** Predictions for every pool of the calibration, simplest first. */
export function predictAll(graph: ProfiledGraph, calibration: Pick<CalibrationFile, 'pools'>): Prediction[] {
  const raw = calibration.pools.map((p) => predictPool(graph, p)).sort(comparePools);
  const sync = raw.find((p) => p.scheduler === 'sync');
  return raw.map((p) => ({ ...p, speedup: sync ? sync.seconds / p.seconds : null }));
}

/** The fastest prediction, and the pick: the simplest whose interval reaches the fastest's predicted time. */
export function pickOf<P extends PoolId & { seconds: number; low: number; high: number }>(predictions: readonly P[]): { pick: P; fastest: P } | null {
  if (predictions.length === 0) return null;
  const fastest = predictions.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const pick = [...predictions].sort(comparePools).find((p) => p === fastest || p.low <= fastest.seconds) ?? fastest;
  return { pick, fastest };
}

/** Where a pool's predicted time goes, to first order (no overlap): what `advise` explains a pick with. */
export interface Breakdown {
  getSeconds: number;
  /** tasks × per-task cost. */
  taskSeconds: number;
  /** Bytes that cross × their cost (via-main: every value another task or the caller needs; peer-to-peer: requested values; via-store: every value written once and fetched by each reader). */
  byteSeconds: number;
  /** Each task's work ÷ its efficiency, ÷ workers. */
  computeSeconds: number;
}

export function breakdown(graph: ProfiledGraph, pool: PoolCosts): Breakdown {
  const c = pointCosts(pool, 'value');
  const kinds = ['plain', 'shared', 'object'] as const;
  let tasks = 0;
  let work = 0;
  let bytes = 0;
  const consumers = new Uint32Array(graph.seconds.length);
  for (const deps of graph.deps) for (const d of deps) consumers[d]!++;
  const requested = new Uint8Array(graph.seconds.length);
  for (const o of graph.outputs) requested[o] = 1;
  for (let i = 0; i < graph.seconds.length; i++) {
    const kind = kinds[graph.kinds[i]!]!;
    if (!graph.literal[i]) {
      tasks++;
      work += graph.seconds[i]! / efficiencyAt(c, graph.seconds[i]!);
    }
    if ((!consumers[i] && !requested[i]) || c.dataPath === 'inline') continue;
    if (graph.literal[i]) bytes += chargedSize(graph, i, c.stringWeight) * c.byteSeconds[kind].toWorkers;
    else if (c.dataPath === 'via-main' && !sealed(graph, c, i, consumers[i]!, requested[i] === 1)) bytes += chargedSize(graph, i, c.stringWeight) * (c.byteSeconds[kind].fromWorkers + c.byteSeconds[kind].betweenWorkers);
  }
  if (c.dataPath === 'peer-to-peer') for (const o of graph.outputs) bytes += chargedSize(graph, o, c.stringWeight) * c.byteSeconds[kinds[graph.kinds[o]!]!].fromWorkers;
  if (c.dataPath === 'via-store') {
    // Written once by the worker that made it, fetched by every reader (the caller included).
    const reads = new Uint32Array(graph.seconds.length);
    for (const deps of graph.deps) for (const d of deps) reads[d]++;
    for (const o of graph.outputs) reads[o]++;
    for (let i = 0; i < graph.seconds.length; i++) {
      if (!reads[i]) continue;
      const cost = c.byteSeconds[kinds[graph.kinds[i]!]!];
      bytes += chargedSize(graph, i, c.stringWeight) * ((graph.literal[i] ? 0 : cost.fromWorkers) + reads[i]! * cost.betweenWorkers); // literals' upload is counted above
    }
  }
  const slots = c.dataPath === 'inline' ? 1 : c.workers;
  return { getSeconds: c.getSeconds, taskSeconds: tasks * c.taskSeconds, byteSeconds: bytes, computeSeconds: work / slots };
}
