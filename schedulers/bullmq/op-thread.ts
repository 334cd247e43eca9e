/**
 * Entry of an op thread of a BullMQ worker (loaded by piscina; never imports the pool): turns
 * one job's bytes into values, runs the batch with the shared batch runner, and turns the
 * wanted values back into bytes. All v8 (de)serialization happens here, off the worker's
 * main thread, which stays free for Redis and BullMQ's lock renewal.
 */
import { hostname } from 'node:os';
import { deserialize, serialize } from 'node:v8';
import { threadId } from 'node:worker_threads';
import { runBatch } from '../local/batch-runner.js';
import type { BatchResult } from '../local/protocol.js';
import { packError } from '../ops.js';
import type { BatchBody } from './protocol.js';

/** What the worker's main thread sends: the job's body and its inputs' bytes. */
export interface OpThreadTask {
  body: Uint8Array;
  inputs: Uint8Array[];
}

/** What comes back: the batch result without values, and the wanted values' bytes. */
export interface OpThreadResult {
  worker: string;
  times: number[];
  failed?: BatchResult['failed'];
  outputs: Uint8Array[];
}

const worker = `${hostname()}:${process.pid}:thread-${threadId}`;

/** Run one job's batch. */
export async function run(task: OpThreadTask): Promise<OpThreadResult> {
  const body = deserialize(task.body) as BatchBody;
  const inputValues = task.inputs.map((bytes) => deserialize(bytes) as unknown);
  const result = await runBatch({ ...body, inputValues }, { workerTag: threadId });
  const outputs: Uint8Array[] = [];
  for (let w = 0; w < result.values.length; w++) {
    try {
      outputs.push(serialize(result.values[w]));
    } catch (err) {
      const index = body.want[w]! - body.inputKeys.length; // a wanted slot is a task's (inputs come first)
      const error = packError(err);
      error.message = `the value returned by "${body.keys[index]}" cannot be serialized to store in Redis (${error.message}); return plain data, typed arrays or other structured-cloneable values`;
      return { worker, times: Array.from(result.times), failed: { index, error }, outputs: [] };
    }
  }
  return { worker, times: Array.from(result.times), failed: result.failed, outputs };
}
