/**
 * The recommendation: which scheduler and worker count to use for each workload, and why.
 *
 * The pick, runner-up and test are the group's verdict (verdict.ts, the one place a pick is
 * made). The reason starts with the test's outcome — "faster beyond noise" with the interval,
 * or "within noise, tested with N samples each" — then the figures that differ most between
 * the two: bytes through the main process, per-task overhead, start-up, speedup.
 *
 * Consecutive sizes of a workload with the same verdict share one row; the row shows the
 * figures of its largest size. A group with no usable cell gets a row with no verdict.
 */
import type { Cell } from '../results/schema.js';
import type { Comparison } from './compare.js';
import { bytesThroughMain, type CellGroup, type UsableCell } from './cells.js';
import { poolLabel } from '../common/cells.js';
import { groupVerdict, type VerdictKind } from './verdict.js';
import { formatBytes, formatChange, formatMicros, formatPercent, formatSeconds, formatSpeedup } from '../common/format.js';

export interface Recommendation {
  workload: string;
  /** Sizes this row covers (same verdict), smallest first. */
  sizes: string[];
  /** The size whose figures are shown: the largest of `sizes`. */
  size: string;
  /** null: no usable cell, so no verdict. */
  pick: UsableCell | null;
  /** Speedup of `pick` against sync with 1 worker (the harness's figure). */
  speedup: number | null;
  runnerUp: UsableCell | null;
  /** runnerUp median / pick median − 1: how much slower the runner-up is (negative: faster, within noise). */
  margin: number | null;
  /** The runner-up's samples compared with the pick's. */
  comparison: Comparison | null;
  /** True when a faster cell exists but is within noise, so the simpler pick was preferred. */
  preferredSimpler: boolean;
  verdict: VerdictKind;
  reason: string;
  /** Cells of the shown size that could not be ranked (failed or unverified). */
  excluded: Cell[];
}

export function recommend(groups: readonly CellGroup[]): Recommendation[] {
  const rows: Recommendation[] = [];
  for (const group of groups) {
    const row = recommendGroup(group);
    const previous = rows.at(-1);
    if (previous && previous.workload === row.workload && sameVerdict(previous, row)) {
      rows[rows.length - 1] = { ...row, sizes: [...previous.sizes, ...row.sizes] };
    } else {
      rows.push(row);
    }
  }
  return rows;
}

function sameVerdict(a: Recommendation, b: Recommendation): boolean {
  if (a.pick === null || b.pick === null) return a.pick === b.pick;
  return a.pick.scheduler === b.pick.scheduler && a.pick.workers === b.pick.workers;
}

export function recommendGroup(group: CellGroup): Recommendation {
  const excluded = group.cells.filter((c) => !group.usable.includes(c as UsableCell));
  const v = groupVerdict(group);
  const base = { workload: group.workload, sizes: [group.size], size: group.size, excluded, verdict: v.verdict };
  if (!v.pick) {
    return {
      ...base,
      pick: null,
      speedup: null,
      runnerUp: null,
      margin: null,
      comparison: null,
      preferredSimpler: false,
      reason: group.cells.length
        ? `no verdict: all ${group.cells.length} cells failed or were unverified`
        : 'no verdict: no cells ran',
    };
  }
  const { pick, runnerUp, comparison } = v;
  const sync = group.usable.find((c) => c.scheduler === 'sync' && c.workers === 1);
  const speedup = pick.speedup ?? (sync ? sync.stats.median / pick.stats.median : null);
  return {
    ...base,
    pick,
    speedup,
    runnerUp,
    margin: v.margin,
    comparison,
    preferredSimpler: v.preferredSimpler,
    reason: explain(pick, runnerUp, comparison, v.preferredSimpler),
  };
}

