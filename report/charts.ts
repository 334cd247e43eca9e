/**
 * The charts behind each recommendation, as plain chart.js configurations.
 *
 * Every chart is built here as JSON-serialisable data (type, data, options with axis titles
 * and units), embedded in the page, and handed to `new Chart()` by templates/report.js
 * unchanged. Keeping the logic on this side means the tests can inspect what will be drawn,
 * and the page script stays a dozen lines. Values are converted to a readable unit per chart
 * (ms or s, kB/MB/GB) and the axis title names the unit.
 */
import type { Cell, TaskSpan } from '../results/schema.js';
import type { CellGroup, UsableCell } from './cells.js';
import { SCHEDULER_NAMES, poolLabel } from '../common/cells.js';
import { formatSeconds } from '../common/format.js';

export interface ChartSpec {
  /** Unique in the page; the canvas carries it as `data-chart`. */
  id: string;
  title: string;
  caption: string;
  /** CSS pixel height of the chart box. */
  height: number;
  kind: 'time' | 'speedup' | 'overhead' | 'bytes' | 'memory' | 'startup' | 'gantt' | 'decision-map';
  /** decision-map: the grid's size and tick labels by index (the page script sizes the squares and labels the axes). */
  grid?: { columns: number; rows: number; xTicks: Record<number, string>; yTicks: Record<number, string> };
  config: { type: string; data: { labels?: string[]; datasets: Array<Record<string, unknown>> }; options: Record<string, unknown> };
}

export const SCHEDULER_COLORS: Record<Cell['scheduler'], string> = {
  sync: '#6b7280',
  threads: '#2563eb',
  processes: '#d97706',
  distributed: '#059669',
  bullmq: '#db2777',
};
const TASK_PALETTE = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626'];

interface Unit {
  name: string;
  scale: number;
}

function timeUnit(maxSeconds: number): Unit {
  if (maxSeconds < 1e-3) return { name: 'µs', scale: 1e6 };
  if (maxSeconds < 1) return { name: 'ms', scale: 1e3 };
  return { name: 's', scale: 1 };
}

function byteUnit(maxBytes: number): Unit {
  if (maxBytes >= 1e9) return { name: 'GB', scale: 1e-9 };
  if (maxBytes >= 1e6) return { name: 'MB', scale: 1e-6 };
  if (maxBytes >= 1e3) return { name: 'kB', scale: 1e-3 };
  return { name: 'bytes', scale: 1 };
}

const round = (x: number) => Number(x.toPrecision(4));

function axis(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { title: { display: true, text: title }, ...extra };
}

function options(xTitle: string, yTitle: string, extra: { x?: Record<string, unknown>; y?: Record<string, unknown>; legend?: boolean } = {}) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { display: extra.legend ?? false } },
    scales: { x: axis(xTitle, extra.x), y: axis(yTitle, { beginAtZero: true, ...extra.y }) },
  };
}

/** A bar per usable cell, coloured by scheduler. */
function barPerCell(
  cells: UsableCell[],
  value: (c: UsableCell) => number | null,
  label: string,
): { labels: string[]; datasets: Array<Record<string, unknown>> } {
  return {
    labels: cells.map(poolLabel),
    datasets: [
      {
        label,
        data: cells.map((c) => {
          const v = value(c);
          return v === null ? null : round(v);
        }),
        backgroundColor: cells.map((c) => SCHEDULER_COLORS[c.scheduler]),
      },
    ],
  };
}

const CELL_AXIS = 'scheduler × workers';

