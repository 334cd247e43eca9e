// The racing policy on synthetic sample streams: who gets the next sample, and when each cell stops.
import { describe, expect, it } from 'vitest';
import { PAIR_BUDGET, PAIR_MIN_SAMPLES, TIE_SAMPLES, leaderOf, nextStep, recordFailure, recordSample, startRace, type Race } from '../dist/harness/runner/race.js';
import { choose } from '../dist/report/verdict.js';
import { mulberry32 } from '../dist/common/random.js';
import { median } from 'simple-statistics';

/** A stream of timings around `median` with multiplicative noise of about ±`spread`. */
function stream(median: number, spread: number, seed: number): () => number {
  const random = mulberry32(seed);
  return () => median * (1 + spread * (random() + random() + random() - 1.5));
}

type Pool = { scheduler: 'sync' | 'threads' | 'processes' | 'distributed' | 'bullmq'; workers: number };
/** Pools by label: "sync", "threads×2"... */
function pools(...labels: string[]): Pool[] {
  return labels.map((label) => {
    const [scheduler, workers] = label.split('×');
    return { scheduler: scheduler as Pool['scheduler'], workers: Number(workers ?? 1) };
  });
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

const ends = (race: Race) => race.cells.map((c) => [c.end, c.samples.length]);
/** The report's verdict on what the race measured. */
const verdictOf = (race: Race) =>
  choose(race.cells.map((c, i) => ({ ...race.pools[i]!, samples: c.samples, median: median(c.samples), i })))!;

const settings = { minSamples: 3, maxSamples: 20, budgetSeconds: 100 };

describe('race', () => {
  it('a clear winner stops early: the minimum, then the verdict is beyond noise', () => {
    const race = startRace(pools('sync', 'threads×1', 'processes×1'), settings);
    run(race, [stream(1.0, 0.02, 1), stream(1.5, 0.02, 2), stream(3.0, 0.02, 3)]);
    // processes×1 is over 2 × sync's slowest after one sample; threads×1 (the runner-up) is
    // slower beyond noise as soon as the pair may be decided.
    expect(ends(race)).toEqual([
      ['leader', PAIR_MIN_SAMPLES],
      ['slower', PAIR_MIN_SAMPLES],
      ['far-slower', 1],
    ]);
    expect(verdictOf(race).verdict).toBe('beyond-noise');
  });

  it('samples a true tie up to the cap and ends it within noise', () => {
    const race = startRace(pools('sync', 'threads×1'), settings);
    run(race, [stream(1.0, 0.4, 4), stream(1.0, 0.4, 5)]);
    expect(race.cells.map((c) => c.samples.length)).toEqual([20, 20]);
    expect(race.cells.map((c) => c.end).sort()).toEqual(['leader', 'within-noise']);
    expect(verdictOf(race).verdict).toBe('within-noise');
  });

  it('decides a tight tie within ±5 % once each side has its tie minimum', () => {
    const race = startRace(pools('sync', 'threads×1'), settings);
    run(race, [stream(1.0, 0.02, 6), stream(1.0, 0.02, 7)]);
    expect(race.cells.map((c) => c.samples.length)).toEqual([TIE_SAMPLES, TIE_SAMPLES]);
    expect(race.cells.map((c) => c.end).sort()).toEqual(['leader', 'within-noise']);
  });

  it('races the pair the verdict rests on past the others, which keep their minimum', () => {
    // Three cells tied: sync is the pick (simplest), one threads cell its runner-up; the other
    // threads cell is neither out nor in the pair (it joins it for a round when its median is
    // the lowest, then the fastest changes again).
    const race = startRace(pools('sync', 'threads×1', 'threads×2'), settings);
    run(race, [stream(1.0, 0.02, 8), stream(1.0, 0.02, 9), stream(1.0, 0.02, 10)]);
    const [pick, runnerUp] = race.pair!;
    expect(pick).toBe(0);
    expect(race.cells[pick]!.samples.length).toBeGreaterThanOrEqual(TIE_SAMPLES);
    expect(race.cells[runnerUp!]!.samples.length).toBeGreaterThanOrEqual(TIE_SAMPLES);
    const other = 3 - pick - runnerUp!;
    expect(race.cells[other]).toMatchObject({ end: 'off-pair' });
    expect(race.cells[other]!.samples.length).toBeLessThan(TIE_SAMPLES);
  });

  it('stops a cell outside the pair once it is out at 99 %, and races the next simplest candidate', () => {
    // threads×2 is 20 % faster than sync, but sync is noisy: after the minimum sync is within
    // noise (the simple pick) and races threads×2 until it is out; processes×2 is clearly out.
    const race = startRace(pools('sync', 'threads×2', 'processes×2'), settings);
    run(race, [stream(1.0, 0.4, 11), stream(0.8, 0.05, 12), stream(1.3, 0.02, 13)]);
    expect(race.cells[2]).toMatchObject({ end: 'slower' });
    expect(race.cells[2]!.samples).toHaveLength(3);
    expect(race.cells[0]!.samples.length).toBeGreaterThanOrEqual(PAIR_MIN_SAMPLES);
    const verdict = verdictOf(race);
    expect(verdict.pick).toMatchObject({ scheduler: 'threads', workers: 2 });
    expect(verdict.verdict).toBe('beyond-noise');
    expect(race.cells[1]!.end).toBe('leader');
  });

  it('interleaves samples: the minimum in plan order, then the pair in turn', () => {
    const race = startRace(pools('sync', 'threads×1', 'processes×1'), settings);
    const order = run(race, [stream(1.0, 0.3, 14), stream(1.0, 0.3, 15), stream(1.6, 0.01, 16)]);
    expect(order.slice(0, 9)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    // processes×1 is out after the minimum; the pair alternates.
    expect(race.cells[2]!.end).toBe('slower');
    expect(order.slice(9, 15)).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('serves the cells whose pools are alive first, so rounds alternate between groups of pools', () => {
    const race = startRace(pools('sync', 'threads×1', 'threads×2', 'processes×1'), settings);
    let live = new Set([0, 1]); // two of four pools fit; a swap brings in the other two
    const order: number[] = [];
    for (let step = nextStep(race, 0, (i) => live.has(i)); step.kind === 'sample' && order.length < 12; step = nextStep(race, 0, (i) => live.has(i))) {
      if (!live.has(step.cell)) live = step.cell < 2 ? new Set([0, 1]) : new Set([2, 3]);
      order.push(step.cell);
      recordSample(race, step.cell, 1 + 0.01 * ((order.length * 7) % 5));
    }
    expect(order).toEqual([0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3]);
  });

  it(`lets the pair go past the budget, up to ${PAIR_BUDGET} times it; the minimum and the pair's minimum are always taken`, () => {
    // A tie too noisy to decide, and a cell outside the pair: each sample costs 1 s of a 6 s budget.
    const race = startRace(pools('sync', 'threads×1', 'threads×2'), { ...settings, budgetSeconds: 6 });
    const order = run(race, [stream(1.0, 0.4, 17), stream(1.0, 0.4, 18), stream(1.4, 0.02, 19)], 1);
    // 9 s of minimum (past the budget), then the pair's rounds until 12 s are spent.
    expect(order).toHaveLength(13);
    expect(order.slice(9)).toEqual([0, 1, 0, 1]);
    expect(race.cells.map((c) => c.end)).toEqual(['leader', 'budget', 'slower']);

    const short = startRace(pools('sync', 'threads×1'), { ...settings, budgetSeconds: 0.5 });
    expect(run(short, [stream(1.0, 0.4, 20), stream(1.0, 0.4, 21)], 1)).toHaveLength(2 * PAIR_MIN_SAMPLES);
  });

  it('leaves failed cells out and names the leader by median', () => {
    const race = startRace(pools('sync', 'threads×1', 'processes×1'), settings);
    recordFailure(race, 1);
    const order = run(race, [stream(1.5, 0.02, 21), () => 0.001, stream(1.0, 0.02, 22)]);
    expect(order).not.toContain(1);
    expect(leaderOf(race)).toBe(2);
    expect(race.cells.map((c) => c.end)).toEqual(['slower', 'failed', 'leader']);
  });

  it('stops a cell far slower than the leader after one sample, but never the likely runner-up', () => {
    // sync leads; threads is the fastest other scheduler (kept even though it is far slower);
    // both bullmq cells are at least 2 × the leader's slowest sample and stop after the first round.
    const race = startRace(pools('sync', 'threads×1', 'bullmq×1', 'bullmq×2'), settings);
    run(race, [stream(1.0, 0.02, 23), stream(2.2, 0.02, 24), stream(2.5, 0.02, 25), stream(8.0, 0.02, 26)]);
    expect(ends(race)).toEqual([
      ['leader', PAIR_MIN_SAMPLES],
      ['slower', PAIR_MIN_SAMPLES],
      ['far-slower', 1],
      ['far-slower', 1],
    ]);
  });

  it('a single cell takes the minimum and ends as leader', () => {
    const race = startRace(pools('sync'), settings);
    expect(run(race, [stream(1.0, 0.1, 27)])).toEqual([0, 0, 0]);
    expect(race.cells[0]!.end).toBe('leader');
  });
});
