/**
 * `schedlab report A.json --format json`: the verdicts as one JSON document, for scripts and
 * CI (the shape is documented in the README; `format` and `version` name it). Same model as
 * the HTML and Markdown reports, so all say the same thing: one row per (workload, size) with
 * the pick, the runner-up, the margin, the verdict of the test and the samples of every cell;
 * the test and its parameters; the run's noise; with `--baseline`, the changes and pick changes.
 */
import { poolLabel, type PoolId } from '../common/cells.js';
import { BASELINE_LEVEL } from './baseline.js';
import { CONFIDENCE, MIN_SAMPLES, RESAMPLES } from './compare.js';
import type { ReportModel } from './model.js';
import { cellNoise } from './noise.js';
import { groupVerdict } from './verdict.js';

const pool = (c: PoolId | null): { scheduler: string; workers: number } | null => (c ? { scheduler: c.scheduler, workers: c.workers } : null);

export function renderJson(model: ReportModel): string {
  const { results } = model;
  const cores = results.environment.cores;
  const doc = {
    format: 'schedlab-verdicts',
    version: 1,
    runId: results.runId,
    preset: results.preset,
    status: results.status,
    test: { method: 'percentile bootstrap of the ratio of medians', resamples: RESAMPLES, level: CONFIDENCE, minSamples: MIN_SAMPLES, description: model.test },
    noise: { outsideShare: model.noise.outsideShare, stealShare: model.noise.stealShare, heavyCells: model.noise.heavy, warning: model.noise.line },
    rows: model.groups.map((group) => {
      const v = groupVerdict(group);
      return {
        workload: group.workload,
        size: group.size,
        pick: pool(v.pick),
        runnerUp: pool(v.runnerUp),
        margin: v.margin,
        verdict: v.verdict,
        /** runnerUp median / pick median with its interval. */
        ratio: v.comparison?.ratio ?? null,
        interval: v.comparison?.ci ?? null,
        cells: group.cells.map((c) => {
          const n = cellNoise(c, cores);
          return {
            scheduler: c.scheduler,
            workers: c.workers,
            label: poolLabel(c),
            status: c.status,
            samples: c.samples.length,
            median: c.stats?.median ?? null,
            raceEnd: c.raceEnd,
            outsideLoad: n.outsideShare,
            heavyLoad: n.heavy,
            outliers: n.outliers?.count ?? null,
          };
        }),
      };
    }),
    baseline: model.baseline
      ? {
          file: model.baseline.baselineFile,
          runId: model.baseline.baselineRunId,
          level: BASELINE_LEVEL,
          driftCorrected: model.baseline.driftCorrected,
          driftNote: model.baseline.driftNote,
          runDrift: model.baseline.runDrift,
          noiseFloor: model.baseline.noiseFloor,
          compared: model.baseline.changes.length,
          changes: model.baseline.changes.map((c) => ({
            workload: c.current.workload,
            size: c.current.size,
            scheduler: c.current.scheduler,
            workers: c.current.workers,
            change: c.change,
            rawChange: c.rawChange,
            drift: c.drift,
            interval: c.ci,
            verdict: c.verdict,
          })),
          pickChanges: model.baseline.pickChanges,
          uncomparable: model.baseline.uncomparable,
        }
      : null,
    warnings: model.warnings,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
