/**
 * The `bullmq` scheduler: the one local engine drives the graph (as for sync, threads and
 * processes) and submits its batches as jobs on a BullMQ queue in Redis; BullMQ workers on
 * any machine (`schedlab bullmq-worker URL`) run them. Values stay in Redis between tasks
 * (run.ts); the engine reads back only what `get` returns.
 *
 * With `redis`, it uses that server and the workers already serving it (a `get` fails at once
 * when none does), plus `workers` local worker processes if that option is given. Without
 * `redis`, it starts an embedded cluster (local-cluster.ts: a throwaway redis-server and
 * `workers` worker processes). `close()` stops whatever it started.
 */
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { OptionError, SchedulerClosedError, WorkerLostError } from '../errors.js';
import { runGraph, type EngineOptions } from '../local/engine.js';
import type { Graph, Key, Scheduler, SchedulerOptions, TransferStats } from '../types.js';
import { BatchQueue } from './batch-queue.js';
import { parseRedisUrl, type RedisTarget } from './connection.js';
import { startBullmqCluster, type BullmqCluster } from './local-cluster.js';
import { QUEUE_NAME } from './protocol.js';
import { BullmqRun, ThreadNames } from './run.js';

export { startBullmqWorker, type BullmqWorkerOptions, type RunningBullmqWorker } from './worker.js';
export { parseRedisUrl } from './connection.js';

export interface BullmqSchedulerOptions extends SchedulerOptions {
  /** Embedded cluster only: BullMQ's stalled-job check interval in ms (default BullMQ's 30 000). */
  stalledIntervalMs?: number;
  /** Embedded cluster only: BullMQ's job lock in ms; a killed worker's job is retried after it expires (default 30 000). */
  lockDurationMs?: number;
  /** Give up connecting to Redis after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** Allow a non-loopback `redis` without a password or TLS (anyone who reaches it could run ops on the workers). */
  insecure?: boolean;
}

/** A bullmq `Scheduler` that also exposes its embedded cluster, if it owns one. */
export interface BullmqScheduler extends Scheduler {
  readonly cluster: BullmqCluster | undefined;
  /** The Redis in use, password hidden. */
  readonly redis: string;
}

export async function createBullmqScheduler(options: BullmqSchedulerOptions = {}): Promise<BullmqScheduler> {
  const started = performance.now();
  const { workers } = options;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) throw new OptionError('workers', `workers must be a positive integer, got ${workers}`);
  for (const name of ['stalledIntervalMs', 'lockDurationMs', 'connectTimeoutMs'] as const) {
    const v = options[name];
    if (v !== undefined && (!Number.isFinite(v) || v <= 0)) throw new OptionError(name, `${name} must be a positive number of milliseconds, got ${String(v)}`);
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const given = options.redis === undefined ? undefined : parseRedisUrl(options.redis, { tls: options.tls, insecure: options.insecure });
  const cluster =
    options.redis === undefined || workers !== undefined
      ? await startBullmqCluster({
          workers: workers ?? availableParallelism(),
          redis: options.redis === undefined ? undefined : { url: options.redis, tls: options.tls, insecure: options.insecure },
          stalledIntervalMs: options.stalledIntervalMs,
          lockDurationMs: options.lockDurationMs,
        })
      : undefined;
  const target: RedisTarget = given ?? parseRedisUrl(cluster!.url);
  let queue: BatchQueue;
  try {
    queue = await BatchQueue.open(target, connectTimeoutMs);
  } catch (err) {
    await cluster?.close();
    throw err;
  }
  // The embedded Redis has only our workers; a given one may have others as well: ask it.
  const clusterSlots = options.redis === undefined ? (workers ?? availableParallelism()) : undefined;
  let knownSlots = clusterSlots ?? (await queue.workerSlots().catch(() => 0));
  const stats: TransferStats = { tasks: 0, bytesToWorkers: 0, bytesFromWorkers: 0, bytesBetweenWorkers: 0 };
  const names = new ThreadNames();
  let closing: Promise<void> | undefined;
  const startupSeconds = (performance.now() - started) / 1000;

  /** Op threads to keep busy: the embedded cluster's, or what the workers on the given Redis announce. */
  async function slots(): Promise<number> {
    if (clusterSlots !== undefined) return clusterSlots;
    const n = (knownSlots = await queue.workerSlots());
    if (n === 0) throw new WorkerLostError(`no BullMQ worker serves the queue "${QUEUE_NAME}" on ${target.shown}; start one with \`schedlab bullmq-worker ${target.shown}\``);
    return n;
  }

  return {
    name: 'bullmq',
    /** Op threads serving the queue (embedded: the worker processes; given Redis: as last counted). */
    get workers() {
      return knownSlots;
    },
    startupSeconds,
    cluster,
    redis: target.shown,
    async get(graph: Graph, keys: Key[], runOptions?: EngineOptions): Promise<unknown[]> {
      if (closing) throw new SchedulerClosedError('bullmq');
      await queue.ready(connectTimeoutMs);
      const run = new BullmqRun(await slots(), queue, randomUUID(), stats, names);
      let ok = false;
      try {
        await run.start();
        const values = await run.resolve(await runGraph(graph, keys, run, stats, runOptions));
        ok = true;
        return values;
      } catch (err) {
        if (closing) throw new SchedulerClosedError('bullmq');
        throw err;
      } finally {
        await run.end(!ok);
      }
    },
    stats: () => ({ ...stats }),
    close(): Promise<void> {
      closing ??= (async () => {
        await queue.close();
        await cluster?.close();
      })();
      return closing;
    },
  };
}
