/**
 * The racing policy of a bench: which cell of a (workload, size) gets the next sample.
 *
 * The cells of one workload and size race, as in F-race or hyperfine's comparisons: every
 * cell first gets `minSamples` samples, then samples go only to the cells whose comparison
 * with the current leader (the lowest median) is still open. After each round every open
 * challenger is tested against the leader with the report's test (the bootstrap of the
 * ratio of medians, report/compare.ts), and a cell stops when it is:
 *   - `slower`: slower than the leader beyond noise;
 *   - `far-slower`: every sample over FAR_SLOWER times the leader's slowest (checked from the
 *     first round on, so a hopeless cell does not pay its whole minimum);
 *   - `within-noise`: within noise of the leader with `maxSamples` samples (enough to say so);
 *   - `budget`: still open when the workload's budget is spent (the minimum is always taken);
 *   - `failed`: a sample failed (the cell is reported with its error).
 * The leader keeps sampling while any challenger is open and ends as `leader`.
 *
 * Samples are handed out one at a time in rounds, each round visiting the open cells in plan
 * order (the cells whose pools are alive first, when not all can be: rounds then alternate
 * between groups of pools), so a drift of the shared machine hits every competitor alike. A round always finishes,
 * so the budget may be overrun by at most one round. Decisions are final: a cell that is out
 * stays out even if the leader changes later (the new leader is faster still).
 *
 * Pure: the race is plain data, `nextStep` and `recordSample` are its only transitions, and
 * time comes in as an argument, so it is tested on synthetic sample streams.
 */
import { median } from 'simple-statistics';
import { compareSamples } from '../../report/compare.js';

export interface RaceSettings {
  /** Samples every cell gets before any decision (at least the test's minimum, 3). */
  minSamples: number;
  /** Samples after which a cell within noise of the leader stops. */
  maxSamples: number;
  /** Seconds the whole race may take; checked between rounds. */
  budgetSeconds: number;
}

/** Why a cell stopped sampling (null: still racing). */
export type RaceEnd = 'leader' | 'slower' | 'far-slower' | 'within-noise' | 'budget' | 'failed';

/**
 * A cell whose every sample took more than this many times the leader's slowest sample is out
 * at once, before its minimum: no test is needed to rule it out, and its samples are the most
 * expensive of the race. The likely runner-up (the fastest cell of another scheduler than the
 * leader's) is never dropped this way, so the verdict it enters is always tested.
 */
export const FAR_SLOWER = 4;

export interface RaceCell {
  samples: number[];
  end: RaceEnd | null;
}

export interface Race {
  settings: RaceSettings;
  cells: RaceCell[];
  /** Each cell's scheduler (the likely runner-up is another scheduler's fastest cell). */
  kinds: string[];
  /** Cells still to sample in the current round, in order. */
  queue: number[];
  rounds: number;
}

export type RaceStep = { kind: 'sample'; cell: number } | { kind: 'done' };

export function startRace(cells: number, settings: RaceSettings, kinds: string[] = Array.from({ length: cells }, (_, i) => String(i))): Race {
  return { settings, cells: Array.from({ length: cells }, () => ({ samples: [], end: null })), kinds, queue: [], rounds: 0 };
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

/** The open cell (or ended leader) with the lowest median; null before any sample. */
export function leaderOf(race: Race): number | null {
  let best: number | null = null;
  let bestMedian = Infinity;
  race.cells.forEach((c, i) => {
    if (c.end === 'failed' || c.end === 'slower' || c.samples.length === 0) return;
    const m = median(c.samples);
    if (m < bestMedian) {
      bestMedian = m;
      best = i;
    }
  });
  return best;
}

/** End every open cell far slower than the leader (see FAR_SLOWER), once each has a sample. */
function dropFarSlower(race: Race): void {
  const leader = leaderOf(race);
  if (leader === null || open(race).some((i) => race.cells[i]!.samples.length === 0)) return;
  const slowest = Math.max(...race.cells[leader]!.samples);
  let runnerUp: number | null = null;
  race.cells.forEach((c, i) => {
    if (i === leader || c.end === 'failed' || c.samples.length === 0 || race.kinds[i] === race.kinds[leader]) return;
    if (runnerUp === null || median(c.samples) < median(race.cells[runnerUp]!.samples)) runnerUp = i;
  });
  for (const i of open(race)) {
    if (i === leader || i === runnerUp) continue;
    if (Math.min(...race.cells[i]!.samples) > FAR_SLOWER * slowest) race.cells[i]!.end = 'far-slower';
  }
}

function open(race: Race): number[] {
  return race.cells.flatMap((c, i) => (c.end === null ? [i] : []));
}

/** Decide what the last round settled, then queue the next one (empty: the race is over). */
function planRound(race: Race, elapsedSeconds: number): void {
  const { minSamples, maxSamples, budgetSeconds } = race.settings;
  dropFarSlower(race);
  const below = open(race).filter((i) => race.cells[i]!.samples.length < minSamples);
  if (below.length > 0) {
    race.queue = below;
    race.rounds++;
    return;
  }
  const leader = leaderOf(race);
  if (leader !== null) {
    const reference = race.cells[leader]!.samples;
    for (const i of open(race)) {
      if (i === leader) continue;
      const cell = race.cells[i]!;
      const verdict = compareSamples(reference, cell.samples).verdict;
      if (verdict === 'slower') cell.end = 'slower';
      else if (cell.samples.length >= maxSamples) cell.end = 'within-noise';
    }
  }
  const challengers = open(race).filter((i) => i !== leader);
  const leaderCell = leader === null ? null : race.cells[leader]!;
  if (elapsedSeconds >= budgetSeconds) {
    for (const i of challengers) race.cells[i]!.end = 'budget';
    if (leaderCell && leaderCell.end === null) leaderCell.end = 'leader';
    race.queue = [];
    return;
  }
  if (challengers.length === 0 || (leaderCell !== null && leaderCell.samples.length >= maxSamples)) {
    if (leaderCell && leaderCell.end === null) leaderCell.end = 'leader';
    for (const i of challengers) if (race.cells[i]!.end === null) race.cells[i]!.end = 'within-noise';
    race.queue = [];
    return;
  }
  race.queue = open(race);
  race.rounds++;
}
