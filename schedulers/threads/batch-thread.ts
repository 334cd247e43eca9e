/**
 * Entry of a `threads` worker (loaded by piscina in each worker thread; never imports the
 * pool). Runs batches with the shared worker runtime; tags results with the thread id.
 */
import { threadId } from 'node:worker_threads';
import { RESULT_NOT_CLONEABLE_EXIT_CODE, type BatchRequest, type BatchResult } from '../local/protocol.js';
import { runBatch } from '../local/batch-runner.js';

// piscina posts the result after `run` returns; if the result cannot be cloned, that post
// throws asynchronously. Exit with a code the main side recognises; any other uncaught error
// still kills the thread as usual (and is reported as a lost worker).
process.on('uncaughtException', (err) => {
  if ((err as Error | undefined)?.name === 'DataCloneError') process.exit(RESULT_NOT_CLONEABLE_EXIT_CODE);
  throw err;
});

/** Run one batch of tasks. */
export function run(batch: BatchRequest): BatchResult | Promise<BatchResult> {
  return runBatch(batch, { workerTag: threadId });
}

/** Start-up probe: which thread answered. */
export function ping(): number {
  return threadId;
}
