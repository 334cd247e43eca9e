/**
 * The verdict of one (workload, size): which pool to use, against which runner-up, and whether
 * the difference was tested beyond noise. The one place a pick is made: the report's table,
 * its JSON (`--format json`), the terminal summary after a bench, the decision map's model
 * check and the baseline's pick changes all read it.
 *
 * The fastest usable cell is found by median time. Every usable cell that is not slower than
 * it beyond noise (compare.ts: the bootstrap of the ratio of medians) is a candidate, and the
 * simplest candidate wins: sync < threads < processes < distributed < bullmq, then fewer
 * workers. A parallel scheduler therefore has to earn its complexity with a measured
 * difference. The runner-up is the fastest cell of another scheduler (or the fastest cell,
 * when a simpler one was preferred to it).
 *
 * `beyond-noise`: the runner-up is slower than the pick beyond noise. `within-noise`: tested,
 * and the two cannot be told apart (the simpler one was picked). `no-verdict`: nothing to
 * compare (no usable cell, a single one, or too few samples to test).
 *
 * `choose` is the rule on plain contenders (pool, samples, median), so the bench's race
 * (harness/runner/race.ts) finds the pair a verdict rests on with the same code while samples
 * come in.
 */
import { comparePools, type PoolId } from '../common/cells.js';
import type { CellGroup, UsableCell } from './cells.js';
import { compareSamples, type Comparison } from './compare.js';

export type VerdictKind = 'beyond-noise' | 'within-noise' | 'no-verdict';

export interface GroupVerdict {
  workload: string;
  size: string;
  pick: UsableCell | null;
  runnerUp: UsableCell | null;
  /** runnerUp median / pick median − 1: how much slower the runner-up is (negative: faster, within noise). */
  margin: number | null;
  /** The runner-up's samples compared with the pick's. */
  comparison: Comparison | null;
  verdict: VerdictKind;
  /** True when a faster cell exists but is within noise, so the simpler pick was preferred. */
  preferredSimpler: boolean;
  /** Every usable cell against the fastest one (null for the fastest itself). */
  againstFastest: Array<{ cell: UsableCell; comparison: Comparison | null }>;
}

/** A cell as a verdict sees it: its pool, its timing samples and their median. */
export interface Contender extends PoolId {
  samples: readonly number[];
  median: number;
}

/** The verdict's choice among contenders (the core of `groupVerdict`, also run by the bench's race on live samples). */
export interface Choice<T extends Contender> {
  fastest: T;
  pick: T;
  runnerUp: T | null;
  comparison: Comparison | null;
  verdict: VerdictKind;
  againstFastest: Array<{ cell: T; comparison: Comparison | null }>;
}

/** Pick and runner-up among cells with samples (see the top of this file); null when there are none. */
export function choose<T extends Contender>(cells: readonly T[]): Choice<T> | null {
  if (cells.length === 0) return null;
  const fastest = cells.reduce((best, c) => (c.median < best.median ? c : best));
  const againstFastest = cells.map((cell) => ({ cell, comparison: cell === fastest ? null : compareSamples(fastest.samples, cell.samples) }));
  const bySimplicity = [...againstFastest].sort((a, b) => comparePools(a.cell, b.cell) || a.cell.median - b.cell.median);
  const pick = bySimplicity.find((c) => c.cell === fastest || c.comparison?.verdict === 'noise')?.cell ?? fastest;
  const runnerUp = pick !== fastest ? fastest : fastestOtherScheduler(cells, pick);
  const comparison = runnerUp ? compareSamples(pick.samples, runnerUp.samples) : null;
  const verdict: VerdictKind =
    comparison === null || comparison.verdict === 'untested'
      ? 'no-verdict'
      : pick !== fastest || comparison.verdict === 'noise'
        ? 'within-noise'
        : 'beyond-noise';
  return { fastest, pick, runnerUp, comparison, verdict, againstFastest };
}

export function groupVerdict(group: CellGroup): GroupVerdict {
  const base = { workload: group.workload, size: group.size };
  const choice = choose(group.usable.map((cell) => ({ scheduler: cell.scheduler, workers: cell.workers, samples: cell.samples, median: cell.stats.median, cell })));
  if (!choice) {
    return { ...base, pick: null, runnerUp: null, margin: null, comparison: null, verdict: 'no-verdict', preferredSimpler: false, againstFastest: [] };
  }
  const { fastest, pick, runnerUp, comparison, verdict } = choice;
  return {
    ...base,
    pick: pick.cell,
    runnerUp: runnerUp?.cell ?? null,
    margin: runnerUp ? runnerUp.median / pick.median - 1 : null,
    comparison,
    verdict,
    preferredSimpler: pick !== fastest,
    againstFastest: choice.againstFastest.map(({ cell, comparison }) => ({ cell: cell.cell, comparison })),
  };
}

/** Is `pool`'s cell the pick or within noise of the fastest (a pick the data cannot rule out)? */
export function withinNoiseOfPick(v: GroupVerdict, pool: { scheduler: string; workers: number }): boolean {
  const entry = v.againstFastest.find(({ cell }) => cell.scheduler === pool.scheduler && cell.workers === pool.workers);
  if (!entry || !v.pick) return false;
  return entry.cell === v.pick || entry.comparison === null || entry.comparison.verdict === 'noise';
}

function fastestOtherScheduler<T extends Contender>(cells: readonly T[], pick: T): T | null {
  const others = cells.filter((c) => c.scheduler !== pick.scheduler);
  const pool = others.length ? others : cells.filter((c) => c !== pick);
  if (pool.length === 0) return null;
  return pool.reduce((best, c) => (c.median < best.median ? c : best));
}
