/**
 * A distributed worker process: one `Work` stream to the scheduler, one DataService server for
 * peers and clients, and `nthreads` executor threads that run the ops. This file is the I/O;
 * what to do with each assignment, fetched value and thread result is decided by the pure
 * state machine in `state.ts`, whose instructions this file carries out in order.
 *
 * Inputs this worker lacks are fetched DIRECTLY from a worker that holds them (one Fetch per
 * peer per batch, trying the other holders if that one fails). Results are stored serialized
 * (ready to serve) and reported to the scheduler in batched `Completions`. The main thread
 * never runs ops, so it keeps serving peers and sending heartbeats during long tasks.
 *
 * If an executor thread dies (an op called process.exit or crashed it), it is replaced by a
 * fresh one; the tasks it was running are reported lost (the scheduler counts a worker death
 * against each and retries it, up to `allowed-failures`) and the stored values survive.
 *
 * If the scheduler cannot be reached (not started yet, restarted, network gone), the worker
 * tries again with backoff for `reconnectTimeoutMs`, saying where it tries, then gives up
 * (`stopped` says `gaveUp`; the CLI exits 1). On registering again it starts empty: a
 * restarted scheduler knows none of the runs whose values this worker held, and each of
 * those runs already failed at its client with ConnectionError.
 *
 * With a memory limit, `memory-policy.ts` decides (spill at 60 % of it in managed memory, least
 * recently used first; no new task past 80 %; an RSS guard; how fast spilled values are read
 * back) and this file carries it out: it reads the figures (the store's bytes, the threads'
 * live copies, RSS), spills with `value-store.ts`, tells the threads what to drop, collects
 * garbage. Bytes spilled and read back travel with the next completions.
 */
import { Worker } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { now } from '../../../common/clock.js';
import { cpuMeter } from '../../../common/cpu-meter.js';
import { AuthError, ConnectionError } from '../../errors.js';
import {
  CHANNEL_OPTIONS,
  errorInfo,
  formatAddress,
  isLoopback,
  parseAddress,
  protocol,
  bindServer,
  newServer,
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
import { SERVER_FRAMES } from '../framed-chunks.js';
import { PACK_LIMIT, Packer, unpack, type FromThread, type ThreadDep, type ThreadResult, type ThreadTask, type ToThread } from './messages.js';
import { WorkerState, type DispatchTask, type Instruction, type ResultEvent } from './state.js';
import { collectGarbage } from './gc.js';
import { ValueStore } from './value-store.js';
import { checkDue, managedBytes, maySend, memoryDecision, MEMORY_PAUSE, spillPlan, type MemoryView, type ThreadCopy } from './memory-policy.js';

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
  /** Keep trying to reach the scheduler this long (at start and after losing it); 0: stop at once. Default 60 s. */
  reconnectTimeoutMs?: number;
  /** Memory limit in bytes: values spill to disk past 60 % of it, no new task starts past 80 % (memory-policy.ts). Default: none. */
  memoryLimit?: number;
  log?: (line: string) => void;
}

/** Why a worker stopped: `crashed` (70 from the CLI), `gaveUp` on its scheduler (1), or closed. */
export interface WorkerStop {
  reason: string;
  crashed: boolean;
  gaveUp: boolean;
}

export const DEFAULT_RECONNECT_TIMEOUT_MS = 60_000;
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
/** Thread replacements within a minute after which the worker stops (something other than one op is wrong). */
const MAX_THREAD_DEATHS_PER_MINUTE = 50;

export interface RunningWorker {
  /** Resolves with the reason once the worker stopped (gave up on the scheduler, thread crash loop, close). */
  readonly stopped: Promise<WorkerStop>;
  readonly id: Promise<string>;
  close(): Promise<void>;
}

