/**
 * schedlab's public API: `createScheduler(name, options)` and `compute(graph, keys, options)`,
 * the graph helpers, shared typed arrays, errors and types. Switching scheduler is one
 * option, as Dask's `scheduler=`. The pool-backed schedulers are imported on first use, so
 * `sync` users never load piscina, workerpool, gRPC or BullMQ.
 */
import { availableParallelism } from 'node:os';
import { OptionError } from './errors.js';
import { progressBar, type ProgressBarOptions } from './progress-bar.js';
import { createSyncScheduler } from './sync/index.js';
import type { Client as DistributedClient, ClientOptions } from './distributed/client/client.js';
import { SCHEDULER_NAMES, type Graph, type Key, type RunOptions, type Scheduler, type SchedulerEvent, type SchedulerName, type SchedulerOptions } from './types.js';

export * from './errors.js';
export * from './types.js';
export { GraphBuilder, opRef, parseOp, isRef, isTask, validateGraph, taskDependencies, substituteRefs, order } from './graph.js';
export { cull, fuseLinearChains, neededTasks } from './optimize.js';
export { progressBar, type ProgressBar, type ProgressBarOptions } from './progress-bar.js';
export { sharedFloat64Array, sharedTypedArray, isShared, type TypedArrayConstructor } from './shared-arrays.js';
export type { Future, FutureStatus, ClientOptions } from './distributed/client/client.js';

/**
 * The distributed scheduler's futures client (as Dask's `distributed.Client`):
 * `const client = await Client.connect({ address })`, then submit / gather / asCompleted /
 * persist / get. gRPC loads on the first `connect`, so other users never load it.
 */
export const Client = {
  async connect(options: ClientOptions): Promise<DistributedClient> {
    const { Client: Real } = await import('./distributed/client/client.js');
    return Real.connect(options);
  },
};
export type Client = DistributedClient;

function checkOptions(name: unknown, options: SchedulerOptions): void {
  if (typeof name !== 'string' || !(SCHEDULER_NAMES as readonly string[]).includes(name)) {
    throw new OptionError('scheduler', `unknown scheduler "${String(name)}"; choose one of ${SCHEDULER_NAMES.join(', ')}`);
  }
  if (typeof options !== 'object' || options === null) throw new OptionError('options', 'scheduler options must be an object');
  const { workers } = options;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) {
    throw new OptionError('workers', `option "workers" must be a positive integer, got ${String(workers)}`);
  }
}

/**
 * Start a scheduler; pools (threads, processes) start here, once, and are reused by every `get`.
 * With `dashboard`, a live dashboard serves its activity until `close()`. Close it when done.
 */
export async function createScheduler(name: SchedulerName, options: SchedulerOptions = {}): Promise<Scheduler> {
  checkOptions(name, options);
  const scheduler = await startScheduler(name, options);
  if (!options.dashboard) return scheduler;
  const { withDashboard } = await import('./dashboard/attach.js');
  try {
    return await withDashboard(scheduler, options.dashboard);
  } catch (err) {
    await scheduler.close();
    throw err;
  }
}

async function startScheduler(name: SchedulerName, options: SchedulerOptions): Promise<Scheduler> {
  const workers = options.workers ?? availableParallelism();
  switch (name) {
    case 'sync':
      return createSyncScheduler();
    case 'threads': {
      const { createThreadsScheduler } = await import('./threads/index.js');
      return createThreadsScheduler(workers);
    }
    case 'processes': {
      const { createProcessesScheduler } = await import('./processes/index.js');
      return createProcessesScheduler(workers);
    }
    case 'distributed': {
      const { createDistributedScheduler } = await import('./distributed/index.js');
      return createDistributedScheduler(options);
    }
    case 'bullmq': {
      const { createBullmqScheduler } = await import('./bullmq/index.js');
      return createBullmqScheduler(options);
    }
  }
}

/** Options of `compute`: which scheduler, its options, and the run's options. */
export interface ComputeOptions extends SchedulerOptions, RunOptions {
  scheduler: SchedulerName;
  /** Draw a progress bar on stderr (on a TTY; `{ force: true }` draws elsewhere too). */
  progress?: boolean | ProgressBarOptions;
}

/** Create a scheduler, compute `keys`, close it (even on failure). */
export async function compute(graph: Graph, keys: Key[], options: ComputeOptions): Promise<unknown[]> {
  if (typeof options !== 'object' || options === null) throw new OptionError('scheduler', `compute needs { scheduler }: one of ${SCHEDULER_NAMES.join(', ')}`);
  const { scheduler: name, onEvent, signal, progress, ...schedulerOptions } = options;
  const scheduler = await createScheduler(name, schedulerOptions);
  const bar = progress ? progressBar(graph, keys, progress === true ? {} : progress) : undefined;
  const events = bar
    ? (e: SchedulerEvent) => {
        bar.onEvent(e);
        onEvent?.(e);
      }
    : onEvent;
  try {
    return await scheduler.get(graph, keys, { onEvent: events, signal });
  } finally {
    bar?.stop();
    await scheduler.close();
  }
}
