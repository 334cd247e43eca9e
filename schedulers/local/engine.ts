/**
 * The one scheduling loop shared by the sync, threads and processes schedulers (as
 * `get_async` in dask/local.py). Executors differ only in the policy they plug in: how a
 * batch is submitted (inline, piscina, workerpool), how many batches may be in flight
 * (`slots`), how large a batch may grow, and how a value's crossing is counted (`sizeOf`).
 *
 * How it works:
 * 1. `buildPlan` validates the graph, culls what the keys do not need, orders it (Dask-style
 *    depth-first priority) and fuses linear chains into units, numbered by priority.
 * 2. While a slot is free (each worker runs one batch and may have `prefetch` more queued
 *    in its pool, so it never waits for main to read a result) and something is ready, the
 *    loop forms a batch: the highest-priority ready units, as many as batch-sizer.ts allows
 *    (enough measured task time to cover two round trips of the pool, more up to a target
 *    while within a balanced share of the ready work), then every unit whose inputs
 *    all come from the batch itself (so a subtree of a reduction runs in one submission
 *    and its intermediates never cross the boundary). Inputs computed elsewhere travel with
 *    the batch; only values needed outside it come back.
 * 3. Each finished batch updates the state (state.ts): values kept while some pending unit
 *    needs them and released the moment none does; dependents whose last input arrived
 *    become ready. Requested keys are pinned until the end.
 *    Main gives a value up when it sends it to the batch holding all its remaining
 *    consumers (released from the state at once, never read again: `valueOf` checks), and
 *    on executors that `move` its large buffers then go by transfer instead of by copy
 *    (movable.ts); workers move their results back the same way, and with an executor
 *    that `seals`, a result main will not read (not requested, one consuming unit) may come back
 *    as an opaque value main only passes on to that unit's batch. A large typed array that
 *    will be sent again is copied into shared memory once when the executor `sharesMemory`
 *    (scripts/measure-local.ts --fan-out-copy measures that against copying every time).
 *    Requested keys and the caller's literals are never moved.
 * 4. A task failure, a lost worker or an abort rejects `get` at once; results still in
 *    flight for that run are ignored when they arrive. Nothing survives between runs except
 *    the executor's pool, so the scheduler is usable for the next `get`. An abort is seen
 *    between batches and, inline, between tasks; a run of synchronous inline batches
 *    yields to the event loop every 20 ms, so a timer that aborts gets to fire.
 * 5. Events: inline runs emit `task-start` right before each op and `task-end` after it. A
 *    pool does not say which worker took a batch until it answers, so for threads and
 *    processes both events of a task are emitted when its batch comes back: `task-start`
 *    carries the submission time, `task-end` the start/end measured where the task ran.
 *
 * Inline executors (sync) finish each submission synchronously, so the loop never awaits
 * between sync ops: no promise per task, and the op's frames sit directly under `get`.
 * Their batches (a fraction of a millisecond of work) still run in priority order.
 */
import { AbortedError, SchedlabError, TaskError } from '../errors.js';
import { now } from '../../common/clock.js';
import { checkOpSet } from '../ops.js';
import type { Graph, Key, RunOptions, SchedulerEvent, TransferStats } from '../types.js';
import { buildPlan, type Plan } from './plan.js';
import type { BatchResult, NamedBatchRequest } from './protocol.js';
import { CHAIN_ARG } from './plan.js';
import { ARG_NESTED } from './protocol.js';
import { addMovableBuffers, movableBytes, sharedCopy } from './movable.js';
import { finishEntry, isDone, releaseData, startState, takeReady, valueOf, type EngineState } from './state.js';
import { BatchSizer, SizerMemory, type BatchBudget } from './batch-sizer.js';

/** Per-submission context the engine hands to an executor. */
export interface SubmitContext {
  signal: AbortSignal | undefined;
  /** Inline executors call this right before each task starts (emits `task-start`). */
  onTaskStart: ((key: Key) => void) | undefined;
  /** Whether per-task times are wanted (false only for inline runs nobody listens to). */
  timed: boolean;
}