/** The six per-cell charts and one task stream per scheduler, for one (workload, size). */
export function groupCharts(group: CellGroup, prefix: string): ChartSpec[] {
  const cells = group.usable;
  if (cells.length === 0) return [];
  const name = `${group.workload}/${group.size}`;
  const specs: ChartSpec[] = [];

  const t = timeUnit(Math.max(...cells.flatMap((c) => c.samples)));
  const time = barPerCell(cells, (c) => c.stats.median * t.scale, 'median');
  time.datasets.push({
    type: 'scatter',
    label: 'samples',
    data: cells.flatMap((c) => c.samples.map((s) => ({ x: poolLabel(c), y: round(s * t.scale) }))),
    backgroundColor: '#111827',
    pointRadius: 2.5,
  });
  specs.push({
    id: `${prefix}-time`,
    kind: 'time',
    title: `Time per run — ${name}`,
    caption: 'Bar: median of the timed runs (pool already started). Dots: every sample, to show the spread.',
    height: 260,
    config: { type: 'bar', data: time, options: options(CELL_AXIS, `time per run (${t.name})`, { legend: true }) },
  });

  specs.push(speedupChart(group, prefix, name));

  specs.push({
    id: `${prefix}-overhead`,
    kind: 'overhead',
    title: `Per-task overhead — ${name}`,
    caption: 'What each task costs beyond its own work: (wall time × workers − time the workers spent running tasks) / tasks.',
    height: 260,
    config: { type: 'bar', data: barPerCell(cells, (c) => c.perTaskOverheadUs, 'overhead'), options: options(CELL_AXIS, 'overhead per task (µs)') },
  });

  const b = byteUnit(Math.max(1, ...cells.map((c) => c.bytes.toWorkers + c.bytes.fromWorkers + c.bytes.betweenWorkers)));
  const kinds: Array<['toWorkers' | 'fromWorkers' | 'betweenWorkers', string, string]> = [
    ['toWorkers', 'to workers', '#2563eb'],
    ['fromWorkers', 'back from workers', '#d97706'],
    ['betweenWorkers', 'between workers', '#059669'],
  ];
  specs.push({
    id: `${prefix}-bytes`,
    kind: 'bytes',
    title: `Bytes moved per run — ${name}`,
    caption: 'Bytes copied across a thread, process or network boundary in one run, by direction (shared memory is not counted).',
    height: 260,
    config: {
      type: 'bar',
      data: {
        labels: cells.map(poolLabel),
        datasets: kinds.map(([key, label, color]) => ({ label, data: cells.map((c) => round(c.bytes[key] * b.scale)), backgroundColor: color })),
      },
      options: options(CELL_AXIS, `bytes moved (${b.name})`, { legend: true, x: { stacked: true }, y: { stacked: true } }),
    },
  });

  const m = byteUnit(Math.max(...cells.map((c) => c.peakMemoryBytes)));
  specs.push({
    id: `${prefix}-memory`,
    kind: 'memory',
    title: `Peak memory — ${name}`,
    caption: 'Peak resident memory of the main process plus every worker process.',
    height: 260,
    config: { type: 'bar', data: barPerCell(cells, (c) => c.peakMemoryBytes * m.scale, 'peak memory'), options: options(CELL_AXIS, `peak memory (${m.name})`) },
  });

  const s = timeUnit(Math.max(...cells.map((c) => c.startupSeconds)));
  specs.push({
    id: `${prefix}-startup`,
    kind: 'startup',
    title: `Pool start-up — ${name}`,
    caption: 'Time to start the pool or cluster, measured apart from the timed runs.',
    height: 260,
    config: { type: 'bar', data: barPerCell(cells, (c) => c.startupSeconds * s.scale, 'start-up'), options: options(CELL_AXIS, `start-up time (${s.name})`) },
  });

  // The task streams of one workload share one time axis, so their lengths compare at a glance.
  const streams = SCHEDULER_NAMES.flatMap((scheduler) => {
    const cell = representativeStream(cells.filter((c) => c.scheduler === scheduler));
    return cell ? [{ scheduler, cell }] : [];
  });
  const streamEnd = Math.max(...streams.flatMap(({ cell }) => cell.taskStream!.spans.map((span) => span.end)));
  for (const { scheduler, cell } of streams) specs.push(ganttChart(cell, `${prefix}-gantt-${scheduler}`, name, streamEnd, streams.length));
  return specs;
}

