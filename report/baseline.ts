/**
 * This run against a baseline run: what changed, and is it beyond noise?
 *
 * Cells are matched on (workload, size, scheduler, workers) and must have run with the same
 * parameters (a size name can change meaning between versions). For each pair of usable cells
 * the change in median time comes with a 99 % bootstrap interval (compare.ts): improved or
 * regressed only when the interval excludes "no change" and the change clears the noise floor
 * (see MIN_NOISE_FLOOR). The level is stricter than a
 * verdict's 95 % because a comparison asks it of every cell at once (49 on 2 cores): at 95 %
 * two identical runs would flag about 2.5 cells by chance alone.
 *
 * The machine drifts between two runs (other jobs, frequency, thermals). Both runs time the
 * same reference probe before and during each workload's race (results/schema.ts `reference`),
 * so each cell's change is divided by the probe's change over the same race (the run's whole
 * probe when a race has fewer than 3 points), with the probe resampled in the bootstrap: a
 * machine 20 % slower in the second run shows as no change, a cell 20 % slower than its
 * machine still shows. Without a probe in either file (version-1 files) the change is raw,
 * and the comparison says so.
 *
 * Rows whose pick changed between the two runs (verdict.ts on each run) are listed with each
 * run's verdict, so a flip that was within noise both times reads as such. Differences between
 * the two environments (CPU, cores, memory, OS, Node, V8, package versions) are listed, because
 * a change measured across machines says little about the code.
 */
import type { Cell, Environment, Reference, ResultsFile } from '../results/schema.js';
import { compareCorrected, RESAMPLES, type Comparison } from './compare.js';
import { groupCells, isUsable, type UsableCell } from './cells.js';
import { cellKey, cellName, groupKey, poolLabel, type PoolId } from '../common/cells.js';
import { formatBytes, formatChange } from '../common/format.js';
import { groupVerdict, type VerdictKind } from './verdict.js';

/** Level of the interval of a change against the baseline. */
export const BASELINE_LEVEL = 0.99;
/**
 * Changes smaller than the noise floor are noise, whatever their interval (criterion pairs its
 * significance level with a 1 % noise threshold). Here the floor is at least 5 %, and
 * NOISE_FLOOR_SPREADS times the robust spread of all compared cells' (drift-corrected) changes
 * (1.4826 × their median absolute deviation): a cell's samples within one run say nothing about
 * how much two runs differ, the other cells of the same two runs do.
 */
export const MIN_NOISE_FLOOR = 0.05;
export const NOISE_FLOOR_SPREADS = 3;
/** A race with fewer probe points than this is corrected with the run's whole probe. */
const MIN_GROUP_POINTS = 3;

export type ChangeVerdict = 'improved' | 'regressed' | 'within noise' | 'too few samples';

export interface CellChange {
  key: string;
  baseline: UsableCell;
  current: UsableCell;
  /** median(current) / median(baseline) − 1, divided by the machine's drift when corrected: negative is faster. */
  change: number;
  /** median(current) / median(baseline) − 1 as measured. */
  rawChange: number;
  /** The reference probe's median in this run over the baseline's (during this cell's race); null: not corrected. */
  drift: number | null;
  /** Interval of `change`; null when there were too few samples. */
  ci: [number, number] | null;
  verdict: ChangeVerdict;
}

/** A (workload, size) whose pick differs between the two runs, with each run's verdict. */
export interface PickChange {
  workload: string;
  size: string;
  baseline: { pick: PoolId | null; verdict: VerdictKind };
  current: { pick: PoolId | null; verdict: VerdictKind };
}

export interface BaselineComparison {
  baselineFile: string;
  baselineRunId: string;
  changes: CellChange[];
  /** Smallest change flagged (see MIN_NOISE_FLOOR). */
  noiseFloor: number;
  /** True when both runs have a comparable reference probe, so changes are corrected for drift. */
  driftCorrected: boolean;
  /** Why not, when not. */
  driftNote: string | null;
  /** The probe's median over the whole run, this run over the baseline's (1.2: the machine was 20 % slower). */
  runDrift: number | null;
  pickChanges: PickChange[];
  /** Cells present in both runs but failed or unverified in one of them, or run with different parameters. */
  uncomparable: string[];
  environmentDifferences: string[];
}

