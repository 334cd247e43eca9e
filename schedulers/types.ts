/**
 * Public types of schedlab: the graph model and the scheduler contract.
 *
 * Everything here is plain data or an interface, so that graphs, events and stats can be
 * cloned, sent over IPC and gRPC, stored in results files and replayed. It imports only the
 * project's shared names (common/cells.ts, itself import-free), so every other module may
 * import it without creating a cycle.
 */
import type { SchedulerName } from '../common/cells.js';

export { SCHEDULER_NAMES, type SchedulerName } from '../common/cells.js';

/** Name of a node in a graph. */
export type Key = string;

/** "The value of that key": may appear anywhere inside a task's `args` (arrays, plain objects). */
export interface Ref {
  $ref: Key;
}

/**
 * Run `op(...args)`. `op` is `"<module>#<export>"` where `<module>` is an absolute `file:` URL
 * or a bare package specifier; build it with `opRef(import.meta.url, 'name')`.
 */
export interface Task {
  op: string;
  args: unknown[];
}

/** A literal value node. */
export interface ValueNode {
  value: unknown;
}

/** A node is a task or a literal value. */
export type GraphNode = Task | ValueNode;

/** A task graph: plain data, keyed by name. */
export type Graph = Record<Key, GraphNode>;

/** Options for `createScheduler`. */
export interface SchedulerOptions {
  /** Worker threads / processes to start. Default: `os.availableParallelism()`. Ignored by `sync`. */
  workers?: number;
  /** distributed: connect to a running scheduler at `host:port`; absent = start a local cluster. */
  address?: string;
  /** distributed: shared secret sent by clients and workers. */
  token?: string;
  /** distributed: TLS material (PEM). With `ca`, the server requires client certificates (mutual TLS). bullmq: for `rediss://`. */
  tls?: TlsOptions;
  /** Serve the live dashboard while this scheduler runs (`true`: on port 8787 of 127.0.0.1). */
  dashboard?: DashboardOptions | boolean;
  /** bullmq: the Redis to use, `redis://[user:password@]host:port[/db]` or `rediss://…`; absent = start an embedded redis-server and workers. */
  redis?: string;
}

/** Where and how the live dashboard listens (see README, "Live dashboard"). */
export interface DashboardOptions {
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. A non-loopback host needs `token`, `tls` or `insecure`. */
  host?: string;
  /** Required on every request (the page asks for it). */
  token?: string;
  /** Serve HTTPS with this PEM certificate and key. */
  tls?: { cert?: string | Buffer; key?: string | Buffer };
  /** Allow a non-loopback host with neither token nor TLS. */
  insecure?: boolean;
  /** Milliseconds between pushed updates (default 250). */
  intervalMs?: number;
  /** Where the dashboard's address is printed (default: a line on stderr); `false`: nowhere. */
  log?: ((line: string) => void) | false;
}

/** PEM-encoded TLS material for the distributed scheduler. */
export interface TlsOptions {
  /** CA certificate(s) used to verify the peer. */
  ca?: string | Buffer;
  /** This side's certificate chain. */
  cert?: string | Buffer;
  /** This side's private key. */
  key?: string | Buffer;
  /** Host name expected in the server certificate (client side), when it differs from the address. */
  serverName?: string;
}

/** Options for one `get` call. */
export interface RunOptions {
  /** Called for every scheduler event of this run (synchronously, on the main thread). */
  onEvent?: (e: SchedulerEvent) => void;
  /** Aborting rejects `get` with an `AbortedError`; running work is abandoned and the scheduler stays usable. */
  signal?: AbortSignal;
}

/**
 * Scheduler events. Times are epoch milliseconds with sub-millisecond resolution
 * (`performance.timeOrigin + performance.now()`), comparable across threads and processes
 * of one machine.
 */
export type SchedulerEvent =
  /** A task was handed to a worker (main-side time of submission). */
  | { type: 'task-start'; key: Key; worker: string; time: number }
  /**
   * A task finished on a worker; `start`/`end` are measured where it ran. `phases` (distributed
   * only): milliseconds it spent waiting, fetching inputs (transfer), decoding them
   * (deserialize), running (compute) and handing its result back (report).
   */
  | { type: 'task-end'; key: Key; worker: string; start: number; end: number; ok: boolean; phases?: TaskPhases }
  /** distributed: no worker is connected, so the run waits (and fails after the scheduler's no-worker timeout). */
  | { type: 'no-workers'; time: number; message: string };

/** Where a distributed task's time went on its worker, in milliseconds. */
export interface TaskPhases {
  waiting: number;
  transfer: number;
  deserialize: number;
  compute: number;
  report: number;
  /** Epoch ms when the first fetch it waited for began (absent: it fetched nothing). */
  transferAt?: number;
}

/** Cumulative transfer counters of one scheduler since it was created. */
export interface TransferStats {
  /** Tasks run (a fused chain counts as its original tasks). */
  tasks: number;
  /** Bytes sent from the main process (client) to workers: args, literal values, inputs. */
  bytesToWorkers: number;
  /** Bytes sent from workers back to the main process (client): results, intermediates. */
  bytesFromWorkers: number;
  /** Bytes sent directly from one worker to another (distributed only; 0 elsewhere). */
  bytesBetweenWorkers: number;
  /** distributed: bytes workers wrote to disk to stay under their memory limit (absent elsewhere). */
  bytesSpilled?: number;
  /** distributed: bytes workers read back from disk for the tasks that needed them. */
  bytesReadBack?: number;
}

/** A scheduler: run graphs, report cumulative stats, stop its workers. */
export interface Scheduler {
  readonly name: SchedulerName;
  /** Number of workers this scheduler runs on (1 for sync). */
  readonly workers: number;
  /** Seconds spent starting the pool (threads/processes spawned and ready), measured in `createScheduler`. */
  readonly startupSeconds: number;
  /** The live dashboard's address, when it was asked for. */
  readonly dashboardUrl?: string;
  /**
   * True when a result that no caller asked for and exactly one task consumes goes to that
   * task unread, its memory moved rather than copied (threads' sealed values). The cost model
   * prices such values at nothing (model/simulate.ts `sealed`).
   */
  readonly sealsResults?: boolean;
  /** Compute `keys` of `graph`; resolves to their values in the same order. */
  get(graph: Graph, keys: Key[], options?: RunOptions): Promise<unknown[]>;
  /** Cumulative counters since creation. */
  stats(): TransferStats;
  /** Stop every worker thread and process. Idempotent. */
  close(): Promise<void>;
}

/** An error packed to cross a thread, process or network boundary. */
export interface PackedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}
