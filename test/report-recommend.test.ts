// The recommendation rules on small hand-made cell sets: the simplest choice within noise
// wins, a difference beyond noise wins, too few samples are said so, failed and unverified
// cells never count, and the reason quotes the deciding figures.
import { describe, expect, it } from 'vitest';
import { groupCells } from '../dist/report/cells.js';
import { buildReport } from '../dist/report/model.js';
import { recommend } from '../dist/report/recommend.js';
import type { Cell, ResultsFile } from '../dist/results/schema.js';

const MB = 1e6;

/** A verified cell whose samples scatter ±2 % around `median` seconds. */
function cell(scheduler: Cell['scheduler'], workers: number, median: number, extra: Partial<Cell> = {}): Cell {
  const samples = [0.98, 1.01, 0.99, 1.02, 1.0, 0.985, 1.015].map((f) => f * median);
  return {
    workload: 'w',
    size: 'quick',
    params: {},
    scheduler,
    workers,
    status: 'ok',
    verified: true,
    samples,
    stats: { median, mean: median, min: 0.98 * median, max: 1.02 * median, sd: 0.01 * median, rme: 1 },
    speedup: null,
    efficiency: null,
    tasks: 1000,
    perTaskOverheadUs: 5,
    bytes: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 },
    peakMemoryBytes: 100 * MB,
    cpuSeconds: null,
    startupSeconds: scheduler === 'sync' ? 0 : 0.05,
    taskStream: null,
    ...extra,
  };
}

const only = (cells: Cell[]) => {
  const rows = recommend(groupCells(cells));
  expect(rows).toHaveLength(1);
  return rows[0]!;
};

describe('recommend', () => {
  it('prefers the simpler scheduler, then fewer workers, when the faster one is within noise', () => {
    const row = only([cell('sync', 1, 1.0), cell('threads', 1, 0.995), cell('threads', 2, 0.99), cell('processes', 2, 0.985)]);
    expect(row.pick).toMatchObject({ scheduler: 'sync', workers: 1 });
    expect(row.preferredSimpler).toBe(true);
    expect(row.runnerUp).toMatchObject({ scheduler: 'processes', workers: 2 });
    expect(row.comparison!.verdict).toBe('noise');
    expect(row.verdict).toBe('within-noise');
    expect(row.reason).toMatch(/^within noise of the faster median of processes×2, tested with \d+ samples each \(time ratio 0\.9\d, 95 % CI 0\.\d\d–1\.\d\d\), so the simpler sync is picked$/);
  });

  it('picks the fastest when it is faster beyond noise, with its margin and the figures that explain it', () => {
    const row = only([
      cell('sync', 1, 1.0),
      cell('threads', 2, 0.52, { speedup: 1.92, efficiency: 0.96, bytes: { toWorkers: 10_000, fromWorkers: 10_000, betweenWorkers: 0 } }),
      cell('processes', 2, 0.8, { bytes: { toWorkers: 1.2e9, fromWorkers: 0.7e9, betweenWorkers: 0 } }),
    ]);
    expect(row.pick).toMatchObject({ scheduler: 'threads', workers: 2 });
    expect(row.preferredSimpler).toBe(false);
    expect(row.speedup).toBe(1.92);
    expect(row.runnerUp).toMatchObject({ scheduler: 'processes' });
    expect(row.margin).toBeCloseTo(0.8 / 0.52 - 1, 6);
    expect(row.comparison!.verdict).toBe('slower');
    expect(row.verdict).toBe('beyond-noise');
    expect(row.reason).toMatch(/^faster than processes×2 beyond noise \(time ratio 1\.54, 95 % CI 1\.\d\d–1\.\d\d; \d+ samples each\); shares data in memory; processes moved 1\.9 GB through the main process vs 20 kB; ×1\.92 on 2 workers \(96 % efficiency\)$/);
  });

  it('says when the samples are too few to test the margin', () => {
    const few = (c: Cell) => ({ ...c, samples: c.samples.slice(0, 2) });
    const row = only([few(cell('sync', 1, 1.0)), few(cell('threads', 2, 0.9))]);
    expect(row.pick).toMatchObject({ scheduler: 'threads' });
    expect(row.comparison!.verdict).toBe('untested');
    expect(row.reason).toMatch(/^only 2 samples: margin not tested for noise/);
  });

  it('never rests on a failed or unverified cell', () => {
    const row = only([
      cell('sync', 1, 1.0),
      cell('threads', 2, 0.1, { status: 'unverified', verified: false }),
      cell('processes', 2, 0.1, { status: 'failed', verified: false, samples: [], stats: null, error: { name: 'TaskError', message: 'boom' } }),
    ]);
    expect(row.pick).toMatchObject({ scheduler: 'sync' });
    expect(row.runnerUp).toBeNull();
    expect(row.excluded.map((c) => c.scheduler)).toEqual(['threads', 'processes']);
  });

  it('gives no verdict when every cell failed', () => {
    const row = only([cell('sync', 1, 1.0, { status: 'failed', verified: false, samples: [], stats: null })]);
    expect(row.pick).toBeNull();
    expect(row.reason).toBe('no verdict: all 1 cells failed or were unverified');
  });

  it('splits a workload into one row per size only where the winner changes', () => {
    const sized = (size: string, cells: Cell[]) => cells.map((c) => ({ ...c, size }));
    const rows = recommend(
      groupCells([
        ...sized('large', [cell('sync', 1, 10), cell('threads', 2, 5.2)]),
        ...sized('quick', [cell('sync', 1, 0.001), cell('threads', 2, 0.003)]),
        ...sized('small', [cell('sync', 1, 1), cell('threads', 2, 0.55)]),
      ]),
    );
    expect(rows.map((r) => [r.sizes.join(','), r.size, `${r.pick!.scheduler}×${r.pick!.workers}`])).toEqual([
      ['quick', 'quick', 'sync×1'],
      ['small,large', 'large', 'threads×2'],
    ]);
  });
});

