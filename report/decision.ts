/**
 * The decision map and the model check: the calibrated cost model of the machine that ran
 * the bench (its calibration file, found next to the results file by the environment's
 * fingerprint) set against what the bench measured.
 *
 * - Decision map: one heatmap per kind of value (model/decision-map.ts), drawn as a scatter
 *   of square points coloured by the predicted pick's scheduler; the catalog workloads are
 *   placed where their profile puts them (mean task duration, bytes per task) and marked
 *   by whether the measured pick's scheduler is the map's there.
 * - Model check: for every (workload, size) with a stored profile, the pick predicted from
 *   the profile (among the pools the bench measured) against the measured verdict, and each
 *   cell's predicted time against its measured median (±25 %), beside the bench's own
 *   repeatability at the same tolerance (how often one sample lands that close to its
 *   cell's other samples), the most that agreement could reach on this run's noise.
 *
 * The measured verdict is the bench's tested verdict (verdict.ts): its pick, and a predicted
 * pool counts as "within noise" when its cell is within noise of the fastest (the test the
 * pick itself rests on). It is read in one place, `measuredVerdict`.
 */
import { median } from 'simple-statistics';
import { comparePools, poolLabel, type PoolId, type SchedulerName } from '../common/cells.js';
import { formatBytes, formatSeconds } from '../common/format.js';
import type { CalibrationFile, CatalogProfile, ValueKind } from '../model/calibration.js';
import { decisionMaps, MAP_BYTES, MAP_DURATIONS, MAP_TASKS, type DecisionMap, type MapCell } from '../model/decision-map.js';
import { observedPool, pickOf, predictAll, type Prediction } from '../model/predict.js';
import { summarize } from '../model/profile.js';
import type { CellGroup, UsableCell } from './cells.js';
import { SCHEDULER_COLORS, type ChartSpec } from './charts.js';
import { groupVerdict, withinNoiseOfPick } from './verdict.js';

/** Goals of the model check (the issue's): picks agree in ≥ 90 % of rows, times within ±25 % in ≥ 80 % of cells. */
export const PICK_GOAL = 0.9;
export const TIME_GOAL = 0.8;
export const TIME_TOLERANCE = 0.25;

export interface MapPoint {
  workload: string;
  size: string;
  kind: ValueKind;
  taskSeconds: number;
  bytesPerTask: number;
  /** The map's pick at the point. */
  mapPick: PoolId;
  /** The bench's pick, when this run measured the workload at that size. */
  measuredPick: PoolId | null;
  matched: boolean | null;
}

export interface PickCheck {
  workload: string;
  size: string;
  predicted: PoolId;
  measured: PoolId;
  outcome: 'same' | 'within noise' | 'miss';
}

export interface TimeCheck extends PoolId {
  workload: string;
  size: string;
  predicted: number;
  low: number;
  high: number;
  measured: number;
  /** predicted / measured − 1. */
  error: number;
  within: boolean;
  /** Samples behind the measured median (1: the race stopped the cell at once, far slower than the leader). */
  samples: number;
}

export interface ModelCheck {
  picks: PickCheck[];
  times: TimeCheck[];
  pickAgreement: number | null;
  timeAgreement: number | null;
  /** The same share over the cells with at least SAMPLED_CELL samples (null: none). */
  sampledTimeAgreement: number | null;
  sampledCells: number;
  /**
   * The bench's own repeatability, the scale for `timeAgreement`: over the checked cells with
   * at least SAMPLED_CELL samples, the share of single samples within ±TIME_TOLERANCE of the
   * median of that cell's other samples (null: no such cell). A model that predicted every
   * cell's true time could not agree with one-sample medians more often than this.
   */
  repeatability: number | null;
}

/** Cells with at least this many samples have a median to speak of; the race stops a far-slower cell after one. */
export const SAMPLED_CELL = 3;

export interface DecisionSection {
  calibrationFile: string;
  calibration: CalibrationFile;
  maps: Array<{ map: DecisionMap; chart: ChartSpec; points: MapPoint[] }>;
  check: ModelCheck;
}

/** The measured verdict of a group: its pick, and whether another pool's time is within noise of it. */
function measuredVerdict(group: CellGroup): { pick: UsableCell; withinNoise: (pool: PoolId) => boolean } | null {
  const verdict = groupVerdict(group);
  if (!verdict.pick) return null;
  return { pick: verdict.pick, withinNoise: (pool) => withinNoiseOfPick(verdict, pool) };
}

const samePool = (a: PoolId, b: PoolId): boolean => a.scheduler === b.scheduler && a.workers === b.workers;

function profileFor(calibration: CalibrationFile, group: CellGroup): CatalogProfile | undefined {
  const params = JSON.stringify(group.cells[0]?.params ?? {});
  return calibration.catalog.find((p) => p.workload === group.workload && p.size === group.size && JSON.stringify(p.params) === params);
}