function speedupChart(group: CellGroup, prefix: string, name: string): ChartSpec {
  const cells = group.usable.filter((c) => c.speedup !== null);
  const maxWorkers = Math.max(1, ...group.usable.map((c) => c.workers));
  const datasets: Array<Record<string, unknown>> = SCHEDULER_NAMES.filter((s) => cells.some((c) => c.scheduler === s)).map((scheduler) => ({
    label: scheduler,
    data: cells.filter((c) => c.scheduler === scheduler).map((c) => ({ x: c.workers, y: round(c.speedup!) })),
    borderColor: SCHEDULER_COLORS[scheduler],
    backgroundColor: SCHEDULER_COLORS[scheduler],
    pointRadius: 4,
  }));
  // A point at every worker count measured, so the ideal line is right on a log axis too.
  const counts = [...new Set([1, ...group.usable.map((c) => c.workers)])].sort((a, b) => a - b);
  datasets.push({
    label: 'ideal (linear)',
    data: counts.map((n) => ({ x: n, y: n })),
    borderColor: '#9ca3af',
    borderDash: [6, 4],
    pointRadius: 0,
  });
  return {
    id: `${prefix}-speedup`,
    kind: 'speedup',
    title: `Speedup against sync — ${name}`,
    caption: cells.length
      ? 'Median time of sync with 1 worker divided by each cell’s median; the dashed line is perfect scaling.'
      : 'No sync cell in this run, so no speedup could be computed; only the ideal line is drawn.',
    height: 260,
    config: {
      type: 'line',
      data: { datasets },
      // Worker counts double (1, 2, 4 … 64): past 8 a log axis keeps the small counts readable.
      options: options('workers', 'speedup (× sync)', {
        legend: true,
        x: maxWorkers > 8 ? { type: 'logarithmic', min: 1 } : { type: 'linear', min: 1, ticks: { stepSize: 1 } },
      }),
    },
  };
}

/** The task stream to draw for one scheduler: the cell with the most workers that recorded one. */
function representativeStream(cells: UsableCell[]): UsableCell | undefined {
  return cells
    .filter((c) => c.taskStream !== null && c.taskStream.spans.length > 0)
    .sort((a, b) => b.workers - a.workers || a.stats.median - b.stats.median)[0];
}

