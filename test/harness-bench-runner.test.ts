// A pool run in-process: a scheduler that cannot be loaded becomes failed cells with the
// reason, the pool goes on, and cells are reported in order as they finish.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { Cell } from '../dist/results/schema.js';
import { runPool } from '../dist/harness/runner/pool.js';
import { createScheduler } from '../dist/schedulers/index.js';
import { loadWorkloadFile } from '../dist/workloads/index.js';

const settings = { budgetSeconds: 0.1, minSamples: 1, maxSamples: 3, runTimeoutSeconds: 30 };

it('turns a scheduler whose module fails to load into failed cells, and measures the others', async () => {
  const workload = await loadWorkloadFile(fileURLToPath(new URL('./fixtures/harness/sum-squares.workload.mjs', import.meta.url)));
  const cells = [{ workload, size: 'quick' as const }, { workload, size: 'small' as const }];
  const createBroken = async (name: 'sync' | 'threads' | 'processes' | 'distributed', options: { workers: number }) => {
    if (name === 'threads') throw new Error("Cannot find package 'piscina' imported from threads/index.js");
    return createScheduler(name, options);
  };
  const reported: Array<[number, Cell]> = [];
  for (const pool of [{ scheduler: 'sync' as const, workers: 1 }, { scheduler: 'threads' as const, workers: 2 }]) {
    await runPool(
      { pool, cells, settings, workloadOptions: {} },
      {
        interrupt: new AbortController().signal,
        cellStarted() {},
        cellFinished: (index, cell) => void reported.push([index, cell]),
        note() {},
        createScheduler: createBroken,
      },
    );
  }
  expect(reported.map(([i, c]) => [i, c.scheduler, c.size, c.status])).toEqual([
    [0, 'sync', 'quick', 'ok'],
    [1, 'sync', 'small', 'ok'],
    [0, 'threads', 'quick', 'failed'],
    [1, 'threads', 'small', 'failed'],
  ]);
  const failed = reported[2]![1];
  expect(failed.error!.message).toBe("could not start threads×2: Cannot find package 'piscina' imported from threads/index.js");
  expect(failed).toMatchObject({ samples: [], stats: null, speedup: null, verified: false, workers: 2, params: { n: 20000, chunks: 8 } });
});
