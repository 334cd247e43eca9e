/**
 * A distributed worker under its memory limit (run after `npm run build`):
 *   node dist/scripts/measure-memory.js [--limit 512MiB] [--blocks 192] [--block-mib 8] [--runs 1] [--before DIR]
 *
 * Runs test/fixtures/spill-graph.mjs (the graph of test/distributed-memory.test.ts: live
 * intermediates of blocks × block-mib, every block needed until a gate has run) on a fresh
 * local cluster of one worker with that memory limit, and prints the worker's peak RSS
 * (VmHWM, /proc) against the limit, the bytes spilled and read back (stats()), and the time.
 * With `--before DIR` (another build, e.g. /work/before) the two builds alternate, run by run,
 * so their figures are from the same conditions. Linux only (it reads /proc).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { createDistributedScheduler as Create } from '../schedulers/distributed/index.js';
import { parseMemoryLimit } from '../schedulers/distributed/worker/value-store.js';
import type { Graph } from '../schedulers/types.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const limitText = flag('limit', '512MiB');
const limit = parseMemoryLimit(limitText, 0, 0);
if (limit === undefined) throw new Error(`--limit ${limitText}: give a memory size such as 512MiB`);
const blocks = Number(flag('blocks', '192'));
const blockLength = (Number(flag('block-mib', '8')) * 2 ** 20) / 8;
const runs = Number(flag('runs', '1'));
const beforeDir = process.argv.includes('--before') ? resolve(flag('before', '')) : undefined;

const fixture = new URL('../../test/fixtures/spill-graph.mjs', import.meta.url).href;
const { spillGraph } = (await import(fixture)) as { spillGraph(blocks: number, length: number): { graph: Graph; key: string; expected: number } };
const { graph, key, expected } = spillGraph(blocks, blockLength);
const peakRss = (pid: number): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

const builds: Array<[string, typeof Create]> = [['this build', (await import('../schedulers/distributed/index.js')).createDistributedScheduler]];
if (beforeDir) builds.push([`before (${beforeDir})`, ((await import(pathToFileURL(`${beforeDir}/dist/schedulers/distributed/index.js`).href)) as { createDistributedScheduler: typeof Create }).createDistributedScheduler]);

console.log(`${blocks} blocks of ${mib(blockLength * 8)} (${mib(blocks * blockLength * 8)} live) on one worker with a ${mib(limit)} limit`);
for (let run = 1; run <= runs; run++) {
  for (const [label, create] of builds) {
    const scheduler = await create({ workers: 1, memoryLimit: limit, restartWorkers: false, heartbeatTimeoutMs: 30_000, noWorkerTimeoutMs: 10_000 });
    try {
      const started = performance.now();
      const [value] = await scheduler.get(graph, [key]);
      const seconds = (performance.now() - started) / 1000;
      const stats = scheduler.stats();
      const peak = peakRss(scheduler.cluster!.workerPids()[0]!);
      const load = loadavg()[0]!.toFixed(1);
      console.log(
        `run ${run} ${label}: peak RSS ${mib(peak)} (${((peak / limit) * 100).toFixed(0)} % of the limit), spilled ${mib(stats.bytesSpilled ?? 0)}, read back ${mib(stats.bytesReadBack ?? 0)}, ${seconds.toFixed(1)} s, ${value === expected ? 'right answer' : `WRONG ANSWER ${String(value)} (expected ${expected})`}; load ${load} on ${availableParallelism()} cores`,
      );
    } finally {
      await scheduler.close();
    }
  }
}