/** `axisEnd`: seconds at the right end of the time axis, the same for every stream of the workload. */
function ganttChart(cell: UsableCell, id: string, name: string, axisEnd: number, streamCount: number): ChartSpec {
  const stream = cell.taskStream!;
  const shown = stream.truncated ? `, first ${stream.spans.length} shown` : '';
  return taskStreamChart(stream.spans, {
    id,
    title: `Task stream — ${name}, ${poolLabel(cell)}`,
    caption: `One sample: a row per worker, a bar per task (${stream.totalTasks} tasks${shown}).${phaseCaption(stream.spans)}${streamCount > 1 ? ' The same time axis as the other task streams of this workload.' : ''}`,
    axisEnd,
    kindOf: (key) => /^[A-Za-z_][A-Za-z_-]*?(?=[-_:.,(\d]|$)/.exec(key)?.[0] || 'task',
    xTitle: 'time from sample start',
  });
}

/** Colours of the phases drawn over a task stream, as Dask's: transfer red, deserialization grey. */
const PHASE_COLOURS = { transfer: 'rgba(220, 38, 38, 0.75)', deserialize: '#9ca3af' } as const;

type PhasedSpan = { key: string; worker: string; start: number; end: number; phases?: TaskSpan['phases'] };

/** " Red: ...; phases summed over the shown tasks: ..." when the spans carry phases (distributed), else ''. */
function phaseCaption(spans: readonly PhasedSpan[]): string {
  const sums = { waiting: 0, transfer: 0, deserialize: 0, compute: 0, report: 0 };
  let phased = 0;
  for (const span of spans) {
    if (!span.phases) continue;
    phased += 1;
    for (const name of Object.keys(sums) as Array<keyof typeof sums>) sums[name] += span.phases[name];
  }
  if (!phased) return '';
  const parts = (Object.keys(sums) as Array<keyof typeof sums>).map((name) => `${name} ${formatSeconds(sums[name])}`);
  return ` Red: fetching a task's inputs from other workers; grey: decoding them. Where the time of the ${phased} tasks shown went (summed over tasks): ${parts.join(', ')}.`;
}

/** A task stream: a row per worker, a bar per span (seconds from the start), one colour per kind of task; phases (transfer, deserialize) drawn over it when the spans carry them. */
export function taskStreamChart(
  spans: ReadonlyArray<PhasedSpan>,
  how: { id: string; title: string; caption: string; kindOf: (key: string) => string; xTitle: string; /** Seconds at the right end of the axis (shared by a workload's streams); default: the last span's end. */ axisEnd?: number },
): ChartSpec {
  const { id } = how;
  const workers = [...new Set(spans.map((s) => s.worker))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const axisEnd = how.axisEnd ?? spans.reduce((m, s) => Math.max(m, s.end), 0);
  const u = timeUnit(axisEnd);
  // One dataset per kind of task, so the legend tells multiply from sum.
  const kinds = new Map<string, Array<Record<string, unknown>>>();
  for (const span of spans) {
    let kind = how.kindOf(span.key);
    if (!kinds.has(kind) && kinds.size >= TASK_PALETTE.length - 1) kind = 'other';
    const list = kinds.get(kind) ?? [];
    list.push({ x: [round(span.start * u.scale), round(Math.max(span.end, span.start) * u.scale)], y: span.worker, key: span.key });
    kinds.set(kind, list);
  }
  const phaseBars = { transfer: [] as Array<Record<string, unknown>>, deserialize: [] as Array<Record<string, unknown>> };
  for (const span of spans) {
    const p = span.phases;
    if (!p) continue;
    if (p.transfer > 0 && p.transferStart !== undefined) {
      phaseBars.transfer.push({ x: [round(p.transferStart * u.scale), round((p.transferStart + p.transfer) * u.scale)], y: span.worker, key: `${span.key} (transfer)` });
    }
    if (p.deserialize > 0) phaseBars.deserialize.push({ x: [round(span.start * u.scale), round((span.start + p.deserialize) * u.scale)], y: span.worker, key: `${span.key} (deserialize)` });
  }
  const phaseDatasets = (Object.keys(phaseBars) as Array<keyof typeof phaseBars>)
    .filter((name) => phaseBars[name].length > 0)
    .map((name) => ({
      label: name,
      data: phaseBars[name],
      backgroundColor: PHASE_COLOURS[name],
      borderWidth: 0,
      grouped: false,
      // Thinner than the task bars, on top of them: transfers overlap other tasks' compute.
      barPercentage: 0.4,
      categoryPercentage: 0.9,
      minBarLength: 1,
    }));
  return {
    id,
    kind: 'gantt',
    title: how.title,
    caption: how.caption,
    height: Math.min(600, 90 + 26 * workers.length),
    config: {
      type: 'bar',
      data: {
        labels: workers,
        datasets: [...kinds.entries()].map(([kind, data], i) => ({
          label: kind,
          data,
          backgroundColor: TASK_PALETTE[i],
          borderWidth: 0,
          grouped: false,
          barPercentage: 0.9,
          categoryPercentage: 0.9,
          minBarLength: 1,
        })).concat(phaseDatasets),
      },
      options: {
        ...options(`${how.xTitle} (${u.name})`, 'worker', { legend: kinds.size > 1 || phaseDatasets.length > 0, x: { type: 'linear', min: 0, max: round(axisEnd * u.scale) } }),
        indexAxis: 'y',
      },
    },
  };
}