/** The policy an executor plugs into the engine. */
export interface LocalExecutor {
  /** Batches that may be in flight at once (= workers). */
  readonly slots: number;
  /**
   * Batches the pool may hold queued per worker beyond the one running (default 0): the pool
   * hands a queued batch to a worker the moment it frees, so workers need not wait for the
   * engine to read a result before their next batch arrives.
   */
  readonly prefetch?: number;
  /** Upper bound on the tasks of one batch (1: never batch). */
  readonly maxBatchTasks: number;
  /** True when `submit` runs the batch on the calling thread. */
  readonly inline: boolean;
  /** Bytes a value costs to cross to or from a worker; `undefined` when values never cross. */
  readonly sizeOf: ((value: unknown) => number) | undefined;
  /**
   * True when the executor moves the buffers `submit` is given instead of copying them, and
   * its workers move the movable buffers of their results back (movable.ts; threads only).
   */
  readonly moves?: boolean;
  /** True when SharedArrayBuffer memory reaches the workers without a copy (threads): values with several consumers are promoted to it once. */
  readonly sharesMemory?: boolean;
  /**
   * True when workers may hand back a result sealed (`BatchRequest.sealable`): an opaque value
   * main holds without reading and passes, as the input of the one batch that consumes it, to
   * `submit`, which delivers it (threads: a MessagePort whose queued message holds the value,
   * so its memory never enters main's heap).
   */
  readonly seals?: boolean;
  /**
   * Run one batch. Rejects only for failures outside the ops (lost worker, uncloneable value): op errors come back in `failed`.
   * `transfer` (only when `moves`): buffers of the inputs main gives up; move them, do not copy.
   */
  submit(batch: NamedBatchRequest, context: SubmitContext, transfer?: ArrayBuffer[]): BatchResult | Promise<BatchResult>;
  /** Worker id for events (`main`, `thread-0`, `process-1`) from the tag a batch result carries. */
  workerName(tag: number): string;
  /** Called when the engine drops the value of `key` (no pending task needs it): executors that keep values elsewhere free them here. */
  release?(key: Key, value: unknown): void;
  /**
   * Called, once the run has failed, for every value the engine still holds or that reaches
   * it later (results of batches still in flight): none will be sent anywhere. Executors
   * whose sealed values hold resources main cannot collect free them here (threads: a port's
   * queued message stays allocated until the port is closed).
   */
  discard?(value: unknown): void;
}

/** Engine knobs that are not part of the public API (tests use `optimize: false`). */
export interface EngineOptions extends RunOptions {
  optimize?: boolean;
  /**
   * A large typed array sent to several batches on an executor that `sharesMemory`:
   * `'share'` (default) copies it into a SharedArrayBuffer once, `'copy'` clones it every
   * time (scripts/measure-local.ts measures both).
   */
  fanOut?: 'share' | 'copy';
  /**
   * Called once the plan is built, with the keys of every task the run will execute (culled:
   * only what the keys need). The dashboard counts progress from it instead of walking the
   * graph a second time.
   */
  onPlan?: (taskKeys: readonly Key[]) => void;
}

/** How often a long synchronous run yields to the event loop (lets an abort or a timer in). */
const YIELD_EVERY_MS = 20;

/**
 * One turn of the event loop: `setImmediate` runs after the poll phase, and the loop passes
 * through its timers phase before the next check phase, so a due timer fires between two yields.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** A batch handed to the executor: what it holds, and what came back once it finished. */
interface InFlightBatch {
  batch: number[];
  /** Entries whose values come back, in batch order. */
  want: number[];
  /** What was sent (its `keys` and `opOf` name the batch's tasks, in run order). */
  request: NamedBatchRequest;
  /** Epoch ms of the submission (for `task-start` events). */
  submitted: number;
  /** `performance.now()` at submission and when the result was handed back (round trip). */
  submittedAt: number;
  arrivedAt: number;
  /** Submitted while every worker already had a batch (it may have waited behind one). */
  queued: boolean;
  result?: BatchResult;
  error?: unknown;
}

