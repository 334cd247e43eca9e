/**
 * Measures the distributed scheduler (run after `npm run build`):
 *   node dist/scripts/measure-distributed.js [--workers 2] [--runs 5] [--tasks 10000] [--matmul small]
 *                                            [--fresh] [--warmup 1]
 *
 * 1. Per-task overhead: a graph of `--tasks` trivial tasks (half leaves, half a pairwise tree
 *    reduction over them: measure-overhead.ts's graph), timed end to end on a warm local cluster; prints the median of
 *    `--runs` runs in microseconds per task (Dask distributed: 494 us/task on this class of
 *    2-core machine), with the processes scheduler alongside for scale. `--fresh`: a new graph
 *    with new keys for every get (as users build them; issue 14's measure), built before its
 *    timer starts; `--warmup N` gets first, untimed (a new cluster's first gets cost 3-4x
 *    more while the workers' JIT and heaps settle).
 * 2. Bytes moved: the catalog's blocked matmul at `--matmul` size on distributed and on
 *    processes, with the stats() counters of each (to, from and between workers).
 */
import { createScheduler, type Scheduler } from '../schedulers/index.js';
import type { TransferStats } from '../schedulers/types.js';
import { getWorkload, type SizeName } from '../workloads/index.js';
import { treeReductionGraph } from './measure-overhead.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function overhead(scheduler: Scheduler, tasks: number, runs: number, fresh: boolean, warmup: number): Promise<{ usPerTask: number; samples: number[] }> {
  // The same graph as measure-overhead.ts, so the local and distributed figures compare.
  let made = 0;
  const reused = treeReductionGraph(Math.ceil(tasks / 2));
  const next = () => (fresh ? treeReductionGraph(Math.ceil(tasks / 2), `f${made++}-`) : reused);
  for (let w = 0; w < warmup; w++) {
    const { graph, key } = next();
    await scheduler.get(graph, [key]); // warm-up: imports, JIT, scheduler's task-time estimate
  }
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const { graph, key, tasks: count } = next();
    const started = performance.now();
    await scheduler.get(graph, [key]);
    samples.push(((performance.now() - started) * 1000) / count);
  }
  return { usPerTask: median(samples), samples };
}

const diff = (a: TransferStats, b: TransferStats): TransferStats => ({
  tasks: a.tasks - b.tasks,
  bytesToWorkers: a.bytesToWorkers - b.bytesToWorkers,
  bytesFromWorkers: a.bytesFromWorkers - b.bytesFromWorkers,
  bytesBetweenWorkers: a.bytesBetweenWorkers - b.bytesBetweenWorkers,
});

async function matmulBytes(scheduler: Scheduler, size: SizeName): Promise<{ seconds: number; stats: TransferStats }> {
  const matmul = getWorkload('matmul');
  const params = matmul.sizes[size];
  const built = await matmul.build(params, { tmpDir: '/tmp', options: {} });
  const before = scheduler.stats();
  const started = performance.now();
  const results = await scheduler.get(built.graph, built.keys);
  const seconds = (performance.now() - started) / 1000;
  await matmul.verify(results, params, built);
  await built.dispose?.();
  return { seconds, stats: diff(scheduler.stats(), before) };
}

async function main(): Promise<void> {
  const workers = Number(flag('workers', '2'));
  const runs = Number(flag('runs', '5'));
  const tasks = Number(flag('tasks', '10000'));
  const size = flag('matmul', 'small') as SizeName;
  const fresh = process.argv.includes('--fresh');
  const warmup = Number(flag('warmup', '1'));
  for (const name of ['distributed', 'processes'] as const) {
    const scheduler = await createScheduler(name, { workers });
    try {
      const { usPerTask, samples } = await overhead(scheduler, tasks, runs, fresh, warmup);
      console.log(`${name}: ${tasks} trivial tasks (tree reduction${fresh ? ', a fresh graph per get' : ''}, ${warmup} warm-up), ${workers} workers: ${usPerTask.toFixed(1)} us/task median of ${runs} [${samples.map((s) => s.toFixed(1)).join(', ')}]; start-up ${scheduler.startupSeconds.toFixed(2)} s`);
      const { seconds, stats } = await matmulBytes(scheduler, size);
      console.log(`${name}: matmul ${size}: ${seconds.toFixed(2)} s, ${JSON.stringify(stats)}`);
    } finally {
      await scheduler.close();
    }
  }
}

await main();
