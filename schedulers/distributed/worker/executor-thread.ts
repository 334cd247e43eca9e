/**
 * Executor thread of a distributed worker: runs ops, keeps the live values it produced or
 * received (so a value is deserialized at most once per thread), and hands every result back
 * serialized - the main thread stores those bytes and serves them to peers and clients even
 * while this thread is busy in a long op (which is also why heartbeats never stall).
 *
 * Tasks arrive in batches; results go back in one message per batch, every few milliseconds
 * during a long batch, and at once after a task of a millisecond or more, so tiny tasks cost
 * one postMessage per batch, not per task, and a longer task's result never waits for others
 * (nor a large result's bytes).
 * Synchronous ops run one after the other; an async op does not block the tasks after it.
 * A task whose input is still being computed in this thread (`later`) is parked until that
 * input is produced, or fails if the input's task failed.
 */
import { parentPort } from 'node:worker_threads';
import { substituteRefs } from '../../graph.js';
import { loadedOp, loadOp, packError, type OpFunction } from '../../ops.js';
import { decodeValue, encodeValue } from '../codec.js';
import { keyOfDataId } from '../ids.js';
import { now } from '../../../common/clock.js';
import { collectGarbage } from './gc.js';
import { PACK_LIMIT, Packer, unpack, type FromThread, type ThreadDep, type ThreadResult, type ThreadTask, type ToThread } from './messages.js';

const FLUSH_MS = 5;
const SLOW_TASK_MS = 1;
const port = parentPort!;
const values = new Map<string, unknown>();
let results: ThreadResult[] = [];
let owned: Uint8Array[] = [];
const packer = new Packer();
let flushScheduled = false;

port.on('message', (message: ToThread) => {
  if (message.type === 'release') {
    for (const id of message.ids) values.delete(id);
    return;
  }
  if (message.type === 'cancel') {
    cancelParked(new Set(message.ids));
    return;
  }
  if (message.type === 'gc') {
    collectGarbage();
    return;
  }
  const batch: Batch = { tasks: JSON.parse(message.tasks) as ThreadTask[], bytes: { packed: message.packed, owned: message.owned, ops: message.ops } };
  // Batches run in the order sent: a later task may rely on an input sent with an earlier one.
  if (batches.push(batch) === 1) runBatch(batch.tasks, 0, batch.bytes);
});

/** The bytes a batch came with (small pieces packed in one buffer, large inputs each in their own) and the ops its tasks name. */
interface BatchBytes {
  packed: ArrayBuffer;
  owned: Uint8Array[];
  ops: string[];
}
interface Batch {
  tasks: ThreadTask[];
  bytes: BatchBytes;
}

/** Batches received and not yet finished; the first is running (or waiting a turn after a large result). */
const batches: Batch[] = [];

/** The bytes sent for `dep`, if any. */
function sentBytes(dep: ThreadDep, bytes: BatchBytes): Uint8Array | undefined {
  if (dep.owned !== undefined) return bytes.owned[dep.owned];
  return dep.bytes ? unpack(bytes.packed, dep.bytes) : undefined;
}

/**
 * Synchronous ops run back to back; an async op's wait does not hold up the tasks after it.
 * Results go back every FLUSH_MS, and at once after a task of SLOW_TASK_MS or more (its result
 * should not wait for the rest of the batch; a message costs far less than such a task). After
 * a large result the rest of the batch waits a turn, so that the main thread's releases (memory
 * limit: drop values already spilled) are read between large tasks; a batch that arrives
 * meanwhile waits for this one to finish (its tasks may need inputs sent with this batch).
 */
function runBatch(tasks: ThreadTask[], from: number, sent: BatchBytes): void {
  let lastFlush = performance.now();
  for (let i = from; i < tasks.length; i++) {
    const large = owned.length;
    const began = performance.now();
    start(tasks[i]!, sent);
    if (owned.length > large && i + 1 < tasks.length) {
      flush();
      setImmediate(() => runBatch(tasks, i + 1, sent));
      return;
    }
    const ended = performance.now();
    if (ended - lastFlush > FLUSH_MS || ended - began >= SLOW_TASK_MS) {
      flush();
      lastFlush = performance.now();
    }
  }
  flush();
  batches.shift();
  const next = batches[0];
  if (next) setImmediate(() => runBatch(next.tasks, 0, next.bytes));
}

/** Tasks waiting for a value this thread is still computing (an async op), by that value's id. */
const parked = new Map<string, Array<{ task: ThreadTask; sent: BatchBytes }>>();
/** Ids whose task failed here: tasks that wait for them fail too (bounded: only recent ones matter). */
const failedHere = new Set<string>();

/** Drop parked tasks (their inputs will not be produced here after all). */
function cancelParked(ids: Set<string>): void {
  for (const [input, list] of parked) {
    const keep = list.filter(({ task }) => {
      if (!ids.has(task.id)) return true;
      report({ seq: task.seq, ok: false, start: now(), end: now(), error: { name: 'AbortedError', message: 'cancelled' } });
      return false;
    });
    if (keep.length) parked.set(input, keep);
    else parked.delete(input);
  }
}

