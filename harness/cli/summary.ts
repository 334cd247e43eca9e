/**
 * The table printed at the end of a bench run: for each workload and size, the report's pick
 * (report/verdict.ts through recommend.ts: the same code, so the terminal and the report never
 * name different winners), its median and speedup against sync, the runner-up and the verdict
 * of the test; then one line per cell that failed or did not verify, with the reason.
 */
import Table from 'cli-table3';
import type { Cell } from '../../results/schema.js';
import { groupCells } from '../../report/cells.js';
import { marginText, recommendGroup } from '../../report/recommend.js';
import { cellName, poolLabel } from '../../common/cells.js';
import { formatSeconds } from '../../common/format.js';

export function renderSummary(cells: Cell[]): string {
  const table = new Table({
    head: ['workload', 'size', 'pick', 'median', 'speedup vs sync', 'runner-up', 'margin', 'verdict', 'samples per cell', 'failed cells'],
    style: { head: [], border: [] }, // no colours: the table is also read in logs
  });
  for (const group of groupCells(cells)) {
    const row = recommendGroup(group);
    const counts = group.usable.map((c) => c.samples.length);
    table.push([
      group.workload,
      group.size,
      row.pick ? poolLabel(row.pick) : 'none verified',
      row.pick ? formatSeconds(row.pick.stats.median) : '-',
      row.speedup !== null ? `${row.speedup.toFixed(2)}×` : '-',
      row.runnerUp ? poolLabel(row.runnerUp) : '-',
      row.margin !== null ? marginText(row) : '-',
      row.verdict,
      counts.length ? `${Math.min(...counts)}–${Math.max(...counts)}` : '-',
      `${group.cells.length - group.usable.length} of ${group.cells.length}`,
    ]);
  }
  const failures = cells
    .filter((c) => c.status !== 'ok')
    .map((c) => `  ${cellName(c)}: ${c.status}: ${c.error?.message ?? 'no result'}`);
  return [table.toString(), ...(failures.length ? ['Cells without a verified time:', ...failures] : [])].join('\n');
}
