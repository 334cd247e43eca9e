// The racing policy on synthetic sample streams: who gets the next sample, and when each cell stops.
import { describe, expect, it } from 'vitest';
import { leaderOf, nextStep, recordFailure, recordSample, startRace, type Race } from '../dist/harness/runner/race.js';
import { mulberry32 } from '../dist/common/random.js';

/** A stream of timings around `median` with multiplicative noise of about ±`spread`. */
function stream(median: number, spread: number, seed: number): () => number {
  const random = mulberry32(seed);
  return () => median * (1 + spread * (random() + random() + random() - 1.5));
}

/** Run a race to the end, one sample per step; every sample costs `secondsPerSample` of the budget. */
function run(race: Race, cells: Array<() => number>, secondsPerSample = 0.01): number[] {
  const order: number[] = [];
  let elapsed = 0;
  for (let step = nextStep(race, elapsed); step.kind === 'sample'; step = nextStep(race, elapsed)) {
    order.push(step.cell);
    recordSample(race, step.cell, cells[step.cell]!());
    elapsed += secondsPerSample;
  }
  return order;
}

const settings = { minSamples: 3, maxSamples: 20, budgetSeconds: 100 };

describe('race', () => {
  it('stops a clearly slower cell after the minimum and ends the leader with it', () => {
    const race = startRace(3, settings);
    run(race, [stream(1.0, 0.02, 1), stream(2.0, 0.02, 2), stream(3.0, 0.02, 3)]);
    expect(race.cells.map((c) => [c.end, c.samples.length])).toEqual([
      ['leader', 3],
      ['slower', 3],
      ['slower', 3],
    ]);
  });

  it('samples a true tie up to the cap and ends it within noise', () => {
    const race = startRace(2, settings);
    run(race, [stream(1.0, 0.1, 4), stream(1.0, 0.1, 5)]);
    expect(race.cells.map((c) => c.samples.length)).toEqual([20, 20]);
    expect(race.cells.map((c) => c.end).sort()).toEqual(['leader', 'within-noise']);
  });

  it('spends samples where the decision is close: a clear loser stops early, a near tie goes on', () => {
    const race = startRace(3, settings);
    run(race, [stream(1.0, 0.1, 6), stream(1.02, 0.1, 7), stream(2.5, 0.02, 8)]);
    expect(race.cells[2]).toMatchObject({ end: 'slower' });
    expect(race.cells[2]!.samples).toHaveLength(3);
    expect(race.cells[0]!.samples.length).toBeGreaterThan(3);
    expect(race.cells[1]!.samples.length).toBeGreaterThan(3);
  });

  it('interleaves samples of the open cells one at a time, in plan order', () => {
    const race = startRace(3, settings);
    const order = run(race, [stream(1.0, 0.1, 9), stream(1.0, 0.1, 10), stream(3.0, 0.01, 11)]);
    expect(order.slice(0, 9)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    // Cell 2 is out after the minimum; the other two alternate.
    expect(order.slice(9, 15)).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('serves the cells whose pools are alive first, so rounds alternate between groups of pools', () => {
    const race = startRace(4, settings);
    let live = new Set([0, 1]); // two of four pools fit; a swap brings in the other two
    const order: number[] = [];
    for (let step = nextStep(race, 0, (i) => live.has(i)); step.kind === 'sample' && order.length < 12; step = nextStep(race, 0, (i) => live.has(i))) {
      if (!live.has(step.cell)) live = step.cell < 2 ? new Set([0, 1]) : new Set([2, 3]);
      order.push(step.cell);
      recordSample(race, step.cell, 1 + 0.01 * ((order.length * 7) % 5));
    }
    expect(order).toEqual([0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3]);
  });

  it('stops open cells when the budget is spent, after the minimum', () => {
    const race = startRace(2, { ...settings, budgetSeconds: 0.05 });
    const order = run(race, [stream(1.0, 0.1, 12), stream(1.0, 0.1, 13)], 0.01);
    // The minimum (3 each) is taken even though it overruns the budget; then the race ends.
    expect(order).toHaveLength(6);
    expect(race.cells.map((c) => c.end).sort()).toEqual(['budget', 'leader']);
  });

  it('leaves failed cells out and names the leader by median', () => {
    const race = startRace(3, settings);
    recordFailure(race, 1);
    const order = run(race, [stream(2.0, 0.02, 14), () => 0.001, stream(1.0, 0.02, 15)]);
    expect(order).not.toContain(1);
    expect(leaderOf(race)).toBe(2);
    expect(race.cells.map((c) => c.end)).toEqual(['slower', 'failed', 'leader']);
  });

  it('stops a cell far slower than the leader after one sample, but never the likely runner-up', () => {
    // sync leads; threads is the fastest other scheduler (protected even though it is far slower);
    // both bullmq cells are over 4 × the leader's slowest sample and stop after the first round.
    const race = startRace(4, settings, ['sync', 'threads', 'bullmq', 'bullmq']);
    run(race, [stream(1.0, 0.02, 17), stream(5.0, 0.02, 18), stream(9.0, 0.02, 19), stream(8.0, 0.02, 20)]);
    expect(race.cells.map((c) => [c.end, c.samples.length])).toEqual([
      ['leader', 3],
      ['slower', 3],
      ['far-slower', 1],
      ['far-slower', 1],
    ]);
  });

  it('a single cell takes the minimum and ends as leader', () => {
    const race = startRace(1, settings);
    expect(run(race, [stream(1.0, 0.1, 16)])).toEqual([0, 0, 0]);
    expect(race.cells[0]!.end).toBe('leader');
  });
});
