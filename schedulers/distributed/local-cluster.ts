/**
 * A local cluster: one scheduler process and n worker processes on 127.0.0.1, spawned from
 * the compiled entry files next to this module (not through the CLI). A random token guards
 * it, so other local users cannot submit work. Like Dask's nanny, the cluster restarts a
 * worker process that dies (a native crash, kill -9) so a graph can finish; `close()` stops
 * them all, and each child also exits by itself when its stdin closes (the parent is gone).
 * Nothing here reconnects: the cluster lives and dies with the process that started it, so
 * its workers stop when its scheduler does.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { spawnChild, stopChild } from '../child-processes.js';
import { OptionError } from '../errors.js';
import { parseMemoryLimit } from './worker/value-store.js';
import { workerLaunch, type WorkerLaunch } from './worker-launch.js';

export interface LocalClusterOptions {
  /** Worker processes. Default 2. */
  workers?: number;
  /** Executor threads per worker. Default 1. */
  nthreads?: number;
  /** Restart workers that die. Default true. */
  restartWorkers?: boolean;
  heartbeatTimeoutMs?: number;
  allowedFailures?: number;
  noWorkerTimeoutMs?: number;
  /** Each worker's memory limit (bytes or a size, see `schedlab worker --memory-limit`). Default: this machine's memory / workers. */
  memoryLimit?: string | number;
  /** Give up if a process is not ready within this time. Default 20 s. */
  startTimeoutMs?: number;
}

export interface LocalCluster {
  readonly address: string;
  readonly token: string;
  readonly schedulerPid: number;
  /** Pids of the worker processes running now. */
  workerPids(): number[];
  /** Start one more worker; resolves once the scheduler accepted it. */
  addWorker(): Promise<void>;
  close(): Promise<void>;
}

const entry = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url));

interface Child {
  process: ChildProcess;
  ready: Promise<string>;
}

function spawnNodeChild(file: string, options: object, timeoutMs: number, launch: WorkerLaunch = { nodeFlags: [], env: process.env }): Child {
  const child = spawnChild(process.execPath, {
    args: [...launch.nodeFlags, entry(file)],
    env: { ...launch.env, SCHEDLAB_CLUSTER_OPTIONS: JSON.stringify(options) },
    ready: /^ready (.+)$/,
    timeoutMs,
    label: file,
  });
  const ready = child.ready.then((match) => match[1]!);
  ready.catch(() => {});
  return { process: child.process, ready };
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const count = options.workers ?? 2;
  if (!Number.isInteger(count) || count < 1) throw new OptionError('workers', `workers must be a positive integer, got ${count}`);
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  const memoryLimit = options.memoryLimit ?? Math.floor(totalmem() / count);
  let launch: WorkerLaunch;
  try {
    launch = workerLaunch(parseMemoryLimit(memoryLimit, totalmem(), Math.floor(totalmem() / count)));
  } catch (err) {
    throw new OptionError('memoryLimit', `memoryLimit: ${(err as Error).message}`);
  }
  const token = randomBytes(24).toString('hex');
  const scheduler = spawnNodeChild('scheduler-process.js', { token, heartbeatTimeoutMs: options.heartbeatTimeoutMs, allowedFailures: options.allowedFailures, noWorkerTimeoutMs: options.noWorkerTimeoutMs }, timeoutMs);
  const workers = new Set<ChildProcess>();
  let closing = false;
  let port: string;
  try {
    port = await scheduler.ready;
  } catch (err) {
    await stopChild(scheduler.process);
    throw err;
  }
  const address = `127.0.0.1:${port}`;
  let nextName = 1;
  let restartsInLastSecond: number[] = [];

  const addWorker = async (): Promise<void> => {
    const child = spawnNodeChild('worker-process.js', { address, token, nthreads: options.nthreads, name: `w${nextName++}`, reconnectTimeoutMs: 0, memoryLimit }, timeoutMs, launch);
    workers.add(child.process);
    child.process.once('exit', () => {
      workers.delete(child.process);
      const schedulerGone = scheduler.process.exitCode !== null || scheduler.process.signalCode !== null;
      if (closing || schedulerGone || options.restartWorkers === false) return;
      const now = Date.now();
      restartsInLastSecond = restartsInLastSecond.filter((t) => now - t < 1_000);
      restartsInLastSecond.push(now);
      // A worker died: replace it (at most a few per second, so a crash loop cannot fork-bomb).
      const delay = restartsInLastSecond.length > 3 ? 1_000 : 0;
      setTimeout(() => {
        if (!closing) addWorker().catch(() => {});
      }, delay).unref();
    });
    await child.ready;
  };

  const close = async (): Promise<void> => {
    closing = true;
    await Promise.all([...workers].map(stopChild));
    await stopChild(scheduler.process);
  };
  try {
    await Promise.all(Array.from({ length: count }, addWorker));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    address,
    token,
    schedulerPid: scheduler.process.pid!,
    workerPids: () => [...workers].map((w) => w.pid!).filter(Boolean),
    addWorker,
    close,
  };
}