interface Executor {
  thread: Worker;
  outbox: ThreadTask[];
  /** The ops the outbox's tasks name by number. */
  ops: string[];
  opIndex: Map<string, number>;
  packer: Packer;
  /** Large inputs of the outbox's tasks, each a copy in its own buffer (transferred with the batch). */
  owned: Uint8Array[];
  /** Dispatched by the state machine, not sent to the thread yet (held back under memory pressure). */
  queue: DispatchTask[];
  /** Sent and not answered, by seq: its id and the bytes of stored inputs sent with it. */
  sent: Map<number, { id: string; cost: number }>;
  sentBytes: number;
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

  const store = new ValueStore(options.memoryLimit);
  let state = new WorkerState(nthreads);
  /** Bumped when the worker starts over (registering again): late fetches and thread results of before are dropped. */
  let generation = 0;
  const peers = new DataClients(security);
  let completions: Completion[] = [];
  const stealReplies = { stolen: [] as string[], kept: [] as string[] };
  let flushScheduled = false;
  let stopping = false;
  let resolveStopped!: (v: WorkerStop) => void;
  const stopped = new Promise<WorkerStop>((r) => (resolveStopped = r));
  let resolveId!: (id: string) => void;
  let rejectId!: (err: Error) => void;
  const id = new Promise<string>((res, rej) => {
    resolveId = res;
    rejectId = rej;
  });
  id.catch(() => {});

  // ---------------------------------------------------------------- data server
  const server = newServer();
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
        for (let i = 0; i < ids.length; i++) await writeChunks(call, ids[i]!, values[i]!, SERVER_FRAMES);
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
            state.uploaded(done.dataId);
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
  const dataPort = await bindServer(server, formatAddress(listenHost, 0), serverCredentials(security));

  // ---------------------------------------------------------------- executors
  const executors: Executor[] = [];
  let deaths: number[] = [];
  function startExecutor(index: number): Executor {
    // Inherit the process's flags (loaders, memory limits) except those a thread rejects.
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--input-type') && !flag.startsWith('--initial-heap-size'));
    const thread = new Worker(new URL('./executor-thread.js', import.meta.url), { execArgv });
    const executor: Executor = { thread, outbox: [], ops: [], opIndex: new Map(), packer: new Packer(), owned: [], queue: [], sent: new Map(), sentBytes: 0 };
    let crash: string | undefined;
    thread.on('message', (message: FromThread) => {
      if (executors[index] !== executor) return;
      const events = resultEvents(message, executor);
      perform(state.results(index, events, now()));
      pump(index);
    });
    thread.on('error', (err) => (crash = `an executor thread crashed: ${err.stack ?? err}`));
    thread.on('exit', (code) => {
      if (stopping || executors[index] !== executor) return;
      threadDied(index, crash ?? `an executor thread exited with code ${code} (did an op call process.exit?)`);
    });
    return executor;
  }
  /** Replace a dead executor thread; its tasks are reported lost, the store keeps its values. */
  function threadDied(index: number, reason: string): void {
    const at = Date.now();
    deaths = deaths.filter((t) => at - t < 60_000);
    if (deaths.push(at) > MAX_THREAD_DEATHS_PER_MINUTE) {
      stop(`${deaths.length} executor threads died within a minute (last: ${reason})`, true);
      return;
    }
    log(`executor thread ${index} died and was replaced: ${reason.split('\n')[0]}`);
    executors[index] = startExecutor(index);
    perform(state.threadLost(index, reason));
  }
  for (let i = 0; i < nthreads; i++) executors.push(startExecutor(i));
  let dispatchScheduled = false;
  const dispatch = (): void => {
    dispatchScheduled = false;
    for (const executor of executors) {
      if (!executor.outbox.length) continue;
      const packed = executor.packer.take();
      const owned = executor.owned;
      executor.thread.postMessage({ type: 'run', tasks: JSON.stringify(executor.outbox), ops: executor.ops, packed, owned } satisfies ToThread, [packed, ...owned.map((bytes) => bytes.buffer as ArrayBuffer)]);
      executor.outbox = [];
      executor.owned = [];
      executor.ops = [];
      executor.opIndex.clear();
    }
  };

  /** Queue `task` for executor `index`; `pump` sends it (in one message per thread per tick). */
  function toThread(index: number, task: DispatchTask): void {
    executors[index]!.queue.push(task);
    pump(index);
  }

