/**
 * The `sync` scheduler: every op runs inline on the calling thread, one at a time, in the
 * engine's priority order, so runs are deterministic and a debugger or `--cpu-prof` sees the
 * op's own frames under `get`. Nothing crosses a boundary: values are never cloned and the
 * byte counters stay 0. An op's error keeps its original stack and is the TaskError's `cause`.
 */
import type { LocalExecutor } from '../local/engine.js';
import { localScheduler } from '../local/scheduler.js';
import type { Scheduler } from '../types.js';
import { runBatch } from '../local/batch-runner.js';

/**
 * The inline executor: one slot, values passed by reference. Batches of up to 64 ready tasks
 * (run one after another, in priority order) amortise the engine's per-submission work.
 */
export const syncExecutor: LocalExecutor = {
  slots: 1,
  maxBatchTasks: 64,
  inline: true,
  sizeOf: undefined,
  submit: (batch, context) => runBatch(batch, { workerTag: 0, onTaskStart: context.onTaskStart, keepOriginal: true, timed: context.timed, signal: context.signal }),
  workerName: () => 'main',
};

/** Create the sync scheduler (no pool: start-up is free). */
export function createSyncScheduler(): Scheduler {
  return localScheduler({ name: 'sync', executor: syncExecutor, workers: 1, startupSeconds: 0, stop: async () => {} });
}
