/**
 * A distributed worker process: one `Work` stream to the scheduler, one DataService server for
 * peers and clients, and `nthreads` executor threads that run the ops.
 *
 * Life of an assignment: inputs this worker lacks are fetched DIRECTLY from a worker that
 * holds them (grouped: one Fetch per peer per batch, deduplicated while in flight); once all
 * inputs are here the task goes to the executor thread with the fewest tasks in flight,
 * carrying the bytes of any input that thread has not seen. An input marked "pending here"
 * (the scheduler assigned its producer here too) is awaited, not fetched; if its producer
 * is running in one thread, the task is sent to that thread at once and waits there, so a
 * chain runs without a hop per link. Results are stored serialized (ready to serve) and
 * reported to the scheduler in batched `Completions`. The main thread never runs ops, so it
 * keeps serving peers and sending heartbeats during long tasks.
 *
 * A cancelled task is dropped if it has not reached a thread; otherwise its thread drops it
 * if still waiting there, and a result that comes back anyway is recognised by its `seq`
 * (the same data id may have been assigned here again since) and ignored.
 *
 * If an executor thread dies (an op called process.exit or crashed it), the whole worker
 * stops: the scheduler then reschedules its tasks and counts the failure against them.
 */
import { Worker } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { ConnectionError } from '../../errors.js';
import {
  CHANNEL_OPTIONS,
  errorInfo,
  formatAddress,
  isLoopback,
  parseAddress,
  protocol,
  SERVER_OPTIONS,
  type Assignment,
  type Assignments,
  type Completion,
  type DataChunk,
  type FetchRequest,
  type PutReply,
  type WorkerMessage,
  type WorkerOrders,
} from '../protocol.js';
import {
  assertListenAllowed,
  callError,
  callMetadata,
  channelCredentials,
  serverCredentials,
  refusal,
  type SecurityOptions,
} from '../security.js';
import { ChunkAssembler, DataClients, MAX_VALUE_BYTES, writeChunks } from '../transfer.js';
import { Packer, unpack, type FromThread, type ThreadDep, type ThreadResult, type ThreadTask, type ToThread } from './messages.js';

export interface WorkerOptions {
  security?: SecurityOptions;
  /** Executor threads (ops running at once). Default 1: run one worker process per core. */
  nthreads?: number;
  /** Suffix of the worker id, for logs. */
  name?: string;
  /** Where the DataService listens. Default: 127.0.0.1 when the scheduler is on loopback, else 0.0.0.0. */
  listenHost?: string;
  /** Host peers should dial; default: the address the scheduler sees this worker connect from. */
  advertiseHost?: string;
  heartbeatMs?: number;
  log?: (line: string) => void;
}

export interface RunningWorker {
  /** Resolves with the reason once the worker stopped (scheduler gone, thread crash, close). */
  readonly stopped: Promise<{ reason: string; crashed: boolean }>;
  readonly id: Promise<string>;
  close(): Promise<void>;
}

interface PendingTask {
  assignment: Assignment;
  /** Distinguishes this assignment of the data id from an earlier, cancelled one. */
  seq: number;
  op: string;
  /** Sent to an executor thread (possibly still waiting there for inputs that thread computes). */
  dispatched: boolean;
  waitingOn: Set<string>;
  fetchedBytes: number;
  fetched: string[];
  missing: string[];
}

interface Executor {
  thread: Worker;
  inFlight: number;
  holds: Set<string>;
  outbox: ThreadTask[];
  packer: Packer;
}

type WorkClient = grpc.Client & {
  Work(md: grpc.Metadata): grpc.ClientDuplexStream<WorkerMessage, WorkerOrders>;
};

