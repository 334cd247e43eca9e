// A pool session in-process, as the racing runner drives it: a scheduler that cannot be loaded
// fails its cells with the reason at prepare, the others prepare, sample one at a time and finish;
// a costly check of the answer runs once per distinct answer.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { PoolSession } from '../dist/harness/runner/pool.js';
import { CellMeasurement } from '../dist/harness/measure/cell.js';
import { createScheduler } from '../dist/schedulers/index.js';
import { loadWorkloadFile } from '../dist/workloads/index.js';

const settings = { budgetSeconds: 0.1, minSamples: 3, maxSamples: 3, runTimeoutSeconds: 30 };

it('turns a scheduler whose module fails to load into failed cells, and measures the others sample by sample', async () => {
  const workload = await loadWorkloadFile(fileURLToPath(new URL('./fixtures/harness/sum-squares.workload.mjs', import.meta.url)));
  const createBroken = async (name: 'sync' | 'threads' | 'processes' | 'distributed' | 'bullmq', options: { workers: number }) => {
    if (name === 'threads') throw new Error("Cannot find package 'piscina' imported from threads/index.js");
    return createScheduler(name, options);
  };
  const hooks = { interrupt: new AbortController().signal, note() {}, createScheduler: createBroken };
  const sync = new PoolSession({ scheduler: 'sync', workers: 1 }, settings, {}, hooks);
  const threads = new PoolSession({ scheduler: 'threads', workers: 2 }, settings, {}, hooks);
  try {
    await Promise.all([sync.start(), threads.start()]);
    expect(await sync.prepare({ workload, size: 'quick' })).toBeNull();
    const failed = await threads.prepare({ workload, size: 'quick' });
    expect(failed!.error!.message).toBe("could not start threads×2: Cannot find package 'piscina' imported from threads/index.js");
    expect(failed).toMatchObject({ status: 'failed', samples: [], stats: null, speedup: null, verified: false, workers: 2, params: { n: 20000, chunks: 8 }, raceEnd: 'failed' });

    const times = [await sync.sample(), await sync.sample(), await sync.sample()];
    for (const t of times) expect(typeof t === 'number' && t > 0).toBe(true);
    const cell = await sync.finish('leader');
    expect(cell).toMatchObject({ status: 'ok', verified: true, samples: times, raceEnd: 'leader', tasks: 9 });
    expect(cell.stats!.median).toBe([...(times as number[])].sort((a, b) => a - b)[1]);
    // A discarded sample is forgotten with everything it measured; the next one is kept.
    expect(await sync.prepare({ workload, size: 'quick' })).toBeNull();
    const kept = await sync.sample();
    await sync.sample();
    expect(sync.discard()).toBeNull();
    const next = await sync.sample();
    const retaken = await sync.finish('leader');
    expect(retaken).toMatchObject({ status: 'ok', samples: [kept, next], tasks: 9 });
    expect(retaken.taskStream!.totalTasks).toBe(9);
    // The next size of the same workload is prepared on the same pool.
    expect(await sync.prepare({ workload, size: 'small' })).toBeNull();
    expect(typeof (await sync.sample())).toBe('number');
    expect((await sync.finish('budget')).size).toBe('small');
  } finally {
    await Promise.all([sync.close(), threads.close()]);
  }
});

it('verifies every answer when the check is cheap, and byte-identical answers once when it is costly', { timeout: 30_000 }, async () => {
  const ops = new URL('./fixtures/harness/ops.mjs', import.meta.url).href;
  const scheduler = await createScheduler('sync');
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    const measure = async (verifyMs: number) => {
      const built = { graph: { x: { value: 1 } as object, total: { op: `${ops}#sleep`, args: [20, { $ref: 'x' }] } }, keys: ['total'] };
      const counted = { verifies: 0 };
      const workload = {
        name: 'answer-check',
        description: 'an answer after 20 ms, checked in verifyMs',
        sizes: { quick: {} },
        build: () => built,
        verify: async () => {
          counted.verifies++;
          if (verifyMs > 0) await pause(verifyMs);
        },
      };
      const input = { scheduler, workers: 1, workload, size: 'quick' as const, params: {}, built, startupSeconds: 0, interrupt: new AbortController().signal, settings: { budgetSeconds: 1, minSamples: 3, maxSamples: 3, runTimeoutSeconds: 30 } };
      const cell = await CellMeasurement.prepare(input);
      const counts = [counted.verifies];
      for (let i = 0; i < 3; i++) {
        await cell.sample();
        counts.push(counted.verifies);
      }
      built.graph.x = { value: 2 }; // another answer: verified in full
      await cell.sample();
      counts.push(counted.verifies);
      expect((await cell.result('leader')).verified).toBe(true);
      return counts;
    };
    // Verifying costs 3 × the run: the first answer is verified, identical ones are not, a new one is.
    expect(await measure(60)).toEqual([0, 1, 1, 1, 2]);
    // A cheap check runs on every answer.
    expect(await measure(0)).toEqual([0, 1, 2, 3, 4]);
  } finally {
    await scheduler.close();
  }
});
