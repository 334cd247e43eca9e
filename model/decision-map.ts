/**
 * The decision map: for each kind of value, a grid over task duration (1 µs … 1 s, log) ×
 * bytes per task (0, then 1 kB … 64 MB, log), each cell holding the predicted pick for a
 * synthetic graph at that point: `MAP_TASKS` independent tasks, each reading a literal of
 * half the bytes and returning the other half (so "bytes per task" is what crosses per
 * task), all requested. Boundaries are read off the grid as the durations at which the
 * pick changes along each bytes row.
 */
import type { SchedulerName } from '../common/cells.js';
import { VALUE_KINDS, type CalibrationFile, type ValueKind } from './calibration.js';
import { pickOf, predictAll } from './predict.js';
import type { ProfiledGraph } from './profile.js';

export const MAP_TASKS = 64;
/** Task durations of the grid's columns, seconds: 1 µs … 1 s, 4 per decade. */
export const MAP_DURATIONS = Array.from({ length: 25 }, (_, i) => 1e-6 * 10 ** (i / 4));
/** Bytes per task of the grid's rows: 0, then 1 kB … 50 MB in 1-2-5 steps, and 64 MB. */
export const MAP_BYTES = [0, ...[1e3, 1e4, 1e5, 1e6, 1e7].flatMap((d) => [d, 2 * d, 5 * d]), 64e6];

export interface MapCell {
  taskSeconds: number;
  bytesPerTask: number;
  scheduler: SchedulerName;
  workers: number;
  seconds: number;
}

export interface DecisionMap {
  kind: ValueKind;
  cells: MapCell[];
  /** Where the pick changes along each bytes row (rows that agree share a line): "0 B – 2 kB: sync from 1 µs, threads from 3.16 ms". */
  boundaries: string[];
}

/** The synthetic graph of one map cell. */
export function mapGraph(taskSeconds: number, bytesPerTask: number, kind: ValueKind): ProfiledGraph {
  const k = VALUE_KINDS.indexOf(kind);
  const half = bytesPerTask / 2;
  const g: ProfiledGraph = { seconds: [], bytes: [], kinds: [], literal: [], deps: [], outputs: [] };
  for (let i = 0; i < MAP_TASKS; i++) {
    g.seconds.push(0, taskSeconds);
    g.bytes.push(half, half);
    g.kinds.push(k, k);
    g.literal.push(1, 0);
    g.deps.push([], [2 * i]);
    g.outputs.push(2 * i + 1);
  }
  return g;
}

export function decisionMaps(calibration: Pick<CalibrationFile, 'pools'>, describe: (cell: { scheduler: SchedulerName; workers: number }) => string, formatX: (s: number) => string, formatY: (b: number) => string): DecisionMap[] {
  return VALUE_KINDS.map((kind) => {
    const cells: MapCell[] = [];
    const rows: Array<{ from: number; to: number; text: string }> = [];
    for (const bytes of MAP_BYTES) {
      const row: MapCell[] = [];
      for (const d of MAP_DURATIONS) {
        const chosen = pickOf(predictAll(mapGraph(d, bytes, kind), calibration));
        if (!chosen) continue;
        row.push({ taskSeconds: d, bytesPerTask: bytes, scheduler: chosen.pick.scheduler, workers: chosen.pick.workers, seconds: chosen.pick.seconds });
      }
      cells.push(...row);
      const parts: string[] = [];
      for (let i = 0; i < row.length; i++) {
        const label = describe(row[i]!);
        if (i === 0 || label !== describe(row[i - 1]!)) parts.push(`${label} from ${formatX(row[i]!.taskSeconds)}`);
      }
      const text = parts.length > 1 ? parts.join(', ') : `${describe(row[0]!)} everywhere`;
      // Consecutive rows that say the same are one line: "0 B – 2 kB: sync from 1 µs, threads from 3.16 ms".
      const last = rows.at(-1);
      if (last && last.text === text) last.to = bytes;
      else rows.push({ from: bytes, to: bytes, text });
    }
    const boundaries = rows.map((r) => `${formatY(r.from)}${r.to !== r.from ? ` – ${formatY(r.to)}` : ''}: ${r.text}`);
    return { kind, cells, boundaries };
  });
}