export async function startWorker(schedulerAddress: string, options: WorkerOptions = {}): Promise<RunningWorker> {
  const security = options.security ?? {};
  const schedulerHost = parseAddress(schedulerAddress).host;
  const listenHost = options.listenHost ?? (isLoopback(schedulerHost) ? '127.0.0.1' : '0.0.0.0');
  assertListenAllowed(listenHost, security, 'worker data server');
  const log = options.log ?? (() => {});
  const nthreads = Math.max(1, options.nthreads ?? 1);

  const store = new Map<string, Buffer>();
  const pending = new Map<string, PendingTask>();
  const waiters = new Map<string, Set<PendingTask>>();
  const peers = new DataClients(security);
  let completions: Completion[] = [];
  let flushScheduled = false;
  let stopping = false;
  let resolveStopped!: (v: { reason: string; crashed: boolean }) => void;
  const stopped = new Promise<{ reason: string; crashed: boolean }>((r) => (resolveStopped = r));
  let resolveId!: (id: string) => void;
  let rejectId!: (err: Error) => void;
  const id = new Promise<string>((res, rej) => {
    resolveId = res;
    rejectId = rej;
  });
  id.catch(() => {});

  // ---------------------------------------------------------------- data server
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(protocol().DataService.service, {
    Fetch(call: grpc.ServerWritableStream<FetchRequest, DataChunk>) {
      const refused = refusal(call.metadata, security.token, 'worker');
      if (refused) return call.emit('error', refused);
      const ids = call.request.data_ids;
      const missing = ids.filter((dataId) => !store.has(dataId));
      if (missing.length) {
        return call.emit('error', { code: grpc.status.NOT_FOUND, details: `worker does not hold ${missing.slice(0, 5).join(', ')}` });
      }
      // Taken now: a value released while earlier ones stream out is still sent whole.
      const values = ids.map((dataId) => store.get(dataId)!);
      (async () => {
        for (let i = 0; i < ids.length; i++) await writeChunks(call, ids[i]!, values[i]!);
        call.end();
      })().catch((err) => call.emit('error', { code: grpc.status.INTERNAL, details: String(err) }));
    },
    Put(call: grpc.ServerReadableStream<DataChunk, PutReply>, callback: grpc.sendUnaryData<PutReply>) {
      const refused = refusal(call.metadata, security.token, 'worker');
      if (refused) return callback(refused);
      const assembler = new ChunkAssembler();
      let stored = 0;
      let failed = false;
      call.on('data', (chunk: DataChunk) => {
        if (failed) return;
        try {
          const done = assembler.accept(chunk, MAX_VALUE_BYTES);
          if (done) {
            store.set(done.dataId, done.bytes);
            stored += done.bytes.byteLength;
          }
        } catch (err) {
          failed = true;
          callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
        }
      });
      call.on('end', () => {
        if (failed) return;
        try {
          assembler.end();
        } catch (err) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
          return;
        }
        callback(null, { stored_bytes: stored });
      });
    },
  });
  const dataPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(formatAddress(listenHost, 0), serverCredentials(security), (err, port) => (err ? reject(err) : resolve(port))),
  );

  // ---------------------------------------------------------------- executors
  const executors: Executor[] = [];
  for (let i = 0; i < nthreads; i++) {
    // Inherit the process's flags (loaders, memory limits) except those a thread rejects.
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--input-type'));
    const thread = new Worker(new URL('./executor-thread.js', import.meta.url), { execArgv });
    const executor: Executor = { thread, inFlight: 0, holds: new Set(), outbox: [], packer: new Packer() };
    thread.on('message', (message: FromThread) => finished(executor, message));
    thread.on('error', (err) => stop(`an executor thread crashed: ${err.stack ?? err}`, true));
    thread.on('exit', (code) => stop(`an executor thread exited with code ${code} (did an op call process.exit?)`, true));
    executors.push(executor);
  }
  let dispatchScheduled = false;
  const dispatch = (): void => {
    dispatchScheduled = false;
    for (const executor of executors) {
      if (!executor.outbox.length) continue;
      const packed = executor.packer.take();
      executor.thread.postMessage({ type: 'run', tasks: JSON.stringify(executor.outbox), packed } satisfies ToThread, [packed]);
      executor.outbox = [];
    }
  };

  /** Data id -> the executor thread computing it right now. */
  const computing = new Map<string, Executor>();
  let nextSeq = 1;

  /**
   * Dispatch `task` once its inputs are here - or, when the only inputs missing are being
   * computed by one executor thread, to that thread at once (it runs the task as soon as it
   * produced them: a chain then costs no round trip per link).
   */
  function runWhenReady(task: PendingTask): void {
    if (task.dispatched) return;
    if (task.missing.length) {
      if (task.waitingOn.size) return;
      pending.delete(task.assignment.data_id);
      complete({ data_id: task.assignment.data_id, ok: false, nbytes: 0, start: 0, end: 0, fetched_bytes: task.fetchedBytes, fetched: task.fetched, missing: task.missing });
      return;
    }
    let executor: Executor | undefined;
    for (const dataId of task.waitingOn) {
      const producer = computing.get(dataId);
      if (!producer || (executor && producer !== executor)) return;
      executor = producer;
    }
    if (!executor) {
      executor = executors[0]!;
      for (const e of executors) if (e.inFlight < executor.inFlight) executor = e;
    }
    const later = task.waitingOn;
    for (const dataId of later) waiters.get(dataId)?.delete(task);
    task.waitingOn = new Set();
    task.dispatched = true;
    const a = task.assignment;
    const packer = executor.packer;
    const deps: ThreadDep[] = a.deps.map((dep) => {
      if (later.has(dep.data_id)) return { id: dep.data_id, inline: false, later: true };
      if (dep.inline) return { id: dep.data_id, inline: true, bytes: packer.add(dep.bytes) };
      if (executor.holds.has(dep.data_id)) return { id: dep.data_id, inline: false };
      executor.holds.add(dep.data_id);
      return { id: dep.data_id, inline: false, bytes: packer.add(store.get(dep.data_id)!) };
    });
    const args = a.args_data_id ? undefined : packer.add(a.args);
    executor.outbox.push({ id: a.data_id, seq: task.seq, op: task.op, args, argsId: a.args_data_id || undefined, deps });
    executor.inFlight += 1;
    computing.set(a.data_id, executor);
    if (!dispatchScheduled) {
      dispatchScheduled = true;
      setImmediate(dispatch);
    }
  }

  function finished(executor: Executor, message: FromThread): void {
    const { owned, packed } = message;
    for (const result of JSON.parse(message.results) as ThreadResult[]) {
      executor.inFlight -= 1;
      const current = pending.get(result.id);
      if (!current || current.seq !== result.seq) {
        // A cancelled assignment: nobody wants this result (a newer assignment, if any, will report).
        if (computing.get(result.id) === executor && !current) computing.delete(result.id);
        if (result.ok) {
          executor.holds.add(result.id); // the thread kept the value: released with the id
          if (!current && !store.has(result.id)) releaseValues([result.id]);
        }
        continue;
      }
      computing.delete(result.id);
      const task = current;
      pending.delete(result.id);
      let nbytes = 0;
      if (result.ok && (result.bytes || result.owned !== undefined)) {
        // Small results are copied out of the batch buffer (so it can be freed); large ones came on their own.
        const large = result.owned !== undefined ? owned[result.owned]! : undefined;
        const bytes = large ? Buffer.from(large.buffer, large.byteOffset, large.byteLength) : Buffer.from(unpack(packed, result.bytes!));
        nbytes = bytes.byteLength;
        executor.holds.add(result.id);
        store.set(result.id, bytes);
        producedHere(result.id);
      }
      complete({
        data_id: result.id,
        ok: result.ok,
        nbytes,
        start: result.start,
        end: result.end,
        error: result.error ? errorInfo({ kind: 'task', ...result.error, stack: result.error.stack ?? '', code: result.error.code ?? '' }) : null,
        fetched_bytes: task.fetchedBytes,
        fetched: task.fetched,
        missing: [],
      });
    }
  }

  /** A value computed here: run the tasks assigned here that were waiting for it. */
  function producedHere(dataId: string): void {
    const tasks = waiters.get(dataId);
    if (!tasks || inFlightFetches.has(dataId)) return;
    waiters.delete(dataId);
    for (const task of tasks) {
      task.waitingOn.delete(dataId);
      if (pending.get(task.assignment.data_id) === task) runWhenReady(task);
    }
  }

  function releaseValues(ids: string[]): void {
    for (const dataId of ids) store.delete(dataId);
    for (const executor of executors) {
      const held = ids.filter((dataId) => executor.holds.delete(dataId));
      if (held.length) executor.thread.postMessage({ type: 'release', ids: held } satisfies ToThread);
    }
  }

  // ---------------------------------------------------------------- inputs from peers
  const inFlightFetches = new Set<string>();

  function fetchInputs(tasks: PendingTask[]): void {
    // Group the ids not yet here and not already on their way, by the first holder to try.
    const byAddress = new Map<string, { ids: string[]; alternatives: Map<string, string[]> }>();
    for (const task of tasks) {
      for (const dep of task.assignment.deps) {
        if (dep.inline || store.has(dep.data_id)) continue;
        let set = waiters.get(dep.data_id);
        if (!set) waiters.set(dep.data_id, (set = new Set()));
        set.add(task);
        task.waitingOn.add(dep.data_id);
        // Produced by a task assigned here earlier: `finished` wakes the waiters.
        if (dep.pending_here || inFlightFetches.has(dep.data_id)) continue;
        inFlightFetches.add(dep.data_id);
        const [first, ...rest] = dep.addresses;
        if (!first) {
          arrived(dep.data_id, undefined, 0);
          continue;
        }
        let group = byAddress.get(first);
        if (!group) byAddress.set(first, (group = { ids: [], alternatives: new Map() }));
        group.ids.push(dep.data_id);
        group.alternatives.set(dep.data_id, rest);
      }
    }
    for (const [address, group] of byAddress) void fetchGroup(address, group.ids, group.alternatives);
  }

  async function fetchGroup(address: string, ids: string[], alternatives: Map<string, string[]>): Promise<void> {
    try {
      const values = await peers.fetch(address, ids);
      for (const [dataId, bytes] of values) arrived(dataId, bytes, bytes.byteLength);
    } catch (err) {
      log(`fetch of ${ids.length} value(s) from ${address} failed: ${(err as Error).message}`);
      for (const dataId of ids) {
        const rest = alternatives.get(dataId) ?? [];
        if (rest.length) void fetchGroup(rest[0]!, [dataId], new Map([[dataId, rest.slice(1)]]));
        else arrived(dataId, undefined, 0);
      }
    }
  }

  /** A fetched value arrived (or could not be fetched anywhere: `bytes` undefined). */
  function arrived(dataId: string, bytes: Buffer | undefined, size: number): void {
    inFlightFetches.delete(dataId);
    const tasks = waiters.get(dataId);
    waiters.delete(dataId);
    let counted = false;
    let cancelled: PendingTask | undefined;
    if (bytes) store.set(dataId, bytes);
    for (const task of tasks ?? []) {
      if (!task.waitingOn.delete(dataId)) continue;
      if (pending.get(task.assignment.data_id) !== task) {
        cancelled = task;
        continue;
      }
      if (!bytes) task.missing.push(dataId);
      else if (!counted) {
        // The first live task that wanted it reports the copy (and the bytes moved).
        counted = true;
        task.fetchedBytes += size;
        task.fetched.push(dataId);
      }
      runWhenReady(task);
    }
    if (bytes && !counted && cancelled) {
      // Only cancelled tasks wanted it: report the copy so the scheduler can release it.
      complete({ data_id: cancelled.assignment.data_id, ok: false, nbytes: 0, start: 0, end: 0, fetched_bytes: size, fetched: [dataId], missing: [], dropped: true });
    }
  }

  // ---------------------------------------------------------------- scheduler stream
  const { credentials, options: channelOptions } = channelCredentials(security);
  const schedulerClient = new (protocol().Scheduler)(schedulerAddress, credentials, { ...CHANNEL_OPTIONS, ...channelOptions }) as unknown as WorkClient;
  const stream = schedulerClient.Work(callMetadata(security.token));

  const flushCompletions = (): void => {
    flushScheduled = false;
    if (!completions.length || stopping) return;
    stream.write({ completions: { items: completions } });
    completions = [];
  };
  function complete(completion: Completion): void {
    completions.push(completion);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushCompletions);
    }
  }

  function onAssignments(batch: Assignments): void {
    if (batch.release.length) releaseValues(batch.release);
    for (const dataId of batch.cancel) {
      const task = pending.get(dataId);
      if (!task) continue;
      pending.delete(dataId);
      if (task.dispatched) {
        // Its thread drops it if it is still parked there; if it ran, its result is ignored.
        computing.get(dataId)?.thread.postMessage({ type: 'cancel', ids: [dataId] } satisfies ToThread);
        continue;
      }
      // Say what it fetched already, so the scheduler can account for those copies and release them.
      if (task.fetched.length) {
        complete({ data_id: dataId, ok: false, nbytes: 0, start: 0, end: 0, fetched_bytes: task.fetchedBytes, fetched: task.fetched, missing: [], dropped: true });
      }
    }
    const fresh: PendingTask[] = [];
    for (const assignment of batch.tasks) {
      const op = batch.ops[assignment.op_index] ?? '';
      const task: PendingTask = { assignment, seq: nextSeq++, op, dispatched: false, waitingOn: new Set(), fetchedBytes: 0, fetched: [], missing: [] };
      pending.set(assignment.data_id, task);
      fresh.push(task);
    }
    fetchInputs(fresh);
    for (const task of fresh) runWhenReady(task);
  }

  stream.on('data', (orders: WorkerOrders) => {
    if (orders.kind === 'accepted') {
      resolveId(orders.accepted.worker_id);
      log(`registered with ${schedulerAddress} as ${orders.accepted.worker_id}; data server on ${formatAddress(listenHost, dataPort)}`);
    } else if (orders.kind === 'assign') {
      onAssignments(orders.assign);
    }
  });
  stream.on('error', (err) => {
    const error = callError(err, schedulerAddress, 'the scheduler');
    rejectId(error);
    stop(error.message, false);
  });
  stream.on('end', () => stop(`the scheduler at ${schedulerAddress} closed the connection`, false));
  stream.write({ register: { data_port: dataPort, data_host: options.advertiseHost ?? '', nthreads, name: options.name ?? '' } });
  const heartbeat = setInterval(() => stream.write({ heartbeat: { time: Date.now() } }), options.heartbeatMs ?? 1_000);

  function stop(reason: string, crashed: boolean): void {
    if (stopping) return;
    stopping = true;
    rejectId(new ConnectionError(`worker stopped before the scheduler at ${schedulerAddress} accepted it: ${reason}`, schedulerAddress));
    clearInterval(heartbeat);
    if (crashed) stream.write({ farewell: { reason } });
    stream.removeAllListeners('error');
    stream.on('error', () => {});
    // Half-close (so a farewell is delivered) and cancel shortly after if the scheduler lingers.
    stream.end();
    setTimeout(() => stream.cancel(), crashed ? 200 : 0).unref();
    peers.close();
    server.forceShutdown();
    for (const executor of executors) executor.thread.removeAllListeners('exit');
    void Promise.all(executors.map((e) => e.thread.terminate()))
      .then(() => new Promise((r) => setTimeout(r, crashed ? 200 : 0)))
      .finally(() => {
        schedulerClient.close();
        resolveStopped({ reason, crashed });
      });
  }

  return {
    stopped,
    id,
    close: async () => {
      stop('closed', false);
      await stopped;
    },
  };
}