export function buildDecisionSection(groups: readonly CellGroup[], calibration: CalibrationFile, calibrationFile: string): DecisionSection {
  const maps = decisionMaps(calibration, (c) => c.scheduler, formatSeconds, (b) => (b === 0 ? '0 B' : formatBytes(b)));
  const points = catalogPoints(groups, calibration, maps);
  return {
    calibrationFile,
    calibration,
    maps: maps.map((map, i) => ({ map, chart: mapChart(map, points.filter((p) => p.kind === map.kind), `decision-map-${i}`), points: points.filter((p) => p.kind === map.kind) })),
    check: modelCheck(groups, calibration),
  };
}

function nearest<T>(values: readonly T[], distance: (v: T) => number): T {
  return values.reduce((a, b) => (distance(b) < distance(a) ? b : a));
}

function catalogPoints(groups: readonly CellGroup[], calibration: CalibrationFile, maps: DecisionMap[]): MapPoint[] {
  return calibration.catalog.map((profile) => {
    const s = summarize(profile.graph);
    const map = maps.find((m) => m.kind === s.dominantKind)!;
    const d = nearest(MAP_DURATIONS, (x) => Math.abs(Math.log(x) - Math.log(Math.max(s.meanTaskSeconds, 1e-9))));
    const b = nearest(MAP_BYTES, (x) => Math.abs(Math.log1p(x) - Math.log1p(s.bytesPerTask)));
    const cell = map.cells.find((c) => c.taskSeconds === d && c.bytesPerTask === b)!;
    const group = groups.find((g) => g.workload === profile.workload && g.size === profile.size && JSON.stringify(g.cells[0]?.params ?? {}) === JSON.stringify(profile.params));
    const verdict = group ? measuredVerdict(group) : null;
    const measuredPick = verdict ? { scheduler: verdict.pick.scheduler, workers: verdict.pick.workers } : null;
    return {
      workload: profile.workload,
      size: profile.size,
      kind: s.dominantKind,
      taskSeconds: s.meanTaskSeconds,
      bytesPerTask: s.bytesPerTask,
      mapPick: { scheduler: cell.scheduler, workers: cell.workers },
      measuredPick,
      matched: measuredPick ? measuredPick.scheduler === cell.scheduler : null,
    };
  });
}

function modelCheck(groups: readonly CellGroup[], calibration: CalibrationFile): ModelCheck {
  const picks: PickCheck[] = [];
  const times: TimeCheck[] = [];
  for (const group of groups) {
    const profile = profileFor(calibration, group);
    const verdict = measuredVerdict(group);
    if (!profile || !verdict) continue;
    const measuredPools = (p: Prediction) => group.usable.some((c) => samePool(c, p));
    // Bench samples observe every task's events (task stream, busy time): so do these predictions.
    const predictions = predictAll(profile.graph, { pools: calibration.pools.map(observedPool) }).filter(measuredPools);
    const chosen = pickOf(predictions);
    if (!chosen) continue;
    const outcome = samePool(chosen.pick, verdict.pick) ? 'same' : verdict.withinNoise(chosen.pick) ? 'within noise' : 'miss';
    picks.push({ workload: group.workload, size: group.size, predicted: { scheduler: chosen.pick.scheduler, workers: chosen.pick.workers }, measured: { scheduler: verdict.pick.scheduler, workers: verdict.pick.workers }, outcome });
    for (const p of predictions) {
      const cell = group.usable.find((c) => samePool(c, p))!;
      const error = p.seconds / cell.stats.median - 1;
      times.push({ workload: group.workload, size: group.size, scheduler: p.scheduler, workers: p.workers, predicted: p.seconds, low: p.low, high: p.high, measured: cell.stats.median, error, within: Math.abs(error) <= TIME_TOLERANCE, samples: cell.samples.length });
    }
  }
  times.sort((a, b) => a.workload.localeCompare(b.workload) || a.size.localeCompare(b.size) || comparePools(a, b));
  const share = (ts: readonly TimeCheck[]): number | null => (ts.length ? ts.filter((t) => t.within).length / ts.length : null);
  const sampled = times.filter((t) => t.samples >= SAMPLED_CELL);
  const checked = groups.flatMap((g) => g.usable.filter((c) => times.some((t) => t.workload === g.workload && t.size === g.size && samePool(t, c))));
  return {
    picks,
    times,
    pickAgreement: picks.length ? picks.filter((p) => p.outcome !== 'miss').length / picks.length : null,
    timeAgreement: share(times),
    sampledTimeAgreement: share(sampled),
    sampledCells: sampled.length,
    repeatability: repeatability(checked.map((c) => c.samples)),
  };
}

