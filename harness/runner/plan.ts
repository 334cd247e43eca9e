/**
 * What a bench run will do: presets and the matrix of cells.
 *
 * A cell is one (workload, size, scheduler, workers). Cells are grouped by pool — one
 * (scheduler, workers) — because a pool runs in a process of its own, is started once and
 * serves every workload and size of the run: start-up is paid (and stored) once per pool, not
 * per cell. The runner races the cells of each workload and size across the pools
 * (runner/bench.ts), so the plan's order of pools is the order of cells within a race.
 * This module is pure data: no I/O, so the matrix can be unit-tested and printed.
 */
import { SCHEDULER_NAMES, cellName, poolLabel, type PoolId, type SchedulerName } from '../../common/cells.js';
import type { SizeName, Workload } from '../../workloads/types.js';
import type { MeasureSettings } from '../measure/cell.js';

/** A named preset: which sizes, and how much time per cell. */
export interface Preset extends MeasureSettings {
  name: PresetName;
  /** One line for `--help` and `schedlab list`. */
  description: string;
  sizes: SizeName[];
}

export type PresetName = 'quick' | 'full';

export const PRESETS: Record<PresetName, Preset> = {
  quick: {
    name: 'quick',
    description:
      'every workload at size "quick"; the cells of each workload race for 8 s of samples (3 per cell, then up to 20 each for the pair the verdict rests on, which may take 16 s): about 2 minutes on 2 cores',
    sizes: ['quick'],
    budgetSeconds: 8,
    minSamples: 3,
    maxSamples: 20,
    runTimeoutSeconds: 120,
  },
  full: {
    name: 'full',
    description:
      'every workload at sizes "small" and "medium"; the cells of each workload and size race for 60 s of samples (5 per cell, then up to 50 each for the pair the verdict rests on, which may take 120 s): for many-core machines, about 300 cells and under an hour on 64 cores',
    sizes: ['small', 'medium'],
    budgetSeconds: 60,
    minSamples: 5,
    maxSamples: 50,
    runTimeoutSeconds: 1800,
  },
};

/** 1, 2, 4, … below `max`, then `max` itself (so 6 cores give 1, 2, 4, 6). */
export function defaultWorkerCounts(max: number): number[] {
  const counts: number[] = [];
  for (let n = 1; n < max; n *= 2) counts.push(n);
  counts.push(max);
  return counts;
}

/** One cell to measure. */
export interface CellSpec {
  workload: Workload;
  size: SizeName;
  pool: PoolId;
}

/** The cells of one pool, in the order they run. */
export interface PoolPlan {
  pool: PoolId;
  cells: CellSpec[];
}

export interface MatrixInput {
  workloads: Workload[];
  sizes: SizeName[];
  schedulers: SchedulerName[];
  workerCounts: number[];
}

/**
 * The run's pools and cells. `sync` runs inline on the main thread, so it gets one pool
 * with 1 worker whatever `workerCounts` says; every other scheduler gets one pool per count.
 */
export function planMatrix(input: MatrixInput): PoolPlan[] {
  const schedulers = SCHEDULER_NAMES.filter((name) => input.schedulers.includes(name));
  const counts = [...new Set(input.workerCounts)].sort((a, b) => a - b);
  const plans: PoolPlan[] = [];
  for (const scheduler of schedulers) {
    for (const workers of scheduler === 'sync' ? [1] : counts) {
      const pool = { scheduler, workers };
      const cells: CellSpec[] = [];
      for (const workload of input.workloads) {
        for (const size of input.sizes) cells.push({ workload, size, pool });
      }
      plans.push({ pool, cells });
    }
  }
  return plans;
}

/** Total number of cells in a plan. */
export function countCells(plans: PoolPlan[]): number {
  return plans.reduce((n, p) => n + p.cells.length, 0);
}

/** "matmul/quick on threads×2". */
export function cellLabel(cell: CellSpec): string {
  return cellName({ workload: cell.workload.name, size: cell.size, ...cell.pool });
}

/** What a run will do, for `--dry-run`: settings, then one line per pool with its cells. */
export function describePlan(plan: { preset: Preset; settings: MeasureSettings; pools: PoolPlan[]; outDir: string; maxLivePools?: number }): string {
  const { settings } = plan;
  const live = plan.maxLivePools !== undefined && plan.maxLivePools < plan.pools.length ? `; at most ${plan.maxLivePools} pools alive at once (rounds alternate)` : '';
  const lines = [
    `preset ${plan.preset.name}: ${countCells(plan.pools)} cells in ${plan.pools.length} pools; ` +
      `the cells of each workload and size race for ${settings.budgetSeconds} s of samples (${settings.minSamples} per cell, then up to ${settings.maxSamples} each for the pair the verdict rests on), ` +
      `runs longer than ${settings.runTimeoutSeconds} s fail${live}; results in ${plan.outDir}`,
  ];
  for (const { pool, cells } of plan.pools) {
    lines.push(`  ${poolLabel(pool)}: ${cells.map((c) => `${c.workload.name}/${c.size}`).join(', ')}`);
  }
  return lines.join('\n');
}

/** A validated bench run. */
export interface BenchPlan {
  preset: Preset;
  settings: MeasureSettings;
  pools: PoolPlan[];
  /** Absolute, existing, writable. */
  outDir: string;
  /** Passed to every workload's `build` as `ctx.options`. */
  workloadOptions: Record<string, string | undefined>;
  /** Absolute path of `--workload-file` (pool processes load it again). */
  workloadFile?: string;
  /** At most this many pool processes alive at once (`--max-live-pools`); absent: all. */
  maxLivePools?: number;
}
