/**
 * Messages between the bench runner (main process, harness/runner/pool-client.ts) and a pool
 * process (harness/runner/pool-process.ts), over the IPC channel of `child_process.fork`. Plain
 * data: workloads travel by name (catalog) or by file path, never as objects.
 *
 * The runner drives: every request carries an id and gets exactly one reply with that id (or
 * the process dies, which fails what it had left). Only one request is in flight per pool.
 */
import type { Cell } from '../../results/schema.js';
import type { SizeName } from '../../workloads/types.js';
import type { PoolId } from '../../common/cells.js';
import type { MeasureSettings } from '../measure/cell.js';
import type { DashboardBatch } from './dashboard-relay.js';

/** What one pool process is for. */
export interface PoolJob {
  pool: PoolId;
  settings: MeasureSettings;
  workloadOptions: Record<string, string | undefined>;
  /** Absolute path of the user's `--workload-file`, if any. */
  workloadFile?: string;
  /** Relay scheduler events for `--dashboard` (dashboard-relay.ts). */
  dashboard?: boolean;
}

/** What the runner asks, and what each answer holds. */
export type PoolRequest =
  /** Load the workloads and start the scheduler. Reply: null (a pool that cannot start fails its cells at `prepare`). */
  | { type: 'start'; job: PoolJob }
  /** Build the workload (once per pool) and do the warm-up run. Reply: null when ready, else the failed cell. */
  | { type: 'prepare'; workload: string; size: SizeName }
  /** One timed run of the prepared cell. Reply: its seconds, or the failed cell. */
  | { type: 'sample' }
  /** Forget the prepared cell's last sample (other programs crowded it; the runner takes it again). Reply: null. */
  | { type: 'discard' }
  /** End the prepared cell. Reply: the measured cell. */
  | { type: 'finish'; raceEnd: NonNullable<Cell['raceEnd']> }
  /** Close the scheduler and dispose the builds. Reply: null; the process then exits. */
  | { type: 'close' };

export type PoolReply = null | number | Cell;

export type ToPool = { type: 'request'; id: number; request: PoolRequest } | { type: 'interrupt' };

export type FromPool =
  | { type: 'reply'; id: number; value: PoolReply }
  /** The request could not be served: `interrupted` after Ctrl-C, else a bug or a workload file that fails to load. */
  | { type: 'error'; id: number; message: string; interrupted: boolean }
  | { type: 'note'; message: string }
  /** Coalesced scheduler events for the dashboard (every 250 ms at most). */
  | { type: 'dashboard'; batch: DashboardBatch };
