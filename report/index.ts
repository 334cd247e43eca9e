/**
 * schedlab's report: reads results files (and only results files) and says which scheduler
 * to use for each workload on the machine that ran them, with the evidence.
 *
 * Pipeline, as in criterion: the harness has already measured and stored everything; here
 * load.ts reads it (and the machine's calibration file beside it), model.ts decides
 * (recommend.ts, claims.ts, baseline.ts, charts.ts, decision.ts, all pure functions of the
 * results and the calibration), and render-html.ts / render-markdown.ts lay the model out.
 * Problems with the input that still leave something to show become warnings, returned to
 * the caller and printed at the top of the report; only an unreadable main input throws.
 */
import { existsSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { fingerprintDifferences, fingerprintOf } from '../model/calibration.js';
import { calibrationPath, readCalibration } from '../model/calibration-file.js';
import { writeFileAtomic } from '../common/files.js';
import { loadResults } from './load.js';
import { buildReport, type BaselineInput, type CalibrationInput, type ReportModel } from './model.js';
import type { ResultsFile } from '../results/schema.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import { renderCsv } from './render-csv.js';
import { renderJson } from './render-json.js';

export interface RenderReportOptions {
  /** The results file to report on. */
  input: string;
  /** An earlier results file to compare with. */
  baseline?: string;
  /** Where to write the report. Default for html: the input's path with `.html`; md, csv and json are returned as text unless given. */
  output?: string;
  /** csv: one row per cell, not a report; json: the verdicts (README: "Verdicts as JSON"). */
  format: 'html' | 'md' | 'csv' | 'json';
}

export interface RenderReportResult {
  /** The file written, if any. */
  outputPath?: string;
  /** The Markdown, CSV or JSON text (format 'md', 'csv' or 'json'). */
  text?: string;
  /** The comparison with the baseline, when one was given and could be read. */
  baseline: ReportModel['baseline'];
  /** Everything the reader should know about the input: failed cells, partial run, baseline problems. */
  warnings: string[];
}

/**
 * Render the report. Throws `ResultsFileError` when `input` is missing, not a results file
 * or from a newer schema; a bad baseline is a warning and the report renders without it.
 */
export async function renderReport(options: RenderReportOptions): Promise<RenderReportResult> {
  const { results, warnings: loadWarnings } = await loadResults(options.input);
  let baseline: BaselineInput | null = null;
  if (options.baseline !== undefined) {
    try {
      const loaded = await loadResults(options.baseline);
      baseline = { file: options.baseline, results: loaded.results };
      loadWarnings.push(...loaded.warnings);
    } catch (err) {
      baseline = { file: options.baseline, results: null, error: (err as Error).message };
    }
  }
  const calibration = await findCalibrationFor(results, options.input, loadWarnings);
  const model = buildReport(results, options.input, baseline, loadWarnings, calibration);

  if (options.format !== 'html') {
    const text = options.format === 'md' ? renderMarkdown(model) : options.format === 'json' ? renderJson(model) : renderCsv(results.cells);
    if (options.output) await writeReport(options.output, text);
    return { outputPath: options.output, text, warnings: model.warnings, baseline: model.baseline };
  }
  const outputPath = options.output ?? defaultHtmlPath(options.input);
  await writeReport(outputPath, await renderHtml(model, new Date()));
  return { outputPath, warnings: model.warnings, baseline: model.baseline };
}

/**
 * The calibration of the environment that ran `results`, next to the results file
 * (runs/calibration-<id>.json, written by `schedlab calibrate`); none: no decision map.
 */
async function findCalibrationFor(results: ResultsFile, input: string, warnings: string[]): Promise<CalibrationInput | null> {
  const fingerprint = fingerprintOf(results.environment);
  const file = calibrationPath(dirname(input), fingerprint);
  if (!existsSync(file)) return null;
  try {
    const calibration = await readCalibration(file);
    const differences = fingerprintDifferences(calibration.fingerprint, fingerprint);
    if (differences.length > 0) {
      warnings.push(`calibration ${file} does not match this run's environment (${differences.join('; ')}); no decision map`);
      return null;
    }
    return { file, calibration };
  } catch (err) {
    warnings.push(`calibration not used: ${(err as Error).message}`);
    return null;
  }
}

async function writeReport(path: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(path, text);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`cannot write the report to ${path} (${reason}); check that its directory exists and is writable, or pick another path with -o`);
  }
}

/** runs/run.json → runs/run.html */
export function defaultHtmlPath(input: string): string {
  const ext = extname(input);
  return (ext ? input.slice(0, -ext.length) : input) + '.html';
}

export type { ReportModel } from './model.js';
export { performanceReport, type PerformanceReportOptions, type RecordableScheduler } from './performance.js';
