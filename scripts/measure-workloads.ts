/**
 * Ad-hoc measurement (not part of the CLI, not used by `bench`): each catalog workload at one
 * size on sync / threads / processes with N workers. Per (workload, scheduler): pool start-up,
 * median wall time of `get` over a few runs after one warm-up, speedup against sync (when
 * sync is among the schedulers), and bytes moved per run from `stats()`. Every run's answer is verified (outside the timing).
 *
 *   npx tsc -p . && node dist/scripts/measure-workloads.js [--size small] [--runs 3] [--workers 2]
 *     [--workloads matmul,shuffle] [--schedulers sync,threads,processes]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createScheduler } from '../schedulers/index.js';
import type { SchedulerName } from '../schedulers/types.js';
import { catalog } from '../workloads/index.js';
import type { SizeName } from '../workloads/types.js';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: 'small' },
    runs: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    workloads: { type: 'string' },
    schedulers: { type: 'string', default: 'sync,threads,processes' },
  },
});
const size = args.size as SizeName;
const runs = Number(args.runs);
const workers = Number(args.workers);
const schedulers = args.schedulers!.split(',') as SchedulerName[];
const wanted = args.workloads?.split(',');

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

const tmpDir = mkdtempSync(join(tmpdir(), 'schedlab-measure-'));
console.log(`size ${size}, ${workers} workers, median of ${runs} runs after 1 warm-up`);
console.log('workload     scheduler   startup s  median s  speedup  tasks  MB->workers  MB<-workers  MB-between');
try {
  for (const w of catalog.filter((x) => !wanted || wanted.includes(x.name))) {
    const params = w.sizes[size];
    const built = await w.build(params, { tmpDir, options: {} });
    let syncMedian: number | undefined;
    for (const name of schedulers) {
      const scheduler = await createScheduler(name, { workers });
      try {
        const samples: number[] = [];
        let before = scheduler.stats();
        for (let run = 0; run <= runs; run++) {
          if (run === 1) before = scheduler.stats(); // the warm-up run is not counted
          const t0 = performance.now();
          const results = await scheduler.get(built.graph, built.keys);
          if (run > 0) samples.push((performance.now() - t0) / 1000);
          await w.verify(results, params, built);
        }
        const after = scheduler.stats();
        const time = median(samples);
        if (name === 'sync') syncMedian = time;
        const speedup = syncMedian ? (syncMedian / time).toFixed(2) : '-';
        console.log(
          `${w.name.padEnd(12)} ${name.padEnd(11)} ${scheduler.startupSeconds.toFixed(2).padStart(9)} ${time.toFixed(3).padStart(9)} ` +
            `${speedup.padStart(8)} ${String((after.tasks - before.tasks) / runs).padStart(6)} ` +
            `${mb((after.bytesToWorkers - before.bytesToWorkers) / runs).padStart(12)} ${mb((after.bytesFromWorkers - before.bytesFromWorkers) / runs).padStart(12)} ` +
            `${mb((after.bytesBetweenWorkers - before.bytesBetweenWorkers) / runs).padStart(11)}`,
        );
      } finally {
        await scheduler.close();
      }
    }
    await built.dispose?.();
  }
} finally {
  rmSync(tmpDir, { recursive: true, force: true });
}
