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
import { ARG_LITERAL, type BatchRequest, type BatchResult } from './protocol.js';

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

/** Shared empty `times` of untimed runs (never written). */
const NO_TIMES = new Float64Array(0);

/** One batch in progress (a class rather than closures: few allocations on the hot path). */
class BatchRun {
  readonly #batch: BatchRequest;
  readonly #options: RunBatchOptions;
  /** Value slots: the inputs, then each task's value as it is computed (the request's `inputValues`, appended to: the request is the runner's once submitted). */
  readonly #slots: unknown[];
  /** Next unread entry of `literals` (kept across an await). */
  #literal = 0;
  /** Key → slot, built at the first `ARG_NESTED` argument. */
  #slotOf: Map<Key, number> | undefined;
  /** Start and end of each task, filled up to `2 * #ran`. */
  readonly #times: Float64Array;
  #ran = 0;
  readonly #timed: boolean;
  readonly #lookup = (key: Key): unknown => {
    const slot = this.#slotOf!.get(key);
    return slot === undefined ? undefined : this.#slots[slot];
  };

  constructor(batch: BatchRequest, options: RunBatchOptions) {
    this.#batch = batch;
    this.#options = options;
    this.#timed = options.timed ?? true;
    this.#times = this.#timed ? new Float64Array(2 * batch.opOf.length) : NO_TIMES;
    this.#slots = batch.inputValues;
  }

  /** The value of argument code `code` (consumes a literal when it takes one). */
  #arg(code: number): unknown {
    if (code >= 0) return this.#slots[code];
    const literal = this.#batch.literals[this.#literal++];
    return code === ARG_LITERAL ? literal : substituteRefs([literal], this.#nestedLookup())[0];
  }

  /** Call `fn` with task i's arguments, decoded from its codes (up to three without an array: most ops take few). */
  #call(fn: OpFunction, i: number): unknown {
    const { argStart, args: codes } = this.#batch;
    const from = argStart[i]!;
    switch (argStart[i + 1]! - from) {
      case 0:
        return fn();
      case 1:
        return fn(this.#arg(codes[from]!));
      case 2: {
        const a = this.#arg(codes[from]!);
        return fn(a, this.#arg(codes[from + 1]!));
      }
      case 3: {
        const a = this.#arg(codes[from]!);
        const b = this.#arg(codes[from + 1]!);
        return fn(a, b, this.#arg(codes[from + 2]!));
      }
      default: {
        const n = argStart[i + 1]! - from;
        const args = new Array<unknown>(n);
        for (let a = 0; a < n; a++) args[a] = this.#arg(codes[from + a]!);
        return fn(...args);
      }
    }
  }

  #nestedLookup(): (key: Key) => unknown {
    if (this.#slotOf === undefined) {
      const { inputKeys, keys } = this.#batch;
      if (!inputKeys || !keys) throw new Error('internal: a batch with nested $refs was sent without its keys');
      const slotOf = new Map<Key, number>();
      for (let i = 0; i < inputKeys.length; i++) slotOf.set(inputKeys[i]!, i);
      for (let t = 0; t < keys.length; t++) slotOf.set(keys[t]!, inputKeys.length + t);
      this.#slotOf = slotOf;
    }
    return this.#lookup;
  }

  #record(start: number): void {
    this.#times[2 * this.#ran] = start;
    this.#times[2 * this.#ran + 1] = now();
    this.#ran++;
  }

  /** The times of the tasks that ran, when not all did (a copy: a view would clone the whole buffer). */
  #partialTimes(): Float64Array {
    return this.#times.slice(0, 2 * this.#ran);
  }

  #fail(index: number, start: number, err: unknown): BatchResult {
    if (this.#timed) this.#record(start);
    const failed: NonNullable<BatchResult['failed']> = { index, error: packError(err) };
    if (this.#options.keepOriginal) failed.original = err;
    return { workerTag: this.#options.workerTag, values: [], times: this.#partialTimes(), failed };
  }

  runFrom(first: number): BatchResult | Promise<BatchResult> {
    const { keys, opOf, ops } = this.#batch;
    const count = opOf.length;
    const onTaskStart = this.#options.onTaskStart;
    const timed = this.#timed;
    const signal = this.#options.signal;
    const slots = this.#slots;
    for (let i = first; i < count; i++) {
      if (signal?.aborted) return { workerTag: this.#options.workerTag, values: [], times: this.#partialTimes() };
      const op = ops[opOf[i]!]!;
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
      onTaskStart?.(keys![i]!);
      const start = timed ? now() : 0;
      let out: unknown;
      try {
        out = this.#call(fn, i);
      } catch (err) {
        return this.#fail(i, start, err);
      }
      if (isThenable(out)) {
        return Promise.resolve(out).then(
          (v) => {
            slots.push(v);
            if (timed) this.#record(start);
            return this.runFrom(i + 1);
          },
          (err: unknown) => this.#fail(i, start, err),
        );
      }
      slots.push(out);
      if (timed) this.#record(start);
    }
    const want = this.#batch.want;
    const values = new Array<unknown>(want.length);
    for (let w = 0; w < want.length; w++) values[w] = slots[want[w]!];
    return { workerTag: this.#options.workerTag, values, times: this.#times };
  }
}