  /**
   * Send executor `index` its queued tasks, in order, as the memory policy allows (under memory
   * pressure a couple at a time, so spilled values are read back as the thread gets to them).
   */
  function pump(index: number): void {
    const executor = executors[index]!;
    while (executor.queue.length) {
      const task = executor.queue[0]!;
      let cost = 0;
      for (const dep of task.deps) if (dep.fromStore) cost += store.sizeOf(dep.id);
      // Managed memory counts the bytes sent since the last check too: one pump cannot read everything back at once.
      if (!maySend(limit, lastManaged + storedSinceCheck, paused, { sent: executor.sent.size, sentBytes: executor.sentBytes }, cost)) break;
      executor.queue.shift();
      send(executor, task, cost);
    }
  }

  function send(executor: Executor, task: DispatchTask, cost: number): void {
    const packer = executor.packer;
    const deps: ThreadDep[] = task.deps.map((dep) => {
      if (dep.later) return { id: dep.id, later: true };
      if (dep.inline) return { id: dep.id, inline: true, bytes: packer.add(dep.bytes!) };
      if (dep.fromStore) {
        const bytes = store.get(dep.id)!;
        if (bytes.byteLength < PACK_LIMIT) return { id: dep.id, bytes: packer.add(bytes) };
        // The store keeps its bytes (peers fetch them): the thread gets a copy of its own, moved to it.
        const copy = Buffer.allocUnsafe(bytes.byteLength);
        copy.set(bytes);
        return { id: dep.id, owned: executor.owned.push(copy) - 1 };
      }
      return { id: dep.id };
    });
    const args = task.args ? packer.add(task.args) : undefined;
    let op = executor.opIndex.get(task.op);
    if (op === undefined) executor.opIndex.set(task.op, (op = executor.ops.push(task.op) - 1));
    executor.outbox.push({ id: task.id, seq: task.seq, op, args, argsId: task.argsId, deps });
    executor.sent.set(task.seq, { id: task.id, cost });
    executor.sentBytes += cost;
    storedSinceCheck += cost; // the thread keeps a copy: managed memory grew
    if (!dispatchScheduled) {
      dispatchScheduled = true;
      setImmediate(dispatch);
    }
  }

  /** A thread's batch of results, each named by the id `executor` sent it with, a success's bytes out of the message. */
  function resultEvents(message: FromThread, executor: Executor): ResultEvent[] {
    const { owned, packed } = message;
    return (JSON.parse(message.results) as ThreadResult[]).map((result) => {
      const sent = executor.sent.get(result.seq);
      if (!sent) throw new Error(`internal: executor thread reported task number ${result.seq}, which was not sent to it or was answered already`);
      executor.sent.delete(result.seq);
      executor.sentBytes -= sent.cost;
      let bytes: Uint8Array | undefined;
      if (result.ok && result.owned !== undefined) {
        // Large results came in their own buffer; small ones are copied out of the batch buffer (so it can be freed).
        const large = owned[result.owned]!;
        bytes = Buffer.from(large.buffer, large.byteOffset, large.byteLength);
      } else if (result.ok && result.bytes) {
        bytes = Buffer.from(unpack(packed, result.bytes));
      }
      const error = result.error ? errorInfo({ kind: 'task', ...result.error, stack: result.error.stack ?? '', code: result.error.code ?? '' }) : undefined;
      return { id: sent.id, seq: result.seq, ok: result.ok, bytes, start: result.start, end: result.end, decode: result.decode, encode: result.encode, error };
    });
  }

  // ---------------------------------------------------------------- memory limit
  const limit = options.memoryLimit;
  /** Past MEMORY_PAUSE no queued task is sent to a thread until managed memory is below it again. */
  let paused = false;
  let pauseTimer: NodeJS.Timeout | undefined;
  /** Managed bytes at the last check (decides whether dispatch is under memory pressure). */
  let lastManaged = 0;
  let lastCollect = 0;
  // Also look every 250 ms: memory changes without values arriving (GC, threads' copies, reads back).
  const memoryTimer = limit === undefined ? undefined : setInterval(() => checkMemory(), 250);
  memoryTimer?.unref();
  let storedSinceCheck = 0;

