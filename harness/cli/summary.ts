/**
 * The table printed at the end of a bench run: for each workload and size, the fastest
 * verified scheduler and worker count, its median and its speedup against sync; then one
 * line per cell that failed or did not verify, with the reason.
 */
import Table from 'cli-table3';
import type { Cell } from '../../results/schema.js';
import { fastestPerWorkload } from '../measure/metrics.js';
import { cellName, groupKey, poolLabel } from '../../common/cells.js';
import { formatSeconds } from '../../common/format.js';

export function renderSummary(cells: Cell[]): string {
  const table = new Table({
    head: ['workload', 'size', 'fastest', 'median', 'speedup vs sync', 'sync median', 'failed cells'],
    style: { head: [], border: [] }, // no colours: the table is also read in logs
  });
  const syncMedian = new Map<string, number>();
  for (const c of cells) {
    if (c.scheduler === 'sync' && c.status === 'ok' && c.stats) syncMedian.set(groupKey(c), c.stats.median);
  }
  for (const group of fastestPerWorkload(cells)) {
    const best = group.best;
    const sync = syncMedian.get(groupKey(group));
    table.push([
      group.workload,
      group.size,
      best ? poolLabel(best) : 'none verified',
      best?.stats ? formatSeconds(best.stats.median) : '-',
      best?.speedup != null ? `${best.speedup.toFixed(2)}×` : '-',
      sync !== undefined ? formatSeconds(sync) : '-',
      `${group.failures} of ${group.cells}`,
    ]);
  }
  const failures = cells
    .filter((c) => c.status !== 'ok')
    .map((c) => `  ${cellName(c)}: ${c.status}: ${c.error?.message ?? 'no result'}`);
  return [table.toString(), ...(failures.length ? ['Cells without a verified time:', ...failures] : [])].join('\n');
}
