/**
 * Child processes a scheduler starts and owns (the distributed local cluster's scheduler and
 * workers, the bullmq scheduler's redis-server and workers): spawn with piped stdio, resolve
 * once a line of stdout says it is ready, keep the tail of stderr to explain a failed start,
 * and stop with SIGTERM (stdin closed too), then SIGKILL after a grace period; and a free
 * loopback port for a child that must be told where to listen.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

export interface StartedChild {
  process: ChildProcess;
  /** The first stdout line matching `ready`, as matched; rejects if the child exits or stays silent. */
  ready: Promise<RegExpExecArray>;
}

export interface SpawnChildOptions {
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** A stdout line matching this means the child is ready. */
  ready: RegExp;
  timeoutMs: number;
  /** Names the child in errors. */
  label: string;
}

/** How much of a child's stderr is kept, to explain a failed start. */
const STDERR_TAIL = 4096;

export function spawnChild(command: string, options: SpawnChildOptions): StartedChild {
  const { label, timeoutMs } = options;
  const child = spawn(command, options.args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  // Children log progress (joins, losses, crashes) to stderr: kept for errors, shown with SCHEDLAB_DEBUG.
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL);
    if (process.env.SCHEDLAB_DEBUG) process.stderr.write(text);
  });
  let stdout = '';
  const said = (): string => {
    const text = (stderr.trim() || stdout.trim()).slice(-STDERR_TAIL);
    return text ? `; its output ends with:\n${text}` : '';
  };
  const ready = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} (pid ${child.pid}) was not ready within ${timeoutMs} ms${said()}`)), timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      stdout = (stdout + line + '\n').slice(-STDERR_TAIL);
      const match = options.ready.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (code ${code}, signal ${signal}) before it was ready${said()}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  ready.catch(() => {});
  return { process: child, ready };
}

/** SIGTERM (and stdin closed), SIGKILL after 3 s; resolves once the child has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
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

/** A TCP port free on 127.0.0.1 right now (for a child that must be told its port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
