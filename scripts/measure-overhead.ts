/**
 * Per-task overhead of the local schedulers:
 * a graph of 10,000 trivial tasks (5,000 `inc` leaves and a binary tree of 4,999 `add`s
 * reducing them, plus the root), 2 workers, median wall time of several `get`s divided by
 * the task count, after 5 warm-up runs; pool start-up is excluded (measured apart).
 *
 *   node dist/scripts/measure-overhead.js [--runs 15] [--schedulers sync,threads,processes]
 *
 * Prints, per scheduler: median and min wall µs/task, median main-process CPU µs/task (robust
 * to a busy machine for sync), bytes moved per run (stats()), and pool start-up time.
 */
import { availableParallelism, loadavg } from 'node:os';
import { createScheduler, GraphBuilder, opRef, type Graph, type SchedulerName } from '../schedulers/index.js';

/** Untimed runs first, so the JIT has compiled the engine's hot paths (steady state, as a long-lived scheduler). */
const WARM_UP_RUNS = 5;

const OPS = new URL('./trivial-ops.js', import.meta.url).href;

/** 5,000 leaves + 4,999 pairwise adds + 1 root = 10,000 tasks; returns the graph and its output key (keys start with `prefix`). */
export function treeReductionGraph(leaves = 5000, prefix = ''): { graph: Graph; key: string; tasks: number } {
  const b = new GraphBuilder();
  let level = Array.from({ length: leaves }, (_, i) => b.task(`${prefix}inc-${i}`, opRef(OPS, 'inc'), [i]));
  let id = 0;
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? b.task(`${prefix}add-${id++}`, opRef(OPS, 'add'), [level[i], level[i + 1]]) : level[i]!);
    }
    level = next;
  }
  b.task(`${prefix}root`, opRef(OPS, 'identity'), [level[0]]);
  return { graph: b.graph, key: `${prefix}root`, tasks: Object.keys(b.graph).length };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${availableParallelism()} cores (wall times inflate when the machine is busy)`);
  const args = process.argv.slice(2);
  const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) || 15 : 15;
  const names = (args.includes('--schedulers') ? args[args.indexOf('--schedulers') + 1]! : 'sync,threads,processes').split(',') as SchedulerName[];
  const { graph, key, tasks } = treeReductionGraph();
  const expected = (5000 * 5001) / 2;
  for (const name of names) {
    const scheduler = await createScheduler(name, { workers: 2 });
    try {
      for (let w = 0; w < WARM_UP_RUNS; w++) {
        const [warm] = await scheduler.get(graph, [key]);
        if (warm !== expected) throw new Error(`${name}: wrong result ${String(warm)}, expected ${expected}`);
      }
      const before = scheduler.stats();
      const samples: number[] = [];
      const cpuSamples: number[] = [];
      for (let r = 0; r < runs; r++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await scheduler.get(graph, [key]);
        samples.push(((performance.now() - t0) * 1000) / tasks);
        const c = process.cpuUsage(c0);
        cpuSamples.push((c.user + c.system) / tasks);
      }
      const after = scheduler.stats();
      const perRun = (n: number, m: number): number => Math.round((n - m) / runs);
      console.log(
        `${name.padEnd(9)} ${median(samples).toFixed(2).padStart(7)} us/task (median of ${runs}; min ${Math.min(...samples).toFixed(2)}; ` +
          `main-process CPU ${median(cpuSamples).toFixed(2)}) ` +
          `bytes/run to workers ${perRun(after.bytesToWorkers, before.bytesToWorkers)}, from workers ${perRun(after.bytesFromWorkers, before.bytesFromWorkers)}; ` +
          `start-up ${(scheduler.startupSeconds * 1000).toFixed(0)} ms`,
      );
    } finally {
      await scheduler.close();
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
