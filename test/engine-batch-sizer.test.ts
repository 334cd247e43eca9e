/**
 * The local engine's batch sizer on its own (pure arithmetic): what it learns from finished
 * batches, and how far a batch grows from that: one unit before anything was measured, at
 * least two round trips of work on a pool, balance only above that floor, per-op costs.
 */
import { describe, expect, it } from 'vitest';
import { BALANCE_PIECES, BatchSizer, DEFAULT_ROUND_TRIP_MS, INLINE_BATCH_MS, ROUND_TRIPS, SizerMemory, TARGET_BATCH_MS, type SizedPlan } from '../dist/schedulers/local/batch-sizer.js';

/** A plan of `ops.length` single-task units, unit e running op `ops[e]`. */
function plan(ops: number[], opNames = ['a', 'b']): SizedPlan {
  return { ops: opNames, taskStart: Int32Array.from({ length: ops.length + 1 }, (_, i) => i), taskOp: Int32Array.from(ops) };
}

/** How many units one batch takes from units 0.. (all ready, in order). */
function batchUnits(sizer: BatchSizer, units: number): number {
  const budget = sizer.begin(0, units - 1);
  let taken = 1;
  while (taken < units && budget.accept(taken, taken)) taken++;
  return taken;
}

/** Teach `sizer` that op `op` takes `ms` a task (a batch of `n` back-to-back tasks). */
function teach(sizer: BatchSizer, op: number, ms: number, n = 4): void {
  const times = new Float64Array(2 * n);
  for (let t = 0; t < n; t++) {
    times[2 * t] = t * ms;
    times[2 * t + 1] = (t + 1) * ms;
  }
  sizer.learnTimes(new Int32Array(n).fill(op), times);
}

const pool = { slots: 2, maxBatchTasks: 1024, inline: false };

describe('batch sizer', { timeout: 10_000 }, () => {
  it('takes one unit before any task time was measured', () => {
    const sizer = new BatchSizer(pool, new SizerMemory(), plan(new Array(100).fill(0)));
    expect(batchUnits(sizer, 100)).toBe(1);
  });

  it('covers two round trips even when balance would cut the batch smaller (tiny tasks)', () => {
    const memory = new SizerMemory();
    memory.roundTripMs = 0.125;
    const sizer = new BatchSizer(pool, memory, plan(new Array(1500).fill(0)));
    teach(sizer, 0, 1 / 1024); // ~1 µs tasks (values exact in binary, so the sums are too)
    const floorUnits = (ROUND_TRIPS * 0.125) * 1024;
    expect(Math.ceil(1500 / (pool.slots * BALANCE_PIECES))).toBeLessThan(floorUnits);
    expect(batchUnits(sizer, 1500)).toBe(floorUnits);
  });

  it('above the floor, grows toward the target only within a balanced share of the ready units', () => {
    const memory = new SizerMemory();
    memory.roundTripMs = 0.125;
    const sizer = new BatchSizer(pool, memory, plan(new Array(1000).fill(0)));
    teach(sizer, 0, 0.125);
    // 1,000 ready: the share (125 units) is more than the target's 32 units of 0.125 ms.
    expect(batchUnits(sizer, 1000)).toBe(TARGET_BATCH_MS / 0.125);
    // 40 ready: a share of 5 units (0.625 ms) is above the floor (0.25 ms), so balance decides.
    expect(batchUnits(sizer, 40)).toBe(Math.ceil(40 / (pool.slots * BALANCE_PIECES)));
  });

  it('a slow round trip (a busy machine) raises the floor only up to the target', () => {
    const memory = new SizerMemory();
    memory.roundTripMs = 10;
    const sizer = new BatchSizer(pool, memory, plan(new Array(1000).fill(0)));
    teach(sizer, 0, 0.125);
    // The floor would be 20 ms (160 units); it stops at the target, 4 ms (32 units).
    expect(batchUnits(sizer, 1000)).toBe(TARGET_BATCH_MS / 0.125);
  });

  it('never goes beyond the executor\'s task limit', () => {
    const memory = new SizerMemory();
    memory.roundTripMs = 10;
    const sizer = new BatchSizer({ ...pool, maxBatchTasks: 64 }, memory, plan(new Array(5000).fill(0)));
    teach(sizer, 0, 0.001);
    expect(batchUnits(sizer, 5000)).toBe(64);
  });

  it('costs each unit by its own op, and an op not measured yet by the mean of those that were', () => {
    const memory = new SizerMemory();
    memory.roundTripMs = 0.5; // floor: 1 ms
    // Units alternate a 0.125 ms op and a 0.375 ms op: 1 ms is reached after 4 units.
    const ops = Array.from({ length: 100 }, (_, i) => i % 2);
    const sizer = new BatchSizer({ ...pool, slots: 100 }, memory, plan(ops)); // balance share: 1 unit
    teach(sizer, 0, 0.125);
    teach(sizer, 1, 0.375);
    expect(sizer.unitMs(0)).toBe(0.125);
    expect(sizer.unitMs(1)).toBe(0.375);
    expect(batchUnits(sizer, 100)).toBe(4);
    const fresh = new BatchSizer(pool, memory, plan([0, 1, 2], ['a', 'b', 'c']));
    teach(fresh, 0, 0.25);
    expect(fresh.unitMs(2)).toBe(0.25);
  });

  it('shares the runner\'s time between tasks out among them', () => {
    const sizer = new BatchSizer(pool, new SizerMemory(), plan([0, 0]));
    // Two tasks of 1 ms with 2 ms between them: 2 ms each.
    sizer.learnTimes(Int32Array.from([0, 0]), Float64Array.from([0, 1, 3, 4]));
    expect(sizer.unitMs(0)).toBeCloseTo(2);
  });

  it('learns the round trip from batches that did not wait; one that may have waited can only lower it', () => {
    const memory = new SizerMemory();
    const sizer = new BatchSizer(pool, memory, plan([0]));
    expect(sizer.roundTripMs).toBe(DEFAULT_ROUND_TRIP_MS);
    sizer.learnRoundTrip(5, 4, true); // waited, and nothing known yet: ignored
    expect(memory.roundTripMs).toBeUndefined();
    sizer.learnRoundTrip(5.2, 5, false);
    expect(memory.roundTripMs).toBeCloseTo(0.2);
    sizer.learnRoundTrip(9, 1, true); // waited behind another batch: not a round trip
    expect(memory.roundTripMs).toBeCloseTo(0.2);
    sizer.learnRoundTrip(1.1, 1, true);
    expect(memory.roundTripMs).toBeLessThan(0.2);
    // The memory outlives the run: the next run's sizer starts from it.
    expect(new BatchSizer(pool, memory, plan([0])).roundTripMs).toBe(memory.roundTripMs);
  });

  it('inline: aims at a short batch, without balance or round trip', () => {
    const sizer = new BatchSizer({ slots: 1, maxBatchTasks: 64, inline: true }, new SizerMemory(), plan(new Array(1000).fill(0)));
    sizer.learnElapsed(new Int32Array(8), 8, 1 / 16); // ~8 µs a task
    expect(batchUnits(sizer, 1000)).toBe(INLINE_BATCH_MS * 128);
  });
});
