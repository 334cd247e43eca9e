// A distributed cluster started from the CLI, as a user would (`schedlab scheduler`, `schedlab
// worker`), for tests: each process's stderr is kept and can be waited on line by line; `stopAll`
// stops every process a test started (SIGTERM, then SIGKILL), nannies included.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './cli-helpers.js';

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the first match (group 1 if any) of `pattern` in its stderr, now or later. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with its exit code (or signal name). */
  exited(): Promise<number | string>;
}

export class CliCluster {
  private readonly processes: CliProcess[] = [];

  start(args: string[]): CliProcess {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    const waiters = new Set<() => void>();
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      for (const wake of [...waiters]) wake();
    });
    const exit = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    const waitFor = (pattern: RegExp, timeoutMs = 30_000): Promise<string> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(text);
          if (!match) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(match[1] ?? match[0]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`schedlab ${args.join(' ')}: no line matching ${pattern} within ${timeoutMs} ms; its stderr:\n${text}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    const started: CliProcess = { child, stderr: () => text, waitFor, exited: () => exit };
    this.processes.push(started);
    return started;
  }

  /** `schedlab scheduler --no-dashboard` on `port` (0: any); resolves with it and its address. */
  async scheduler(port = 0, extra: string[] = []): Promise<{ process: CliProcess; address: string }> {
    const scheduler = this.start(['scheduler', '--port', String(port), '--no-dashboard', ...extra]);
    const address = await scheduler.waitFor(/listening on (\S+)/);
    return { process: scheduler, address };
  }

  /** `schedlab worker <address> --name <name>` (with its nanny unless `--no-nanny` is in `extra`); resolves once registered. */
  async worker(address: string, name: string, extra: string[] = []): Promise<CliProcess> {
    const worker = this.start(['worker', address, '--name', name, ...extra]);
    await worker.waitFor(new RegExp(`registered with \\S+ as ${name};`));
    return worker;
  }

  async stop(process: CliProcess): Promise<void> {
    const { child } = process;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const kill = setTimeout(() => child.kill('SIGKILL'), 8_000);
    child.kill('SIGTERM');
    await process.exited();
    clearTimeout(kill);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.processes.map((p) => this.stop(p)));
  }
}

export { freePort } from '../dist/schedulers/child-processes.js';