/** Share of samples within ±TIME_TOLERANCE of the median of their cell's other samples, over cells of SAMPLED_CELL samples or more. */
export function repeatability(cells: ReadonlyArray<readonly number[]>): number | null {
  let within = 0;
  let all = 0;
  for (const samples of cells) {
    if (samples.length < SAMPLED_CELL) continue;
    for (let i = 0; i < samples.length; i++) {
      const others = median(samples.filter((_, j) => j !== i));
      all++;
      if (Math.abs(samples[i]! / others - 1) <= TIME_TOLERANCE) within++;
    }
  }
  return all ? within / all : null;
}

const DECADE_LABELS: Record<number, string> = Object.fromEntries(MAP_DURATIONS.map((d, i) => [i, i % 4 === 0 ? formatSeconds(d) : '']));
const BYTE_LABELS: Record<number, string> = Object.fromEntries(MAP_BYTES.map((b, i) => [i, b === 0 ? '0' : formatBytes(b)]));

/** Position of `v` on a log-spaced grid of `values` (fractional between rows; 0 for 0). */
function gridIndex(values: readonly number[], v: number): number {
  if (v <= values[1]! * 0.5) return v <= 0 ? 0 : Math.max(0, Math.log(v / (values[1]! * 0.5)) / Math.log(2)); // between the 0 row and the first
  for (let i = 1; i < values.length - 1; i++) {
    if (v <= values[i + 1]!) return i + Math.log(v / values[i]!) / Math.log(values[i + 1]! / values[i]!);
  }
  return values.length - 1;
}

/**
 * A heatmap as a Chart.js scatter: the grid's columns and rows are indices (log steps), one
 * point per cell (templates/report.js fills the cells with a small plugin and writes the
 * tick labels from `grid`); catalog workloads are circles (matched) or crosses (missed) on top.
 */
function mapChart(map: DecisionMap, points: MapPoint[], id: string): ChartSpec & { grid: Record<string, unknown> } {
  const xIndex = (d: number): number => (Math.log10(d) + 6) * 4;
  const yIndex = (b: number): number => gridIndex(MAP_BYTES, b);
  const schedulers = [...new Set(map.cells.map((c) => c.scheduler))] as SchedulerName[];
  const datasets: Array<Record<string, unknown>> = schedulers.map((scheduler) => ({
    label: scheduler,
    data: map.cells.filter((c) => c.scheduler === scheduler).map((c: MapCell) => ({ x: xIndex(c.taskSeconds), y: yIndex(c.bytesPerTask), pool: poolLabel(c), seconds: formatSeconds(c.seconds) })),
    backgroundColor: SCHEDULER_COLORS[scheduler] ?? '#9ca3af',
    borderWidth: 0,
    pointStyle: 'rect',
  }));
  for (const [matched, label, style] of [
    [true, 'catalog: measured pick matches', 'circle'],
    [false, 'catalog: measured pick differs', 'crossRot'],
    [null, 'catalog: not measured in this run', 'triangle'],
  ] as const) {
    const mine = points.filter((p) => p.matched === matched);
    if (mine.length === 0) continue;
    datasets.push({
      label,
      data: mine.map((p) => ({
        x: Math.min(24, Math.max(0, xIndex(Math.max(p.taskSeconds, 1e-6)))),
        y: Math.min(MAP_BYTES.length - 1, yIndex(p.bytesPerTask)),
        pool: `${p.workload}/${p.size}: map ${poolLabel(p.mapPick)}${p.measuredPick ? `, measured ${poolLabel(p.measuredPick)}` : ''}`,
      })),
      pointStyle: style,
      radius: 7,
      backgroundColor: '#ffffff',
      borderColor: '#111827',
      borderWidth: 2,
      catalog: true,
    });
  }
  return {
    id,
    kind: 'decision-map',
    title: `Decision map — ${map.kind} values`,
    caption: `Predicted pick for ${MAP_TASKS} independent tasks, each moving the bytes shown (half in, half out) as ${kindWords(map.kind)}: the simplest pool whose predicted interval reaches the fastest pool's predicted time. Points: catalog workloads at their profiled mean task duration and bytes per task.`,
    height: 380,
    grid: { columns: MAP_DURATIONS.length, rows: MAP_BYTES.length, xTicks: DECADE_LABELS, yTicks: BYTE_LABELS },
    config: {
      type: 'scatter',
      data: { datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: true } },
        scales: {
          x: { type: 'linear', min: -0.5, max: MAP_DURATIONS.length - 0.5, title: { display: true, text: 'task duration (log)' }, ticks: { stepSize: 1, autoSkip: false } },
          y: { type: 'linear', min: -0.5, max: MAP_BYTES.length - 0.5, title: { display: true, text: 'bytes per task (log; bottom row 0)' }, ticks: { stepSize: 1, autoSkip: false } },
        },
      },
    },
  };
}

function kindWords(kind: ValueKind): string {
  return kind === 'plain' ? 'plain typed arrays' : kind === 'shared' ? 'SharedArrayBuffer-backed arrays' : 'strings and objects';
}