  /**
   * Live copies in the executor threads, by id (a count per id): those the state machine says a
   * thread keeps, less those only promised to tasks still queued here (not sent yet).
   */
  function threadCopies(): Map<string, number> {
    const copies = new Map<string, number>();
    state.threadHoldings().forEach((holds, index) => {
      const unsent = new Set<string>();
      for (const task of executors[index]!.queue) for (const dep of task.deps) if (dep.fromStore) unsent.add(dep.id);
      for (const dataId of holds) if (!unsent.has(dataId)) copies.set(dataId, (copies.get(dataId) ?? 0) + 1);
    });
    return copies;
  }

  /** What the store and the threads hold, for the memory policy. */
  function memoryView(limit: number, rss: number): MemoryView {
    const copies: ThreadCopy[] = [];
    for (const [dataId, n] of threadCopies()) copies.push({ id: dataId, bytes: store.sizeOf(dataId), copies: n, spilled: store.isSpilled(dataId) });
    return { limit, rss, storeBytes: store.inMemory, copies, leastRecentlyUsed: store.leastRecentlyUsed() };
  }

  /** Spill and drop threads' copies as the memory policy says; pause or resume; collect garbage if RSS is far above managed memory. */
  function checkMemory(): void {
    if (limit === undefined) return;
    storedSinceCheck = 0;
    const rss = process.memoryUsage.rss();
    let view = memoryView(limit, rss);
    const victims = spillPlan(view);
    if (victims.length) {
      for (const dataId of victims) store.spill(dataId);
      perform(state.dropFromThreads(victims), false);
      view = memoryView(limit, rss); // some copies stay (a task sent to that thread still reads them)
    }
    const managed = managedBytes(view);
    lastManaged = managed;
    const decision = memoryDecision({ limit, managed, rss, msSinceCollect: Date.now() - lastCollect });
    if (decision.collect) {
      lastCollect = Date.now();
      collectGarbage();
      for (const executor of executors) executor.thread.postMessage({ type: 'gc' } satisfies ToThread);
    }
    if (decision.pause && !paused) {
      paused = true;
      log(`memory: ${mb(managed)} managed (RSS ${mb(rss)}) is over ${MEMORY_PAUSE * 100} % of the ${mb(limit)} limit: starting no new task until it is below`);
      pauseTimer = setInterval(checkMemory, 100);
    } else if (!decision.pause && paused) {
      paused = false;
      clearInterval(pauseTimer);
    }
    if (!paused) executors.forEach((_, index) => pump(index));
  }

  /** Carry out the state machine's instructions, in order (`check`: then look at memory). */
  function perform(instructions: Instruction[], check = true): void {
    for (const instruction of instructions) {
      switch (instruction.type) {
        case 'store':
          store.set(instruction.id, instruction.bytes);
          storedSinceCheck += instruction.bytes.byteLength;
          break;
        case 'release':
          for (const dataId of instruction.ids) store.delete(dataId);
          for (const [index, ids] of instruction.threads) executors[index]!.thread.postMessage({ type: 'release', ids } satisfies ToThread);
          break;
        case 'dispatch':
          toThread(instruction.executor, instruction.task);
          break;
        case 'cancel-in-thread': {
          // Still queued here: it never reaches the thread, so answer for it; else the thread drops it if parked.
          const executor = executors[instruction.executor]!;
          const cancelled = new Set(instruction.ids);
          const unsent = executor.queue.filter((task) => cancelled.has(task.id));
          executor.queue = executor.queue.filter((task) => !cancelled.has(task.id));
          const at = now();
          if (unsent.length) {
            const error = errorInfo({ kind: 'task', name: 'AbortedError', message: 'cancelled' });
            perform(state.results(instruction.executor, unsent.map((task) => ({ id: task.id, seq: task.seq, ok: false, start: at, end: at, error }))), false);
          }
          executor.thread.postMessage({ type: 'cancel', ids: instruction.ids } satisfies ToThread);
          break;
        }
        case 'complete':
          complete(instruction.completion);
          break;
        case 'steal-reply':
          (instruction.stolen ? stealReplies.stolen : stealReplies.kept).push(instruction.id);
          scheduleCompletions();
          break;
        case 'fetch':
          void fetchGroup(instruction.address, instruction.ids, instruction.alternatives);
          break;
      }
    }
    // Values arrived: check memory (cheaply skipped while few bytes came in since the last check).
    if (check && limit !== undefined && checkDue(storedSinceCheck, limit)) checkMemory();
  }

