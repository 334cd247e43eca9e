/**
 * Messages between the bench runner (main process, harness/runner/bench.ts) and a pool process
 * (harness/runner/pool-process.ts), over the IPC channel of `child_process.fork`. Plain data:
 * workloads travel by name (catalog) or by file path, never as objects.
 */
import type { Cell } from '../../results/schema.js';
import type { SizeName } from '../../workloads/types.js';
import type { PoolId } from '../../common/cells.js';
import type { MeasureSettings } from '../measure/cell.js';
import type { DashboardBatch } from './dashboard-relay.js';

/** What one pool process measures. */
export interface PoolJob {
  pool: PoolId;
  /** Cells in order; `workload` is a catalog name or the name of the workload in `workloadFile`. */
  cells: Array<{ workload: string; size: SizeName }>;
  settings: MeasureSettings;
  workloadOptions: Record<string, string | undefined>;
  /** Absolute path of the user's `--workload-file`, if any. */
  workloadFile?: string;
  /** Relay scheduler events for `--dashboard` (dashboard-relay.ts). */
  dashboard?: boolean;
}

export type ToPool = { type: 'job'; job: PoolJob } | { type: 'interrupt' };

export type FromPool =
  | { type: 'cell-start'; index: number }
  | { type: 'cell'; index: number; cell: Cell }
  | { type: 'note'; message: string }
  /** Coalesced scheduler events for the dashboard (every 250 ms at most). */
  | { type: 'dashboard'; batch: DashboardBatch }
  /** Every cell was reported (or the pool stopped on an interrupt). */
  | { type: 'done' }
  /** The pool process could not run the job at all (e.g. the workloads failed to load). */
  | { type: 'error'; message: string };
