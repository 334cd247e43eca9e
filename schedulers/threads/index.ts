/**
 * The `threads` scheduler: ops run in a piscina pool of worker threads, started once per
 * scheduler. Batches go out by structured clone, except that large ArrayBuffers and typed
 * arrays move by transfer when main gives them up (the batch holds their last consumers)
 * and results move back the same way (local/movable.ts); a large typed array sent to
 * several batches is copied into a SharedArrayBuffer once. A large result main will not read
 * (not requested, one consumer) comes back sealed in a MessagePort and goes on, still sealed,
 * to the thread of its consumer, so its memory never enters main's heap (sealed-values.ts).
 * Shared, moved and sealed memory count 0
 * bytes in `stats()`; every other value that crosses is counted with the size estimate. Aborting a `get` terminates the threads still
 * running its batches (piscina replaces them).
 */
import { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { LocalExecutor } from '../local/engine.js';
import { poolFailure } from '../local/pool-failure.js';
import { WorkerNames } from '../local/worker-names.js';
import { forWorker, type BatchRequest, type BatchResult } from '../local/protocol.js';
import { localScheduler } from '../local/scheduler.js';
import { estimateSize } from '../size-estimate.js';
import { waitForWorkers } from '../local/warm-up.js';
import type { Scheduler } from '../types.js';
import { sealedInputs } from './sealed-values.js';

/** Largest batch sent to one thread (the engine sizes batches below this by measured task time). */
const MAX_BATCH_TASKS = 1024;

/** Start `workers` threads and wrap them as a Scheduler. */
export async function createThreadsScheduler(workers: number): Promise<Scheduler> {
  const started = performance.now();
  const pool = new Piscina<BatchRequest, BatchResult | number>({
    filename: new URL('./batch-thread.js', import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: 2 ** 31 - 1,
    recordTiming: false, // piscina's run and wait histograms: a cost per batch nobody reads
    // The engine keeps two batches per thread in flight (`prefetch: 1`): posted at once, the
    // second waits in the thread's own queue and starts the moment the first ends, instead of
    // in piscina's queue until main has read the first one's answer. (Batches carry all their
    // inputs, so their order on a thread does not matter; a run with an abort signal makes
    // its batches abortable, which piscina never puts two to a thread.)
    concurrentTasksPerWorker: 2,
    // Threads wait for batches in their event loop, not blocked in Atomics.wait (piscina's
    // default 'sync'): V8 runs a thread's GC work (incremental marking steps, freeing the
    // backing stores of dead ArrayBuffers) as tasks of that loop, and a thread parked in
    // Atomics.wait between batches starves them. Its dead 16 MB arrays then stayed mapped
    // until a forced full collection: tree-reduce quick spent 64 ms of worker GC a get
    // instead of 32, and ran 175-188 ms against 143-160 ms with this setting (sync 155-166
    // in the same rounds, scripts/measure-local-bound.ts).
    atomics: 'disabled',
  });
  // piscina emits 'error' on the pool when a thread answers a task it no longer tracks: a
  // batch aborted (its signal fired) just as the thread finished it. The get has already
  // rejected with AbortedError and the answer is stale, so it is dropped; without a listener
  // the emitter would throw it as an uncaught exception and take the process down.
  pool.on('error', (err: unknown) => {
    if (!/^Unexpected message from Worker/.test((err as Error)?.message ?? '')) process.emitWarning(`schedlab threads pool: ${(err as Error)?.message ?? String(err)}`);
  });
  const names = new WorkerNames('thread');
  try {
    await waitForWorkers(workers, () => pool.run(undefined as never, { name: 'ping' }) as Promise<number>, names);
  } catch (err) {
    await pool.destroy();
    throw err;
  }
  const startupSeconds = (performance.now() - started) / 1000;
  const executor: LocalExecutor = {
    slots: workers,
    prefetch: 1,
    maxBatchTasks: MAX_BATCH_TASKS,
    inline: false,
    sizeOf: (v) => estimateSize(v, true),
    moves: true,
    sharesMemory: true,
    seals: true,
    submit: (batch, { signal }, transfer) => {
      const sealed = sealedInputs(batch.inputValues);
      const transferList = sealed ? [...(transfer ?? []), ...sealed] : transfer;
      return (pool.run(forWorker(batch), { name: 'run', signal, transferList }) as Promise<BatchResult>).catch((err: unknown) => {
        // A batch aborted while still in piscina's queue never moved its sealed inputs.
        if (sealed) for (const port of sealed) port.close();
        throw poolFailure(err, batch, 'thread', signal);
      });
    },
    discard: (value) => {
      if (value instanceof MessagePort) value.close();
    },
    workerName: (tag) => names.name(tag),
  };
  return localScheduler({ name: 'threads', executor, workers, startupSeconds, stop: () => pool.destroy() });
}
