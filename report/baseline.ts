/**
 * This run against a baseline run: what changed, and is it beyond noise?
 *
 * Cells are matched on (workload, size, scheduler, workers) and must have run with the same
 * parameters (a size name can change meaning between versions). For each pair of usable cells
 * the change in median time comes with a 95 % bootstrap interval (compare.ts): improved or
 * regressed only when the interval excludes "no change". Differences between the two
 * environments (CPU, cores, memory, OS, Node, V8, package versions) are listed, because a
 * change measured across machines says little about the code.
 */
import type { Cell, Environment, ResultsFile } from '../results/schema.js';
import { compareSamples, type Comparison } from './compare.js';
import { isUsable, type UsableCell } from './cells.js';
import { cellKey, cellName } from '../common/cells.js';
import { formatBytes } from '../common/format.js';

export type ChangeVerdict = 'improved' | 'regressed' | 'within noise' | 'too few samples';

export interface CellChange {
  key: string;
  baseline: UsableCell;
  current: UsableCell;
  /** median(current) / median(baseline) − 1: negative is faster. */
  change: number;
  /** Interval of `change`; null when there were too few samples. */
  ci: [number, number] | null;
  verdict: ChangeVerdict;
}

export interface BaselineComparison {
  baselineFile: string;
  baselineRunId: string;
  changes: CellChange[];
  /** Cells present in both runs but failed or unverified in one of them, or run with different parameters. */
  uncomparable: string[];
  environmentDifferences: string[];
}

export function compareWithBaseline(current: ResultsFile, baseline: ResultsFile, baselineFile: string): BaselineComparison {
  const before = new Map(baseline.cells.filter(isUsable).map((c) => [cellKey(c), c] as const));
  const changes: CellChange[] = [];
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
    changes.push(toChange(key, old, cell, compareSamples(old.samples, cell.samples)));
  }
  const currentKeys = new Set(current.cells.map(cellKey));
  for (const c of baseline.cells) if (!isUsable(c) && currentKeys.has(cellKey(c))) uncomparable.push(cellName(c));
  return {
    baselineFile,
    baselineRunId: baseline.runId,
    changes,
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

function toChange(key: string, baseline: UsableCell, current: UsableCell, c: Comparison): CellChange {
  const verdict: ChangeVerdict =
    c.verdict === 'faster' ? 'improved' : c.verdict === 'slower' ? 'regressed' : c.verdict === 'noise' ? 'within noise' : 'too few samples';
  return {
    key,
    baseline,
    current,
    change: c.ratio - 1,
    ci: c.ci ? [c.ci[0] - 1, c.ci[1] - 1] : null,
    verdict,
  };
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
