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

/** Two-sided 95 % Student t critical values for 1..30 degrees of freedom (then the normal 1.96). */
const T_95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/**
 * The stored statistics of a cell's samples (seconds): median, mean, min, max, sample standard
 * deviation, and rme (the 95 % margin of error of the mean relative to it, percent, as
 * tinybench and benchmark.js report it; 0 for one sample).
 */
export function statsFromSamples(samples: readonly number[]): CellStats {
  const n = samples.length;
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(samples.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  const t = n > 1 ? (T_95[n - 2] ?? 1.96) : 0;
  const rme = mean > 0 ? ((t * sd) / Math.sqrt(n) / mean) * 100 : 0;
  return { median: median([...samples]), mean, min: Math.min(...samples), max: Math.max(...samples), sd, rme };
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

/**
 * One cell from the parts measured in successive processes of its pool (when pools alternate,
 * a pool is closed between rounds and its cell resumed, after a new warm-up, in a fresh
 * process). Samples are concatenated and their statistics recomputed; per-sample figures
 * (bytes, CPU, per-task overhead) are averaged weighted by each part's samples; peak memory is
 * the largest part's; start-up and the task stream are the first part's.
 */
export function mergeCellParts(parts: readonly Cell[]): Cell {
  const [first, ...rest] = parts;
  if (!first) throw new Error('no cell parts to merge');
  if (rest.length === 0) return first;
  const samples = parts.flatMap((p) => p.samples);
  const weighted = (value: (c: Cell) => number | null): number | null => {
    let sum = 0;
    for (const p of parts) {
      const v = value(p);
      if (v === null) return null;
      sum += v * p.samples.length;
    }
    return sum / samples.length;
  };
  return {
    ...first,
    samples,
    stats: statsFromSamples(samples),
    perTaskOverheadUs: weighted((c) => c.perTaskOverheadUs),
    bytes: {
      toWorkers: Math.round(weighted((c) => c.bytes.toWorkers)!),
      fromWorkers: Math.round(weighted((c) => c.bytes.fromWorkers)!),
      betweenWorkers: Math.round(weighted((c) => c.bytes.betweenWorkers)!),
    },
    cpuSeconds: weighted((c) => c.cpuSeconds),
    peakMemoryBytes: Math.max(...parts.map((p) => p.peakMemoryBytes)),
  };
}
