/**
 * Metrics computed from measurements: pure functions over numbers and cells.
 *
 * Measurement (harness/measure/cell.ts) records raw samples, worker busy time and counters; this
 * module turns them into what the results file stores. Speedup and efficiency depend on
 * another cell (sync, 1 worker, same workload and size), so they are recomputed over the
 * whole cell list each time the results file is written.
 */
import { median } from 'simple-statistics';
import { groupKey } from '../../common/cells.js';
import type { Cell, CellStats } from '../../results/schema.js';

/** The subset of tinybench's `Statistics` we store (tinybench reports milliseconds). */
export interface LatencyStatsMs {
  p50: number;
  mean: number;
  min: number;
  max: number;
  sd: number;
  rme: number;
}

/** tinybench latency statistics (ms) → the results file's stats (seconds). */
export function statsFromLatency(latency: LatencyStatsMs): CellStats {
  return {
    median: latency.p50 / 1000,
    mean: latency.mean / 1000,
    min: latency.min / 1000,
    max: latency.max / 1000,
    sd: latency.sd / 1000,
    // One sample has no spread; tinybench reports 0, but guard NaN/Infinity so JSON stays valid.
    rme: Number.isFinite(latency.rme) ? latency.rme : 0,
  };
}

/**
 * What each task costs beyond its own work, microseconds: (wall × workers − workers' busy
 * time) / tasks, where busy time is when a worker was running at least one task (see
 * task-stream.ts). The wall time × workers is the worker time the run had; what the tasks
 * did not use went to scheduling, transfer and idling. Computed per sample (each wall time
 * paired with the compute time of the same run) and the median taken: pairing a median
 * wall time with a mean compute time would go negative on skewed samples.
 */
export function perTaskOverheadUs(wallSeconds: number[], computeSeconds: number[], workers: number, tasks: number): number | null {
  if (tasks <= 0 || wallSeconds.length === 0) return null;
  const perSample = wallSeconds.map((wall, i) => ((wall * workers - (computeSeconds[i] ?? 0)) / tasks) * 1e6);
  return median(perSample);
}

/**
 * Fill `speedup` (median of sync with 1 worker ÷ this median) and `efficiency`
 * (speedup ÷ workers) on every cell; null where either median is missing.
 */
export function withSpeedups(cells: Cell[]): Cell[] {
  const baselines = new Map<string, number>();
  for (const cell of cells) {
    if (cell.scheduler === 'sync' && cell.workers === 1 && cell.status === 'ok' && cell.stats) {
      baselines.set(groupKey(cell), cell.stats.median);
    }
  }
  return cells.map((cell) => {
    const base = baselines.get(groupKey(cell));
    const median = cell.status === 'ok' ? cell.stats?.median : undefined;
    const speedup = base !== undefined && median !== undefined && median > 0 ? base / median : null;
    return { ...cell, speedup, efficiency: speedup === null ? null : speedup / cell.workers };
  });
}

/** The fastest verified cell of each (workload, size), in first-seen order. */
export interface Fastest {
  workload: string;
  size: string;
  /** null when no cell of this workload and size verified. */
  best: Cell | null;
  /** Cells of this workload and size that failed or did not verify. */
  failures: number;
  cells: number;
}

export function fastestPerWorkload(cells: Cell[]): Fastest[] {
  const groups = new Map<string, Fastest>();
  for (const cell of cells) {
    const key = groupKey(cell);
    let group = groups.get(key);
    if (!group) {
      group = { workload: cell.workload, size: cell.size, best: null, failures: 0, cells: 0 };
      groups.set(key, group);
    }
    group.cells++;
    if (cell.status !== 'ok' || !cell.stats) {
      group.failures++;
      continue;
    }
    // Ties keep the earlier cell: the simpler scheduler and fewer workers (planned order).
    if (!group.best || cell.stats.median < group.best.stats!.median) group.best = cell;
  }
  return [...groups.values()];
}
