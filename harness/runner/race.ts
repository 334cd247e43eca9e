/**
 * The racing policy of a bench: which cell of a (workload, size) gets the next sample.
 *
 * The cells of one workload and size race, as in F-race or hyperfine's comparisons, and the
 * samples go where the verdict is decided:
 *   1. Every cell first gets `minSamples` samples (the test's minimum), in rounds. From the first
 *      round on, a cell whose every sample took at least FAR_SLOWER times the leader's slowest
 *      stops at once (`far-slower`): it cannot be the pick, and its samples are the race's most
 *      expensive (slow bullmq and distributed cells). The pair below is never stopped so.
 *   2. Then only the pair the verdict rests on races: the verdict's pick and runner-up, found on
 *      the samples so far by the report's own rule (report/verdict.ts `choose`: the simplest cell
 *      within noise of the fastest, against the fastest, or against the fastest cell of another
 *      scheduler when the pick is the fastest). The pair is sampled in turn, one sample each per
 *      round, until it is decided:
 *        - beyond noise: the verdict is `beyond-noise`, also at RACE_LEVEL, with at least
 *          PAIR_MIN_SAMPLES samples each (the runner-up ends `slower`);
 *        - a tie: within noise, the interval of the ratio inside ±TIE_BAND and at least
 *          TIE_SAMPLES samples each (the runner-up ends `within-noise`);
 *        - the cap: both have `maxSamples` samples (`within-noise`, or `slower` when the
 *          verdict is beyond noise at 95 % only);
 *        - the budget: PAIR_BUDGET times the workload's budget is spent (`budget`, or `slower`),
 *          once each side has PAIR_MIN_SAMPLES: on a slow or loaded machine, where the minimum
 *          alone may spend the budget, the verdict still rests on more than the minimum.
 *      The pair is found again after every round, so when the fastest cell turns out faster than
 *      the simple pick beyond noise, the next simplest cell within noise becomes the pick and
 *      is raced in turn.
 *   3. Every other cell stops sampling after its minimum: `slower` once it is out (slower than
 *      the leader beyond noise at RACE_LEVEL), else `off-pair` when the pair is decided. Any of
 *      them may join the pair later (the verdict's candidates change as samples come in): a pair
 *      member always samples, so the verdict it enters is always tested. The workload's budget
 *      is the race's aim: the minimum is always taken, and the pair may go on to PAIR_BUDGET
 *      times the budget to be decided.
 * The leader (the fastest cell by median) ends as `leader`. A failed sample ends its cell
 * (`failed`). Samples are handed out one at a time in rounds, each round visiting its cells in
 * plan order (the cells whose pools are alive first, when not all can be: rounds then alternate
 * between groups of pools), so a drift of the shared machine hits both sides of the pair alike.
 * A round always finishes, so the pair's budget may be overrun by at most one round; the
 * minimum is always taken.
 *
 * Pure: the race is plain data, `nextStep` and `recordSample` are its only transitions, and
 * time comes in as an argument, so it is tested on synthetic sample streams.
 */
import { median } from 'simple-statistics';
import type { PoolId } from '../../common/cells.js';
import { compareSamples } from '../../report/compare.js';
import { choose, type Choice, type Contender } from '../../report/verdict.js';

export interface RaceSettings {
  /** Samples every cell gets before any decision (at least the test's minimum, 3). */
  minSamples: number;
  /** Samples of each side after which the pair, still within noise, is decided as a tie. */
  maxSamples: number;
  /** Seconds the race should take; the pair may go on to PAIR_BUDGET times this. Checked between rounds. */
  budgetSeconds: number;
}

/** Why a cell stopped sampling (null: still racing). */
export type RaceEnd = 'leader' | 'slower' | 'far-slower' | 'within-noise' | 'off-pair' | 'budget' | 'failed';

/** A cell whose every sample took at least this many times the leader's slowest sample is out at once. */
export const FAR_SLOWER = 2;
/**
 * Level of the tests the race decides by after every round: a cell outside the pair is out, and
 * the pair is beyond noise, only at 99 %. Tested again after every round, a 95 % interval would
 * exclude 1 by chance in about a fifth of true ties before the cap (optional stopping); at 99 %,
 * with PAIR_MIN_SAMPLES, in about one in twenty. The verdict itself is stated at the report's 95 %.
 */
export const RACE_LEVEL = 0.99;
/** The pair is not decided before each side has this many samples (or the minimum, if more), whatever the budget. */
export const PAIR_MIN_SAMPLES = 5;
/** A pair within noise whose interval of the ratio lies inside 1 ± this is a tie, decided... */
export const TIE_BAND = 0.05;
/** ...once each side has at least this many samples. */
export const TIE_SAMPLES = 10;
/** The pair may sample until this many times the workload's budget is spent. */
export const PAIR_BUDGET = 2;

export interface RaceCell {
  samples: number[];
  end: RaceEnd | null;
}

export interface Race {
  settings: RaceSettings;
  cells: RaceCell[];
  /** Each cell's pool (scheduler and workers: the verdict's order of simplicity). */
  pools: PoolId[];
  /** Cells still to sample in the current round, in order. */
  queue: number[];
  rounds: number;
  /** The pair the verdict rests on, as of the last round (pick, runner-up); null before the minimum is taken. */
  pair: [number, number | null] | null;
}

export type RaceStep = { kind: 'sample'; cell: number } | { kind: 'done' };

