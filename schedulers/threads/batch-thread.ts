/**
 * Entry of a `threads` worker (loaded by piscina in each worker thread; never imports the
 * pool). Runs batches with the shared worker runtime; tags results with the thread id. The
 * movable buffers of a result (local/movable.ts) go back by transfer: once the batch ends
 * this thread never reads them again.
 */
import { threadId } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { RESULT_NOT_CLONEABLE_EXIT_CODE, type BatchRequest, type BatchResult } from '../local/protocol.js';
import { runBatch } from '../local/batch-runner.js';
import { addMovableBuffers } from '../local/movable.js';
import { openSealed, sealValues } from './sealed-values.js';

// piscina posts the result after `run` returns; if the result cannot be cloned, that post
// throws asynchronously. Exit with a code the main side recognises; any other uncaught error
// still kills the thread as usual (and is reported as a lost worker).
process.on('uncaughtException', (err) => {
  if ((err as Error | undefined)?.name === 'DataCloneError') process.exit(RESULT_NOT_CLONEABLE_EXIT_CODE);
  throw err;
});

/** Run one batch of tasks. */
export function run(batch: BatchRequest): unknown {
  openSealed(batch.inputValues);
  const out = runBatch(batch, { workerTag: threadId });
  const sealable = batch.sealable;
  return out instanceof Promise ? out.then((r) => moving(r, sealable)) : moving(out, sealable);
}

/** The result, with the values main will not read sealed (sealed-values.ts), wrapped for piscina to transfer its ports and movable buffers when it has any. */
function moving(result: BatchResult, sealable: Uint8Array | undefined): unknown {
  const ports = sealable && !result.failed ? sealValues(result.values, sealable) : [];
  const buffers = new Set<ArrayBuffer>();
  for (const v of result.values) addMovableBuffers(v, buffers);
  if (buffers.size === 0 && ports.length === 0) return result;
  // piscina's Transferable protocol; its symbols are typed as plain `symbol` on the class, hence the cast.
  const movable = { [Piscina.transferableSymbol]: [...buffers, ...ports], [Piscina.valueSymbol]: result };
  return Piscina.move(movable as unknown as Parameters<typeof Piscina.move>[0]);
}

/** Start-up probe: which thread answered. */
export function ping(): number {
  return threadId;
}