/** Each executor's sizing memory (its measured round trip), kept for the life of its scheduler. */
const sizerMemories = new WeakMap<LocalExecutor, SizerMemory>();

/** Compute `keys` of `graph` with `executor`; adds to `stats`. */
export async function runGraph(
  graph: Graph,
  keys: readonly Key[],
  executor: LocalExecutor,
  stats: TransferStats,
  options: EngineOptions = {},
): Promise<unknown[]> {
  const { signal, onEvent } = options;
  if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });
  const plan = buildPlan(graph, keys, { optimize: options.optimize });
  options.onPlan?.(plan.taskKey);
  await checkOpSet(plan.ops, graph);
  if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });

  const state = startState(plan);
  if (executor.release) state.onRelease = (i, value) => executor.release!(plan.keys[i]!, value);
  const finishedBatches: InFlightBatch[] = [];
  let wake: (() => void) | undefined;
  const onAbort = (): void => wake?.();
  signal?.addEventListener('abort', onAbort);
  let memory = sizerMemories.get(executor);
  if (!memory) sizerMemories.set(executor, (memory = new SizerMemory()));
  const sizer = new BatchSizer({ slots: executor.slots, maxBatchTasks: executor.maxBatchTasks, inline: executor.inline }, memory, plan);
  const maxInFlight = executor.slots * (1 + (executor.prefetch ?? 0));
  const share = executor.sharesMemory === true && options.fanOut !== 'copy';
  /** Entries whose value shares a buffer with another entry's (one result message): never moved. */
  const aliased = new Set<number>();
  const onTaskStart = executor.inline && onEvent ? (key: Key) => onEvent({ type: 'task-start', key, worker: executor.workerName(0), time: now() }) : undefined;
  const context: SubmitContext = { signal, onTaskStart, timed: !executor.inline || onEvent !== undefined };
  let inFlight = 0;
  let lastYield = performance.now();
  /** Set once the run failed: results still arriving are discarded. */
  let abandoned = false;
  const discard = executor.discard;
  try {
    while (!isDone(state)) {
      while (inFlight < maxInFlight && state.ready.size > 0) {
        const batch = takeBatch(state, sizer);
        const transfer: ArrayBuffer[] | undefined = executor.moves ? [] : undefined;
        const sent = encodeBatch(state, batch, executor, stats, transfer, share, aliased);
        const request = sent.request;
        sent.queued = inFlight >= executor.slots;
        inFlight++;
        let outcome: BatchResult | Promise<BatchResult>;
        const submittedAt = (sent.submittedAt = performance.now());
        try {
          outcome = executor.submit(request, context, transfer?.length ? transfer : undefined);
        } catch (err) {
          outcome = Promise.reject(err);
        }
        if (outcome instanceof Promise) {
          void outcome.then(
            (result) => {
              if (abandoned) {
                for (const v of result.values) discard!(v);
                return;
              }
              sent.result = result;
              sent.arrivedAt = performance.now();
              finishedBatches.push(sent);
              wake?.();
            },
            (error: unknown) => {
              sent.error = error ?? new Error('batch failed without a reason');
              finishedBatches.push(sent);
              wake?.();
            },
          );
        } else {
          // Finished inline: the call's own duration is the tasks' time (no worker clock needed).
          if (!context.timed) sizer.learnElapsed(request.opOf, request.opOf.length, performance.now() - submittedAt);
          sent.result = outcome;
          finishedBatches.push(sent);
        }
      }
      if (finishedBatches.length === 0) {
        if (inFlight === 0) throw new Error(`internal: nothing ready or running with ${state.total - state.finished} tasks left`);
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        lastYield = performance.now();
      } else if (performance.now() - lastYield > YIELD_EVERY_MS) {
        // Inline batches finish without the event loop turning: let timers (an
        // `AbortSignal.timeout`, a `setTimeout(() => controller.abort())`) and I/O in.
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });
      let c: InFlightBatch | undefined;
      while ((c = finishedBatches.shift()) !== undefined) {
        inFlight--;
        if (c.error !== undefined) throw c.error instanceof SchedlabError ? c.error : wrapUnexpected(c.error, c.request);
        finishBatch(state, c, executor, stats, onEvent, sizer, aliased);
      }
    }
  } catch (err) {
    if (discard) {
      abandoned = true;
      for (const v of state.values) if (v !== undefined) discard(v);
      for (const c of finishedBatches) if (c.result) for (const v of c.result.values) discard(v);
    }
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return plan.outputs.map((o) => valueOf(state, o));
}

