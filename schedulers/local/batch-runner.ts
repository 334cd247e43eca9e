/**
 * The worker side of the local engine's batch protocol (protocol.ts): run one batch of
 * tasks in order and pack what came of it. Loaded by every place a local batch runs: the
 * threads and processes pool entries, and the sync executor on the main thread. It imports
 * no pool and no engine.
 */
import { now } from '../../common/clock.js';
import { substituteRefs } from '../graph.js';
import { loadedOp, loadOp, packError, type OpFunction } from '../ops.js';
import type { Key } from '../types.js';
import type { BatchRequest, BatchResult } from './protocol.js';

/** The op of the previous task run in this thread (consecutive tasks usually share one). */
let lastOp: string | undefined;
let lastFn: OpFunction | undefined;

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as PromiseLike<unknown>).then === 'function';
}

/** How `runBatch` reports back. */
export interface RunBatchOptions {
  /** Tag of this worker (thread id, process id, 0 for main); the main side maps it to a worker name. */
  workerTag: number;
  /** Called right before each task's op runs (inline execution emits `task-start` from it). */
  onTaskStart?: (key: Key) => void;
  /** Keep the thrown value itself in `failed.original` (inline only: it cannot cross a boundary). */
  keepOriginal?: boolean;
  /** Record per-task start/end times (default true; inline runs skip them when nobody listens). */
  timed?: boolean;
  /**
   * Inline runs: stop before the next task once this is aborted (an op or an event listener
   * may abort synchronously). The partial result is never read: the engine sees the abort.
   */
  signal?: AbortSignal;
}

/**
 * Worker side of the batch protocol: run `batch.tasks` in order, resolving `$ref`s from the
 * batch's inputs and from earlier tasks of the batch; return the wanted values and per-task
 * times. A failing task stops the batch and is reported in `failed` (never thrown), so a
 * worker survives its ops' errors. Runs synchronously as long as the ops are synchronous and
 * already loaded, and returns a promise only once it has to wait.
 */
export function runBatch(batch: BatchRequest, options: RunBatchOptions): BatchResult | Promise<BatchResult> {
  return new BatchRun(batch, options).runFrom(0);
}

/** Shared empty `times` of untimed runs (never mutated). */
const NO_TIMES: number[] = [];

/** Batches up to this size look values up by linear scan (most batches); larger ones build a Map. */
const LINEAR_LOOKUP_MAX = 8;

/** One batch in progress (a class rather than closures: few allocations on the hot path). */
class BatchRun {
  readonly #batch: BatchRequest;
  readonly #options: RunBatchOptions;
  /** Keys and values computed by this batch so far (inputs stay in the request); allocated on the second task. */
  #keys: Key[] | undefined;
  #values: unknown[] | undefined;
  /** The first value computed (most batches of an inline run have one task). */
  #firstKey: Key | undefined;
  #firstValue: unknown;
  readonly #map: Map<Key, unknown> | undefined;
  readonly #times: number[];
  readonly #timed: boolean;
  readonly lookup = (key: Key): unknown => this.#get(key);

  constructor(batch: BatchRequest, options: RunBatchOptions) {
    this.#batch = batch;
    this.#options = options;
    this.#timed = options.timed ?? true;
    this.#times = this.#timed ? [] : NO_TIMES;
    if (batch.inputKeys.length + batch.tasks.length > LINEAR_LOOKUP_MAX) {
      this.#map = new Map();
      for (let i = 0; i < batch.inputKeys.length; i++) this.#map.set(batch.inputKeys[i]!, batch.inputValues[i]);
    }
  }

  #get(key: Key): unknown {
    if (this.#map) return this.#map.get(key);
    if (key === this.#firstKey) return this.#firstValue;
    const keys = this.#keys;
    if (keys) for (let i = 0; i < keys.length; i++) if (keys[i] === key) return this.#values![i];
    const inputs = this.#batch.inputKeys;
    for (let i = 0; i < inputs.length; i++) if (inputs[i] === key) return this.#batch.inputValues[i];
    return undefined;
  }

  #set(key: Key, value: unknown): void {
    if (this.#map) this.#map.set(key, value);
    else if (this.#firstKey === undefined) {
      this.#firstKey = key;
      this.#firstValue = value;
    } else {
      (this.#keys ??= []).push(key);
      (this.#values ??= []).push(value);
    }
  }

  #fail(index: number, start: number, err: unknown): BatchResult {
    if (this.#timed) this.#times.push(start, now());
    const failed: NonNullable<BatchResult['failed']> = { index, error: packError(err) };
    if (this.#options.keepOriginal) failed.original = err;
    return { workerTag: this.#options.workerTag, values: [], times: this.#times, failed };
  }

  runFrom(first: number): BatchResult | Promise<BatchResult> {
    const { tasks, ops } = this.#batch;
    const onTaskStart = this.#options.onTaskStart;
    const timed = this.#timed;
    const signal = this.#options.signal;
    for (let i = first; i < tasks.length; i++) {
      if (signal?.aborted) return { workerTag: this.#options.workerTag, values: [], times: this.#times };
      const task = tasks[i]!;
      const op = ops[task.op]!;
      // Consecutive tasks usually share an op: skip the Map lookup (and its string hashing) then.
      const fn = op === lastOp ? lastFn : loadedOp(op);
      if (fn === undefined) {
        const start = now();
        return loadOp(op).then(
          () => this.runFrom(i),
          (err: unknown) => this.#fail(i, start, err),
        );
      }
      lastOp = op;
      lastFn = fn;
      onTaskStart?.(task.key);
      const start = timed ? now() : 0;
      let out: unknown;
      try {
        out = fn(...substituteRefs(task.args, this.lookup));
      } catch (err) {
        return this.#fail(i, start, err);
      }
      if (isThenable(out)) {
        return Promise.resolve(out).then(
          (v) => {
            this.#set(task.key, v);
            if (timed) this.#times.push(start, now());
            return this.runFrom(i + 1);
          },
          (err: unknown) => this.#fail(i, start, err),
        );
      }
      this.#set(task.key, out);
      if (timed) this.#times.push(start, now());
    }
    return { workerTag: this.#options.workerTag, values: this.#batch.want.map(this.lookup), times: this.#times };
  }
}
