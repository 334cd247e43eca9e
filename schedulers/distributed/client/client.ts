/**
 * The client side of the distributed scheduler: a futures API in the style of Dask's
 * `distributed.Client`, plus `get` (the `Scheduler` contract) built on it.
 *
 * This file is the connection and the runs: `submit(graph, keys)` encodes the graph
 * (`encode-graph.ts`: validated and serialized here, GraphError before anything is sent),
 * sends the graph in parts, naming the worker each large payload goes to, then uploads those
 * straight to their workers (the scheduler starts a task once the client reports its inputs
 * stored, so compute overlaps the rest of the upload), and returns one
 * `Future` (`future.ts`) per key at once. The scheduler then reports, per key, which worker
 * holds the value; `result()` fetches it directly from that worker (`gather.ts`). Values stay on the cluster until the
 * futures are released or cancelled, so a later graph may refer to a live future's key with
 * `{ $ref: key }` without the key being in that graph (that is what `persist` is for).
 *
 * If the scheduler goes away every pending future fails with ConnectionError, and the client
 * reconnects with backoff for `reconnectTimeoutMs` (a `get` meanwhile waits for it; `submit`
 * throws). A restarted scheduler knows none of the earlier runs, so persisted futures fail too.
 * A refused token or certificate is an AuthError at connect time, and is never retried.
 *
 * When no worker is connected, each run emits a `no-workers` event at once; the scheduler
 * fails its waiting tasks after its no-worker timeout (NoWorkersError).
 */
import * as grpc from '@grpc/grpc-js';
import { AbortedError, AuthError, ConnectionError, GraphError, NoWorkersError, SchedulerClosedError, TaskError, WorkerLostError, type GraphErrorCode } from '../../errors.js';
import type { Graph, Key, RunOptions, TaskPhases, TlsOptions, TransferStats } from '../../types.js';
import { CHANNEL_OPTIONS, protocol, type ClientMessage, type ClientUpdate, type ErrorInfo, type RunProgress, type TaskPhases as WirePhases, type WorkerInfo } from '../protocol.js';
import { callError, callMetadata, channelCredentials, type SecurityOptions } from '../security.js';
import { encodeValuePieces, piecesLength } from '../codec.js';
import { argsDataIdOf, dataIdOf } from '../ids.js';
import { DataClients } from '../transfer.js';
import { estimateSize } from '../../size-estimate.js';
import { encodeGraph, splitParts, type EncodedGraph } from './encode-graph.js';
import { Future, type ClientRun, type FutureStatus } from './future.js';
import { Gatherer } from './gather.js';

export { Future, type FutureStatus };

export interface ClientOptions {
  /** host:port of the scheduler. */
  address: string;
  token?: string;
  tls?: TlsOptions;
  /** Fail with ConnectionError if the scheduler does not answer within this time. Default 10 s. */
  connectTimeoutMs?: number;
  /** After losing the scheduler, keep trying to reconnect this long (0: do not). Default 60 s. */
  reconnectTimeoutMs?: number;
  /** Large literals wait this long for a worker to upload them to (NoWorkersError). Default 60 s. */
  noWorkerTimeoutMs?: number;
}

export const DEFAULT_CLIENT_RECONNECT_TIMEOUT_MS = 60_000;
/** One Put of a run's upload carries about this many bytes; its values' tasks may start once it completes. */
const UPLOAD_PUT_BYTES = 4 * 1024 * 1024;

