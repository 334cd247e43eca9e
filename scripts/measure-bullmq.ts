/**
 * The bullmq scheduler against processes and distributed, in the same run, interleaved
 * (run after `npm run build`; needs redis-server for bullmq's embedded Redis):
 *   node dist/scripts/measure-bullmq.js [--workers 2] [--runs 5] [--tasks 10000] [--matmul small]
 *
 * All three schedulers are started once and stay up; each round times, on each of them in
 * turn: the 10,000 trivial-task graph of measure-overhead.ts (per-task cost, end to end,
 * warm), and the catalog's blocked matmul at `--matmul` size (time and the stats() bytes).
 * Prints medians, and each scheduler's ratio to distributed.
 */
import { createScheduler, type Scheduler } from '../schedulers/index.js';
import type { SchedulerName, TransferStats } from '../schedulers/types.js';
import { getWorkload, type SizeName } from '../workloads/index.js';
import { treeReductionGraph } from './measure-overhead.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

const NAMES: SchedulerName[] = ['processes', 'distributed', 'bullmq'];

interface Figures {
  usPerTask: number[];
  matmulSeconds: number[];
  matmulBytes?: TransferStats;
}

async function main(): Promise<void> {
  const workers = Number(flag('workers', '2'));
  const runs = Number(flag('runs', '5'));
  const tasks = Number(flag('tasks', '10000'));
  const size = flag('matmul', 'small') as SizeName;
  const { graph, key: root, tasks: count } = treeReductionGraph(Math.ceil(tasks / 2));
  const matmul = getWorkload('matmul');
  const params = matmul.sizes[size];
  const built = await matmul.build(params, { tmpDir: '/tmp', options: {} });
  const schedulers = new Map<SchedulerName, Scheduler>();
  const figures = new Map<SchedulerName, Figures>(NAMES.map((n) => [n, { usPerTask: [], matmulSeconds: [] }]));
  try {
    for (const name of NAMES) {
      const scheduler = await createScheduler(name, { workers });
      schedulers.set(name, scheduler);
      await scheduler.get(graph, [root]); // warm-up: imports, JIT, the engine's task-time estimate
      await scheduler.get(built.graph, built.keys);
      console.log(`${name}: started in ${scheduler.startupSeconds.toFixed(2)} s and warmed up`);
    }
    for (let r = 0; r < runs; r++) {
      for (const name of NAMES) {
        const scheduler = schedulers.get(name)!;
        const f = figures.get(name)!;
        let t = performance.now();
        await scheduler.get(graph, [root]);
        f.usPerTask.push(((performance.now() - t) * 1000) / count);
        const before = scheduler.stats();
        t = performance.now();
        const results = await scheduler.get(built.graph, built.keys);
        f.matmulSeconds.push((performance.now() - t) / 1000);
        const after = scheduler.stats();
        await matmul.verify(results, params, built);
        f.matmulBytes = {
          tasks: after.tasks - before.tasks,
          bytesToWorkers: after.bytesToWorkers - before.bytesToWorkers,
          bytesFromWorkers: after.bytesFromWorkers - before.bytesFromWorkers,
          bytesBetweenWorkers: after.bytesBetweenWorkers - before.bytesBetweenWorkers,
        };
      }
    }
  } finally {
    for (const s of schedulers.values()) await s.close();
    await built.dispose?.();
  }
  const d = figures.get('distributed')!;
  console.log(`\n${workers} workers each, ${runs} interleaved rounds, medians (ratio to distributed):`);
  for (const name of NAMES) {
    const f = figures.get(name)!;
    const us = median(f.usPerTask);
    const sec = median(f.matmulSeconds);
    const b = f.matmulBytes!;
    console.log(
      `${name.padEnd(11)} ${count} trivial tasks: ${us.toFixed(1)} us/task (x${(us / median(d.usPerTask)).toFixed(2)}) [${f.usPerTask.map((x) => x.toFixed(0)).join(', ')}]` +
        `; matmul ${size}: ${sec.toFixed(2)} s (x${(sec / median(d.matmulSeconds)).toFixed(2)}), to workers ${mb(b.bytesToWorkers)}, back ${mb(b.bytesFromWorkers)}, between workers ${mb(b.bytesBetweenWorkers)}`,
    );
  }
}

await main();
