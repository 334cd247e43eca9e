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
 * If an executor thread dies (an op called process.exit or crashed it), the whole worker
 * stops: the scheduler then reschedules its tasks and counts the failure against them.
 */
import { Worker } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { now } from '../../../common/clock.js';
import { cpuMeter } from '../../../common/cpu-meter.js';
import { ConnectionError } from '../../errors.js';
import {
  CHANNEL_OPTIONS,
  errorInfo,
  formatAddress,
  isLoopback,
  parseAddress,
  protocol,
  SERVER_OPTIONS,
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
import { WorkerState, type DispatchTask, type Instruction, type ResultEvent } from './state.js';

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

interface Executor {
  thread: Worker;
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

  const store = new Map<string, Uint8Array>();
  const state = new WorkerState(nthreads);
  const peers = new DataClients(security);
  let completions: Completion[] = [];
  const stealReplies = { stolen: [] as string[], kept: [] as string[] };
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
  const dataPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(formatAddress(listenHost, 0), serverCredentials(security), (err, port) => (err ? reject(err) : resolve(port))),
  );

  // ---------------------------------------------------------------- executors
  const executors: Executor[] = [];
  for (let i = 0; i < nthreads; i++) {
    // Inherit the process's flags (loaders, memory limits) except those a thread rejects.
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--input-type') && !flag.startsWith('--initial-heap-size'));
    const thread = new Worker(new URL('./executor-thread.js', import.meta.url), { execArgv });
    const executor: Executor = { thread, outbox: [], packer: new Packer() };
    thread.on('message', (message: FromThread) => perform(state.results(i, resultEvents(message), now())));
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

  /** Queue `task` for executor `index` (sent in one message per thread per tick). */
  function toThread(index: number, task: DispatchTask): void {
    const executor = executors[index]!;
    const packer = executor.packer;
    const deps: ThreadDep[] = task.deps.map((dep) => {
      if (dep.later) return { id: dep.id, inline: false, later: true };
      if (dep.inline) return { id: dep.id, inline: true, bytes: packer.add(dep.bytes!) };
      if (dep.fromStore) return { id: dep.id, inline: false, bytes: packer.add(store.get(dep.id)!) };
      return { id: dep.id, inline: false };
    });
    const args = task.args ? packer.add(task.args) : undefined;
    executor.outbox.push({ id: task.id, seq: task.seq, op: task.op, args, argsId: task.argsId, deps });
    if (!dispatchScheduled) {
      dispatchScheduled = true;
      setImmediate(dispatch);
    }
  }

  /** A thread's batch of results, with each success's bytes out of the message. */
  function resultEvents(message: FromThread): ResultEvent[] {
    const { owned, packed } = message;
    return (JSON.parse(message.results) as ThreadResult[]).map((result) => {
      let bytes: Uint8Array | undefined;
      if (result.ok && result.owned !== undefined) {
        // Large results came in their own buffer; small ones are copied out of the batch buffer (so it can be freed).
        const large = owned[result.owned]!;
        bytes = Buffer.from(large.buffer, large.byteOffset, large.byteLength);
      } else if (result.ok && result.bytes) {
        bytes = Buffer.from(unpack(packed, result.bytes));
      }
      const error = result.error ? errorInfo({ kind: 'task', ...result.error, stack: result.error.stack ?? '', code: result.error.code ?? '' }) : undefined;
      return { id: result.id, seq: result.seq, ok: result.ok, bytes, start: result.start, end: result.end, decode: result.decode, encode: result.encode, error };
    });
  }

  /** Carry out the state machine's instructions, in order. */
  function perform(instructions: Instruction[]): void {
    for (const instruction of instructions) {
      switch (instruction.type) {
        case 'store':
          store.set(instruction.id, instruction.bytes);
          break;
        case 'release':
          for (const dataId of instruction.ids) store.delete(dataId);
          for (const [index, ids] of instruction.threads) executors[index]!.thread.postMessage({ type: 'release', ids } satisfies ToThread);
          break;
        case 'dispatch':
          toThread(instruction.executor, instruction.task);
          break;
        case 'cancel-in-thread':
          executors[instruction.executor]!.thread.postMessage({ type: 'cancel', ids: instruction.ids } satisfies ToThread);
          break;
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
  }

  // ---------------------------------------------------------------- inputs from peers
  async function fetchGroup(address: string, ids: string[], alternatives: Map<string, string[]>): Promise<void> {
    const began = now();
    try {
      const values = await peers.fetch(address, ids);
      for (const [dataId, bytes] of values) perform(state.fetched(dataId, bytes, began, now()));
    } catch (err) {
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
  const schedulerClient = new (protocol().Scheduler)(schedulerAddress, credentials, { ...CHANNEL_OPTIONS, ...channelOptions }) as unknown as WorkClient;
  const stream = schedulerClient.Work(callMetadata(security.token));

  const flushCompletions = (): void => {
    flushScheduled = false;
    if ((!completions.length && !stealReplies.stolen.length && !stealReplies.kept.length) || stopping) return;
    stream.write({ completions: { items: completions, stolen: stealReplies.stolen, kept: stealReplies.kept } });
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
  const cpu = cpuMeter();
  const heartbeat = setInterval(() => stream.write({ heartbeat: { time: Date.now(), rss: process.memoryUsage.rss(), cpu: cpu() } }), options.heartbeatMs ?? 1_000);

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
