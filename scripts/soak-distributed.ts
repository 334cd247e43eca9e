/**
 * Soak of the distributed scheduler (run after `npm run build`):
 *   node dist/scripts/soak-distributed.js [--gets 1000] [--warmup 300] [--leaves 64] [--workers 2]
 *                                         [--memory-limit 512MiB]
 *
 * One local cluster (a scheduler process and `--workers` worker processes) runs `--gets` gets
 * of a small graph (a pairwise tree reduction over `--leaves` trivial tasks) one after the
 * other. Every 10 gets it samples the RSS (/proc/<pid>/status) and open file descriptors
 * (/proc/<pid>/fd) of the scheduler and of each worker. After `--warmup` gets, the median of
 * each series over the first half of the remaining samples is compared with the median over
 * the second half: a leak shows as growth. Exits 1 if any series grew more than 10 %.
 * Linux only (it reads /proc).
 *
 * The workers run under a memory limit (`--memory-limit`, default 512 MiB), as a deployment
 * would: a worker's initial heap is 1/16 of its limit (`worker-launch.ts`), and without a
 * limit (the default limit is a share of the machine's memory) it starts at 256 MiB, which V8
 * fills with garbage before its first full collection, a few thousand gets in. RSS then grows
 * through the whole soak without a leak (measured: +11 % over 1000 gets, +25 % over 3000,
 * every series flat at 512 MiB). A smaller limit makes the first full collections happen in
 * the warm-up, so what grows after it is a leak.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createDistributedScheduler } from '../schedulers/distributed/index.js';
import { treeReductionGraph } from './measure-overhead.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const fdsOf = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

const gets = Number(flag('gets', '1000'));
const warmup = Number(flag('warmup', '300'));
const leaves = Number(flag('leaves', '64'));
const workers = Number(flag('workers', '2'));
const memoryLimit = flag('memory-limit', '512MiB');
const SAMPLE_EVERY = 10;

const scheduler = await createDistributedScheduler({ workers, restartWorkers: false, memoryLimit });
try {
  const cluster = scheduler.cluster!;
  const pids: Array<[string, number]> = [['scheduler', cluster.schedulerPid], ...cluster.workerPids().map((pid, i): [string, number] => [`worker ${i + 1}`, pid])];
  const { graph, key, tasks } = treeReductionGraph(leaves);
  const expected = (await scheduler.get(graph, [key]))[0];
  const samples = new Map<string, { rss: number[]; fds: number[] }>(pids.map(([name]) => [name, { rss: [], fds: [] }]));
  const started = performance.now();
  for (let i = 1; i <= gets; i++) {
    const [value] = await scheduler.get(graph, [key]);
    if (value !== expected) throw new Error(`get ${i} returned ${String(value)}, expected ${String(expected)}`);
    if (i > warmup && i % SAMPLE_EVERY === 0) {
      for (const [name, pid] of pids) {
        const series = samples.get(name)!;
        series.rss.push(rssOf(pid));
        series.fds.push(fdsOf(pid));
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`${gets} gets of a ${tasks}-task tree (${leaves} leaves) on ${workers} workers in ${seconds.toFixed(1)} s (${((seconds / gets) * 1000).toFixed(1)} ms per get); warm-up ${warmup} gets; memory limit ${memoryLimit} per worker`);
  console.log('process      RSS median 1st half -> 2nd half (change)      open fds 1st -> 2nd half');
  let worst = 0;
  for (const [name, { rss, fds }] of samples) {
    const half = Math.floor(rss.length / 2);
    const [r1, r2] = [median(rss.slice(0, half)), median(rss.slice(half))];
    const [f1, f2] = [median(fds.slice(0, half)), median(fds.slice(half))];
    const rssChange = (r2 - r1) / r1;
    const fdChange = (f2 - f1) / f1;
    worst = Math.max(worst, rssChange, fdChange);
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
    console.log(`${name.padEnd(12)} ${mb(r1).padStart(9)} -> ${mb(r2).padStart(9)} (${(rssChange * 100 >= 0 ? '+' : '') + (rssChange * 100).toFixed(1)} %)`.padEnd(58) + `${f1} -> ${f2}`);
  }
  console.log(worst <= 0.1 ? 'flat: every series within 10 %' : `GREW: a series grew ${(worst * 100).toFixed(1)} % (> 10 %)`);
  process.exitCode = worst <= 0.1 ? 0 : 1;
} finally {
  await scheduler.close();
}
