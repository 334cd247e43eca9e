/**
 * Messages between the local engine and a worker thread or child process: one batch of
 * tasks goes out, one batch result comes back. Shared by both sides (types and constants only), so the
 * worker entries never import their pool and the pool never imports worker code.
 *
 * A batch is a small sub-graph, encoded flat so that a message costs little to clone (no
 * object per task or per `$ref`: a 1,000-task batch as objects took 13x longer through v8's
 * serializer). The worker keeps one array of value slots: the inputs first (`inputValues`,
 * values of keys computed elsewhere or literal nodes), then one slot per task in run order.
 * A task's arguments are codes: a slot number (a `$ref` to an input or an earlier task of the
 * batch), `ARG_LITERAL` (take the next value of `literals` as it is) or `ARG_NESTED` (the next
 * value of `literals` is an array or plain object with `$ref`s inside, resolved by key
 * against `inputKeys` and `keys`). The worker runs the tasks in order and sends back only the
 * slots in `want` (what tasks outside the batch or the caller still need): intermediates
 * produced and consumed inside one batch never cross the boundary. Keys cost a string each
 * to clone, so the pools send them only when a task has nested `$ref`s (`forWorker`); the
 * main side keeps them to name tasks in events and errors.
 *
 * Results carry each task's start and end in a Float64Array (cloned as one block of bytes,
 * not as 2 numbers per task).
 */
import type { Key, PackedError } from '../types.js';

/** Argument codes besides slots (the same as the graph index's): the next literal as it is, or with the `$ref`s inside it resolved by key. */
export { ARG_LITERAL, ARG_NESTED } from '../graph.js';

/** Engine → worker. */
export interface BatchRequest {
  /** Op strings (`"<module>#<export>"`) the tasks refer to by index (each long URL is sent once per batch, not once per task). */
  ops: string[];
  /** Key of each task, in run order (for `ARG_NESTED` lookups and messages; absent when `nested` is false and the batch crossed to a pool). */
  keys?: Key[];
  /** Op of each task: an index into `ops`. */
  opOf: Int32Array;
  /** Task t's argument codes are `args[argStart[t] .. argStart[t + 1])` (slot, `ARG_LITERAL` or `ARG_NESTED`). */
  argStart: Int32Array;
  args: Int32Array;
  /** The literal arguments, in the order the codes take them. */
  literals: unknown[];
  /** Keys and values of the inputs (slots 0 .. inputs - 1), as parallel arrays (keys absent as `keys` is). */
  inputKeys?: Key[];
  inputValues: unknown[];
  /** Slots whose values must come back, in order. */
  want: Int32Array;
  /** True when some argument is `ARG_NESTED` (the worker then needs `keys` and `inputKeys`). */
  nested: boolean;
  /**
   * Per entry of `want`, 1 when the worker may hand the value back sealed (main never reads
   * it and one later batch consumes it; engine's `seals`); absent when none may be.
   */
  sealable?: Uint8Array;
}

/** A request as the engine builds it: with its keys (what executors and their error messages see). */
export type NamedBatchRequest = BatchRequest & { keys: Key[]; inputKeys: Key[] };

/** What a pool sends across: the request without its keys unless the worker needs them. */
export function forWorker(batch: NamedBatchRequest): BatchRequest {
  if (batch.nested) return batch;
  const { keys: _keys, inputKeys: _inputKeys, ...rest } = batch;
  return rest;
}

/** Worker → engine. Times are epoch milliseconds (`performance.timeOrigin + performance.now()`). */
export interface BatchResult {
  /** Worker id as the worker knows it (thread id or process id); the executor maps it to `thread-N`/`process-N`. */
  workerTag: number;
  /** Values of `want`, in order (only those that were computed before a failure). */
  values: unknown[];
  /** Start and end time of each task that ran, in batch order (`[s0, e0, s1, e1, ...]`); empty when the run was not timed. */
  times: Float64Array | number[];
  /**
   * Set when a task failed: its index in `tasks` and the packed error. Tasks after it did not
   * run. `original` is the thrown value itself, kept only by inline (sync) execution.
   */
  failed?: { index: number; error: PackedError; original?: unknown };
}

/**
 * Exit code of a worker thread whose batch result could not be cloned back (the pool's
 * reply fails after the batch ran, outside any code of ours; the worker exits with this
 * code so the main side can name the cause instead of reporting a lost worker).
 */
export const RESULT_NOT_CLONEABLE_EXIT_CODE = 86;
