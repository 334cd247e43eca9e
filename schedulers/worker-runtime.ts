/**
 * Code that runs where ops run: inside a worker thread, a child process, a distributed
 * worker, or (for `sync`) the main thread. It imports no pool, so every kind of worker can
 * load it.
 *
 * Ops are named `"<module>#<export>"` and imported once per thread/process, then cached by
 * op string (a Map lookup per task afterwards). TypeScript op modules (.ts/.mts/.cts) get
 * the ts-node hooks registered first (`ensureTsLoader`). `runBatch` is the worker side of
 * the local engine's batch protocol (see local/protocol.ts).
 */
import { GraphError } from './errors.js';
import { isTask, parseOp, substituteRefs } from './graph.js';
import { ensureTsLoader, isTypeScriptModule } from './ts-loader.js';
import type { BatchRequest, BatchResult } from './local/protocol.js';
import type { Graph, Key, PackedError } from './types.js';

/** An op: any function, sync or async. */
export type OpFunction = (...args: unknown[]) => unknown;

const loaded = new Map<string, OpFunction>();
let lastOp: string | undefined;
let lastFn: OpFunction | undefined;
const loading = new Map<string, Promise<OpFunction>>();

/** The op if it was already imported in this thread/process (no await needed). */
export function loadedOp(op: string): OpFunction | undefined {
  return loaded.get(op);
}

/** Import the module of `op` (once) and return its export; throws if either is missing or not a function. */
export function loadOp(op: string): Promise<OpFunction> {
  const hit = loaded.get(op);
  if (hit) return Promise.resolve(hit);
  let pending = loading.get(op);
  if (!pending) {
    pending = importOp(op).finally(() => loading.delete(op));
    loading.set(op, pending);
  }
  return pending;
}

async function importOp(op: string): Promise<OpFunction> {
  const { module, exportName } = parseOp(op);
  if (isTypeScriptModule(module)) ensureTsLoader();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(module)) as Record<string, unknown>;
  } catch (err) {
    const hint = module.startsWith('.') ? ' (relative paths resolve against schedlab itself: build the op with opRef(import.meta.url, name) or an absolute file: URL)' : '';
    throw new Error(`cannot import module "${module}" of op "${op}": ${(err as Error)?.message ?? String(err)}${hint}`, { cause: err });
  }
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    const exported = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new Error(
      `module "${module}" has no exported function "${exportName}"` +
        (exported.length ? ` (it exports: ${exported.slice(0, 20).join(', ')})` : ''),
    );
  }
  loaded.set(op, fn as OpFunction);
  return fn as OpFunction;
}

/**
 * Main side, before anything runs: import every distinct op of the graph once; throw
 * GraphError UNKNOWN_OP naming the op, the cause and the keys that use it.
 */
export async function checkOps(graph: Graph): Promise<void> {
  const ops = new Set<string>();
  for (const key in graph) {
    const node = graph[key];
    if (isTask(node)) ops.add(node.op);
  }
  await checkOpSet(ops, graph);
}

/** `checkOps` for a known set of ops (the engine collects them while planning); `graph` is read only to name keys on failure. */
export async function checkOpSet(ops: Iterable<string>, graph: Graph): Promise<void> {
  const missing: Array<Promise<unknown>> = [];
  for (const op of ops) {
    if (loaded.has(op)) continue;
    missing.push(
      loadOp(op).catch((err: unknown) => {
        const keys = Object.keys(graph).filter((k) => (graph[k] as { op?: string }).op === op);
        const shown = keys.slice(0, 5).map((k) => `"${k}"`).join(', ') + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');
        throw new GraphError('UNKNOWN_OP', `op "${op}" of task(s) ${shown} cannot be loaded: ${(err as Error).message}`, keys, { cause: err });
      }),
    );
  }
  if (missing.length > 0) await Promise.all(missing);
}

/** Pack any thrown value into plain data that survives structured clone, IPC and JSON. */
export function packError(err: unknown): PackedError {
  if (err instanceof Error) {
    const packed: PackedError = { name: err.name, message: err.message };
    if (err.stack !== undefined) packed.stack = err.stack;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') packed.code = code;
    return packed;
  }
  let message: string;
  try {
    message = typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
  } catch {
    message = String(err);
  }
  return { name: 'NonErrorThrown', message: `a non-Error value was thrown: ${message}` };
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as PromiseLike<unknown>).then === 'function';
}

const timeOrigin = performance.timeOrigin;
/** Epoch milliseconds with sub-millisecond resolution, comparable across threads and processes (event times). */
export const now = (): number => timeOrigin + performance.now();

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
    for (let i = first; i < tasks.length; i++) {
      const task = tasks[i]!;
      const op = ops[task.op]!;
      // Consecutive tasks usually share an op: skip the Map lookup (and its string hashing) then.
      const fn = op === lastOp ? lastFn : loaded.get(op);
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
