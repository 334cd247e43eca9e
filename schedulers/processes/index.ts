/**
 * The `processes` scheduler: ops run in child processes of a workerpool pool
 * (`workerType: 'process'`), started once per scheduler. Values cross the IPC channel by V8
 * structured clone (`serialization: 'advanced'`, so typed arrays, Maps, Dates, BigInts
 * survive), and, as in Dask's multiprocessing scheduler, every intermediate a task needs
 * from another batch comes back to the main process and is sent out again: `stats()` counts
 * all of it (shared memory cannot cross processes, so SharedArrayBuffer data is counted
 * too). Aborting a `get` kills the processes still running its batches (the pool replaces them).
 */
import workerpool from 'workerpool';
import type { LocalExecutor } from '../local/engine.js';
import { poolFailure } from '../local/pool-failure.js';
import { WorkerNames } from '../local/worker-names.js';
import { forWorker, type BatchResult, type NamedBatchRequest } from '../local/protocol.js';
import { localScheduler } from '../local/scheduler.js';
import { estimateSize } from '../size-estimate.js';
import { waitForWorkers } from '../local/warm-up.js';
import type { Scheduler } from '../types.js';

/** Largest batch sent to one process (the engine sizes batches below this by measured task time). */
const MAX_BATCH_TASKS = 1024;

/** Start `workers` child processes and wrap them as a Scheduler. */
export async function createProcessesScheduler(workers: number): Promise<Scheduler> {
  const started = performance.now();
  const pool = workerpool.pool(new URL('./batch-process.js', import.meta.url).pathname, {
    workerType: 'process',
    minWorkers: workers,
    maxWorkers: workers,
    forkOpts: { serialization: 'advanced' },
  });
  const names = new WorkerNames('process');
  try {
    await waitForWorkers(workers, () => pool.exec('ping', []) as unknown as Promise<number>, names);
  } catch (err) {
    await pool.terminate(true);
    throw err;
  }
  const startupSeconds = (performance.now() - started) / 1000;
  const executor: LocalExecutor = {
    slots: workers,
    prefetch: 1,
    maxBatchTasks: MAX_BATCH_TASKS,
    inline: false,
    sizeOf: (v) => estimateSize(v, false),
    submit: (batch, { signal }) => run(batch, signal),
    workerName: (tag) => names.name(tag),
  };
  function run(batch: NamedBatchRequest, signal: AbortSignal | undefined): Promise<BatchResult> {
    let pending: ReturnType<typeof pool.exec>;
    try {
      pending = pool.exec('run', [forWorker(batch)]);
    } catch (err) {
      // Serialising the batch for IPC failed synchronously (an argument cannot be cloned).
      return Promise.reject(poolFailure(err, batch, 'process', signal));
    }
    const cancel = (): void => void pending.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    // workerpool's own Promise class: adopt it into a native promise for the engine.
    return Promise.resolve(pending as unknown as Promise<BatchResult>).then(
      (result) => {
        signal?.removeEventListener('abort', cancel);
        return result;
      },
      (err: unknown) => {
        signal?.removeEventListener('abort', cancel);
        throw poolFailure(err, batch, 'process', signal);
      },
    );
  }
  return localScheduler({ name: 'processes', executor, workers, startupSeconds, stop: () => terminate(pool) });
}

/** The slice of workerpool's internals `terminate` needs: the replacement floor and each handler's child process. */
interface PoolInternals {
  minWorkers?: number;
  workers?: Array<{ worker?: { exitCode: number | null; signalCode: string | null; killed: boolean } | null }>;
}

/**
 * Stop every child process. Two workerpool behaviours get in the way when children die from
 * outside (e.g. a Ctrl-C sent to the whole process group): it replaces a dead worker to keep
 * `minWorkers` alive, even while terminating, so a replacement spawned after `terminate`
 * would outlive the scheduler; and it waits for each child's 'exit' event, which a child that
 * already died never emits again. So: no more replacements, and dead children marked killed.
 */
async function terminate(pool: workerpool.Pool): Promise<void> {
  const internals = pool as unknown as PoolInternals;
  internals.minWorkers = 0;
  for (const handler of internals.workers ?? []) {
    const child = handler.worker;
    if (child && (child.exitCode !== null || child.signalCode !== null)) child.killed = true;
  }
  await pool.terminate(true);
}
