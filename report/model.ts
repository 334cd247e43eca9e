/**
 * Everything the report says, computed once from the results files as plain data; the HTML
 * and Markdown renderers only lay it out. Warnings gathered here (failed cells, a partial
 * run, missing sync cells, baseline problems) are both returned to the caller and shown at
 * the top of the report.
 */
import type { Cell, ResultsFile } from '../results/schema.js';
import { compareWithBaseline, type BaselineComparison } from './baseline.js';
import { groupCells, isUsable, type CellGroup, type UsableCell } from './cells.js';
import { groupCharts, type ChartSpec } from './charts.js';
import { checkClaims, type ClaimCheck } from './claims.js';
import { compareSamples, testDescription } from './compare.js';
import { runNoise, type RunNoise } from './noise.js';
import { cellName } from '../common/cells.js';
import { formatPercent, formatSeconds, formatSpeedup } from '../common/format.js';
import { recommend, type Recommendation } from './recommend.js';
import { buildDecisionSection, type DecisionSection } from './decision.js';
import type { CalibrationFile } from '../model/calibration.js';

/** A 1-worker cell this much faster than sync (beyond noise) is flagged as a disturbed measurement. */
const SUSPICIOUS_SINGLE_WORKER_SPEEDUP = 1.3;
/** The busiest multi-worker cell must keep at least this share of its usable cores busy, or the run was capped. */
const CAPPED_CORE_SHARE = 0.75;
/** A sync run that got less than this share of a core (CPU time / wall time) ran on a busy machine. */
const STARVED_CPU_SHARE = 0.7;

export interface ReportModel {
  results: ResultsFile;
  inputFile: string;
  groups: Array<CellGroup & { charts: ChartSpec[] }>;
  recommendations: Recommendation[];
  claims: ClaimCheck[];
  baseline: BaselineComparison | null;
  /** The decision map and model check, when a calibration of this run's environment was found. */
  decision: DecisionSection | null;
  /** Cells that cannot be used for a verdict, with why. */
  missing: Array<{ cell: Cell; why: string }>;
  /** How noisy the run was (its line also opens the warnings). */
  noise: RunNoise;
  /** The test every verdict rests on, in words (method and parameters). */
  test: string;
  warnings: string[];
}

export interface BaselineInput {
  file: string;
  /** The parsed baseline, or why it could not be read. */
  results: ResultsFile | null;
  error?: string;
}

/** The calibration file to draw the decision map from (found next to the results file). */
export interface CalibrationInput {
  file: string;
  calibration: CalibrationFile;
}

export function buildReport(
  results: ResultsFile,
  inputFile: string,
  baselineInput: BaselineInput | null,
  loadWarnings: string[] = [],
  calibrationInput: CalibrationInput | null = null,
): ReportModel {
  const noise = runNoise(results.cells, results.environment.cores);
  const warnings = [...(noise.line ? [noise.line] : []), ...loadWarnings];
  const groups = groupCells(results.cells).map((g, i) => ({ ...g, charts: groupCharts(g, `g${i}`) }));
  const recommendations = recommend(groups);
  const missing = results.cells.filter((c) => !isUsable(c)).map((cell) => ({ cell, why: whyUnusable(cell) }));

  if (results.cells.length === 0) warnings.push(`${inputFile} holds no cells: nothing was measured, so there is nothing to recommend`);
  if (results.status === 'partial') {
    const absent = Math.max(0, results.plannedCells - results.cells.length);
    warnings.push(
      `${inputFile} is a partial run (it stopped early): ${results.cells.length} of ${results.plannedCells} planned cells ran, ${absent} are missing; verdicts use only the cells present`,
    );
  }
  for (const { cell, why } of missing) warnings.push(`${cellName(cell)} ${why}; it is left out of every verdict`);
  for (const g of groups) {
    const sync = g.usable.find((c) => c.scheduler === 'sync' && c.workers === 1);
    if (g.usable.length > 0 && !sync) {
      warnings.push(`${g.workload}/${g.size}: no verified sync cell with 1 worker, so speedups against sync are unknown`);
    }
    if (sync) warnings.push(...disturbedSync(sync, g.usable));
  }

  const capped = cappedParallelism(results.cells.filter(isUsable), results.environment.availableParallelism);
  if (capped) warnings.push(capped);

  let baseline: BaselineComparison | null = null;
  if (baselineInput) {
    if (!baselineInput.results) {
      warnings.push(`baseline not compared: ${baselineInput.error ?? `could not read ${baselineInput.file}`}`);
    } else {
      baseline = compareWithBaseline(results, baselineInput.results, baselineInput.file);
      if (baseline.changes.length === 0) {
        const changed = baseline.uncomparable.filter((u) => u.includes('parameters changed')).length;
        const why = changed ? `; ${changed} cells match by name but ran with different workload parameters (the catalog changed between the runs)` : '';
        warnings.push(
          `baseline ${baselineInput.file} has no usable cell in common with ${inputFile} (same workload, size, scheduler, workers and parameters)${why}; nothing to compare — run the baseline with the same --workloads/--size/--schedulers/--workers and the same schedlab catalog`,
        );
      }
      if (baseline.environmentDifferences.length > 0) {
        warnings.push(
          `baseline and this run come from different environments (${baseline.environmentDifferences.join('; ')}): changes may reflect the machine, not the code`,
        );
      }
    }
  }

  return {
    results,
    inputFile,
    groups,
    recommendations,
    claims: checkClaims(groups, recommendations),
    baseline,
    decision: calibrationInput ? buildDecisionSection(groups, calibrationInput.calibration, calibrationInput.file) : null,
    missing,
    noise,
    test: testDescription(),
    warnings,
  };
}

