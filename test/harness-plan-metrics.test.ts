// The harness's pure parts: the matrix, option checks, derived metrics, the task stream cap.
import { describe, expect, it } from 'vitest';
import { UsageError, parsePositiveIntegers, pickNames } from '../dist/harness/cli/bench-options.js';
import { mergeCellParts, perTaskOverheadUs, statsFromSamples, withSpeedups } from '../dist/harness/measure/metrics.js';
import { poolLabel } from '../dist/common/cells.js';
import { countCells, defaultWorkerCounts, planMatrix } from '../dist/harness/runner/plan.js';
import { MAX_TASK_SPANS, RunEventRecorder } from '../dist/harness/measure/task-stream.js';
import type { Cell } from '../dist/results/schema.js';
import type { Workload } from '../dist/workloads/types.js';

const fakeWorkload = (name: string) => ({ name }) as unknown as Workload;

describe('matrix', () => {
  it('doubles worker counts up to the available parallelism, ending on it', () => {
    expect(defaultWorkerCounts(1)).toEqual([1]);
    expect(defaultWorkerCounts(2)).toEqual([1, 2]);
    expect(defaultWorkerCounts(6)).toEqual([1, 2, 4, 6]);
    expect(defaultWorkerCounts(64)).toEqual([1, 2, 4, 8, 16, 32, 64]);
  });

  it('runs sync first and only with 1 worker; one pool per other (scheduler, workers)', () => {
    const pools = planMatrix({
      workloads: [fakeWorkload('a'), fakeWorkload('b')],
      sizes: ['quick', 'small'],
      schedulers: ['processes', 'sync', 'threads'],
      workerCounts: [4, 1, 4],
    });
    expect(pools.map((p) => poolLabel(p.pool))).toEqual(['sync', 'threads×1', 'threads×4', 'processes×1', 'processes×4']);
    expect(countCells(pools)).toBe(5 * 2 * 2);
    expect(pools[0]!.cells.map((c) => `${c.workload.name}/${c.size}`)).toEqual(['a/quick', 'a/small', 'b/quick', 'b/small']);
  });
});

describe('option checks', () => {
  it('lists the valid names when one is unknown', () => {
    expect(() => pickNames('--schedulers', 'sync,thread', ['sync', 'threads'])).toThrow(
      new UsageError('--schedulers: unknown name "thread"; valid values: sync, threads'),
    );
    expect(pickNames('--schedulers', ' threads , sync,threads', ['sync', 'threads'])).toEqual(['threads', 'sync']);
  });

  it('accepts only positive integers as worker counts', () => {
    expect(parsePositiveIntegers('--workers', '1,2, 8')).toEqual([1, 2, 8]);
    for (const bad of ['0', '-1', '1.5', 'two', '1,,x', '']) {
      expect(() => parsePositiveIntegers('--workers', bad)).toThrow(UsageError);
    }
  });
});

function cell(scheduler: Cell['scheduler'], workers: number, median: number | null, workload = 'w'): Cell {
  return {
    workload,
    size: 'quick',
    params: {},
    scheduler,
    workers,
    status: median === null ? 'unverified' : 'ok',
    verified: median !== null,
    samples: median === null ? [] : [median],
    stats: median === null ? null : { median, mean: median, min: median, max: median, sd: 0, rme: 0 },
    speedup: null,
    efficiency: null,
    tasks: 10,
    perTaskOverheadUs: null,
    bytes: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 },
    peakMemoryBytes: 0,
    cpuSeconds: null,
    startupSeconds: 0,
    taskStream: null,
  };
}