/** One line: why the pick, from the figures that separate it from the runner-up. */
function explain(pick: UsableCell, runnerUp: UsableCell | null, comparison: Comparison | null, preferredSimpler: boolean): string {
  const facts: string[] = [];
  const tested = comparison ? `tested with ${samplesText(comparison)}` : '';
  if (preferredSimpler && runnerUp && comparison) {
    facts.push(`within noise of the faster median of ${poolLabel(runnerUp)}, ${tested} (${ratioInterval(comparison)}), so the simpler ${poolLabel(pick)} is picked`);
  } else if (comparison?.verdict === 'untested') {
    facts.push(`only ${Math.min(...comparison.n)} samples: margin not tested for noise`);
  } else if (runnerUp && comparison?.verdict === 'noise') {
    facts.push(`within noise of ${poolLabel(runnerUp)}, ${tested} (${ratioInterval(comparison)})`);
  } else if (runnerUp && comparison) {
    facts.push(`faster than ${poolLabel(runnerUp)} beyond noise (${ratioInterval(comparison)}; ${samplesText(comparison)})`);
  }
  const { runTime, startup } = runnerUp ? contrasts(pick, runnerUp) : { runTime: [], startup: [] };
  facts.push(...runTime);
  if (pick.speedup !== null && pick.speedup >= 1.2 && pick.workers > 1) {
    const efficiency = pick.efficiency ?? pick.speedup / pick.workers;
    facts.push(`${formatSpeedup(pick.speedup)} on ${pick.workers} workers (${formatPercent(efficiency)} efficiency)`);
  }
  if (facts.length === 0) {
    facts.push(runnerUp ? `median ${formatSeconds(pick.stats.median)} vs ${formatSeconds(runnerUp.stats.median)} for ${poolLabel(runnerUp)}` : 'the only cell measured');
  }
  // Start-up is excluded from the timed runs, so it explains a choice only after the run-time facts.
  facts.push(...startup);
  return facts.slice(0, 3).join('; ');
}

/** "12 samples each" or "5 and 12 samples". */
function samplesText(c: Comparison): string {
  return c.n[0] === c.n[1] ? `${c.n[0]} samples each` : `${c.n[0]} and ${c.n[1]} samples`;
}

/** Measured differences large enough to explain a verdict (at least 2× and not trivially small). */
function contrasts(pick: UsableCell, other: UsableCell): { runTime: string[]; startup: string[] } {
  const runTime: string[] = [];
  const startup: string[] = [];
  const pickBytes = bytesThroughMain(pick);
  const otherBytes = bytesThroughMain(other);
  if (otherBytes >= 1e6 && otherBytes > 2 * pickBytes) {
    const shares = pick.scheduler === 'threads' ? 'shares data in memory; ' : '';
    runTime.push(`${shares}${other.scheduler} ${movedThroughMain(other.scheduler, otherBytes)} vs ${formatBytes(pickBytes)}`);
  }
  const po = pick.perTaskOverheadUs;
  const oo = other.perTaskOverheadUs;
  if (po !== null && oo !== null && oo > 2 * Math.max(po, 0) && oo - po > 1 && pick.tasks >= 100) {
    runTime.push(`per-task overhead ${formatMicros(Math.max(po, 0))} vs ${formatMicros(oo)} on ${other.scheduler}`);
  }
  if (other.startupSeconds > 2 * pick.startupSeconds && other.startupSeconds - pick.startupSeconds > 0.05) {
    startup.push(
      pick.startupSeconds === 0
        ? `no pool to start (${other.scheduler}: ${formatSeconds(other.startupSeconds)})`
        : `starts in ${formatSeconds(pick.startupSeconds)} vs ${formatSeconds(other.startupSeconds)} for ${other.scheduler}`,
    );
  }
  return { runTime, startup };
}

/** "moved 1.9 GB through the main process", in the words that fit each scheduler's boundary. */
function movedThroughMain(scheduler: UsableCell['scheduler'], bytes: number): string {
  const amount = formatBytes(bytes);
  switch (scheduler) {
    case 'threads':
      return `copied ${amount} between the main thread and its workers`;
    case 'distributed':
      return `moved ${amount} through the client`;
    case 'bullmq':
      return `moved ${amount} between the client and Redis`;
    default:
      return `moved ${amount} through the main process`;
  }
}

/** "time ratio 0.97, 95 % CI 0.91–1.04": the runner-up's median over the pick's, with its interval. */
export function ratioInterval(c: Comparison): string {
  const r = c.ratio.toFixed(2);
  return c.ci ? `time ratio ${r}, 95 % CI ${c.ci[0].toFixed(2)}–${c.ci[1].toFixed(2)}` : `time ratio ${r}, untested`;
}

/** How much slower the runner-up is: "+35 % slower", "-3 %, within noise", "+12 %, untested". */
export function marginText(r: Recommendation): string {
  const m = formatChange(r.margin!);
  switch (r.comparison?.verdict) {
    case 'noise':
      return `${m}, within noise`;
    case 'untested':
      return `${m}, untested`;
    default:
      return `${m} ${r.margin! >= 0 ? 'slower' : 'faster'}`;
  }
}