/**
 * Speedups are only as good as the sync time they divide. Two signs that it was disturbed:
 * the sync run got much less CPU than wall time (sync computes on the main thread, so it was
 * waiting: for a core on a busy machine, or for I/O), or a single worker beat it beyond noise by far (the same work on one
 * worker should take about as long; main-thread JIT or GC effects can also do this).
 */
function disturbedSync(sync: UsableCell, cells: readonly UsableCell[]): string[] {
  const group = `${sync.workload}/${sync.size}`;
  if (sync.cpuSeconds !== null && sync.cpuSeconds < STARVED_CPU_SHARE * sync.stats.mean) {
    return [
      `${cellName(sync)} used ${formatSeconds(sync.cpuSeconds)} of CPU per ${formatSeconds(sync.stats.mean)} run on average (${formatPercent(sync.cpuSeconds / sync.stats.mean)} of a core): it spent the rest waiting, most likely for a core on a busy machine, so speedups of ${group} may be inflated; rerun on a quiet machine`,
    ];
  }
  return cells
    .filter((c) => c.workers === 1 && c.scheduler !== 'sync')
    .filter((c) => {
      const vsSync = compareSamples(sync.samples, c.samples);
      return vsSync.verdict === 'faster' && vsSync.ratio < 1 / SUSPICIOUS_SINGLE_WORKER_SPEEDUP;
    })
    .map(
      (c) =>
        `${cellName(c)} ran ${formatSpeedup(sync.stats.median / c.stats.median)} faster than sync with one worker; the same work on one worker should take about as long, so the sync time was probably disturbed (a busy machine, or JIT/GC effects on the main thread) and speedups of ${group} may be inflated; rerun on a quiet machine to check`,
    );
}

/**
 * CPU time per run over wall time is the number of cores a cell kept busy. If even the
 * busiest cell with 2+ workers stayed well under the cores it could use, something else
 * held the other cores during the run, and no parallel scheduler could show a speedup.
 */
function cappedParallelism(cells: UsableCell[], availableParallelism: number): string | null {
  const measured = cells.filter((c) => c.workers > 1 && c.cpuSeconds !== null && c.stats.mean > 0);
  if (measured.length === 0) return null;
  const busiest = measured.reduce((best, c) => (c.cpuSeconds! / c.stats.mean > best.cpuSeconds! / best.stats.mean ? c : best));
  const cores = busiest.cpuSeconds! / busiest.stats.mean;
  const couldUse = Math.min(availableParallelism, Math.max(...measured.map((c) => c.workers)));
  if (cores >= CAPPED_CORE_SHARE * couldUse) return null;
  return `no cell with 2+ workers kept more than ${cores.toFixed(2)} of ${couldUse} cores busy (the busiest: ${cellName(busiest)}): another load was probably using the machine, so parallel speedups in this run are understated; rerun on a quiet machine`;
}

function whyUnusable(cell: Cell): string {
  if (cell.status === 'failed') {
    const e = cell.error;
    return e ? `failed (${e.name}${e.code ? ` ${e.code}` : ''}: ${e.message})` : 'failed (no error recorded)';
  }
  if (cell.status === 'unverified' || !cell.verified) return 'gave a wrong answer (unverified)';
  return 'has no timing samples';
}