export function compareWithBaseline(current: ResultsFile, baseline: ResultsFile, baselineFile: string): BaselineComparison {
  const before = new Map(baseline.cells.filter(isUsable).map((c) => [cellKey(c), c] as const));
  const pairs: Array<{ key: string; old: UsableCell; cell: UsableCell; comparison: Comparison; probes: Probes | null }> = [];
  const uncomparable: string[] = [];
  for (const cell of current.cells) {
    const key = cellKey(cell);
    const old = before.get(key);
    if (!old) continue;
    if (!isUsable(cell)) {
      uncomparable.push(cellName(cell));
      continue;
    }
    if (!sameParams(old.params, cell.params)) {
      uncomparable.push(`${cellName(cell)} (parameters changed: ${paramsText(old.params)} → ${paramsText(cell.params)})`);
      continue;
    }
    const probes = probesFor(cell, baseline.reference, current.reference);
    pairs.push({ key, old, cell, comparison: compareCorrected(old.samples, cell.samples, probes, BASELINE_LEVEL), probes });
  }
  const noiseFloor = noiseFloorOf(pairs.map((p) => p.comparison.ratio - 1));
  const changes = pairs.map((p) => toChange(p.key, p.old, p.cell, p.comparison, p.probes, noiseFloor));
  const currentKeys = new Set(current.cells.map(cellKey));
  for (const c of baseline.cells) if (!isUsable(c) && currentKeys.has(cellKey(c))) uncomparable.push(cellName(c));
  const comparable = probesComparable(baseline.reference, current.reference);
  return {
    baselineFile,
    baselineRunId: baseline.runId,
    changes,
    noiseFloor,
    driftCorrected: comparable === null,
    driftNote: comparable,
    runDrift: comparable === null ? medianOf(current.reference!.points.map((p) => p.median)) / medianOf(baseline.reference!.points.map((p) => p.median)) : null,
    pickChanges: pickChanges(baseline, current),
    uncomparable,
    environmentDifferences: environmentDifferences(baseline.environment, current.environment),
  };
}

/** The same size name can mean different work if the catalog changed: compare only equal parameters. */
function sameParams(a: Cell['params'], b: Cell['params']): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}

function paramsText(params: Cell['params']): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

function toChange(key: string, baseline: UsableCell, current: UsableCell, c: Comparison, probes: Probes | null, noiseFloor: number): CellChange {
  const small = Math.abs(c.ratio - 1) < noiseFloor;
  const verdict: ChangeVerdict =
    c.verdict === 'untested' ? 'too few samples' : small || c.verdict === 'noise' ? 'within noise' : c.verdict === 'faster' ? 'improved' : 'regressed';
  return {
    key,
    baseline,
    current,
    change: c.ratio - 1,
    rawChange: current.stats.median / baseline.stats.median - 1,
    drift: probes ? medianOf(probes.candidate) / medianOf(probes.reference) : null,
    ci: c.ci ? [c.ci[0] - 1, c.ci[1] - 1] : null,
    verdict,
  };
}

interface Probes {
  reference: number[];
  candidate: number[];
}

/** Null when both runs timed the same probe; else why the changes are not corrected. */
function probesComparable(baseline: Reference | null, current: Reference | null): string | null {
  if (!baseline || !current || baseline.points.length === 0 || current.points.length === 0) {
    return `not corrected for machine drift: ${!baseline?.points.length ? 'the baseline' : 'this run'} has no reference probe (a results file of schema version 1)`;
  }
  if (baseline.name !== current.name) return `not corrected for machine drift: the two runs timed different reference probes (${baseline.name}; ${current.name})`;
  return null;
}

/** The probe medians of the cell's race in each run (the whole run's when a race has too few). */
function probesFor(cell: Cell, baseline: Reference | null, current: Reference | null): Probes | null {
  if (probesComparable(baseline, current) !== null) return null;
  const label = `${cell.workload}/${cell.size}`;
  const of = (ref: Reference): number[] => {
    const own = ref.points.filter((p) => p.group === label).map((p) => p.median);
    return own.length >= MIN_GROUP_POINTS ? own : ref.points.map((p) => p.median);
  };
  return { reference: of(baseline!), candidate: of(current!) };
}