  // ---------------------------------------------------------------- inputs from peers
  async function fetchGroup(address: string, ids: string[], alternatives: Map<string, string[]>): Promise<void> {
    const began = now();
    const current = generation;
    try {
      const values = await peers.fetch(address, ids);
      if (current !== generation) return;
      for (const [dataId, bytes] of values) perform(state.fetched(dataId, bytes, began, now()));
    } catch (err) {
      if (current !== generation) return;
      log(`fetch of ${ids.length} value(s) from ${address} failed: ${(err as Error).message}`);
      for (const dataId of ids) {
        const rest = alternatives.get(dataId) ?? [];
        if (rest.length) void fetchGroup(rest[0]!, [dataId], new Map([[dataId, rest.slice(1)]]));
        else perform(state.fetched(dataId, undefined));
      }
    }
  }

  // ---------------------------------------------------------------- scheduler stream
  const { credentials, options: channelOptions } = channelCredentials(security);
  const reconnectTimeoutMs = options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS;
  const register = { data_port: dataPort, data_host: options.advertiseHost ?? '', nthreads, name: options.name ?? '' };
  let schedulerClient: WorkClient | undefined;
  let stream: grpc.ClientDuplexStream<WorkerMessage, WorkerOrders> | undefined;
  /** Accepted on the current stream. */
  let registered = false;
  /** When trying to reach the scheduler began (start-up, or losing it). */
  let tryingSince = Date.now();
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const cpu = cpuMeter();