export function startRace(pools: readonly PoolId[], settings: RaceSettings): Race {
  return { settings, cells: pools.map(() => ({ samples: [], end: null })), pools: [...pools], queue: [], rounds: 0, pair: null };
}

/** A cell that is out before the race starts (its pool did not start, its workload did not build). */
export function recordFailure(race: Race, cell: number): void {
  race.cells[cell]!.end = 'failed';
  race.queue = race.queue.filter((i) => i !== cell);
}

export function recordSample(race: Race, cell: number, seconds: number): void {
  race.cells[cell]!.samples.push(seconds);
}

/**
 * The next cell to sample, or done. `elapsedSeconds`: time the race has taken so far.
 * `ready`: when not every pool can be alive at once, which cells can be sampled without a swap;
 * the round serves those first, so a round costs one swap of pools, not one per cell.
 */
export function nextStep(race: Race, elapsedSeconds: number, ready?: (cell: number) => boolean): RaceStep {
  if (race.queue.length === 0) planRound(race, elapsedSeconds);
  const at = ready ? Math.max(0, race.queue.findIndex(ready)) : 0;
  const [cell] = race.queue.splice(at, 1);
  return cell === undefined ? { kind: 'done' } : { kind: 'sample', cell };
}

/** The fastest cell by median (failed cells aside); null before any sample. */
export function leaderOf(race: Race): number | null {
  return verdictOf(race)?.fastest.index ?? null;
}

type RaceContender = Contender & { index: number };

/** The report's verdict on the samples so far, over every cell with a sample that did not fail. */
function verdictOf(race: Race): Choice<RaceContender> | null {
  const contenders = race.cells.flatMap((c, index): RaceContender[] =>
    c.end === 'failed' || c.samples.length === 0 ? [] : [{ ...race.pools[index]!, samples: c.samples, median: median(c.samples), index }],
  );
  return choose(contenders);
}

function open(race: Race): number[] {
  return race.cells.flatMap((c, i) => (c.end === null ? [i] : []));
}

/** End every open cell far slower than the leader (see FAR_SLOWER), except the verdict's pair. */
function dropFarSlower(race: Race, verdict: Choice<RaceContender>): void {
  const slowest = Math.max(...verdict.fastest.samples);
  const pair = new Set([verdict.pick.index, verdict.runnerUp?.index]);
  for (const i of open(race)) {
    const samples = race.cells[i]!.samples;
    if (pair.has(i) || samples.length === 0) continue;
    if (Math.min(...samples) >= FAR_SLOWER * slowest) race.cells[i]!.end = 'far-slower';
  }
}

/** Is the pair decided, and how does its runner-up end? null: race on. */
function pairDecision(race: Race, verdict: Choice<RaceContender>, elapsedSeconds: number): RaceEnd | null {
  const { pick, runnerUp, comparison } = verdict;
  if (runnerUp === null || comparison === null) return 'within-noise'; // a lone cell: nothing to race
  const { minSamples, maxSamples, budgetSeconds } = race.settings;
  const [a, b] = comparison.n;
  const beyond = verdict.verdict === 'beyond-noise';
  const least = Math.min(a, b);
  const pairMinimum = Math.max(PAIR_MIN_SAMPLES, minSamples);
  if (beyond && least >= pairMinimum && compareSamples(pick.samples, runnerUp.samples, RACE_LEVEL).verdict === 'slower') return 'slower';
  const [low, high] = comparison.ci ?? [0, Infinity];
  if (!beyond && least >= TIE_SAMPLES && low >= 1 - TIE_BAND && high <= 1 + TIE_BAND) return 'within-noise';
  if (least >= maxSamples || (least >= pairMinimum && elapsedSeconds >= PAIR_BUDGET * budgetSeconds)) {
    return beyond ? 'slower' : least >= maxSamples ? 'within-noise' : 'budget';
  }
  return null;
}

/** Decide what the last round settled, then queue the next one (empty: the race is over). */
function planRound(race: Race, elapsedSeconds: number): void {
  const { minSamples, maxSamples } = race.settings;
  const verdict = verdictOf(race);
  const pair = verdict ? [verdict.pick.index, verdict.runnerUp?.index].filter((i): i is number => i !== undefined).sort((x, y) => x - y) : [];
  if (verdict) {
    dropFarSlower(race, verdict);
    for (const i of pair) race.cells[i]!.end = null; // a pair member always races (it never failed: see verdictOf)
  }
  const below = open(race).filter((i) => race.cells[i]!.samples.length < minSamples);
  if (below.length > 0) {
    race.queue = below;
    race.rounds++;
    return;
  }
  race.queue = [];
  if (!verdict) return; // every cell failed
  race.pair = [verdict.pick.index, verdict.runnerUp?.index ?? null];
  const leader = verdict.fastest;
  for (const i of open(race)) {
    if (!pair.includes(i) && compareSamples(leader.samples, race.cells[i]!.samples, RACE_LEVEL).verdict === 'slower') race.cells[i]!.end = 'slower';
  }
  const decided = pairDecision(race, verdict, elapsedSeconds);
  if (decided !== null) {
    for (const i of pair) race.cells[i]!.end = i === leader.index ? 'leader' : decided;
    for (const i of open(race)) race.cells[i]!.end = 'off-pair';
    return;
  }
  race.queue = pair.filter((i) => race.cells[i]!.samples.length < maxSamples);
  race.rounds++;
}
