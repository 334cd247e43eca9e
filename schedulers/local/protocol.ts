/**
 * Messages between the local engine and a worker thread or child process: one batch of
 * tasks goes out, one batch result comes back. Shared by both sides (types only), so the
 * worker entries never import their pool and the pool never imports worker code.
 *
 * A batch is a small sub-graph: its tasks are listed dependencies-first, `$ref`s inside
 * `args` stay unresolved, and `inputs` carries the value of every key a task refers to that
 * is not produced inside the batch. The worker runs the tasks in order and sends back only
 * the keys in `want` (what tasks outside the batch or the caller still need): intermediates
 * produced and consumed inside one batch never cross the boundary.
 */
import type { Key, PackedError } from '../types.js';

/** One task of a batch. */
export interface BatchTask {
  key: Key;
  /** Index into the request's `ops` (op strings are long file URLs: each is sent once per batch, not once per task). */
  op: number;
  args: unknown[];
}

/** Engine → worker. */
export interface BatchRequest {
  /** Op strings (`"<module>#<export>"`) the tasks refer to by index. */
  ops: string[];
  tasks: BatchTask[];
  /** Values of keys referenced by `tasks` but computed elsewhere (or literal values), as parallel arrays. */
  inputKeys: Key[];
  inputValues: unknown[];
  /** Keys whose values must come back. */
  want: Key[];
}

/** Worker → engine. Times are epoch milliseconds (`performance.timeOrigin + performance.now()`). */
export interface BatchResult {
  /** Worker id as the worker knows it (thread id or process id); the executor maps it to `thread-N`/`process-N`. */
  workerTag: number;
  /** Values of `want`, in order (only those that were computed before a failure). */
  values: unknown[];
  /** Start and end time of each task that ran, in batch order (`[s0, e0, s1, e1, ...]`); empty when the run was not timed. */
  times: number[];
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
