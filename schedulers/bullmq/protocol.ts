/**
 * What the engine side and a BullMQ worker of the `bullmq` scheduler agree on (types and
 * key names only, so neither side imports the other).
 *
 * A job is one batch of the local engine (local/protocol.ts). BullMQ keeps job data and
 * return values as JSON text, so no value travels in a job: the batch's description (ops,
 * tasks with their literal args, input names, wanted keys) goes as base64 v8 bytes, and every
 * input and output value lives in Redis as v8 bytes under a key the engine chose. All keys of
 * one `get` share a hash tag (`{run}`), so a Redis Cluster keeps them in one slot. A run's
 * marker key exists while the `get` runs: a worker stores outputs only while it exists (one
 * Lua script), so a job that finishes after its `get` ended leaves nothing behind.
 */
import type { NamedBatchRequest } from '../local/protocol.js';

/** The BullMQ queue every schedlab engine and worker on one Redis uses. */
export const QUEUE_NAME = 'schedlab-batches';
/** Pub/sub channel on which the engine names runs whose running jobs must stop (abort, failure). */
export const CANCEL_CHANNEL = 'schedlab-batches:cancel';
/** Prefix of every key the engine owns. */
export const KEY_PREFIX = 'schedlab:';
/** BullMQ worker names start with this; the concurrency follows (`schedlab-c4-host-123`). */
export const WORKER_NAME_PREFIX = 'schedlab-c';

/** Keys of one run: its marker and its values, all in one hash slot. */
export function runKeys(runId: string): { marker: string; value: (n: number) => string } {
  const base = `${KEY_PREFIX}{${runId}}`;
  return { marker: `${base}:run`, value: (n) => `${base}:v${n}` };
}

/** Job data: JSON-safe by construction. */
export interface BatchJobData {
  /** The run's marker key. */
  run: string;
  /** base64 of `v8.serialize(BatchBody)`. */
  body: string;
  /** Redis keys of the inputs, parallel to `BatchBody.inputKeys`. */
  inputs: string[];
  /** Redis keys to store the wanted values under, parallel to `BatchBody.want`. */
  outputs: string[];
}

/** The batch without its values (v8 bytes inside the job: args may hold typed arrays, Maps...). */
export type BatchBody = Omit<NamedBatchRequest, 'inputValues'>;

/** A job's return value (JSON). */
export interface BatchJobResult {
  /** `host:pid:thread-N` of the op thread that ran it. */
  worker: string;
  /** As `BatchResult.times`. */
  times: number[];
  failed?: { index: number; error: { name: string; message: string; stack?: string; code?: string } };
  /** Bytes the worker read from Redis (inputs) and wrote to it (outputs). */
  bytesIn: number;
  bytesOut: number;
  /** The run had ended before the job ran or finished: nothing ran or nothing was stored. */
  skipped?: true;
}
