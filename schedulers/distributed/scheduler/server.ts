/**
 * The scheduler process's gRPC server: it authenticates callers, validates what they send,
 * feeds `ClusterState` and flushes its decisions in batches.
 *
 * Every worker holds one `Work` stream and every client one `Connect` stream for its whole
 * life. Decisions taken while handling a burst of messages accumulate in per-worker and
 * per-run outboxes and are written once per event-loop turn (`setImmediate`), so a thousand
 * small tasks become a handful of messages. A malformed message ends only the call that sent
 * it (INVALID_ARGUMENT); grpc itself rejects oversized ones (RESOURCE_EXHAUSTED). A worker is
 * declared lost when its stream ends or its heartbeats stop for `heartbeatTimeoutMs`.
 *
 * No silent hang: a run that needs a worker while none is connected is logged at once (with
 * the command that starts one), and its waiting tasks fail after `noWorkerTimeoutMs`.
 */
import * as grpc from '@grpc/grpc-js';
import {
  formatAddress,
  MAX_CONTROL_MESSAGE_BYTES,
  protocol,
  bindServer,
  newServer,
  type Assignments,
  type ClientMessage,
  type Completion,
  type ClientUpdate,
  type RunProgress,
  type WorkerMessage,
  type WorkerOrders,
} from '../protocol.js';
import { assertListenAllowed, refusal, serverCredentials, type SecurityOptions } from '../security.js';
import { ClusterState, type PendingAssignments, type RunRecord, type WorkerRecord } from './state.js';

export interface SchedulerServerOptions {
  host?: string;
  /** 0 = an ephemeral port. */
  port?: number;
  security?: SecurityOptions;
  /** A worker silent this long is declared lost (default 5 s; workers beat every second). */
  heartbeatTimeoutMs?: number;
  allowedFailures?: number;
  /** A task that waits this long with no worker connected fails with NoWorkersError (default 60 s). */
  noWorkerTimeoutMs?: number;
  /** Progress lines (worker joined/lost); default: none. */
  log?: (line: string) => void;
  /** Told what happens on the cluster (the dashboard subscribes here). */
  observer?: ClusterObserver;
}

/**
 * What the scheduler tells an observer, synchronously, as it happens. Runs are named
 * `<client>/<run>`, tasks by data id (`<client>/<run>/<key>`).
 */
export interface ClusterObserver {
  workerJoined(worker: string, address: string, nthreads: number): void;
  workerLost(worker: string, reason: string): void;
  /** Resource sample from a worker's heartbeat: RSS bytes, CPU in cores. */
  workerResources(worker: string, rss: number, cpu: number): void;
  /** A part of a run's graph arrived: the keys of its tasks. */
  submitted(run: string, taskKeys: string[]): void;
  /** A run will report nothing more (cancelled, refused, or its client left). */
  runClosed(run: string, problem?: string): void;
  clientGone(client: string): void;
  /** Tasks sent to a worker. */
  assigned(worker: string, dataIds: string[]): void;
  /** A worker reported a task; `sources[i]` says where `completion.fetched[i]` came from ('' unknown) and its size. */
  completed(worker: string, completion: Completion, sources: Array<{ from: string; bytes: number }>): void;
}

/** What one worker holds and runs right now. */
export interface WorkerHolding {
  worker: string;
  values: number;
  bytes: number;
  /** Tasks handed to it and not reported yet. */
  running: number;
}

export interface SchedulerServer {
  readonly port: number;
  readonly address: string;
  /** Values and bytes each live worker holds (read on demand: it walks their values). */
  holdings(): WorkerHolding[];
  close(): Promise<void>;
}

export const DEFAULT_NO_WORKER_TIMEOUT_MS = 60_000;

/** Split an assignment batch so that each message stays well under the message limit. */
const BATCH_BYTES = MAX_CONTROL_MESSAGE_BYTES / 4;

type WorkerCall = grpc.ServerDuplexStream<WorkerMessage, WorkerOrders>;
type ClientCall = grpc.ServerDuplexStream<ClientMessage, ClientUpdate>;

