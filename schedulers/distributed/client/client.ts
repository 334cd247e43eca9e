/**
 * The client side of the distributed scheduler: a futures API in the style of Dask's
 * `distributed.Client`, plus `get` (the `Scheduler` contract) built on it.
 *
 * `submit(graph, keys)` validates the graph HERE (GraphError before anything is sent),
 * serializes args and literals (`codec.ts`: structured clone), and returns one `Future` per key at once.
 * Small payloads travel inline with the graph (split into parts under the message limit);
 * large ones are uploaded straight to a worker first. The scheduler then reports, per key,
 * which worker holds the value; `result()` fetches it directly from that worker (one Fetch
 * per worker for everything asked in the same tick). Values stay on the cluster until the
 * futures are released or cancelled, so a later graph may refer to a live future's key with
 * `{ $ref: key }` without the key being in that graph (that is what `persist` is for).
 *
 * If the scheduler goes away every pending future fails with ConnectionError; a refused token
 * or certificate is an AuthError at connect time.
 */
import * as grpc from '@grpc/grpc-js';
import { AbortedError, ConnectionError, GraphError, SchedulerClosedError, TaskError, WorkerLostError, type GraphErrorCode } from '../../errors.js';
import { isTask, orderIndices, taskDependencies, validateGraph } from '../../graph.js';
import type { Graph, Key, RunOptions, SchedulerEvent, TlsOptions, TransferStats } from '../../types.js';
import {
  CHANNEL_OPTIONS,
  INLINE_PAYLOAD_BYTES,
  protocol,
  SUBMIT_PART_BYTES,
  type ClientMessage,
  type ClientUpdate,
  type ErrorInfo,
  type ExternalRef,
  type KeyDone,
  type NodeSpec,
  type RunProgress,
  type WorkerInfo,
} from '../protocol.js';
import { callError, callMetadata, channelCredentials, type SecurityOptions } from '../security.js';
import { decodeValue, encodeValue } from '../codec.js';
import { argsDataIdOf, dataIdOf } from '../ids.js';
import { DataClients } from '../transfer.js';
import { estimateSize } from '../../size-estimate.js';

export interface ClientOptions {
  /** host:port of the scheduler. */
  address: string;
  token?: string;
  tls?: TlsOptions;
  /** Fail with ConnectionError if the scheduler does not answer within this time. Default 10 s. */
  connectTimeoutMs?: number;
}

export type FutureStatus = 'pending' | 'finished' | 'error' | 'cancelled' | 'released';

/** A value being computed (or computed) on the cluster. */
export class Future {
  status: FutureStatus = 'pending';
  /** @internal */ location: KeyDone | undefined;
  /** @internal */ error: Error | undefined;
  /** @internal */ value: Promise<unknown> | undefined;
  /** @internal */ waiters: Array<() => void> = [];
  /** @internal */ readonly dataId: string;

  /** @internal */
  constructor(
    readonly key: Key,
    /** @internal */ readonly run: ClientRun,
    private readonly client: Client,
  ) {
    this.dataId = dataIdOf(client.clientId, run.run, key);
  }

