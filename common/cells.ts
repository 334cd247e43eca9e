/**
 * Names and identity the whole project shares: the schedulers and sizes in their one order,
 * and how a cell (one workload × size × scheduler × worker count) is keyed and labelled.
 * The library's public types re-export the names; the harness and the report key, sort and
 * label cells with these functions only, so a terminal line, a results file and a report
 * row always name a cell the same way. Imports nothing.
 */

/** The schedulers, simplest first: the order of every table and the report's tie-break. */
export const SCHEDULER_NAMES = ['sync', 'threads', 'processes', 'distributed', 'bullmq'] as const;

/** One of the interchangeable schedulers. */
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** Preset sizes, smallest first. `quick` runs in seconds on 2 cores. */
export const SIZE_NAMES = ['quick', 'small', 'medium', 'large'] as const;

/** One of the preset sizes. */
export type SizeName = (typeof SIZE_NAMES)[number];

/** A pool: a scheduler with a number of workers. */
export interface PoolId {
  scheduler: SchedulerName;
  workers: number;
}

/** A cell: a pool measured on one workload at one size. */
export interface CellId extends PoolId {
  workload: string;
  size: string;
}

/** Position of a scheduler in simplicity order (0 = sync). */
export function schedulerRank(scheduler: SchedulerName): number {
  return SCHEDULER_NAMES.indexOf(scheduler);
}

/** Sizes quick → large; names outside the presets sort after them, alphabetically. */
export function compareSizes(a: string, b: string): number {
  const ia = (SIZE_NAMES as readonly string[]).indexOf(a);
  const ib = (SIZE_NAMES as readonly string[]).indexOf(b);
  if (ia !== -1 && ib !== -1) return ia - ib;
  if (ia !== -1) return -1;
  if (ib !== -1) return 1;
  return a.localeCompare(b);
}

/** Pools simplest first, then by worker count. */
export function comparePools(a: PoolId, b: PoolId): number {
  return schedulerRank(a.scheduler) - schedulerRank(b.scheduler) || a.workers - b.workers;
}

/** Identity of a (workload, size) group: its cells share a sync baseline and a verdict. */
export function groupKey(cell: Pick<CellId, 'workload' | 'size'>): string {
  return JSON.stringify([cell.workload, cell.size]);
}

/** Identity of a cell across runs (baseline comparison), in maps and in the DOM. */
export function cellKey(cell: CellId): string {
  return JSON.stringify([cell.workload, cell.size, cell.scheduler, cell.workers]);
}

/** "threads×2", "sync": how a pool is named in tables, progress lines and chart labels. */
export function poolLabel(pool: PoolId): string {
  return pool.scheduler === 'sync' ? 'sync' : `${pool.scheduler}×${pool.workers}`;
}

/** "matmul/quick on threads×2": a cell named in full, for warnings and progress lines. */
export function cellName(cell: CellId): string {
  return `${cell.workload}/${cell.size} on ${poolLabel(cell)}`;
}