/**
 * Take the highest-priority ready unit and more while the sizer's budget accepts them
 * (batch-sizer.ts), then grow the batch with units whose inputs all come from the batch
 * (never beyond twice the units taken). Every unit taken is marked running.
 */
export function takeBatch(state: EngineState, sizer: { begin(first: number, ready: number): BatchBudget }): number[] {
  const first = takeReady(state);
  const batch = [first];
  const budget = sizer.begin(first, state.ready.size);
  const ready = state.ready;
  while (ready.size > 0 && budget.accept(ready.items[0]!, batch.length)) batch.push(takeReady(state));
  if (batch.length === 1) return batch;
  const cap = batch.length * 2;
  // Inputs each dependent gets from the batch, counted in the state's scratch array (reset below).
  const counts = state.scratch;
  const touched: number[] = [];
  const { dependentStart, dependentList } = state.plan;
  for (let b = 0; b < batch.length && batch.length < cap; b++) {
    const e = batch[b]!;
    for (let x = dependentStart[e]!; x < dependentStart[e + 1]!; x++) {
      const j = dependentList[x]!;
      const n = ++counts[j]!;
      if (n === 1) touched.push(j);
      if (n === state.waiting[j] && batch.length < cap) {
        state.running[j] = 1;
        batch.push(j);
      }
    }
  }
  for (const j of touched) counts[j] = 0;
  // Entry numbers are priorities and every input has a lower number than its consumer, so
  // ascending order runs the batch in priority order with inputs first.
  if (batch.length > 2) {
    // A typed array sorts numbers natively, without a comparator call per comparison.
    const sorted = Int32Array.from(batch).sort();
    for (let i = 0; i < batch.length; i++) batch[i] = sorted[i]!;
  }
  return batch;
}

/**
 * Encode a batch (protocol.ts) and give up what main no longer needs. Inputs are the values
 * of entries outside the batch that its units refer to, each sent once; an input whose every
 * remaining consumer is in this batch is given up by main (released, and its buffers moved
 * when the executor `moves`), unless it is a requested key, a literal (the caller's) or
 * aliased; an input that will be sent again is promoted to shared memory once when `share`.
 * A unit's value comes back when it is requested or needed by a unit outside the batch.
 *
 * Every dependency of a batch's unit has either finished or is in the batch. `member` and
 * `slotBatch` are stamped with the batch's number (so nothing needs resetting): the batch's
 * own entries, and the entries whose `slot` (value slot in this batch) is set.
 */
