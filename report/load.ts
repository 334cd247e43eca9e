/**
 * Reading results files for the report, keeping whatever is valid.
 *
 * `readResultsFile` (results/io.ts) rejects a whole file when one cell is malformed. The
 * report should still show the cells that are fine, so when the file's header is valid and
 * only some cells are not, those cells are dropped with a warning naming each. A missing
 * file, non-JSON, a file that is not a results file, or a schema version from the future
 * are not salvageable and throw `ResultsFileError` as the reader does.
 */
import { readFile } from 'node:fs/promises';
import { readResultsFile } from '../results/io.js';
import { cellSchema, READABLE_SCHEMA_VERSIONS, resultsFileSchema, ResultsFileError, type Cell, type ResultsFile } from '../results/schema.js';

export interface LoadedResults {
  results: ResultsFile;
  /** One line per cell that was dropped as invalid. */
  warnings: string[];
}

export async function loadResults(path: string): Promise<LoadedResults> {
  try {
    return { results: await readResultsFile(path), warnings: [] };
  } catch (err) {
    if (!(err instanceof ResultsFileError)) throw err;
    const salvaged = await salvageCells(path);
    if (!salvaged) throw err;
    return salvaged;
  }
}

/** Keep the valid cells of a file whose header is valid; null when the header itself is not. */
async function salvageCells(path: string): Promise<LoadedResults | null> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || !(READABLE_SCHEMA_VERSIONS as readonly unknown[]).includes((data as { schemaVersion?: unknown }).schemaVersion)) return null;
  const header = resultsFileSchema.omit({ cells: true }).safeParse(data);
  const rawCells = (data as { cells?: unknown }).cells;
  if (!header.success || !Array.isArray(rawCells)) return null;
  const cells: Cell[] = [];
  const warnings: string[] = [];
  rawCells.forEach((raw, i) => {
    const cell = cellSchema.safeParse(raw);
    if (cell.success) {
      cells.push(cell.data);
      return;
    }
    const issue = cell.error.issues[0]!;
    warnings.push(`${path}: cell ${i} (${describeRaw(raw)}) is invalid at ${issue.path.join('.') || '(cell)'}: ${issue.message}; it is skipped`);
  });
  return { results: { ...header.data, cells }, warnings };
}

function describeRaw(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null) return 'not an object';
  const r = raw as Record<string, unknown>;
  const pool = r.scheduler === undefined ? undefined : `${String(r.scheduler)}${r.workers === undefined ? '' : `×${String(r.workers)}`}`;
  return [r.workload, r.size, pool].filter((x) => x !== undefined).map(String).join(' ') || 'unnamed';
}
