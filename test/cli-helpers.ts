// Run the real `schedlab` binary (dist/harness/cli/schedlab.js) as a user would, without a TTY.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/harness/cli/schedlab.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures/harness/', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `schedlab ...args`; `onStderr` sees stderr as it arrives (to send signals mid-run). */
export function runCli(
  args: string[],
  options: {
    timeoutMs?: number;
    /** Working directory (default: this process's). */
    cwd?: string;
    /** Start in its own process group (kill `-pid` to signal it and its workers, as a terminal's Ctrl-C does). */
    detached?: boolean;
    onStderr?: (soFar: string, child: ReturnType<typeof spawn>) => void;
  } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached, cwd: options.cwd });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`schedlab ${args.join(' ')} did not finish in ${options.timeoutMs ?? 40_000} ms\n${stderr}`));
    }, options.timeoutMs ?? 40_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
