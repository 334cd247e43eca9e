/**
 * Entry of a `processes` worker (a child process forked by workerpool; never imports the
 * pool's main side). Registers the batch runner with workerpool's worker API; results are
 * tagged with the process id.
 */
import workerpool from 'workerpool';
import type { BatchRequest, BatchResult } from '../local/protocol.js';
import { runBatch } from '../local/batch-runner.js';

workerpool.worker({
  run: (batch: BatchRequest): BatchResult | Promise<BatchResult> => runBatch(batch, { workerTag: process.pid }),
  ping: (): number => process.pid,
});