export async function startSchedulerServer(options: SchedulerServerOptions = {}): Promise<SchedulerServer> {
  const host = options.host ?? '127.0.0.1';
  const security = options.security ?? {};
  assertListenAllowed(host, security, 'scheduler');
  const log = options.log ?? (() => {});
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 5_000;
  const noWorkerTimeoutMs = options.noWorkerTimeoutMs ?? DEFAULT_NO_WORKER_TIMEOUT_MS;
  let address = '';
  const startWorkerHint = (): string => `start one with \`schedlab worker ${address}\``;
  /** Runs already logged as waiting for a worker (logged once each). */
  const toldWaiting = new Set<string>();
  const logWaiting = (): void => {
    if (state.workers.size > 0) return;
    for (const run of state.waitingForWorkers()) {
      if (toldWaiting.has(run)) continue;
      toldWaiting.add(run);
      log(`run ${run} is waiting: no worker is connected to this scheduler; ${startWorkerHint()} (the run fails after ${noWorkerTimeoutMs} ms)`);
    }
  };
  const observer = options.observer;

  const workerCalls = new Map<WorkerRecord, WorkerCall>();
  const clientCalls = new Map<string, ClientCall>();
  const workerOut = new Map<WorkerRecord, PendingAssignments>();
  const runOut = new Map<RunRecord, RunProgress>();
  let flushScheduled = false;
  let nextWorker = 1;
  const usedIds = new Set<string>(); // a worker id is never reused, even after its worker left
  let nextClient = 1;

  const scheduleFlush = (): void => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flush);
  };
  const state = new ClusterState(
    {
      toWorker(worker) {
        let batch = workerOut.get(worker);
        if (!batch) workerOut.set(worker, (batch = { tasks: [], cancel: [], release: [] }));
        scheduleFlush();
        return batch;
      },
      toRun(run) {
        let progress = runOut.get(run);
        if (!progress) runOut.set(run, (progress = { run: run.run, events: [], done: [], failed: [], tasks_done: 0, bytes_between_workers: 0, reupload: [] }));
        scheduleFlush();
        return progress;
      },
    },
    { allowedFailures: options.allowedFailures },
  );

  function flush(): void {
    flushScheduled = false;
    for (const [worker, batch] of workerOut) {
      const call = workerCalls.get(worker);
      if (!call || !state.workers.has(worker.id)) continue;
      if (observer && batch.tasks.length) observer.assigned(worker.id, batch.tasks.map((t) => t.data_id));
      for (const part of splitAssignments(batch)) call.write({ assign: part });
    }
    workerOut.clear();
    for (const [run, progress] of runOut) clientCalls.get(run.client)?.write({ progress });
    runOut.clear();
  }

  const broadcastRoster = (): void => {
    const workers = state.roster();
    for (const call of clientCalls.values()) call.write({ roster: { workers } });
  };

  const loseWorker = (worker: WorkerRecord, reason: string): void => {
    if (!state.workers.has(worker.id)) return;
    log(`worker ${worker.id} (${worker.address}) lost: ${reason}`);
    observer?.workerLost(worker.id, reason);
    state.removeWorker(worker, reason);
    logWaiting();
    const call = workerCalls.get(worker);
    workerCalls.delete(worker);
    call?.end();
    broadcastRoster();
    scheduleFlush();
  };

  const sourceOf = (dataId: string, to: WorkerRecord): { from: string; bytes: number } => {
    const record = state.tasks.get(dataId);
    return { from: record?.holders.find((h) => h !== to)?.id ?? '', bytes: record?.nbytes ?? 0 };
  };

  const reject = (call: WorkerCall | ClientCall, details: string): void => {
    call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: `schedlab scheduler: ${details}` });
  };

  function work(call: WorkerCall): void {
    const refused = refusal(call.metadata, security.token, 'scheduler');
    if (refused) {
      call.emit('error', refused);
      return;
    }
    let worker: WorkerRecord | undefined;
    call.on('data', (message: WorkerMessage) => {
      try {
        if (!worker) {
          if (message.kind !== 'register') throw new Error('a worker must send "register" first');
          const { data_port: port, data_host: dataHost, nthreads, name } = message.register;
          if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad data_port ${port}`);
          const host = dataHost || peerHost(call.getPeer());
          let id = name; // --name w1 is w1, unless that id was taken: then w<n>-w1
          while (!id || usedIds.has(id)) id = `w${nextWorker++}${name ? `-${name}` : ''}`;
          usedIds.add(id);
          worker = state.addWorker(id, formatAddress(host, port), Math.min(Math.max(1, nthreads), 1024));
          workerCalls.set(worker, call);
          call.write({ accepted: { worker_id: id } });
          log(`worker ${id} joined from ${worker.address} (${worker.nthreads} thread(s))`);
          observer?.workerJoined(id, worker.address, worker.nthreads);
          toldWaiting.clear();
          broadcastRoster();
          return;
        }
        worker.lastSeen = Date.now();
        if (message.kind === 'completions') {
          for (const item of message.completions.items) {
            if (typeof item.data_id !== 'string' || !item.data_id) throw new Error('completion without data_id');
            if (observer) observer.completed(worker.id, item, item.fetched.map((id) => sourceOf(id, worker!)));
            state.complete(worker, item);
          }
          const { stolen = [], kept = [] } = message.completions;
          if (stolen.length || kept.length) state.stealReplies(worker, stolen, kept);
        } else if (message.kind === 'farewell') {
          loseWorker(worker, String(message.farewell.reason).slice(0, 2_000));
        } else if (message.kind === 'heartbeat') {
          observer?.workerResources(worker.id, message.heartbeat.rss ?? 0, message.heartbeat.cpu ?? 0);
        } else {
          throw new Error(`unexpected message "${message.kind}" from worker ${worker.id}`);
        }
      } catch (err) {
        reject(call, (err as Error).message);
        if (worker) loseWorker(worker, `protocol error: ${(err as Error).message}`);
      }
    });
    const gone = (reason: string) => () => {
      if (worker) loseWorker(worker, reason);
    };
    call.on('end', gone('its connection closed'));
    call.on('error', gone('its connection failed'));
    call.on('cancelled', gone('its connection was cancelled'));
  }

  function connect(call: ClientCall): void {
    const refused = refusal(call.metadata, security.token, 'scheduler');
    if (refused) {
      call.emit('error', refused);
      return;
    }
    const clientId = `c${nextClient++}`;
    clientCalls.set(clientId, call);
    call.write({ welcome: { client_id: clientId, workers: state.roster() } });
    call.on('data', (message: ClientMessage) => {
      try {
        if (message.kind === 'submit') {
          const part = message.submit;
          if (!Number.isInteger(part.run) || part.run <= 0) throw new Error(`bad run number ${part.run}`);
          if (state.ignores(clientId, part.run)) {
            state.submit(clientId, part); // a later part of a run refused or cancelled: dropped
            return;
          }
          const problem = state.submit(clientId, part);
          if (part.final && !problem) logWaiting();
          if (observer && problem) observer.runClosed(`${clientId}/${part.run}`, problem);
          else if (observer) observer.submitted(`${clientId}/${part.run}`, part.nodes.filter((n) => n.op_index > 0).map((n) => n.key));
          // The part's ready tasks go out now, before the next part is read.
          flush();
          if (problem) {
            call.write({
              progress: {
                run: part.run,
                events: [],
                done: [],
                failed: [{ key: '', error: { kind: 'graph', name: 'GraphError', message: problem, stack: '', code: 'BAD_NODE', key: '', op: '', worker: '', keys: [] } }],
                tasks_done: 0,
                bytes_between_workers: 0,
                reupload: [],
              },
            });
          }
        } else if (message.kind === 'release') {
          state.release(clientId, message.release.run, message.release.keys);
        } else if (message.kind === 'cancel') {
          state.cancel(clientId, message.cancel.run);
          observer?.runClosed(`${clientId}/${message.cancel.run}`);
        } else if (message.kind === 'uploaded') {
          const placed = message.uploaded.placed;
          if (!placed.length || placed.some((p) => !p.data_id)) throw new Error('uploaded without a placement');
          state.uploaded(clientId, placed);
        } else {
          throw new Error('empty client message');
        }
        scheduleFlush();
      } catch (err) {
        reject(call, (err as Error).message);
      }
    });
    const gone = (): void => {
      if (!clientCalls.delete(clientId)) return;
      observer?.clientGone(clientId);
      state.dropClient(clientId);
      scheduleFlush();
    };
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('error', gone);
    call.on('cancelled', gone);
  }

  const server = newServer();
  server.addService(protocol().Scheduler.service, { Connect: connect, Work: work });
  const port = await bindServer(server, formatAddress(host, options.port ?? 0), serverCredentials(security));
  // If this process itself was stalled (CPU starvation, a long GC), the check runs late and
  // before the heartbeats queued meanwhile are read: skip that round rather than blame workers.
  const checkEveryMs = Math.min(1_000, heartbeatTimeoutMs / 2);
  let lastCheck = Date.now();
  const heartbeatCheck = setInterval(() => {
    const late = Date.now() - lastCheck > 2 * checkEveryMs;
    lastCheck = Date.now();
    if (late) return;
    for (const worker of state.silentWorkers(heartbeatTimeoutMs)) loseWorker(worker, `no heartbeat for ${heartbeatTimeoutMs} ms`);
    if (state.workers.size === 0) {
      state.failUnplaced(
        noWorkerTimeoutMs,
        `no worker connected to the scheduler at ${address} within ${noWorkerTimeoutMs} ms, so the run could not proceed; ${startWorkerHint()}`,
      );
      scheduleFlush();
    }
  }, Math.min(checkEveryMs, Math.max(100, noWorkerTimeoutMs / 4)));
  heartbeatCheck.unref();
  address = formatAddress(host, port);

  return {
    port,
    address,
    holdings: () =>
      [...state.workers.values()].map((w) => {
        let bytes = 0;
        for (const t of w.has) bytes += t.nbytes;
        return { worker: w.id, values: w.has.size, bytes, running: w.processing.size };
      }),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(heartbeatCheck);
        for (const call of [...workerCalls.values(), ...clientCalls.values()]) call.end();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000).unref();
      }),
  };
}

/** The host part of a grpc peer string ("ipv4:10.0.0.2:5000", "[::1]:5000", "10.0.0.2:5000"). */
function peerHost(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, '');
  const match = /^\[([^\]]+)\]:\d+$/.exec(bare) ?? /^([^:]+):\d+$/.exec(bare);
  const host = match ? match[1]! : bare;
  return host.replace(/^::ffff:/, '');
}

/**
 * Wire batches of at most ~BATCH_BYTES each (cancel/release lists go with the first), each
 * with its table of ops, so a long op URL travels once per batch instead of once per task.
 */
function* splitAssignments(batch: PendingAssignments): Generator<Assignments> {
  let part: Assignments = { tasks: [], cancel: batch.cancel, release: batch.release, ops: [], steal: batch.steal ?? [] };
  let opIndex = new Map<string, number>();
  let bytes = 0;
  for (const task of batch.tasks) {
    let size = 128 + task.args.byteLength;
    for (const dep of task.deps) size += 64 + dep.bytes.byteLength;
    if (part.tasks.length && bytes + size > BATCH_BYTES) {
      yield part;
      part = { tasks: [], cancel: [], release: [], ops: [] };
      opIndex = new Map();
      bytes = 0;
    }
    let index = opIndex.get(task.op);
    if (index === undefined) {
      index = part.ops.push(task.op) - 1;
      opIndex.set(task.op, index);
    }
    task.op_index = index;
    part.tasks.push(task);
    bytes += size;
  }
  yield part;
}