/** Decode the inputs sent with `task` into `values` (a decoding error is left for the task to report). */
function keepSentInputs(task: ThreadTask, sent: BatchBytes): void {
  for (const dep of task.deps) {
    const bytes = dep.inline || dep.later || values.has(dep.id) ? undefined : sentBytes(dep, sent);
    if (!bytes) continue;
    try {
      values.set(dep.id, decodeValue(bytes));
      delete dep.bytes;
      delete dep.owned;
    } catch {
      // runTask decodes it again and fails the task with this error
    }
  }
}

/** Run `task` now, or park it until the `later` inputs it waits for are produced. */
function start(task: ThreadTask, sent: BatchBytes): void {
  for (const dep of task.deps) {
    if (!dep.later || values.has(dep.id)) continue;
    if (failedHere.has(dep.id)) {
      settle(task, [{ seq: task.seq, ok: false, start: now(), end: now(), error: { name: 'Error', message: `input "${keyOfDataId(dep.id)}" failed on this worker` } }, undefined]);
      return;
    }
    // Parked: keep its other inputs now. The main thread counts them as held by this thread
    // from the moment they were sent, so a task sent after this one may rely on them.
    keepSentInputs(task, sent);
    const list = parked.get(dep.id) ?? [];
    list.push({ task, sent });
    parked.set(dep.id, list);
    return;
  }
  const outcome = runTask(task, sent);
  if (outcome instanceof Promise) void outcome.then((o) => settle(task, o));
  else settle(task, outcome);
}

function settle(task: ThreadTask, [result, bytes]: Outcome): void {
  report(result, bytes);
  if (!result.ok) {
    failedHere.add(task.id);
    if (failedHere.size > 10_000) failedHere.delete(failedHere.values().next().value as string);
  }
  const waiting = parked.get(task.id);
  if (!waiting) return;
  parked.delete(task.id);
  for (const next of waiting) start(next.task, next.sent);
}

/** Queue a result; `serialized` is encodeValue(value) for a success. */
function report(result: ThreadResult, serialized?: Uint8Array): void {
  if (serialized) {
    const { buffer, byteOffset, byteLength } = serialized;
    if (byteLength >= PACK_LIMIT && buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength) {
      result.owned = owned.push(serialized) - 1;
    } else {
      result.bytes = packer.add(serialized);
    }
  }
  results.push(result);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function flush(): void {
  flushScheduled = false;
  if (!results.length) return;
  const packed = packer.take();
  const transfer = [packed, ...owned.map((bytes) => bytes.buffer as ArrayBuffer)];
  port.postMessage({ type: 'done', results: JSON.stringify(results), owned, packed } satisfies FromThread, transfer);
  results = [];
  owned = [];
}

type Outcome = [ThreadResult, Uint8Array | undefined];

function runTask(task: ThreadTask, sent: BatchBytes): Outcome | Promise<Outcome> {
  const start = now();
  let decoded = 0;
  let fn: OpFunction | undefined;
  let args: unknown[];
  try {
    const byKey = new Map<string, unknown>();
    let rawArgs: unknown;
    for (const dep of task.deps) {
      let value: unknown;
      const bytes = sentBytes(dep, sent);
      if (bytes) {
        value = decodeValue(bytes);
        if (!dep.inline) values.set(dep.id, value);
      } else if (values.has(dep.id)) {
        value = values.get(dep.id);
      } else {
        throw new Error(`internal: input ${dep.id} was neither sent nor held by this executor thread`);
      }
      if (dep.id === task.argsId) rawArgs = value;
      else byKey.set(keyOfDataId(dep.id), value);
    }
    if (!task.argsId) rawArgs = decodeValue(unpack(sent.packed, task.args!));
    args = substituteRefs(rawArgs as unknown[], (key) => byKey.get(key));
    decoded = now() - start;
    fn = loadedOp(sent.ops[task.op]!);
  } catch (err) {
    return [{ seq: task.seq, ok: false, start, end: now(), error: packError(err) }, undefined];
  }
  if (!fn) {
    const opName = sent.ops[task.op]!;
    return loadOp(opName).then(
      (loaded) => finish(task, start, decoded, () => loaded(...args)),
      (err: unknown) => {
        // The op cannot be imported here: report it as the graph's fault, not the op's.
        const packedError = packError(err);
        const message = `op "${opName}" of task "${keyOfDataId(task.id)}" cannot be loaded on this worker: ${packedError.message}`;
        return [{ seq: task.seq, ok: false, start, end: now(), error: { ...packedError, name: 'GraphError', code: 'UNKNOWN_OP', message } }, undefined] as Outcome;
      },
    );
  }
  const op = fn;
  return finish(task, start, decoded, () => op(...args));
}

/** Run the op, await it if it returned a promise, keep and serialize the value. */
function finish(task: ThreadTask, start: number, decode: number, call: () => unknown): Outcome | Promise<Outcome> {
  const done = (value: unknown): Outcome => {
    try {
      const encoding = now();
      const bytes = encodeValue(value);
      values.set(task.id, value);
      const end = now();
      return [{ seq: task.seq, ok: true, start, end, decode, encode: end - encoding }, bytes];
    } catch (err) {
      return failed(err);
    }
  };
  const failed = (err: unknown): Outcome => [{ seq: task.seq, ok: false, start, end: now(), error: packError(err) }, undefined];
  try {
    const value = call();
    if (value && typeof (value as PromiseLike<unknown>).then === 'function') return Promise.resolve(value).then(done, failed);
    return done(value);
  } catch (err) {
    return failed(err);
  }
}
