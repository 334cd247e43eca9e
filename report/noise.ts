/**
 * How noisy the measurements were, from what the runner stored (results/schema.ts `noise`) and
 * the samples themselves, as pyperf, hyperfine and criterion report it:
 *   - outside load: CPU time other processes used during a cell's samples, as a share of the
 *     machine's cores (a cell at ≥ 25 % is "under heavy outside load" and marked);
 *   - VM steal: time the hypervisor gave this machine's cores to someone else;
 *   - outliers: samples beyond the Tukey fences (1.5 × IQR beyond the quartiles; "severe"
 *     beyond 3 × IQR), as criterion marks them.
 * A run-level line says when the run as a whole was noisy and what to do about it.
 */
import { quantileSorted } from 'simple-statistics';
import { cellName } from '../common/cells.js';
import { formatPercent } from '../common/format.js';
import type { Cell } from '../results/schema.js';

/** A cell whose samples ran while others used at least this share of the cores is marked. */
export const HEAVY_LOAD_SHARE = 0.25;
/**
 * A run whose samples saw this much outside load or VM steal on average (shares of all cores),
 * or whose cells were measured under heavy outside load in this share, gets the warning line. A
 * few percent of either is the normal hum of a shared machine (and within the noise every
 * verdict is tested against); a tenth is a load that moves medians.
 */
export const NOISY_RUN_SHARE = 0.1;
export const NOISY_STEAL_SHARE = 0.1;
export const NOISY_HEAVY_CELLS_SHARE = 0.1;

export interface Outliers {
  low: number;
  high: number;
  /** Samples outside [low, high]. */
  count: number;
  /** Of those, samples beyond 3 × IQR. */
  severe: number;
}

/** Tukey fences of a sample set (needs 4 samples for quartiles to mean anything; fewer: none). */
export function tukeyOutliers(samples: readonly number[]): Outliers | null {
  if (samples.length < 4) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  const iqr = q3 - q1;
  const [low, high] = [q1 - 1.5 * iqr, q3 + 1.5 * iqr];
  const out = sorted.filter((x) => x < low || x > high);
  return { low, high, count: out.length, severe: out.filter((x) => x < q1 - 3 * iqr || x > q3 + 3 * iqr).length };
}

export interface CellNoiseFigures {
  /** Others' CPU over the sample windows, as a share of all cores; null when not measured. */
  outsideShare: number | null;
  /** VM steal over the sample windows, as a share of all cores; null when not measured. */
  stealShare: number | null;
  outliers: Outliers | null;
  heavy: boolean;
}

export function cellNoise(cell: Cell, cores: number): CellNoiseFigures {
  const n = cell.noise;
  const span = n && n.windowSeconds > 0 ? n.windowSeconds * cores : 0;
  const outsideShare = span > 0 ? n!.outsideCpuSeconds / span : null;
  const stealShare = span > 0 ? n!.stealSeconds / span : null;
  return { outsideShare, stealShare, outliers: tukeyOutliers(cell.samples), heavy: outsideShare !== null && outsideShare >= HEAVY_LOAD_SHARE };
}

export interface RunNoise {
  /** Others' CPU over every measured window, as a share of all cores; null when nothing was measured. */
  outsideShare: number | null;
  stealShare: number | null;
  /** Cells measured under heavy outside load. */
  heavy: string[];
  /** The warning line for the top of the report (with how many crowded samples were taken again); null for a quiet run with none retaken (or one without figures). */
  line: string | null;
}

export function runNoise(cells: readonly Cell[], cores: number): RunNoise {
  let window = 0;
  let outside = 0;
  let steal = 0;
  const heavy: string[] = [];
  for (const cell of cells) {
    if (!cell.noise || cell.noise.windowSeconds <= 0) continue;
    window += cell.noise.windowSeconds;
    outside += cell.noise.outsideCpuSeconds;
    steal += cell.noise.stealSeconds;
    if (cellNoise(cell, cores).heavy) heavy.push(cellName(cell));
  }
  const retaken = cells.reduce((n, c) => n + (c.noise?.retakenSamples ?? 0), 0);
  const retakenNote = retaken ? `${retaken} sample${retaken === 1 ? '' : 's'} that other processes crowded ${retaken === 1 ? 'was' : 'were'} taken again` : null;
  if (window === 0) return { outsideShare: null, stealShare: null, heavy, line: null };
  const outsideShare = outside / (window * cores);
  const stealShare = steal / (window * cores);
  const measured = cells.filter((c) => c.noise && c.noise.windowSeconds > 0).length;
  const noisy = outsideShare >= NOISY_RUN_SHARE || stealShare >= NOISY_STEAL_SHARE || heavy.length >= NOISY_HEAVY_CELLS_SHARE * measured;
  const line = noisy
    ? `noisy run: other processes used ${formatPercent(outsideShare)} of the ${cores} cores during the samples` +
      (stealShare >= 0.005 ? ` and VM steal took ${formatPercent(stealShare)}` : '') +
      (heavy.length ? `; ${heavy.length} of ${measured} cells ran under heavy outside load (≥ ${formatPercent(HEAVY_LOAD_SHARE)}, marked ⚠)` : '') +
      `. Times are inflated and verdicts within noise may be the noise itself: stop other jobs (see top or htop)${stealShare >= NOISY_STEAL_SHARE ? ', use a machine without CPU steal (a dedicated VM or bare metal)' : ''}, rerun \`schedlab bench\`, and compare with --baseline`
    : null;
  return { outsideShare, stealShare, heavy, line: line && retakenNote ? `${line} (${retakenNote})` : (line ?? retakenNote) };
}
