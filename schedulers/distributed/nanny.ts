/**
 * The nanny of `schedlab worker` (as Dask's): a small supervising process that runs the worker
 * as its child and starts it again when it dies - a native crash, an out-of-memory kill, a
 * SIGKILL, or a worker that stopped itself because its executor threads kept dying (exit 70).
 * Restarts back off (1 s, 2 s, 4 s ... 30 s; back to 1 s once a worker lived a minute), so a
 * worker that dies at start cannot spin.
 *
 * What it does not restart: a worker that exited 0 (closed, Ctrl-C), 1 (it gave up on its
 * scheduler after the reconnect timeout, or an unexpected error) or 2 (bad input): running it
 * again would fail the same way. The nanny then exits with the worker's code.
 *
 * The child gets a worker's node flags and environment (`worker-launch.ts`: the initial heap,
 * malloc's threshold), as the local cluster's workers do. Its stdout and stderr are the
 * nanny's own. Its stdin is a pipe from the nanny: the child closes itself when that pipe ends
 * (`closeWhenNannyGoes`), so killing the nanny, even with SIGKILL, never leaves an orphan
 * worker. SIGINT/SIGTERM to the nanny close the child
 * the same way (SIGKILL after a grace period) and the nanny exits once it has.
 *
 * With a memory limit, the nanny also samples the worker's RSS (/proc, every 200 ms) and
 * restarts a worker past 95 % of it (Dask's `terminate` threshold): its values are lost and
 * the scheduler has them recomputed, as for any worker that died.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MEMORY_TERMINATE, overTerminate } from './worker/memory-policy.js';
import { workerLaunch } from './worker-launch.js';

export interface NannyOptions {
  /** Where the nanny's own lines go. Default: stderr. */
  log?: (line: string) => void;
  /** First restart delay; doubles up to `maxBackoffMs`. Default 1000. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Install SIGINT/SIGTERM handlers. Default true. */
  handleSignals?: boolean;
  /** The worker's memory limit (bytes): past 95 % of it in RSS the nanny restarts the worker. Linux (/proc) only. */
  memoryLimit?: number;
}

/** Set in the child's environment: it then watches its stdin (see `closeWhenNannyGoes`). */
export const NANNY_ENV = 'SCHEDLAB_NANNY_PID';

/** Exit codes after which the worker is not started again. */
const FINAL_EXIT_CODES = new Set([0, 1, 2]);
/** A worker that lived this long was healthy: the next restart waits the shortest delay again. */
const HEALTHY_MS = 60_000;
const GRACE_MS = 5_000;

/**
 * Run `node <args>` (with this process's exec flags and a worker's, see `workerLaunch`) and keep it running; resolves with the
 * exit code the nanny should exit with.
 */
export function runNanny(args: string[], options: NannyOptions = {}): Promise<number> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const firstBackoff = options.backoffMs ?? 1_000;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  let backoff = firstBackoff;
  let child: ChildProcess | undefined;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  // The worker's node flags and environment, as the local cluster gives its workers (worker-launch.ts).
  const launch = workerLaunch(options.memoryLimit, process.env, process.execArgv);

  const start = (): void => {
    restartTimer = undefined;
    if (stopping) return resolveDone(0);
    const started = Date.now();
    const current = spawn(process.execPath, [...process.execArgv, ...launch.nodeFlags, ...args], {
      stdio: ['pipe', 'inherit', 'inherit'],
      env: { ...launch.env, [NANNY_ENV]: String(process.pid) },
    });
    child = current;
    current.stdin!.on('error', () => {});
    const limit = options.memoryLimit;
    const watch =
      limit === undefined
        ? undefined
        : setInterval(() => {
            const rss = rssOf(current.pid!);
            if (rss === undefined || !overTerminate(rss, limit)) return;
            clearInterval(watch);
            log(`schedlab nanny: the worker (pid ${current.pid}) uses ${mib(rss)} of memory, over ${MEMORY_TERMINATE * 100} % of its ${mib(limit)} limit; restarting it`);
            current.kill('SIGKILL');
          }, 200);
    watch?.unref();
    current.once('error', (err) => log(`schedlab nanny: cannot start the worker: ${err.message}`));
    current.once('exit', (code, signal) => {
      clearInterval(watch);
      child = undefined;
      if (stopping) return resolveDone(code ?? 0);
      if (code !== null && FINAL_EXIT_CODES.has(code)) return resolveDone(code);
      if (Date.now() - started >= HEALTHY_MS) backoff = firstBackoff;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      log(`schedlab nanny: the worker (pid ${current.pid}) ${how}; starting it again in ${(backoff / 1000).toFixed(1)} s`);
      restartTimer = setTimeout(start, backoff);
      backoff = Math.min(maxBackoff, backoff * 2);
    });
  };

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (restartTimer) {
      clearTimeout(restartTimer);
      resolveDone(0);
      return;
    }
    const current = child;
    if (!current) return;
    current.stdin!.end();
    setTimeout(() => current.kill('SIGKILL'), GRACE_MS).unref();
  };

  if (options.handleSignals ?? true) {
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    void done.finally(() => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    });
  }
  start();
  return done;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Resident bytes of process `pid` (Linux /proc), undefined where that cannot be read. */
function rssOf(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * In a worker started by a nanny: call `close` when the nanny goes away (its pipe on stdin
 * ends). Returns the function that stops watching, to call once the worker stopped: a stdin
 * still read keeps the process alive (a worker that gave up would linger until the CLI's
 * 3 s fallback exit).
 */
export function closeWhenNannyGoes(close: () => void): () => void {
  if (!process.env[NANNY_ENV]) return () => {};
  process.stdin.on('end', close);
  process.stdin.on('error', close);
  process.stdin.resume();
  return () => {
    process.stdin.off('end', close);
    process.stdin.off('error', close);
    process.stdin.pause();
  };
}
