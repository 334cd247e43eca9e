/**
 * The cells of a run as CSV, one row per cell, for a spreadsheet or a script (what
 * hyperfine's `--export-csv` and criterion's CSV output give their users). Times are in
 * seconds and sizes in bytes, unformatted; an empty field means "not measured". Workload
 * parameters are one `params` column (`n=10;seed=1`), since each workload has its own.
 * Quoting is csv-stringify's (RFC 4180).
 */
import { stringify } from 'csv-stringify/sync';
import type { Cell } from '../results/schema.js';

const COLUMNS: Array<[string, (cell: Cell) => string | number | boolean | null | undefined]> = [
  ['workload', (c) => c.workload],
  ['size', (c) => c.size],
  ['params', (c) => Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(';')],
  ['scheduler', (c) => c.scheduler],
  ['workers', (c) => c.workers],
  ['status', (c) => c.status],
  ['verified', (c) => c.verified],
  ['samples', (c) => c.samples.length],
  ['median_s', (c) => c.stats?.median],
  ['mean_s', (c) => c.stats?.mean],
  ['min_s', (c) => c.stats?.min],
  ['max_s', (c) => c.stats?.max],
  ['sd_s', (c) => c.stats?.sd],
  ['rme_percent', (c) => c.stats?.rme],
  ['speedup_vs_sync', (c) => c.speedup],
  ['efficiency', (c) => c.efficiency],
  ['tasks', (c) => c.tasks],
  ['overhead_per_task_us', (c) => c.perTaskOverheadUs],
  ['bytes_to_workers', (c) => c.bytes.toWorkers],
  ['bytes_from_workers', (c) => c.bytes.fromWorkers],
  ['bytes_between_workers', (c) => c.bytes.betweenWorkers],
  ['peak_memory_bytes', (c) => c.peakMemoryBytes],
  ['cpu_s', (c) => c.cpuSeconds],
  ['startup_s', (c) => c.startupSeconds],
  ['error', (c) => (c.error ? `${c.error.name}${c.error.code ? ` ${c.error.code}` : ''}: ${c.error.message}` : undefined)],
];

export function renderCsv(cells: readonly Cell[]): string {
  const rows = cells.map((cell) => COLUMNS.map(([, value]) => value(cell) ?? ''));
  return stringify(rows, { header: true, columns: COLUMNS.map(([name]) => name), cast: { boolean: (b) => String(b) } });
}
