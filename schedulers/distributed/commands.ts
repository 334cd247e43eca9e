/**
 * The `schedlab scheduler` and `schedlab worker <host:port>` commands as plain functions over
 * plain option objects (the CLI parses flags into these; the local cluster's entry files call
 * them too). Both run until SIGINT/SIGTERM, or until `close()`; TLS options are PEM file paths.
 */
import { availableParallelism, totalmem } from 'node:os';
import { OptionError } from '../errors.js';
import { readPem } from '../pem-files.js';
import type { TlsOptions } from '../types.js';
import type { SecurityOptions } from './security.js';
import { startSchedulerServer } from './scheduler/server.js';
import { clusterObserver } from '../dashboard/cluster.js';
import { startDashboard, type DashboardServer } from '../dashboard/server.js';
import { DashboardState } from '../dashboard/state.js';
import { startWorker } from './worker/worker.js';
import { parseMemoryLimit } from './worker/value-store.js';

/** TLS flags shared by both commands: paths of PEM files. */
export interface TlsFileOptions {
  tlsCert?: string;
  tlsKey?: string;
  /** CA to verify peers; on a server it also makes client certificates mandatory (mutual TLS). */
  tlsCa?: string;
  /** Expected host name in the server certificate, when it differs from the address dialled. */
  tlsServerName?: string;
}

export interface SchedulerCommandOptions extends TlsFileOptions {
  /** Default 127.0.0.1. A non-loopback host needs a token or TLS, or `insecure`. */
  host?: string;
  /** Default 8786; 0 picks a free port. */
  port?: number;
  token?: string;
  insecure?: boolean;
  /** A worker silent this long is declared lost. Default 5000. */
  heartbeatTimeoutMs?: number;
  /** Workers a task may take down before it fails. Default 3. */
  allowedFailures?: number;
  /** A task that waits this long with no worker connected fails with NoWorkersError. Default 60 s. */
  noWorkerTimeoutMs?: number;
  /** Where progress lines go. Default: stderr. */
  log?: (line: string) => void;
  /** Install SIGINT/SIGTERM handlers that close the server. Default true. */
  handleSignals?: boolean;
  /** Serve the live dashboard on this port (0 = any free port); absent or false: none. The CLI's default is 8787. */
  dashboardPort?: number | false;
  /** Where the dashboard listens; default: the scheduler's host. Same token/TLS/insecure rule. */
  dashboardHost?: string;
}

export interface WorkerCommandOptions extends TlsFileOptions {
  token?: string;
  insecure?: boolean;
  /** Ops run at once in this worker (executor threads). Default 1. */
  nthreads?: number;
  name?: string;
  /** Where the worker's data server listens (peers fetch from it). */
  listenHost?: string;
  /** Host other workers and clients should dial to reach this worker. */
  advertiseHost?: string;
  /** Keep trying to reach the scheduler this long (at start and after losing it), then exit 1. Default 60 s; 0: give up at once. */
  reconnectTimeoutMs?: number;
  /**
   * Bytes, a size ("4GB", "512MiB"), a fraction of this machine's memory ("0.5"), "auto" or
   * "none". Default "auto": this machine's memory × nthreads / cores (at most all of it).
   */
  memoryLimit?: string | number;
  log?: (line: string) => void;
  handleSignals?: boolean;
}

