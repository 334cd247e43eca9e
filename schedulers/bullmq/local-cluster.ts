/**
 * The `bullmq` scheduler's embedded cluster, for when no `redis` URL is given: a throwaway
 * `redis-server` on a free loopback port (random password, `noeviction`, no RDB or AOF
 * persistence, nothing written to disk) and n worker processes (worker-process.ts) with one
 * op thread each. With a `redis` URL and `workers`, the same worker processes serve that
 * Redis instead (what `schedlab bench --redis URL` measures). As the distributed local cluster, it restarts a worker that dies (kill -9,
 * a crash) so a graph can finish, and `close()` stops everything; each child also exits by
 * itself when its stdin closes (the parent is gone; redis-server is stopped by `close`).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { freePort, spawnChild, stopChild } from '../child-processes.js';
import { ConnectionError } from '../errors.js';
import type { TlsOptions } from '../types.js';

export interface BullmqClusterOptions {
  /** Worker processes (one op thread each). */
  workers: number;
  /** Serve this Redis instead of starting one (its TLS material and `insecure` as the scheduler's). */
  redis?: { url: string; tls?: TlsOptions; insecure?: boolean };
  stalledIntervalMs?: number;
  lockDurationMs?: number;
  /** Give up if a process is not ready within this time. Default 20 s. */
  startTimeoutMs?: number;
  /** The redis-server binary. Default `redis-server` on PATH. */
  redisServer?: string;
}

export interface BullmqCluster {
  /** `redis://:password@127.0.0.1:port` of the throwaway Redis, or the given URL. */
  readonly url: string;
  /** Pid of the throwaway redis-server (undefined when a Redis was given). */
  readonly redisPid: number | undefined;
  /** Pids of the worker processes running now. */
  workerPids(): number[];
  close(): Promise<void>;
}

/** What worker-process.ts reads from SCHEDLAB_BULLMQ_WORKER. */
export interface WorkerProcessOptions {
  url: string;
  tls?: TlsOptions;
  insecure?: boolean;
  concurrency: number;
  stalledIntervalMs?: number;
  lockDurationMs?: number;
}

const HOW_TO_GET_REDIS = 'install redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or pass { redis: "redis://host:6379" }';

/** Start redis-server on a free loopback port; retries when another process took the port first. */
export async function startRedisServer(binary: string, password: string, timeoutMs: number, port?: number): Promise<{ process: ChildProcess; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const chosen = port ?? (await freePort());
    const child = spawnChild(binary, {
      args: [
        '--port', String(chosen), '--bind', '127.0.0.1', '--requirepass', password,
        '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
        '--dir', tmpdir(), '--daemonize', 'no', '--loglevel', 'notice',
      ],
      ready: /Ready to accept connections/,
      timeoutMs,
      label: 'redis-server',
    });
    try {
      await child.ready;
      return { process: child.process, port: chosen };
    } catch (err) {
      await stopChild(child.process);
      const message = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `"${binary}" was not found` : (err as Error).message;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ConnectionError(`the bullmq scheduler needs Redis and ${message}: ${HOW_TO_GET_REDIS}`);
      if (port === undefined && attempt < 3 && /in use/i.test(message)) continue;
      throw new ConnectionError(`could not start redis-server: ${message}`);
    }
  }
}

function pemStrings(tls: TlsOptions | undefined): TlsOptions | undefined {
  if (!tls) return undefined;
  const text = (pem: string | Buffer | undefined): string | undefined => pem?.toString();
  return { ca: text(tls.ca), cert: text(tls.cert), key: text(tls.key), serverName: tls.serverName };
}

export async function startBullmqCluster(options: BullmqClusterOptions): Promise<BullmqCluster> {
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  const password = randomBytes(24).toString('hex');
  const redis = options.redis ? undefined : await startRedisServer(options.redisServer ?? 'redis-server', password, timeoutMs);
  const url = options.redis?.url ?? `redis://:${password}@127.0.0.1:${redis!.port}`;
  const workers = new Set<ChildProcess>();
  let closing = false;
  let restarts: number[] = [];
  const workerOptions: WorkerProcessOptions = {
    url,
    tls: pemStrings(options.redis?.tls), // through JSON: Buffers become text
    insecure: options.redis?.insecure,
    concurrency: 1,
    stalledIntervalMs: options.stalledIntervalMs,
    lockDurationMs: options.lockDurationMs,
  };

  const addWorker = async (): Promise<void> => {
    const child = spawnChild(process.execPath, {
      args: [fileURLToPath(new URL('./worker-process.js', import.meta.url))],
      env: { ...process.env, SCHEDLAB_BULLMQ_WORKER: JSON.stringify(workerOptions) },
      ready: /^ready$/,
      timeoutMs,
      label: 'bullmq worker-process.js',
    });
    workers.add(child.process);
    child.process.once('exit', () => {
      workers.delete(child.process);
      if (closing) return;
      const now = Date.now();
      restarts = restarts.filter((t) => now - t < 1_000);
      restarts.push(now);
      // A worker died: replace it (at most a few per second, so a crash loop cannot fork-bomb).
      setTimeout(() => {
        if (!closing) addWorker().catch(() => {});
      }, restarts.length > 3 ? 1_000 : 0).unref();
    });
    await child.ready;
  };

  const close = async (): Promise<void> => {
    closing = true;
    await Promise.all([...workers].map(stopChild));
    if (redis) await stopChild(redis.process);
  };
  try {
    await Promise.all(Array.from({ length: options.workers }, addWorker));
  } catch (err) {
    await close();
    throw err;
  }
  return { url, redisPid: redis?.process.pid, workerPids: () => [...workers].map((w) => w.pid!).filter(Boolean), close };
}
