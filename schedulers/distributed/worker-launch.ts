/**
 * How a distributed worker process is started: its node flags and its environment. Both
 * places that start one use this, so a worker behaves the same however it was started: the
 * local cluster (`local-cluster.ts`, spawning `worker-process.js`) and the nanny of
 * `schedlab worker` (`nanny.ts`, spawning the CLI again with `--no-nanny`).
 *
 * - `--initial-heap-size`: a worker's JS heap is small (~12 MB) but megabytes of values pass
 *   through it every second, and with V8's default initial limits every few MB of promoted
 *   buffers start a full mark-compact: ~30 per matmul run, a fifth of its main thread's time.
 *   A larger initial heap lets the cheap scavenges free them instead (measured: mark-compacts
 *   per run ~30 -> ~5, the report and transfer phases about halved). The heap still grows only
 *   as used. Under a memory limit it is at most 1/16 of the limit, so the garbage scavenges
 *   leave (and the large buffers it holds) cannot push a worker past its limit.
 * - `MALLOC_MMAP_THRESHOLD_` (glibc), under a memory limit: values are large buffers (the
 *   store's, the threads' copies, those read back from disk), and glibc's default threshold
 *   rises to 32 MiB after the first large free, after which freed buffers stay in malloc's
 *   arenas instead of going back to the OS, so RSS keeps every buffer the worker ever held at
 *   once, whatever it spilled. With a fixed threshold each buffer above it is its own mapping,
 *   returned on free (measured on the spill test's graph, 8 MiB blocks, 512 MiB limit: peak
 *   RSS 602 -> 388 MiB). But a mapping costs a page fault per 4 kB each time a buffer is
 *   made: a fixed 1 MiB made distributed tree-reduce (16 MB arrays) 1.3-1.6x slower. So the
 *   threshold is 1/128 of the limit, 1 to 32 MiB (glibc's maximum): 4 MiB at a 512 MiB limit,
 *   32 MiB under the default limit (a share of the machine's memory), and what stays in the
 *   arenas is made of buffers small against the limit. (Dask's `MALLOC_TRIM_THRESHOLD_=65536` was as good for RSS here
 *   but slower still: every free at the heap's top goes back to the OS.) Other C libraries
 *   ignore the variable.
 *
 * A flag or variable the user set (on the nanny's own command line, in the environment) wins.
 */

/** glibc's environment variable for its mmap threshold. */
export const MMAP_THRESHOLD_ENV = 'MALLOC_MMAP_THRESHOLD_';

/** The mmap threshold of a worker with `memoryLimit` bytes: 1/128 of it, 1 to 32 MiB. */
export function mmapThreshold(memoryLimit: number): number {
  return Math.min(32 * 2 ** 20, Math.max(2 ** 20, Math.floor(memoryLimit / 128)));
}

export interface WorkerLaunch {
  /** Node flags to add to `execArgv` (none it already sets), before the script. */
  nodeFlags: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * Flags and environment of a worker process with `memoryLimit` (bytes; undefined: none),
 * given the environment and node flags it would otherwise inherit.
 */
export function workerLaunch(memoryLimit: number | undefined, env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = []): WorkerLaunch {
  const nodeFlags: string[] = [];
  const heapMb = Math.min(256, memoryLimit === undefined ? 256 : Math.floor(memoryLimit / 16 / 2 ** 20));
  if (heapMb >= 16 && !execArgv.some((flag) => flag.startsWith('--initial-heap-size'))) nodeFlags.push(`--initial-heap-size=${heapMb}`);
  const launchEnv = { ...env };
  if (memoryLimit !== undefined && launchEnv[MMAP_THRESHOLD_ENV] === undefined) launchEnv[MMAP_THRESHOLD_ENV] = String(mmapThreshold(memoryLimit));
  return { nodeFlags, env: launchEnv };
}