  const flushCompletions = (): void => {
    flushScheduled = false;
    if ((!completions.length && !stealReplies.stolen.length && !stealReplies.kept.length) || stopping || !registered) return;
    if (completions.length) {
      const spilled = store.take();
      completions[0]!.spilled_bytes = spilled.spilledBytes;
      completions[0]!.read_back_bytes = spilled.readBackBytes;
    }
    stream!.write({ completions: { items: completions, stolen: stealReplies.stolen, kept: stealReplies.kept } });
    completions = [];
    stealReplies.stolen = [];
    stealReplies.kept = [];
  };
  function scheduleCompletions(): void {
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushCompletions);
    }
  }
  function complete(completion: Completion): void {
    completions.push(completion);
    scheduleCompletions();
  }

  function onAssignments(batch: Assignments): void {
    const tasks = batch.tasks.map((assignment) => ({ assignment, op: batch.ops[assignment.op_index] ?? '' }));
    perform(state.assign({ tasks, cancel: batch.cancel, release: batch.release, steal: batch.steal, at: now() }));
  }

  /** Open a `Work` stream (a new channel each time, so grpc's own reconnect backoff never delays a retry) and register. */
  function connect(): void {
    retryTimer = undefined;
    if (stopping) return;
    const client = new (protocol().Scheduler)(schedulerAddress, credentials, { ...CHANNEL_OPTIONS, ...channelOptions }) as unknown as WorkClient;
    const call = client.Work(callMetadata(security.token));
    schedulerClient = client;
    stream = call;
    let over = false;
    const lost = (error: Error): void => {
      if (over) return;
      over = true;
      call.removeAllListeners();
      call.on('error', () => {});
      call.cancel();
      client.close();
      schedulerLost(error);
    };
    call.on('data', (orders: WorkerOrders) => {
      if (orders.kind === 'accepted') {
        registered = true;
        attempt = 0;
        resolveId(orders.accepted.worker_id);
        log(`registered with ${schedulerAddress} as ${orders.accepted.worker_id}; data server on ${formatAddress(listenHost, dataPort)}`);
        heartbeat = setInterval(() => call.write({ heartbeat: { time: Date.now(), rss: process.memoryUsage.rss(), cpu: cpu() } }), options.heartbeatMs ?? 1_000);
      } else if (orders.kind === 'assign') {
        onAssignments(orders.assign);
      }
    });
    call.on('error', (err) => lost(callError(err, schedulerAddress, 'the scheduler')));
    call.on('end', () => lost(new ConnectionError(`the scheduler at ${schedulerAddress} closed the connection`, schedulerAddress)));
    call.write({ register });
  }

  /** The stream failed or ended: start over empty and try again with backoff, or give up. */
  function schedulerLost(error: Error): void {
    clearInterval(heartbeat);
    stream = undefined;
    if (stopping) return;
    if (registered) {
      registered = false;
      tryingSince = Date.now();
      attempt = 0;
      startOver();
      log(`lost the scheduler at ${schedulerAddress} (${error.message}); dropped this worker's values and tasks`);
    }
    const elapsed = Date.now() - tryingSince;
    if (error instanceof AuthError || elapsed >= reconnectTimeoutMs) {
      const final =
        error instanceof AuthError
          ? error
          : new ConnectionError(
              `gave up on the scheduler at ${schedulerAddress} after ${(elapsed / 1000).toFixed(1)} s (reconnect timeout ${reconnectTimeoutMs} ms): ${error.message}`,
              schedulerAddress,
            );
      rejectId(final);
      stop(final.message, false, true);
      return;
    }
    const delay = Math.min(5_000, 100 * 2 ** attempt++, reconnectTimeoutMs - elapsed);
    const why = error.message.replace(/^lost or could not open the connection to the scheduler at \S+: /, '');
    log(`cannot reach the scheduler at ${schedulerAddress} (${why}); trying again in ${(delay / 1000).toFixed(1)} s, for ${((reconnectTimeoutMs - elapsed) / 1000).toFixed(0)} s more`);
    retryTimer = setTimeout(connect, delay);
  }

  /** Forget every value and task (a restarted scheduler knows none of them) and start fresh executor threads. */
  function startOver(): void {
    generation += 1;
    state = new WorkerState(nthreads);
    store.clear();
    completions = [];
    for (let i = 0; i < executors.length; i++) {
      const old = executors[i]!;
      executors[i] = startExecutor(i);
      void old.thread.terminate();
    }
  }

  function stop(reason: string, crashed: boolean, gaveUp = false): void {
    if (stopping) return;
    stopping = true;
    rejectId(new ConnectionError(`worker stopped before the scheduler at ${schedulerAddress} accepted it: ${reason}`, schedulerAddress));
    clearInterval(heartbeat);
    clearTimeout(retryTimer);
    const call = stream;
    if (call) {
      if (crashed && registered) call.write({ farewell: { reason } });
      call.removeAllListeners('error');
      call.removeAllListeners('end');
      call.on('error', () => {});
      // Half-close (so a farewell is delivered) and cancel shortly after if the scheduler lingers.
      call.end();
      setTimeout(() => call.cancel(), crashed ? 200 : 0).unref();
    }
    peers.close();
    server.forceShutdown();
    clearInterval(pauseTimer);
    clearInterval(memoryTimer);
    store.close();
    for (const executor of executors) executor.thread.removeAllListeners('exit');
    void Promise.all(executors.map((e) => e.thread.terminate()))
      .then(() => new Promise((r) => setTimeout(r, crashed ? 200 : 0)))
      .finally(() => {
        schedulerClient?.close();
        resolveStopped({ reason, crashed, gaveUp });
      });
  }

  connect();
  return {
    stopped,
    id,
    close: async () => {
      stop('closed', false);
      await stopped;
    },
  };
}