export interface RunningCommand {
  /** host:port the scheduler listens on (scheduler) or the worker id (worker). */
  readonly address: string;
  /** The scheduler's live dashboard, when it serves one. */
  readonly dashboardUrl?: string;
  /** Resolves once the command stopped. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

const stderrLog = (line: string): void => void process.stderr.write(`${line}\n`);

/** Security options from command flags (PEM paths read here). */
export function securityFromFlags(options: { token?: string; insecure?: boolean } & TlsFileOptions): SecurityOptions {
  const cert = readPem(options.tlsCert, '--tls-cert');
  const key = readPem(options.tlsKey, '--tls-key');
  const ca = readPem(options.tlsCa, '--tls-ca');
  if ((cert === undefined) !== (key === undefined)) throw new OptionError('--tls-cert', '--tls-cert and --tls-key go together: pass both');
  const tls: TlsOptions | undefined = cert || ca ? { cert, key, ca, serverName: options.tlsServerName } : undefined;
  return { token: options.token || undefined, tls, insecure: options.insecure };
}

function onSignals(close: () => Promise<void>): () => void {
  const handler = (): void => void close();
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Start a scheduler; resolves once it listens. */
export async function runSchedulerCommand(options: SchedulerCommandOptions = {}): Promise<RunningCommand> {
  const log = options.log ?? stderrLog;
  const port = options.port ?? 8786;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OptionError('--port', `--port must be an integer 0..65535, got ${port}`);
  const security = securityFromFlags(options);
  const dashboardPort = options.dashboardPort;
  const board = dashboardPort === false || dashboardPort === undefined ? undefined : new DashboardState('distributed');
  const server = await startSchedulerServer({
    host: options.host,
    port,
    security,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    allowedFailures: options.allowedFailures,
    noWorkerTimeoutMs: options.noWorkerTimeoutMs,
    log,
    observer: board && clusterObserver(board),
  });
  log(`schedlab scheduler listening on ${server.address}`);
  let dashboard: DashboardServer | undefined;
  if (board && dashboardPort !== false && dashboardPort !== undefined) {
    board.title = `distributed scheduler at ${server.address}, pid ${process.pid}`;
    try {
      dashboard = await startDashboard(
        board,
        { host: options.dashboardHost ?? options.host, port: dashboardPort, token: security.token, tls: security.tls, insecure: security.insecure },
        () => board.holdings(server.holdings()),
      );
    } catch (err) {
      await server.close();
      throw err;
    }
    log(`schedlab dashboard: ${dashboard.url}`);
  }
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let detach = (): void => {};
  const close = async (): Promise<void> => {
    detach();
    await Promise.all([server.close(), dashboard?.close()]);
    resolveClosed();
  };
  if (options.handleSignals ?? true) detach = onSignals(close);
  return { address: server.address, dashboardUrl: dashboard?.url, closed, close };
}

/** A worker's memory limit in bytes (undefined: none) from the flag's text; OptionError if it is not a size. */
export function workerMemoryLimit(text: string | number | undefined, nthreads: number): number | undefined {
  const auto = Math.floor(totalmem() * Math.min(1, nthreads / availableParallelism()));
  try {
    return parseMemoryLimit(text ?? 'auto', totalmem(), auto);
  } catch (err) {
    throw new OptionError('--memory-limit', `--memory-limit: ${(err as Error).message}`);
  }
}

/** Start a worker connected to the scheduler at `address`; resolves once the scheduler accepted it. */
export async function runWorkerCommand(address: string, options: WorkerCommandOptions = {}): Promise<RunningCommand> {
  const log = options.log ?? stderrLog;
  if (options.nthreads !== undefined && (!Number.isInteger(options.nthreads) || options.nthreads < 1)) {
    throw new OptionError('--nthreads', `--nthreads must be a positive integer, got ${options.nthreads}`);
  }
  if (options.reconnectTimeoutMs !== undefined && (!Number.isFinite(options.reconnectTimeoutMs) || options.reconnectTimeoutMs < 0)) {
    throw new OptionError('--reconnect-timeout', `--reconnect-timeout must be a number of milliseconds >= 0, got ${options.reconnectTimeoutMs}`);
  }
  const memoryLimit = workerMemoryLimit(options.memoryLimit, options.nthreads ?? 1);
  const worker = await startWorker(address, {
    memoryLimit,
    security: securityFromFlags(options),
    nthreads: options.nthreads,
    name: options.name,
    listenHost: options.listenHost,
    advertiseHost: options.advertiseHost,
    reconnectTimeoutMs: options.reconnectTimeoutMs,
    log,
  });
  const id = await worker.id;
  let detach = (): void => {};
  const closed = worker.stopped.then(({ reason, crashed, gaveUp }) => {
    detach();
    log(`schedlab worker ${id} stopped: ${reason}`);
    // 70: crashed (a nanny restarts it); 1: gave up on its scheduler (a nanny does not).
    if (crashed) process.exitCode = 70;
    else if (gaveUp) process.exitCode = 1;
  });
  const close = async (): Promise<void> => {
    await worker.close();
    await closed;
  };
  if (options.handleSignals ?? true) detach = onSignals(close);
  return { address: id, closed, close };
}