function encodeBatch(
  state: EngineState,
  batch: number[],
  executor: LocalExecutor,
  stats: TransferStats,
  transfer: ArrayBuffer[] | undefined,
  share: boolean,
  aliased: Set<number>,
): InFlightBatch {
  const plan = state.plan;
  const { slot, slotBatch, member } = state;
  const stamp = ++state.batches;
  const single = batch.length === 1;
  for (const e of batch) member[e] = stamp;
  const inputKeys: Key[] = [];
  const inputValues: unknown[] = [];
  const moving = transfer && new Set<ArrayBuffer>();
  let taskCount = 0;
  let codeCount = 0;
  for (const e of batch) {
    const t0 = plan.taskStart[e]!;
    const t1 = plan.taskStart[e + 1]!;
    taskCount += t1 - t0;
    codeCount += plan.argStart[t1]! - plan.argStart[t0]!;
    for (let x = plan.depStart[e]!; x < plan.depStart[e + 1]!; x++) {
      const d = plan.depList[x]!;
      if (member[d] === stamp || slotBatch[d] === stamp) continue;
      slotBatch[d] = stamp;
      slot[d] = inputKeys.length;
      inputKeys.push(plan.keys[d]!);
      let v = valueOf(state, d);
      let moved = 0;
      const last = lastConsumers(state, d, single, stamp);
      if (last && plan.isTask[d] && !state.pinned[d]) {
        releaseData(state, d);
        if (moving && !aliased.has(d) && typeof v === 'object' && v !== null) {
          addMovableBuffers(v, moving);
          moved = movableBytes(v);
        }
      } else if (!last && share && typeof v === 'object' && v !== null && !state.pinned[d]) {
        const copy = sharedCopy(v);
        if (copy !== undefined) state.values[d] = v = copy;
      }
      inputValues.push(v);
      if (executor.sizeOf) stats.bytesToWorkers += executor.sizeOf(v) - moved;
    }
  }
  if (moving) for (const b of moving) transfer!.push(b);

  const inputs = inputKeys.length;
  const keys = new Array<Key>(taskCount);
  const opOf = new Int32Array(taskCount);
  const argStart = new Int32Array(taskCount + 1);
  const args = new Int32Array(codeCount);
  const literals: unknown[] = [];
  const want: number[] = [];
  let nested = false;
  let t = 0;
  let a = 0;
  for (const e of batch) {
    const base = inputs + t;
    for (let pt = plan.taskStart[e]!; pt < plan.taskStart[e + 1]!; pt++) {
      keys[t] = plan.taskKey[pt]!;
      opOf[t] = plan.taskOp[pt]!;
      argStart[t] = a;
      const from = plan.argStart[pt]!;
      const to = plan.argStart[pt + 1]!;
      for (let k = from; k < to; k++) {
        const code = plan.argCode[k]!;
        if (code >= 0) args[a++] = slot[code]!;
        else if (code > CHAIN_ARG) {
          args[a++] = code;
          if (code === ARG_NESTED) nested = true;
          literals.push(plan.taskArgs[pt]![k - from]);
        } else args[a++] = base + (CHAIN_ARG - code);
      }
      t++;
    }
    slot[e] = inputs + t - 1;
    slotBatch[e] = stamp;
    if (state.pinned[e] || neededOutside(plan, e, single ? -1 : stamp, member)) want.push(e);
  }
  argStart[taskCount] = a;
  const wantSlots = new Int32Array(want.length);
  for (let w = 0; w < want.length; w++) wantSlots[w] = slot[want[w]!]!;
  const request: NamedBatchRequest = { ops: plan.ops, keys, opOf, argStart, args, literals, inputKeys, inputValues, want: wantSlots, nested };
  if (executor.seals) request.sealable = sealableOf(state, want);
  return { batch, want, request, submitted: executor.inline ? 0 : now(), submittedAt: 0, arrivedAt: 0, queued: false };
}

/**
 * True when every entry still waiting for entry d's value is in the batch stamped `stamp`
 * (a consumer in another batch in flight may not have been cloned yet: its pool may still
 * queue it, so d's buffers must stay put).
 */
function lastConsumers(state: EngineState, d: number, single: boolean, stamp: number): boolean {
  const waiting = state.waitingData[d]!;
  if (single) return waiting === 1;
  const { dependentStart, dependentList } = state.plan;
  let here = 0;
  for (let x = dependentStart[d]!; x < dependentStart[d + 1]!; x++) if (state.member[dependentList[x]!] === stamp) here++;
  return here === waiting;
}

/**
 * Which of the wanted entries a worker may hand back sealed: main never reads them (not
 * requested) and exactly one unit consumes each, so the value is sent once, to the batch that
 * holds that unit, and given up there (encodeBatch's `last`). Undefined when there is none.
 */