type Upload = EncodedGraph['uploads'][number];

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
  /** Set while reconnecting after losing the scheduler; resolves once connected again or given up. */
  private reconnecting: Promise<void> | undefined;
  private closed = false;
  private grpcClient!: ConnectClient;
  private stream!: grpc.ClientDuplexStream<ClientMessage, ClientUpdate>;
  private sendChain: Promise<void> = Promise.resolve();
  private readonly counters: Required<TransferStats> = { tasks: 0, bytesToWorkers: 0, bytesFromWorkers: 0, bytesBetweenWorkers: 0, bytesSpilled: 0, bytesReadBack: 0 };
  private readonly data: DataClients;
  private readonly gatherer: Gatherer;

  private constructor(
    readonly address: string,
    private readonly security: SecurityOptions,
    private readonly options: ClientOptions,
  ) {
    this.data = new DataClients(security);
    this.gatherer = new Gatherer(
      this.data,
      (bytes) => (this.counters.bytesFromWorkers += bytes),
      () => this.broken ?? (this.closed ? new SchedulerClosedError('distributed') : undefined),
    );
  }

  /** Connect to the scheduler at `options.address`; rejects with AuthError or ConnectionError. */
  static async connect(options: ClientOptions): Promise<Client> {
    const client = new Client(options.address, { token: options.token, tls: options.tls }, options);
    await client.open(options.connectTimeoutMs ?? 10_000);
    return client;
  }

  /** Open the `Connect` stream (a new channel each time); resolves on the scheduler's welcome. */
  private open(timeoutMs: number): Promise<void> {
    const { address } = this;
    const { credentials, options: channelOptions } = channelCredentials(this.security);
    const grpcClient = new (protocol().Scheduler)(address, credentials, { ...CHANNEL_OPTIONS, ...channelOptions }) as unknown as ConnectClient;
    const stream = grpcClient.Connect(callMetadata(this.security.token));
    this.grpcClient = grpcClient;
    this.stream = stream;
    return new Promise<void>((resolve, reject) => {
      let welcomed = false;
      const timer = setTimeout(() => {
        this.shutdown();
        reject(new ConnectionError(`the scheduler at ${address} did not answer within ${timeoutMs} ms; is \`schedlab scheduler\` running there?`, address));
      }, timeoutMs);
      stream.on('data', (update: ClientUpdate) => {
        if (update.kind === 'welcome') {
          clearTimeout(timer);
          welcomed = true;
          this.clientId = update.welcome.client_id;
          this.setRoster(update.welcome.workers);
          resolve();
        } else this.onUpdate(update);
      });
      stream.on('error', (err) => {
        clearTimeout(timer);
        const error = callError(err, address, 'the scheduler');
        if (!welcomed) {
          this.shutdown();
          reject(error);
        } else this.lose(error);
      });
      stream.on('end', () => this.lose(new ConnectionError(`the scheduler at ${address} closed the connection`, address)));
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
      if (this.reconnecting) await this.reconnecting;
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
    if (this.reconnecting) await this.reconnecting;
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

  /** Uploads need a worker: wait for one for the no-worker timeout, then fail with NoWorkersError. */
  private async waitForAWorker(): Promise<void> {
    const timeoutMs = this.options.noWorkerTimeoutMs ?? 60_000;
    try {
      await this.waitForWorkers(1, timeoutMs);
    } catch (err) {
      if (this.roster.length === 0 && err instanceof ConnectionError && !this.broken && !this.closed) throw new NoWorkersError(noWorkersMessage(this.address, timeoutMs), this.address);
      throw err;
    }
  }

  /** Tell the runs listening for events that no worker is connected (at submit, or when the last one left). */
  private tellNoWorkers(runs: Iterable<ClientRun>): void {
    if (this.roster.length > 0) return;
    const message = `no worker is connected to the scheduler at ${this.address}; start one with \`schedlab worker ${this.address}\``;
    for (const run of runs) run.onEvent?.({ type: 'no-workers', time: performance.timeOrigin + performance.now(), message });
  }

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
    const had = this.roster.length;
    this.roster = workers;
    for (const wake of this.rosterWaiters.splice(0)) wake();
    if (had > 0 && workers.length === 0) this.tellNoWorkers(this.runs.values());
  }

  /** The scheduler went away: every pending future fails with `error`; reconnect if allowed. */
  private lose(error: Error): void {
    if (this.broken || this.closed) return;
    this.broken = error;
    for (const run of this.runs.values()) for (const list of run.futures.values()) for (const f of list) f.settle('error', error);
    this.runs.clear();
    // The scheduler held the values of persisted futures: they are gone with it.
    for (const future of this.live.values()) if (future.status === 'finished') future.settle('error', error);
    this.live.clear();
    this.roster = [];
    for (const wake of this.rosterWaiters.splice(0)) wake();
    this.shutdown();
    const timeoutMs = this.options.reconnectTimeoutMs ?? DEFAULT_CLIENT_RECONNECT_TIMEOUT_MS;
    if (timeoutMs > 0 && !(error instanceof AuthError)) this.reconnecting = this.reconnect(error, timeoutMs);
  }

  /** Try to reach the scheduler again with backoff (0.1 s doubling to 5 s) for `timeoutMs`. */
  private async reconnect(lost: Error, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let delay = 100;
    let last: Error = lost;
    while (!this.closed && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
      delay = Math.min(5_000, delay * 2);
      if (this.closed) break;
      try {
        await this.open(Math.max(1_000, Math.min(10_000, deadline - Date.now())));
        if (this.closed) this.shutdown();
        this.broken = undefined;
        this.reconnecting = undefined;
        return;
      } catch (err) {
        last = err as Error;
        if (err instanceof AuthError) break;
      }
    }
    this.reconnecting = undefined;
    this.broken = new ConnectionError(`lost the scheduler at ${this.address} and could not reconnect within ${timeoutMs} ms: ${last.message}`, this.address, { cause: last });
  }

  private start(graph: Graph, keys: Key[], options: RunOptions, keep: boolean): Future[] {
    this.check();
    const runNumber = this.nextRun++;
    const live = new Map<Key, string>();
    for (const [key, future] of this.live) live.set(key, future.dataId);
    const encoded = encodeGraph(graph, keys, this.clientId, runNumber, live);
    this.counters.bytesToWorkers += encoded.bytesToWorkers;
    const run: ClientRun = { run: runNumber, futures: new Map(), onEvent: options.onEvent, local: encoded.local, uploaded: encoded.uploaded };
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
    if (run.futures.size > run.local.size) queueMicrotask(() => this.tellNoWorkers([run]));
    const events = !!options.onEvent;
    const fail = (err: unknown): void => this.failRun(run, err instanceof Error ? err : new Error(String(err)));
    this.sendChain = this.sendChain
      .then(() => this.placeUploads(run, encoded.uploads))
      .then(() => {
        this.sendParts(run, encoded, events);
        // The uploads travel after the graph, off the chain: the next run's graph need not wait for them.
        if (encoded.uploads.length) void this.upload(run, encoded.uploads).catch(fail);
      })
      .catch(fail);
    return futures;
  }

  /**
   * Choose a worker for each large literal and args blob, round-robin in the graph's order
   * (a blocked array's blocks alternate, row by row), then order them by priority, so the
   * first tasks' inputs go first; the graph names these placements and the scheduler holds
   * their tasks until `upload` reports each one stored.
   */
  private async placeUploads(run: ClientRun, uploads: Upload[]): Promise<void> {
    if (!uploads.length) return;
    await this.waitForAWorker();
    for (const { node, byteLength } of uploads) {
      const worker = this.roster[this.nextUpload++ % this.roster.length]!;
      const dataId = node.op ? argsDataIdOf(this.clientId, run.run, node.key) : dataIdOf(this.clientId, run.run, node.key);
      node.placed = { worker: worker.id, data_id: dataId, nbytes: byteLength };
    }
    uploads.sort((a, b) => a.node.priority - b.node.priority);
  }

  /**
   * Put the placed payloads on their workers (all workers at once, each one's in priority
   * order) in Puts of about UPLOAD_PUT_BYTES, and report each Put's values to the scheduler as
   * soon as it completes: tasks start on the first inputs while the rest is still travelling,
   * instead of after the whole upload. If a worker fails a Put, what it had not stored goes to
   * whichever worker takes it. Stops early once the run is over (cancelled, or its get failed).
   */
  private async upload(run: ClientRun, uploads: Upload[]): Promise<void> {
    const byWorker = new Map<string, Upload[]>();
    for (const item of uploads) {
      const list = byWorker.get(item.node.placed!.worker) ?? [];
      list.push(item);
      byWorker.set(item.node.placed!.worker, list);
    }
    try {
      await Promise.all(
        [...byWorker].map(async ([workerId, items]) => {
          const worker = this.roster.find((w) => w.id === workerId);
          for (let next = 0; next < items.length; ) {
            if (!this.runs.has(run.run) || this.broken || this.closed) return;
            let bytes = 0;
            let end = next;
            while (end < items.length && (end === next || bytes + items[end]!.byteLength <= UPLOAD_PUT_BYTES)) bytes += items[end++]!.byteLength;
            const chunk = items.slice(next, end);
            try {
              if (!worker) throw new ConnectionError(`worker ${workerId} left before the upload`, workerId);
              await this.data.put(worker.data_address, chunk.map(({ node, pieces }) => ({ dataId: node.placed!.data_id, bytes: pieces })));
            } catch (err) {
              const failed = { worker: workerId, error: worker ? callError(err, worker.data_address, `worker ${worker.id}`) : err };
              for (const { node, pieces } of items.slice(next)) await this.putAnywhere(run, node.placed!.data_id, pieces, failed);
              return;
            }
            this.send({ uploaded: { run: run.run, placed: chunk.map(({ node }) => node.placed!) } });
            next = end;
          }
        }),
      );
    } catch (err) {
      if (this.runs.has(run.run)) this.send({ cancel: { run: run.run } });
      throw err;
    }
  }

  /** The worker holding an uploaded literal died: upload it again, to the first worker that takes it. */
  private async reupload(run: ClientRun, dataId: string): Promise<void> {
    if (!run.uploaded.has(dataId)) return;
    const value = run.uploaded.get(dataId);
    await this.putAnywhere(run, dataId, encodeValuePieces(value));
    this.counters.bytesToWorkers += estimateSize(value, false);
  }

  /**
   * Put one value on the first worker that takes it (trying each connected one once, except
   * `failed.worker`, which failed already) and report it stored; throws the last failure.
   */
  private async putAnywhere(run: ClientRun, dataId: string, pieces: Uint8Array[], failed?: { worker: string; error: unknown }): Promise<void> {
    const nbytes = piecesLength(pieces);
    const tried = new Set<string>(failed ? [failed.worker] : []);
    let lastError = failed?.error;
    for (;;) {
      await this.waitForAWorker();
      const untried = this.roster.filter((w) => !tried.has(w.id));
      if (!untried.length) throw lastError;
      const worker = untried[this.nextUpload++ % untried.length]!;
      tried.add(worker.id);
      try {
        await this.data.put(worker.data_address, [{ dataId, bytes: pieces }]);
      } catch (err) {
        lastError = callError(err, worker.data_address, `worker ${worker.id}`);
        continue;
      }
      this.send({ uploaded: { run: run.run, placed: [{ worker: worker.id, data_id: dataId, nbytes }] } });
      return;
    }
  }

  private sendParts(run: ClientRun, encoded: EncodedGraph, events: boolean): void {
    this.check();
    const parts = splitParts(encoded.nodes);
    const last = parts.pop()!;
    // The externals go first: every part's inputs may name them.
    let externals = encoded.externals;
    for (const { nodes, ops } of parts) {
      this.send({ submit: { run: run.run, nodes, ops, wanted: [], externals, final: false, events } });
      externals = [];
    }
    if (!encoded.wanted.length && !encoded.externals.length && !last.nodes.length) return;
    this.send({ submit: { run: run.run, nodes: last.nodes, ops: last.ops, wanted: encoded.wanted, externals, final: true, events } });
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
    this.counters.bytesSpilled += progress.bytes_spilled ?? 0;
    this.counters.bytesReadBack += progress.bytes_read_back ?? 0;
    const run = this.runs.get(progress.run);
    if (!run) return;
    if (run.onEvent) {
      for (const e of progress.events) {
        run.onEvent(
          e.finished
            ? { type: 'task-end', key: e.key, worker: e.worker, start: e.start, end: e.end, ok: e.ok, ...(e.phases ? { phases: publicPhases(e.phases) } : {}) }
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
  resultOf(future: Future): Promise<unknown> {
    return this.gatherer.resultOf(future);
  }
}

const noWorkersMessage = (address: string, timeoutMs: number): string =>
  `no worker connected to the scheduler at ${address} within ${timeoutMs} ms, so the run could not proceed; start one with \`schedlab worker ${address}\``;

/** Rebuild the schedlab error class from its wire form. */
function toError(info: ErrorInfo): Error {
  if (info.kind === 'graph' || info.code === 'UNKNOWN_OP') {
    const code = (['CYCLE', 'MISSING_KEY', 'BAD_NODE', 'UNKNOWN_OP'].includes(info.code) ? info.code : 'BAD_NODE') as GraphErrorCode;
    return new GraphError(code, info.message, info.keys.length ? info.keys : info.key ? [info.key] : []);
  }
  if (info.kind === 'worker-lost') return new WorkerLostError(info.message, { key: info.key || undefined, worker: info.worker || undefined });
  if (info.kind === 'no-workers') return new NoWorkersError(info.message);
  return new TaskError({
    key: info.key,
    op: info.op,
    errorName: info.name,
    errorMessage: info.message,
    remoteStack: info.stack || undefined,
    worker: info.worker || undefined,
  });
}

/** The wire's phases as the public event's (camelCase; `transferAt` only when it fetched). */
function publicPhases(p: WirePhases): TaskPhases {
  const phases: TaskPhases = { waiting: p.waiting, transfer: p.transfer, deserialize: p.deserialize, compute: p.compute, report: p.report };
  if (p.transfer_at) phases.transferAt = p.transfer_at;
  return phases;
}
