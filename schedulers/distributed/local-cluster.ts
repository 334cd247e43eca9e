/**
 * A local cluster: one scheduler process and n worker processes on 127.0.0.1, spawned from
 * the compiled entry files next to this module (not through the CLI). A random token guards
 * it, so other local users cannot submit work. Like Dask's nanny, the cluster restarts a
 * worker that dies (a crashing op, kill -9) so a graph can finish; `close()` stops them all,
 * and each child also exits by itself when its stdin closes (the parent is gone).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { OptionError } from '../errors.js';

export interface LocalClusterOptions {
  /** Worker processes. Default 2. */
  workers?: number;
  /** Executor threads per worker. Default 1. */
  nthreads?: number;
  /** Restart workers that die. Default true. */
  restartWorkers?: boolean;
  heartbeatTimeoutMs?: number;
  allowedFailures?: number;
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

/** How much of a child's stderr is kept, to explain a failed start. */
const STDERR_TAIL = 4096;

function spawnChild(file: string, options: object, timeoutMs: number): Child {
  const child = spawn(process.execPath, [entry(file)], {
    env: { ...process.env, SCHEDLAB_CLUSTER_OPTIONS: JSON.stringify(options) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Children log progress (joins, losses, crashes) to stderr: kept for errors, shown with SCHEDLAB_DEBUG.
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL);
    if (process.env.SCHEDLAB_DEBUG) process.stderr.write(text);
  });
  const said = (): string => (stderr.trim() ? `; its stderr ends with:\n${stderr.trim()}` : '');
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} (pid ${child.pid}) was not ready within ${timeoutMs} ms${said()}`)), timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = /^ready (.+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (code ${code}, signal ${signal}) before it was ready${said()}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  ready.catch(() => {});
  return { process: child, ready };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.stdin?.end();
    child.kill('SIGTERM');
  });
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const count = options.workers ?? 2;
  if (!Number.isInteger(count) || count < 1) throw new OptionError('workers', `workers must be a positive integer, got ${count}`);
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  const token = randomBytes(24).toString('hex');
  const scheduler = spawnChild('scheduler-process.js', { token, heartbeatTimeoutMs: options.heartbeatTimeoutMs, allowedFailures: options.allowedFailures }, timeoutMs);
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
    const child = spawnChild('worker-process.js', { address, token, nthreads: options.nthreads, name: `w${nextName++}` }, timeoutMs);
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