describe('metrics', () => {
  it('computes speedup against sync (1 worker) of the same workload and size, and efficiency', () => {
    const cells = withSpeedups([cell('sync', 1, 2), cell('threads', 2, 0.5), cell('threads', 4, null), cell('threads', 2, 1, 'other')]);
    expect(cells.map((c) => c.speedup)).toEqual([1, 4, null, null]);
    expect(cells.map((c) => c.efficiency)).toEqual([1, 2, null, null]);
  });

  it('per-task overhead is the worker time the tasks did not use, per task, in µs', () => {
    // 2 workers × 1 s = 2 s of worker time; tasks computed 1.5 s; 1000 tasks → 500 µs each.
    expect(perTaskOverheadUs([1], [1.5], 2, 1000)).toBeCloseTo(500);
    expect(perTaskOverheadUs([1], [1.5], 2, 0)).toBeNull();
    // Each run is paired with its own compute time: a slow run that also computed longer is no outlier.
    expect(perTaskOverheadUs([1, 1.1, 3], [0.9, 1.0, 2.9], 1, 1000)).toBeCloseTo(100);
  });

  it('merges the parts of a cell measured in successive pool processes, weighting per-sample figures by samples', () => {
    const a = { ...cell('threads', 2, 1), samples: [1, 1.2], cpuSeconds: 2, peakMemoryBytes: 100, bytes: { toWorkers: 10, fromWorkers: 0, betweenWorkers: 0 }, perTaskOverheadUs: 5, startupSeconds: 0.3 };
    const b = { ...cell('threads', 2, 1), samples: [0.8], cpuSeconds: 0.5, peakMemoryBytes: 300, bytes: { toWorkers: 40, fromWorkers: 0, betweenWorkers: 0 }, perTaskOverheadUs: 2, startupSeconds: 0.4 };
    const merged = mergeCellParts([a, b]);
    expect(merged.samples).toEqual([1, 1.2, 0.8]);
    expect(merged.stats!.median).toBe(1);
    expect(merged.cpuSeconds).toBeCloseTo(1.5, 12);
    expect(merged.perTaskOverheadUs).toBeCloseTo(4, 12);
    expect(merged.bytes.toWorkers).toBe(20);
    expect(merged.peakMemoryBytes).toBe(300);
    expect(merged.startupSeconds).toBe(0.3);
    expect(mergeCellParts([a])).toBe(a);
  });

  it('computes the stored statistics from the samples: median, sample sd, and rme as tinybench does (t × sem / mean)', () => {
    const s = statsFromSamples([0.01, 0.02, 0.03]);
    expect(s).toMatchObject({ median: 0.02, min: 0.01, max: 0.03 });
    expect(s.mean).toBeCloseTo(0.02, 12);
    expect(s.sd).toBeCloseTo(0.01, 12);
    expect(s.rme).toBeCloseTo((4.303 * 0.01) / Math.sqrt(3) / 0.02 * 100, 6);
    expect(statsFromSamples([0.5])).toEqual({ median: 0.5, mean: 0.5, min: 0.5, max: 0.5, sd: 0, rme: 0 });
  });
});

describe('task stream', () => {
  it('keeps at most MAX_TASK_SPANS spans, sorted, relative to the run start, and says it truncated', () => {
    const start = 1_000_000;
    const recorder = new RunEventRecorder(start, true);
    const total = MAX_TASK_SPANS + 10;
    for (let i = total - 1; i >= 0; i--) {
      recorder.onEvent({ type: 'task-start', key: `k${i}`, worker: 'w', time: start + i });
      recorder.onEvent({ type: 'task-end', key: `k${i}`, worker: `w${i % 2}`, start: start + i, end: start + i + 2, ok: true });
    }
    const stream = recorder.taskStream();
    expect(stream.totalTasks).toBe(total);
    expect(stream.truncated).toBe(true);
    expect(stream.spans).toHaveLength(MAX_TASK_SPANS);
    expect(stream.spans[0]!.start).toBeLessThan(stream.spans[1]!.start);
    expect(recorder.computeSeconds).toBeCloseTo((total * 2) / 1000);
  });

  it('stores a distributed task\'s phases in seconds, its transfer start relative to the run', () => {
    const recorder = new RunEventRecorder(1_000_000, true);
    const phases = { waiting: 3, transfer: 20, deserialize: 1.5, compute: 40, report: 2, transferAt: 1_000_010 };
    recorder.onEvent({ type: 'task-end', key: 'x', worker: 'w1', start: 1_000_050, end: 1_000_092, ok: true, phases });
    recorder.onEvent({ type: 'task-end', key: 'y', worker: 'w1', start: 1_000_100, end: 1_000_101, ok: true });
    const [x, y] = recorder.taskStream().spans;
    expect(x!.phases).toEqual({ waiting: 0.003, transfer: 0.02, deserialize: 0.0015, compute: 0.04, report: 0.002, transferStart: 0.01 });
    expect(y!.phases).toBeUndefined();
  });

  it('counts a worker busy once while its async tasks overlap (busy time is the union of its spans)', () => {
    const recorder = new RunEventRecorder(0, false);
    const end = (key: string, worker: string, start: number, stop: number): void =>
      recorder.onEvent({ type: 'task-end', key, worker, start, end: stop, ok: true });
    end('a', 'w0', 0, 10); // a and b overlap on w0: busy 0–15
    end('b', 'w0', 5, 15);
    end('c', 'w0', 20, 25); // a gap, then 5 more
    end('d', 'w1', 0, 10); // another worker: its own 10
    expect(recorder.computeSeconds).toBeCloseTo(0.03);
    expect(perTaskOverheadUs([0.03], [recorder.computeSeconds], 2, 4)).toBeCloseTo(((0.06 - 0.03) / 4) * 1e6);
  });
});