describe('disturbed sync measurements', () => {
  const run = (cells: Cell[]): ResultsFile => ({
    schemaVersion: 1,
    runId: 'r',
    startedAt: '2026-11-27T14:00:00.000Z',
    finishedAt: '2026-11-27T14:03:00.000Z',
    status: 'complete',
    preset: 'quick',
    plannedCells: cells.length,
    environment: {
      cpuModel: 'cpu',
      cores: 2,
      availableParallelism: 2,
      totalMemoryBytes: 1e9,
      os: { platform: 'linux', release: '6', arch: 'x64' },
      node: 'v20.20.2',
      v8: '11',
      packages: {},
      gitCommit: null,
      command: ['schedlab', 'bench'],
    },
    cells,
  });

  it('warns when sync got much less CPU than wall time (a busy machine)', () => {
    const model = buildReport(run([cell('sync', 1, 0.2, { cpuSeconds: 0.09 }), cell('threads', 2, 0.1, { cpuSeconds: 0.2 })]), 'r.json', null);
    expect(model.warnings).toEqual([
      expect.stringMatching(/^w\/quick on sync used 90 ms of CPU per 200 ms run on average \(45 % of a core\): .* speedups of w\/quick may be inflated/),
    ]);
  });

  it('warns when no multi-worker cell kept the cores busy (another load held them)', () => {
    const capped = buildReport(run([cell('sync', 1, 0.2, { cpuSeconds: 0.2 }), cell('threads', 2, 0.2, { cpuSeconds: 0.22 })]), 'r.json', null);
    expect(capped.warnings).toEqual([expect.stringMatching(/^no cell with 2\+ workers kept more than 1\.1\d of 2 cores busy \(the busiest: w\/quick on threads×2\)/)]);
    const busy = buildReport(run([cell('sync', 1, 0.2, { cpuSeconds: 0.2 }), cell('threads', 2, 0.11, { cpuSeconds: 0.2 })]), 'r.json', null);
    expect(busy.warnings).toEqual([]);
  });

  it('warns when one worker beats sync by far, and not when it is close', () => {
    const fast = buildReport(run([cell('sync', 1, 0.2, { cpuSeconds: 0.2 }), cell('threads', 1, 0.1)]), 'r.json', null);
    expect(fast.warnings).toEqual([expect.stringMatching(/^w\/quick on threads×1 ran ×2 faster than sync with one worker/)]);
    const close = buildReport(run([cell('sync', 1, 0.2, { cpuSeconds: 0.2 }), cell('threads', 1, 0.19)]), 'r.json', null);
    expect(close.warnings).toEqual([]);
  });
});
