/**
 * The distributed scheduler (gRPC): `createDistributedScheduler` returns a `Scheduler` backed
 * by a `Client` connected to a running scheduler (`address`) or to a local cluster it starts
 * and owns (one scheduler process and `workers` worker processes on 127.0.0.1), which
 * `close()` stops. The `client` property exposes the futures API on the same connection.
 */
import { availableParallelism } from 'node:os';
import { OptionError } from '../errors.js';
import type { Graph, Key, RunOptions, Scheduler, SchedulerOptions, TransferStats } from '../types.js';
import { Client } from './client/client.js';
import { startLocalCluster, type LocalCluster, type LocalClusterOptions } from './local-cluster.js';

export { Client, Future, type ClientOptions, type FutureStatus } from './client/client.js';
export { runNanny, type NannyOptions } from './nanny.js';
export { startLocalCluster, type LocalCluster, type LocalClusterOptions } from './local-cluster.js';

export interface DistributedSchedulerOptions extends SchedulerOptions {
  /** Local cluster only: executor threads per worker process (default 1). */
  nthreads?: number;
  /** Local cluster only: restart workers that die (default true). */
  restartWorkers?: boolean;
  /** Local cluster only: declare a silent worker lost after this long (default 5000 ms). */
  heartbeatTimeoutMs?: number;
  /** Local cluster only: workers a task may kill before it fails (default 3). */
  allowedFailures?: number;
  /** Connecting: give up after this long (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * A run that waits this long with no worker connected fails with NoWorkersError (default
   * 60 s). Local cluster: its scheduler's timeout; with `address`, the running scheduler's
   * own `--worker-wait-timeout` applies to tasks and this one to uploads of large literals.
   */
  noWorkerTimeoutMs?: number;
  /** Local cluster only: each worker's memory limit (bytes or "4GB", "0.25", "none"); default this machine's memory / workers. */
  memoryLimit?: string | number;
  /** With `address`: after losing the scheduler, reconnect with backoff for this long (default 60 s; 0: do not). A local cluster never reconnects. */
  reconnectTimeoutMs?: number;
}

/** A distributed `Scheduler` that also exposes its futures `Client` and, if it owns one, its local cluster. */
export interface DistributedScheduler extends Scheduler {
  readonly client: Client;
  readonly cluster: LocalCluster | undefined;
}

export async function createDistributedScheduler(options: DistributedSchedulerOptions = {}): Promise<DistributedScheduler> {
  const started = performance.now();
  const { workers, address } = options;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) {
    throw new OptionError('workers', `workers must be a positive integer, got ${workers}`);
  }
  if (address !== undefined && (typeof address !== 'string' || !/^.+:\d+$/.test(address))) {
    throw new OptionError('address', `address must be "host:port" of a running \`schedlab scheduler\`, got ${JSON.stringify(address)}`);
  }
  let cluster: LocalCluster | undefined;
  let client: Client;
  if (address) {
    client = await Client.connect({
      address,
      token: options.token,
      tls: options.tls,
      connectTimeoutMs: options.connectTimeoutMs,
      reconnectTimeoutMs: options.reconnectTimeoutMs,
      noWorkerTimeoutMs: options.noWorkerTimeoutMs,
    });
  } else {
    const clusterOptions: LocalClusterOptions = {
      workers: workers ?? availableParallelism(),
      nthreads: options.nthreads,
      restartWorkers: options.restartWorkers,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      allowedFailures: options.allowedFailures,
      noWorkerTimeoutMs: options.noWorkerTimeoutMs,
      memoryLimit: options.memoryLimit,
    };
    cluster = await startLocalCluster(clusterOptions);
    try {
      client = await Client.connect({
        address: cluster.address,
        token: cluster.token,
        connectTimeoutMs: options.connectTimeoutMs,
        reconnectTimeoutMs: 0,
        noWorkerTimeoutMs: options.noWorkerTimeoutMs,
      });
      await client.waitForWorkers(clusterOptions.workers!);
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }
  const startupSeconds = (performance.now() - started) / 1000;
  let closed = false;
  return {
    name: 'distributed',
    get workers() {
      return client.workers().length;
    },
    startupSeconds,
    client,
    cluster,
    get: (graph: Graph, keys: Key[], runOptions?: RunOptions) => client.get(graph, keys, runOptions),
    stats: (): TransferStats => client.stats(),
    close: async () => {
      if (closed) return;
      closed = true;
      await client.close();
      await cluster?.close();
    },
  };
}