  /** Resolves once the future finished, failed or was cancelled (never rejects). */
  done(): Promise<void> {
    if (this.status !== 'pending') return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The value (fetched from the worker that holds it); rejects with the task's error. */
  result(): Promise<unknown> {
    return this.client.resultOf(this);
  }

  cancel(): Promise<void> {
    return this.client.cancel([this]);
  }

  /** @internal */
  settle(status: FutureStatus, error?: Error): void {
    if (this.status !== 'pending') return;
    this.status = status;
    this.error = error;
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** @internal A submitted graph as the client tracks it. */
interface ClientRun {
  run: number;
  futures: Map<Key, Future[]>;
  onEvent: ((e: SchedulerEvent) => void) | undefined;
  /** Literal values wanted as outputs: resolved locally, never sent for. */
  local: Map<Key, unknown>;
  /** What was uploaded to workers (literal values, large args), by data id: uploaded again if lost. */
  uploaded: Map<string, unknown>;
}

type ConnectClient = grpc.Client & { Connect(md: grpc.Metadata): grpc.ClientDuplexStream<ClientMessage, ClientUpdate> };

export class Client {
  /** @internal */ clientId = '';
  private roster: WorkerInfo[] = [];
  private rosterWaiters: Array<() => void> = [];
  private readonly runs = new Map<number, ClientRun>();
  private readonly live = new Map<Key, Future>();
  private nextRun = 1;
  private nextUpload = 0;
  private broken: Error | undefined;
  private closed = false;
  private sendChain: Promise<void> = Promise.resolve();
  private readonly counters: TransferStats = { tasks: 0, bytesToWorkers: 0, bytesFromWorkers: 0, bytesBetweenWorkers: 0 };
  private readonly data: DataClients;
  private gatherQueue = new Map<string, Future[]>();
  private gatherScheduled = false;

  private constructor(
    readonly address: string,
    security: SecurityOptions,
    private readonly grpcClient: ConnectClient,
    private readonly stream: grpc.ClientDuplexStream<ClientMessage, ClientUpdate>,
  ) {
    this.data = new DataClients(security);
  }

  /** Connect to the scheduler at `options.address`; rejects with AuthError or ConnectionError. */
  static connect(options: ClientOptions): Promise<Client> {
    const security: SecurityOptions = { token: options.token, tls: options.tls };
    const { credentials, options: channelOptions } = channelCredentials(security);
    const grpcClient = new (protocol().Scheduler)(options.address, credentials, { ...CHANNEL_OPTIONS, ...channelOptions }) as unknown as ConnectClient;
    const stream = grpcClient.Connect(callMetadata(options.token));
    const client = new Client(options.address, security, grpcClient, stream);
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    return new Promise<Client>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.shutdown();
        reject(new ConnectionError(`the scheduler at ${options.address} did not answer within ${timeoutMs} ms; is \`schedlab scheduler\` running there?`, options.address));
      }, timeoutMs);
      stream.on('data', (update: ClientUpdate) => {
        if (update.kind === 'welcome') {
          clearTimeout(timer);
          client.clientId = update.welcome.client_id;
          client.setRoster(update.welcome.workers);
          resolve(client);
        } else client.onUpdate(update);
      });
      stream.on('error', (err) => {
        clearTimeout(timer);
        const error = callError(err, options.address, 'the scheduler');
        if (!client.clientId) {
          client.shutdown();
          reject(error);
        } else client.lose(error);
      });
      stream.on('end', () => client.lose(new ConnectionError(`the scheduler at ${options.address} closed the connection`, options.address)));
    });
  }

  /** Workers connected to the scheduler now. */
  workers(): WorkerInfo[] {
    return this.roster;
  }

  /** Resolves once at least `n` workers are connected. */
  async waitForWorkers(n: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.roster.length < n) {
      this.check();
      const left = deadline - Date.now();
      if (left <= 0) throw new ConnectionError(`only ${this.roster.length} of ${n} workers joined the scheduler at ${this.address} within ${timeoutMs} ms`, this.address);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.rosterWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stats(): TransferStats {
    return { ...this.counters };
  }

  // ---------------------------------------------------------------- futures API

  /** Start computing `keys` of `graph`; returns their futures at once. Throws GraphError for a bad graph. */
  submit(graph: Graph, keys: Key[], options: RunOptions = {}): Future[] {
    return this.start(graph, keys, options, true);
  }

  /** Compute `keys` and keep their values on the cluster; later graphs may `$ref` these keys. */
  async persist(graph: Graph, keys: Key[], options: RunOptions = {}): Promise<Future[]> {
    const futures = this.submit(graph, keys, options);
    await Promise.all(futures.map((f) => f.done()));
    const failed = futures.find((f) => f.status === 'error');
    if (failed) throw failed.error;
    return futures;
  }

  /** The values of `futures`, in order; rejects with the first error. */
  gather(futures: Future[]): Promise<unknown[]> {
    return Promise.all(futures.map((f) => this.resultOf(f)));
  }

  /** Yields the futures as they finish (or fail). */
  async *asCompleted(futures: Future[]): AsyncGenerator<Future> {
    const settled: Future[] = [];
    let wake: (() => void) | undefined;
    for (const future of futures) {
      void future.done().then(() => {
        settled.push(future);
        wake?.();
      });
    }
    for (let yielded = 0; yielded < futures.length; yielded++) {
      while (!settled.length) await new Promise<void>((resolve) => (wake = resolve));
      yield settled.shift()!;
    }
  }

  /** Stop computing these futures and drop their values; their `result()` rejects with AbortedError. */
  cancel(futures: Future[]): Promise<void> {
    this.forget(futures, 'cancelled');
    return Promise.resolve();
  }

  /** Drop the values of these futures from the cluster (they can no longer be referenced or fetched). */
  release(futures: Future[]): void {
    this.forget(futures, 'released');
  }

  // ---------------------------------------------------------------- Scheduler contract

  /** Compute `keys` and fetch their values; the run's data is dropped from the cluster afterwards. */
  async get(graph: Graph, keys: Key[], options: RunOptions = {}): Promise<unknown[]> {
    const signal = options.signal;
    if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });
    const futures = this.start(graph, keys, options, false);
    const run = futures[0]?.run;
    const work = this.gather(futures);
    if (!signal) return this.finish(work, run);
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        if (run) this.send({ cancel: { run: run.run } });
        reject(new AbortedError(undefined, { cause: signal.reason }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await this.finish(Promise.race([work, aborted]), run);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async finish(work: Promise<unknown[]>, run: ClientRun | undefined): Promise<unknown[]> {
    try {
      return await work;
    } finally {
      if (run) {
        this.runs.delete(run.run);
        if (!this.broken && !this.closed) this.send({ release: { run: run.run, keys: [] } });
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new SchedulerClosedError('distributed');
    for (const run of this.runs.values()) for (const list of run.futures.values()) for (const f of list) f.settle('error', error);
    this.shutdown();
  }

  // ---------------------------------------------------------------- internals

  private check(): void {
    if (this.closed) throw new SchedulerClosedError('distributed');
    if (this.broken) throw this.broken;
  }

  private shutdown(): void {
    this.stream.removeAllListeners('end');
    this.stream.cancel();
    this.stream.on('error', () => {});
    this.grpcClient.close();
    this.data.close();
  }

  private send(message: ClientMessage): void {
    if (!this.broken && !this.closed) this.stream.write(message);
  }

  private setRoster(workers: WorkerInfo[]): void {
    this.roster = workers;
    for (const wake of this.rosterWaiters.splice(0)) wake();
  }

  /** The scheduler went away: every pending future fails with `error`. */
  private lose(error: Error): void {
    if (this.broken || this.closed) return;
    this.broken = error;
    for (const run of this.runs.values()) for (const list of run.futures.values()) for (const f of list) f.settle('error', error);
    for (const wake of this.rosterWaiters.splice(0)) wake();
    this.shutdown();
  }

  private start(graph: Graph, keys: Key[], options: RunOptions, keep: boolean): Future[] {
    this.check();
    // Keys this graph refers to but does not define may name live futures of earlier runs.
    const externals: ExternalRef[] = [];
    let view = graph; // the graph plus a placeholder for each external key (a copy only if there are any)
    const external = (key: Key): void => {
      const future = this.live.get(key);
      if (!future || key in view) return;
      if (view === graph) view = { ...graph };
      view[key] = { value: undefined };
      externals.push({ key, data_id: future.dataId });
    };
    if (this.live.size) {
      for (const key in graph) {
        const node = graph[key];
        if (isTask(node)) for (const dep of taskDependencies(node)) external(dep);
      }
      for (const key of keys) external(key);
    }
    const index = validateGraph(view, keys);
    const externalKeys = new Set(externals.map((e) => e.key));
    const priority = orderIndices(index, keys.map((k) => index.indexOf.get(k)!));

    const run: ClientRun = { run: this.nextRun++, futures: new Map(), onEvent: options.onEvent, local: new Map(), uploaded: new Map() };
    const requested = new Set(keys);
    const usedByTask = new Uint8Array(index.keys.length);
    for (let i = 0; i < index.keys.length; i++) if (priority[i]! >= 0) for (const d of index.deps[i]!) usedByTask[d] = 1;
    const nodes: NodeSpec[] = [];
    const uploads: Array<{ node: NodeSpec; bytes: Uint8Array }> = [];
    const wanted = new Set<Key>();
    for (let i = 0; i < index.keys.length; i++) {
      if (priority[i]! < 0) continue;
      const key = index.keys[i]!;
      if (externalKeys.has(key)) continue;
      const node = index.nodes[i]!;
      const task = isTask(node);
      let payload: Uint8Array;
      try {
        payload = encodeValue(task ? node.args : node.value);
      } catch (err) {
        const consumer = task ? key : index.keys.find((_, j) => index.deps[j]!.includes(i)) ?? key;
        throw new TaskError({
          key: consumer,
          op: task ? node.op : (graph[consumer] as { op?: string }).op ?? '',
          errorName: 'DataCloneError',
          errorMessage: `${task ? 'its arguments' : `the value of "${key}"`} cannot be serialized to send to the cluster (${(err as Error).message}); pass plain data, typed arrays or other structured-cloneable values`,
        });
      }
      const spec: NodeSpec = {
        key,
        op: task ? node.op : '',
        payload,
        deps: index.deps[i]!.map((d) => index.keys[d]!),
        priority: priority[i]!,
        placed: null,
      };
      if (payload.byteLength > INLINE_PAYLOAD_BYTES) {
        uploads.push({ node: spec, bytes: payload });
        spec.payload = new Uint8Array(0);
        run.uploaded.set(task ? argsDataIdOf(this.clientId, run.run, key) : dataIdOf(this.clientId, run.run, key), task ? node.args : node.value);
      }
      // Data the client ships, sized as the local schedulers size it: literal values, and args
      // large enough to carry data (small args are the task's description, counted nowhere).
      if ((!task && usedByTask[i]) || (task && payload.byteLength > INLINE_PAYLOAD_BYTES)) {
        this.counters.bytesToWorkers += estimateSize(task ? node.args : node.value, false);
      }
      if (!task && requested.has(key)) run.local.set(key, node.value);
      else if (requested.has(key)) wanted.add(key);
      // A literal is sent only if some task needs it.
      if (task || usedByTask[i]) nodes.push(spec);
    }
    for (const key of externalKeys) if (requested.has(key)) wanted.add(key);

    const futures = keys.map((key) => new Future(key, run, this));
    for (const future of futures) {
      const list = run.futures.get(future.key);
      if (list) list.push(future);
      else run.futures.set(future.key, [future]);
      if (run.local.has(future.key)) {
        future.value = Promise.resolve(structuredClone(run.local.get(future.key)));
        future.settle('finished');
      } else if (keep) {
        this.live.set(future.key, future);
      }
    }
    this.runs.set(run.run, run);
    const events = !!options.onEvent;
    this.sendChain = this.sendChain
      .then(() => this.upload(run, uploads))
      .then(() => this.sendParts(run, nodes, [...wanted], externals, events))
      .catch((err: unknown) => this.failRun(run, err instanceof Error ? err : new Error(String(err))));
    return futures;
  }

  /** Upload large literals and args round-robin across the workers (straight to them, in chunks). */
  private async upload(run: ClientRun, uploads: Array<{ node: NodeSpec; bytes: Uint8Array }>): Promise<void> {
    if (!uploads.length) return;
    await this.waitForWorkers(1);
    const byWorker = new Map<WorkerInfo, Array<{ node: NodeSpec; bytes: Uint8Array }>>();
    for (const item of uploads) {
      const worker = this.roster[this.nextUpload++ % this.roster.length]!;
      const list = byWorker.get(worker) ?? [];
      list.push(item);
      byWorker.set(worker, list);
    }
    await Promise.all(
      [...byWorker].map(async ([worker, items]) => {
        const placed = items.map(({ node, bytes }) => {
          const dataId = node.op ? argsDataIdOf(this.clientId, run.run, node.key) : dataIdOf(this.clientId, run.run, node.key);
          node.placed = { worker: worker.id, data_id: dataId, nbytes: bytes.byteLength };
          return { dataId, bytes };
        });
        try {
          await this.data.put(worker.data_address, placed);
        } catch (err) {
          throw callError(err, worker.data_address, `worker ${worker.id}`);
        }
      }),
    );
  }

  /** The worker holding an uploaded literal died: upload it again, to the first worker that takes it. */
  private async reupload(run: ClientRun, dataId: string): Promise<void> {
    if (!run.uploaded.has(dataId)) return;
    const value = run.uploaded.get(dataId);
    const bytes = encodeValue(value);
    let lastError: unknown;
    for (let attempt = 0; attempt < Math.max(1, this.roster.length); attempt++) {
      await this.waitForWorkers(1);
      const worker = this.roster[this.nextUpload++ % this.roster.length]!;
      try {
        await this.data.put(worker.data_address, [{ dataId, bytes }]);
      } catch (err) {
        lastError = callError(err, worker.data_address, `worker ${worker.id}`);
        continue;
      }
      this.counters.bytesToWorkers += estimateSize(value, false);
      this.send({ reuploaded: { run: run.run, placed: { worker: worker.id, data_id: dataId, nbytes: bytes.byteLength } } });
      return;
    }
    throw lastError;
  }

  private sendParts(run: ClientRun, nodes: NodeSpec[], wanted: Key[], externals: ExternalRef[], events: boolean): void {
    this.check();
    let part: NodeSpec[] = [];
    let bytes = 0;
    for (const node of nodes) {
      const size = 128 + node.key.length + node.op.length + node.payload.byteLength + node.deps.reduce((n, d) => n + d.length + 4, 0);
      if (part.length && bytes + size > SUBMIT_PART_BYTES) {
        this.send({ submit: { run: run.run, nodes: part, wanted: [], externals: [], final: false, events } });
        part = [];
        bytes = 0;
      }
      part.push(node);
      bytes += size;
    }
    if (!wanted.length && !externals.length && !part.length) return;
    this.send({ submit: { run: run.run, nodes: part, wanted, externals, final: true, events } });
  }

  private failRun(run: ClientRun, error: Error): void {
    for (const list of run.futures.values()) for (const f of list) f.settle('error', error);
  }

  private forget(futures: Future[], status: 'cancelled' | 'released'): void {
    const byRun = new Map<ClientRun, Key[]>();
    for (const future of futures) {
      if (this.live.get(future.key) === future) this.live.delete(future.key);
      const error = new AbortedError(`future "${future.key}" was ${status}`);
      if (future.status === 'pending') future.settle(status, error);
      else if (future.status === 'finished') {
        future.status = status;
        future.error = error;
        future.value = undefined;
      }
      const keys = byRun.get(future.run) ?? [];
      keys.push(future.key);
      byRun.set(future.run, keys);
    }
    for (const [run, keys] of byRun) {
      const active = [...run.futures.values()].flat().some((f) => f.status === 'pending' || f.status === 'finished');
      if (!active) {
        this.runs.delete(run.run);
        this.send(status === 'cancelled' ? { cancel: { run: run.run } } : { release: { run: run.run, keys: [] } });
      } else {
        this.send({ release: { run: run.run, keys } });
      }
    }
  }

  private onUpdate(update: ClientUpdate): void {
    if (update.kind === 'roster') this.setRoster(update.roster.workers);
    else if (update.kind === 'progress') this.onProgress(update.progress);
  }

  private onProgress(progress: RunProgress): void {
    this.counters.tasks += progress.tasks_done;
    this.counters.bytesBetweenWorkers += progress.bytes_between_workers;
    const run = this.runs.get(progress.run);
    if (!run) return;
    if (run.onEvent) {
      for (const e of progress.events) {
        run.onEvent(
          e.finished
            ? { type: 'task-end', key: e.key, worker: e.worker, start: e.start, end: e.end, ok: e.ok }
            : { type: 'task-start', key: e.key, worker: e.worker, time: e.time },
        );
      }
    }
    for (const dataId of progress.reupload) {
      this.sendChain = this.sendChain.then(() => this.reupload(run, dataId)).catch((err: unknown) => this.failRun(run, err instanceof Error ? err : new Error(String(err))));
    }
    for (const done of progress.done) {
      for (const future of run.futures.get(done.key) ?? []) {
        future.location = done;
        if (future.status === 'pending') future.settle('finished');
      }
    }
    for (const failed of progress.failed) {
      const error = toError(failed.error);
      const targets = failed.key ? run.futures.get(failed.key) ?? [] : [...run.futures.values()].flat();
      for (const future of targets) {
        if (this.live.get(future.key) === future) this.live.delete(future.key);
        future.settle('error', error);
      }
    }
  }

  /** @internal */
  async resultOf(future: Future): Promise<unknown> {
    await future.done();
    if (future.status !== 'finished') throw future.error ?? new AbortedError(`future "${future.key}" was ${future.status}`);
    if (!future.value) {
      future.value = new Promise<unknown>((resolve, reject) => this.queueGather(future, resolve, reject));
      future.value.catch(() => {
        future.value = undefined;
      });
    }
    return future.value;
  }

  private readonly gatherCallbacks = new Map<Future, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private queueGather(future: Future, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    const address = future.location!.data_address;
    const list = this.gatherQueue.get(address) ?? [];
    list.push(future);
    this.gatherQueue.set(address, list);
    this.gatherCallbacks.set(future, { resolve, reject });
    if (this.gatherScheduled) return;
    this.gatherScheduled = true;
    queueMicrotask(() => {
      this.gatherScheduled = false;
      const queue = this.gatherQueue;
      this.gatherQueue = new Map();
      for (const [addr, futures] of queue) {
        // gatherFrom settles every gather itself; this only keeps a bug in it from escaping.
        this.gatherFrom(addr, futures).catch((err: unknown) => {
          for (const future of futures) this.failGather(future, addr, err);
        });
      }
    });
  }

  /**
   * One Fetch for everything wanted from the worker at `address`. A failed call (the worker
   * died or dropped the value) waits for the scheduler to name a new holder; a refused call or
   * a reply that cannot be read fails those gathers at once, naming the key and the worker.
   */
  private async gatherFrom(address: string, futures: Future[]): Promise<void> {
    const ids = [...new Set(futures.map((f) => f.location!.data_id))];
    let values: Map<string, Buffer>;
    try {
      values = await this.data.fetch(address, ids);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const retry = typeof code === 'number' && !REFUSED.has(code);
      for (const future of futures) {
        if (retry) this.refetch(future, err);
        else this.failGather(future, address, err);
      }
      return;
    }
    const decoded = new Map<string, unknown>();
    for (const future of futures) {
      const dataId = future.location!.data_id;
      if (!decoded.has(dataId)) {
        const bytes = values.get(dataId)!;
        let value: unknown;
        try {
          value = decodeValue(bytes);
        } catch (err) {
          const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
          this.failGather(future, address, new Error(`its ${bytes.byteLength} bytes (${head}${bytes.byteLength > 8 ? ' ...' : ''}) do not decode: ${(err as Error).message}`, { cause: err }));
          continue;
        }
        decoded.set(dataId, value);
        this.counters.bytesFromWorkers += estimateSize(value, false);
      }
      const callbacks = this.gatherCallbacks.get(future);
      this.gatherCallbacks.delete(future);
      callbacks?.resolve(decoded.get(dataId));
    }
  }

  /** Reject `future`'s pending gather: its value could not be fetched from `address` or read. */
  private failGather(future: Future, address: string, cause: unknown): void {
    const callbacks = this.gatherCallbacks.get(future);
    if (!callbacks) return;
    this.gatherCallbacks.delete(future);
    const location = future.location;
    const worker = location?.data_address === address ? `worker ${location.worker} at ${address}` : `the worker at ${address}`;
    const reason = cause instanceof Error ? cause.message : String(cause);
    callbacks.reject(
      new ConnectionError(`could not read the value of "${future.key}" (data id ${location?.data_id}) fetched from ${worker}: ${reason}`, address, { cause }),
    );
  }

  /**
   * The worker holding the value did not serve it (it probably died): the scheduler recomputes
   * values that are still wanted and reports the new location; wait for it, within a bound.
   */
  private refetch(future: Future, cause: unknown): void {
    const callbacks = this.gatherCallbacks.get(future);
    if (!callbacks) return;
    const stale = future.location;
    const deadline = Date.now() + 60_000;
    const poll = (): void => {
      if (this.broken || this.closed) {
        this.gatherCallbacks.delete(future);
        callbacks.reject(this.broken ?? new SchedulerClosedError('distributed'));
      } else if (future.location !== stale) {
        this.queueGather(future, callbacks.resolve, callbacks.reject);
      } else if (Date.now() > deadline) {
        this.gatherCallbacks.delete(future);
        callbacks.reject(
          new WorkerLostError(`could not fetch "${future.key}" from worker ${stale?.worker} (${(cause as Error).message}) and it was not recomputed within 60 s`, {
            key: future.key,
            worker: stale?.worker,
          }),
        );
      } else setTimeout(poll, 50);
    };
    poll();
  }
}

/** grpc codes of a Fetch the worker refused outright: fetching again from a new holder cannot help. */
const REFUSED = new Set<number>([
  grpc.status.UNAUTHENTICATED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.UNIMPLEMENTED,
]);

/** Rebuild the schedlab error class from its wire form. */
function toError(info: ErrorInfo): Error {
  if (info.kind === 'graph' || info.code === 'UNKNOWN_OP') {
    const code = (['CYCLE', 'MISSING_KEY', 'BAD_NODE', 'UNKNOWN_OP'].includes(info.code) ? info.code : 'BAD_NODE') as GraphErrorCode;
    return new GraphError(code, info.message, info.keys.length ? info.keys : info.key ? [info.key] : []);
  }
  if (info.kind === 'worker-lost') return new WorkerLostError(info.message, { key: info.key || undefined, worker: info.worker || undefined });
  return new TaskError({
    key: info.key,
    op: info.op,
    errorName: info.name,
    errorMessage: info.message,
    remoteStack: info.stack || undefined,
    worker: info.worker || undefined,
  });
}