/** max(5 %, 3 × 1.4826 × MAD of the changes). */
function noiseFloorOf(changes: number[]): number {
  if (changes.length < 5) return MIN_NOISE_FLOOR; // too few cells to say how much runs differ
  const mid = medianOf(changes);
  const mad = medianOf(changes.map((c) => Math.abs(c - mid)));
  return Math.max(MIN_NOISE_FLOOR, NOISE_FLOOR_SPREADS * 1.4826 * mad);
}

function medianOf(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The rows whose pick differs between the runs (both measured), with each run's verdict. */
function pickChanges(baseline: ResultsFile, current: ResultsFile): PickChange[] {
  const before = new Map(groupCells(baseline.cells).map((g) => [groupKey(g), groupVerdict(g)] as const));
  const changes: PickChange[] = [];
  for (const group of groupCells(current.cells)) {
    const old = before.get(groupKey(group));
    if (!old) continue;
    const now = groupVerdict(group);
    const same = old.pick && now.pick ? old.pick.scheduler === now.pick.scheduler && old.pick.workers === now.pick.workers : old.pick === now.pick;
    if (same) continue;
    const pool = (c: UsableCell | null): PoolId | null => (c ? { scheduler: c.scheduler, workers: c.workers } : null);
    changes.push({
      workload: group.workload,
      size: group.size,
      baseline: { pick: pool(old.pick), verdict: old.verdict },
      current: { pick: pool(now.pick), verdict: now.verdict },
    });
  }
  return changes;
}

/** The sentence that says how changes were tested (report, Markdown, terminal). */
export function baselineLead(b: BaselineComparison): string {
  const drift = b.driftCorrected
    ? `corrected for machine drift with the reference probe timed in both runs (the machine was ${formatChange(b.runDrift! - 1)} ${b.runDrift! >= 1 ? 'slower' : 'faster'} overall in this run; each cell is divided by the probe's change during its own workload's race)`
    : b.driftNote ?? 'not corrected for machine drift';
  return `change in median time per cell, ${drift}; tested with a ${Math.round(BASELINE_LEVEL * 100)} % bootstrap interval (${RESAMPLES} resamples, probes resampled too), “improved” or “regressed” only when the interval excludes no change and the change is at least the noise floor of ${formatChange(b.noiseFloor).replace('+', '')} (3 × the spread of all compared cells’ changes, at least ${Math.round(MIN_NOISE_FLOOR * 100)} %).`;
}

/** "json-memory/quick: sync (within noise) → threads×2 (beyond noise)". */
export function pickChangeText(p: PickChange): string {
  const side = (s: PickChange['baseline']) => `${s.pick ? poolLabel(s.pick) : 'no pick'} (${s.verdict})`;
  const both = p.baseline.verdict === 'beyond-noise' || p.current.verdict === 'beyond-noise';
  return `${p.workload}/${p.size}: ${side(p.baseline)} → ${side(p.current)}${both ? '' : ': within noise in both runs, so either pick is as good'}`;
}

/** "Node: v20.11.0 → v22.3.0", one line per field that differs. */
export function environmentDifferences(before: Environment, after: Environment): string[] {
  const diffs: string[] = [];
  const field = (name: string, a: unknown, b: unknown) => {
    if (a !== b) diffs.push(`${name}: ${String(a)} → ${String(b)}`);
  };
  field('CPU', before.cpuModel, after.cpuModel);
  field('cores', before.cores, after.cores);
  field('available parallelism', before.availableParallelism, after.availableParallelism);
  if (Math.abs(before.totalMemoryBytes - after.totalMemoryBytes) > 0.02 * before.totalMemoryBytes) {
    diffs.push(`memory: ${formatBytes(before.totalMemoryBytes)} → ${formatBytes(after.totalMemoryBytes)}`);
  }
  field('OS', osName(before), osName(after));
  field('Node', before.node, after.node);
  field('V8', before.v8, after.v8);
  // schedlab's own version is what a comparison usually measures, not a confounder.
  const packages = new Set([...Object.keys(before.packages), ...Object.keys(after.packages)]);
  packages.delete('schedlab');
  for (const name of [...packages].sort()) field(name, before.packages[name] ?? 'absent', after.packages[name] ?? 'absent');
  return diffs;
}

function osName(env: Environment): string {
  return `${env.os.platform} ${env.os.release} ${env.os.arch}`;
}
