/**
 * Prediction: every calibrated pool's time for a profiled graph, with an interval, and the
 * pick. A pool's interval runs from the simulation with the optimistic end of every fitted
 * interval to the one with the pessimistic end, widened by the simulator's typical error on
 * that pool's own calibration runs. The pick is the simplest pool (sync < threads < … then
 * fewer workers) whose interval overlaps the fastest pool's: as in the report, a parallel
 * scheduler has to earn its complexity by a margin the model can vouch for.
 */
import { comparePools, type PoolId } from '../common/cells.js';
import type { CalibrationFile, PoolCosts } from './calibration.js';
import { pointCosts } from './fit.js';
import type { ProfiledGraph } from './profile.js';
import { simulate } from './simulate.js';

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
  const seconds = simulate(graph, pointCosts(pool, 'value'));
  const low = Math.min(seconds, simulate(graph, pointCosts(pool, 'low'))) * (1 - Math.min(0.9, pool.relativeError));
  const high = Math.max(seconds, simulate(graph, pointCosts(pool, 'high'))) * (1 + pool.relativeError);
  return { scheduler: pool.scheduler, workers: pool.workers, seconds, low, high, startupSeconds: pool.startupSeconds.value };
}

/** Predictions for every pool of the calibration, simplest first. */
export function predictAll(graph: ProfiledGraph, calibration: Pick<CalibrationFile, 'pools'>): Prediction[] {
  const raw = calibration.pools.map((p) => predictPool(graph, p)).sort(comparePools);
  const sync = raw.find((p) => p.scheduler === 'sync');
  return raw.map((p) => ({ ...p, speedup: sync ? sync.seconds / p.seconds : null }));
}

/** The fastest prediction, and the pick: the simplest whose interval overlaps the fastest's. */
export function pickOf<P extends PoolId & { seconds: number; low: number; high: number }>(predictions: readonly P[]): { pick: P; fastest: P } | null {
  if (predictions.length === 0) return null;
  const fastest = predictions.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const pick = [...predictions].sort(comparePools).find((p) => p === fastest || p.low <= fastest.high) ?? fastest;
  return { pick, fastest };
}

/** Where a pool's predicted time goes, to first order (no overlap): what `advise` explains a pick with. */
export interface Breakdown {
  getSeconds: number;
  /** tasks × per-task cost. */
  taskSeconds: number;
  /** Bytes that cross × their cost (via-main: every value another task or the caller needs; peer-to-peer: requested values). */
  byteSeconds: number;
  /** Work ÷ (workers × efficiency). */
  computeSeconds: number;
}

export function breakdown(graph: ProfiledGraph, pool: PoolCosts): Breakdown {
  const c = pointCosts(pool, 'value');
  const kinds = ['plain', 'shared', 'object'] as const;
  let tasks = 0;
  let work = 0;
  let bytes = 0;
  const needed = new Uint8Array(graph.seconds.length);
  for (const deps of graph.deps) for (const d of deps) needed[d] = 1;
  for (const o of graph.outputs) needed[o] = 1;
  for (let i = 0; i < graph.seconds.length; i++) {
    const kind = kinds[graph.kinds[i]!]!;
    if (!graph.literal[i]) {
      tasks++;
      work += graph.seconds[i]!;
    }
    if (!needed[i] || c.dataPath === 'inline') continue;
    if (graph.literal[i]) bytes += graph.bytes[i]! * c.byteSeconds[kind].toWorkers;
    else if (c.dataPath === 'via-main') bytes += graph.bytes[i]! * (c.byteSeconds[kind].fromWorkers + c.byteSeconds[kind].toWorkers);
  }
  if (c.dataPath === 'peer-to-peer') for (const o of graph.outputs) bytes += graph.bytes[o]! * c.byteSeconds[kinds[graph.kinds[o]!]!].fromWorkers;
  const slots = c.dataPath === 'inline' ? 1 : c.workers;
  return { getSeconds: c.getSeconds, taskSeconds: tasks * c.taskSeconds, byteSeconds: bytes, computeSeconds: work / (slots * c.efficiency) };
}
