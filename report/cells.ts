/**
 * Which cells a verdict may rest on, and how cells are grouped for the report.
 *
 * A cell is usable only when it ran, verified its answer and has timing samples: a failed or
 * unverified cell is shown as missing, never ranked. Groups are (workload, size) pairs in a
 * stable order: workloads as the run listed them, sizes from quick to large.
 */
import { compareSizes, comparePools } from '../common/cells.js';
import type { Cell } from '../results/schema.js';

/** A cell whose samples can be compared: ran, verified, has stats and samples. */
export type UsableCell = Cell & { stats: NonNullable<Cell['stats']> };

export function isUsable(cell: Cell): cell is UsableCell {
  return cell.status === 'ok' && cell.verified && cell.stats !== null && cell.samples.length > 0;
}

export interface CellGroup {
  workload: string;
  size: string;
  /** Every cell of the group, in scheduler-simplicity then worker order. */
  cells: Cell[];
  usable: UsableCell[];
}

/** Group cells by (workload, size): workloads in first-seen order, sizes quick → large. */
export function groupCells(cells: readonly Cell[]): CellGroup[] {
  const workloads: string[] = [];
  const byWorkload = new Map<string, Map<string, Cell[]>>();
  for (const cell of cells) {
    let sizes = byWorkload.get(cell.workload);
    if (!sizes) {
      sizes = new Map();
      byWorkload.set(cell.workload, sizes);
      workloads.push(cell.workload);
    }
    const list = sizes.get(cell.size) ?? [];
    list.push(cell);
    sizes.set(cell.size, list);
  }
  const groups: CellGroup[] = [];
  for (const workload of workloads) {
    const sizes = byWorkload.get(workload)!;
    for (const size of [...sizes.keys()].sort(compareSizes)) {
      const groupCells = [...sizes.get(size)!].sort(comparePools);
      groups.push({ workload, size, cells: groupCells, usable: groupCells.filter(isUsable) });
    }
  }
  return groups;
}

/** Bytes that crossed the main process (the client, for distributed): sent out plus brought back. */
export function bytesThroughMain(cell: Cell): number {
  return cell.bytes.toWorkers + cell.bytes.fromWorkers;
}

/** Bytes moved in all: to workers, back, and between workers. */
export function totalBytes(cell: Cell): number {
  return cell.bytes.toWorkers + cell.bytes.fromWorkers + cell.bytes.betweenWorkers;
}