function sealableOf(state: EngineState, want: number[]): Uint8Array | undefined {
  const { dependentStart } = state.plan;
  let sealable: Uint8Array | undefined;
  for (let w = 0; w < want.length; w++) {
    const e = want[w]!;
    if (state.pinned[e] || dependentStart[e + 1]! - dependentStart[e]! !== 1) continue;
    (sealable ??= new Uint8Array(want.length))[w] = 1;
  }
  return sealable;
}

/** True when some dependent of entry e is outside the batch stamped `stamp` (any dependent when `stamp` is -1). */
function neededOutside(plan: Plan, e: number, stamp: number, member: Int32Array): boolean {
  const { dependentStart, dependentList } = plan;
  for (let x = dependentStart[e]!; x < dependentStart[e + 1]!; x++) if (member[dependentList[x]!] !== stamp) return true;
  return false;
}

function finishBatch(
  state: EngineState,
  c: InFlightBatch,
  executor: LocalExecutor,
  stats: TransferStats,
  onEvent: ((e: SchedulerEvent) => void) | undefined,
  sizer: BatchSizer,
  aliased: Set<number>,
): void {
  const result = c.result!;
  const worker = executor.workerName(result.workerTag);
  const ran = result.times.length / 2;
  if (onEvent) {
    for (let t = 0; t < ran; t++) {
      const key = c.request.keys[t]!;
      if (!executor.inline) onEvent({ type: 'task-start', key, worker, time: c.submitted });
      const ok = !(result.failed && result.failed.index === t);
      onEvent({ type: 'task-end', key, worker, start: result.times[2 * t]!, end: result.times[2 * t + 1]!, ok });
    }
  }
  if (result.failed) {
    const index = result.failed.index;
    const packed = result.failed.error;
    const err = new TaskError({ key: c.request.keys[index]!, op: state.plan.ops[c.request.opOf[index]!]!, errorName: packed.name, errorMessage: packed.message, remoteStack: packed.stack, worker });
    if (result.failed.original !== undefined) err.cause = result.failed.original;
    throw err;
  }
  if (ran > 0) {
    sizer.learnTimes(c.request.opOf, result.times);
    if (!executor.inline) sizer.learnRoundTrip(c.arrivedAt - c.submittedAt, result.times[2 * ran - 1]! - result.times[0]!, c.queued);
  }
  stats.tasks += c.request.keys.length;
  if (executor.sizeOf) {
    for (const v of result.values) stats.bytesFromWorkers += executor.sizeOf(v) - (executor.moves ? movableBytes(v) : 0);
  }
  if (executor.moves && result.values.length > 1) markAliased(c.want, result.values, aliased);
  // `want` lists entries in batch order, so one pointer pairs values with entries.
  let w = 0;
  for (const e of c.batch) finishEntry(state, e, c.want[w] === e ? result.values[w++] : undefined);
}

/** Entries of one result whose values share a movable buffer (an op returned the same array under two keys): moving one would detach the other. */
function markAliased(entries: number[], values: unknown[], aliased: Set<number>): void {
  const owner = new Map<ArrayBuffer, number>();
  const found = new Set<ArrayBuffer>();
  for (let w = 0; w < values.length; w++) {
    const v = values[w];
    if (typeof v !== 'object' || v === null) continue;
    found.clear();
    addMovableBuffers(v, found);
    for (const b of found) {
      const first = owner.get(b);
      if (first === undefined) owner.set(b, entries[w]!);
      else {
        aliased.add(first);
        aliased.add(entries[w]!);
      }
    }
  }
}

function wrapUnexpected(err: unknown, request: NamedBatchRequest): Error {
  const e = err as Error;
  return new TaskError({ key: request.keys[0]!, op: request.ops[request.opOf[0]!]!, errorName: e?.name ?? 'Error', errorMessage: e?.message ?? String(err), remoteStack: e?.stack });
}
