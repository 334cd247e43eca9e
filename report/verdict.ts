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
 */
import { comparePools } from '../common/cells.js';
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

export function groupVerdict(group: CellGroup): GroupVerdict {
  const base = { workload: group.workload, size: group.size };
  if (group.usable.length === 0) {
    return { ...base, pick: null, runnerUp: null, margin: null, comparison: null, verdict: 'no-verdict', preferredSimpler: false, againstFastest: [] };
  }
  const fastest = group.usable.reduce((best, c) => (c.stats.median < best.stats.median ? c : best));
  const againstFastest = group.usable.map((cell) => ({ cell, comparison: cell === fastest ? null : compareSamples(fastest.samples, cell.samples) }));
  const bySimplicity = [...againstFastest].sort((a, b) => comparePools(a.cell, b.cell) || a.cell.stats.median - b.cell.stats.median);
  const pick = bySimplicity.find((c) => c.cell === fastest || c.comparison?.verdict === 'noise')?.cell ?? fastest;
  const runnerUp = pick !== fastest ? fastest : fastestOtherScheduler(group.usable, pick);
  const comparison = runnerUp ? compareSamples(pick.samples, runnerUp.samples) : null;
  const verdict: VerdictKind =
    comparison === null || comparison.verdict === 'untested'
      ? 'no-verdict'
      : pick !== fastest || comparison.verdict === 'noise'
        ? 'within-noise'
        : 'beyond-noise';
  return {
    ...base,
    pick,
    runnerUp,
    margin: runnerUp ? runnerUp.stats.median / pick.stats.median - 1 : null,
    comparison,
    verdict,
    preferredSimpler: pick !== fastest,
    againstFastest,
  };
}

/** Is `pool`'s cell the pick or within noise of the fastest (a pick the data cannot rule out)? */
export function withinNoiseOfPick(v: GroupVerdict, pool: { scheduler: string; workers: number }): boolean {
  const entry = v.againstFastest.find(({ cell }) => cell.scheduler === pool.scheduler && cell.workers === pool.workers);
  if (!entry || !v.pick) return false;
  return entry.cell === v.pick || entry.comparison === null || entry.comparison.verdict === 'noise';
}

function fastestOtherScheduler(cells: readonly UsableCell[], pick: UsableCell): UsableCell | null {
  const others = cells.filter((c) => c.scheduler !== pick.scheduler);
  const pool = others.length ? others : cells.filter((c) => c !== pick);
  if (pool.length === 0) return null;
  return pool.reduce((best, c) => (c.stats.median < best.stats.median ? c : best));
}
