// One verdict, machine-readable: `report --format json` on a synthetic complete run, the
// summary's pick equal to the report's for every row, and the noise figures on a fixture.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../dist/report/index.js';
import { cellNoise, runNoise, tukeyOutliers } from '../dist/report/noise.js';
import { renderSummary } from '../dist/harness/cli/summary.js';
import { poolLabel } from '../dist/common/cells.js';
import type { Cell } from '../dist/results/schema.js';
import { syntheticRun, WORKLOADS } from './synthetic-runs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'schedlab-verdicts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface VerdictDoc {
  format: string;
  version: number;
  test: { method: string; resamples: number; level: number; minSamples: number };
  rows: Array<{
    workload: string;
    size: string;
    pick: { scheduler: string; workers: number } | null;
    runnerUp: { scheduler: string; workers: number } | null;
    margin: number | null;
    verdict: 'beyond-noise' | 'within-noise' | 'no-verdict';
    interval: [number, number] | null;
    cells: Array<{ scheduler: string; workers: number; samples: number; raceEnd: string | null; outsideLoad: number | null; heavyLoad: boolean }>;
  }>;
  baseline: { driftCorrected: boolean; pickChanges: unknown[]; compared: number } | null;
}

describe('verdicts', () => {
  it('prints one tested verdict per (workload, size) as JSON, and the terminal summary names the same picks', async () => {
    const run = syntheticRun({ seed: 21 });
    const path = join(dir, 'run.json');
    await writeFile(path, JSON.stringify(run));
    const { text } = await renderReport({ input: path, format: 'json' });
    const doc = JSON.parse(text!) as VerdictDoc;
    expect(doc).toMatchObject({ format: 'schedlab-verdicts', version: 1, test: { method: 'percentile bootstrap of the ratio of medians', resamples: 2000, level: 0.95, minSamples: 3 } });
    expect(doc.rows.map((r) => r.workload)).toEqual(WORKLOADS);
    for (const row of doc.rows) {
      // A complete run never says "untested".
      expect(['beyond-noise', 'within-noise']).toContain(row.verdict);
      expect(row.pick).not.toBeNull();
      expect(row.runnerUp).not.toBeNull();
      expect(row.interval![0]).toBeLessThanOrEqual(row.interval![1]);
      expect(row.margin).toBeTypeOf('number');
      expect(row.cells).toHaveLength(7);
      for (const c of row.cells) expect(c.samples).toBeGreaterThanOrEqual(3);
      expect(row.cells[0]).toMatchObject({ scheduler: 'sync', workers: 1, heavyLoad: false });
    }
    // The summary after a bench reads the same verdict.
    const summary = renderSummary(run.cells);
    for (const row of doc.rows) {
      expect(summary).toMatch(new RegExp(`│ ${row.workload} +│ quick +│ ${poolLabel(row.pick!)} +│.*│ ${row.verdict} +│`));
    }
  });

  it('with --baseline, lists pick changes and the drift correction in the JSON', async () => {
    const [a, b] = [join(dir, 'a.json'), join(dir, 'b.json')];
    await writeFile(a, JSON.stringify(syntheticRun({ seed: 31 })));
    await writeFile(b, JSON.stringify(syntheticRun({ seed: 32, drift: 1.1 })));
    const doc = JSON.parse((await renderReport({ input: b, baseline: a, format: 'json' })).text!) as VerdictDoc;
    expect(doc.baseline).toMatchObject({ driftCorrected: true, compared: 49 });
    expect(Array.isArray(doc.baseline!.pickChanges)).toBe(true);
  });

  it('computes the noise figures: outside load share, steal, Tukey outliers, heavy-load marks and the run line', () => {
    const cell = (name: string, samples: number[], noise: Cell['noise']): Cell =>
      ({ workload: name, size: 'quick', scheduler: 'sync', workers: 1, samples, noise }) as unknown as Cell;
    // 2 cores × 1 s of windows = 2 core-seconds; others used 0.6 → 30 %: heavy.
    const busy = cell('busy', [1, 1.01, 0.99, 1.02, 0.98, 1.0, 1.6], { windowSeconds: 1, outsideCpuSeconds: 0.6, stealSeconds: 0.02 });
    const quiet = cell('quiet', [1, 1, 1, 1], { windowSeconds: 3, outsideCpuSeconds: 0.06, stealSeconds: 0 });
    expect(cellNoise(busy, 2)).toMatchObject({ outsideShare: 0.3, stealShare: 0.01, heavy: true, outliers: { count: 1, severe: 1 } });
    expect(cellNoise(quiet, 2)).toMatchObject({ outsideShare: 0.01, heavy: false, outliers: { count: 0 } });
    expect(tukeyOutliers([1, 2, 3])).toBeNull();
    const noisy = runNoise([busy, quiet], 2);
    expect(noisy.heavy).toEqual(['busy/quick on sync']);
    expect(noisy.outsideShare).toBeCloseTo(0.66 / 8, 6);
    expect(noisy.line).toMatch(/^noisy run: other processes used 8\.25 % of the 2 cores during the samples; 1 of 2 cells ran under heavy outside load .*stop other jobs/);
    expect(runNoise([quiet], 2).line).toBeNull();
    expect(runNoise([cell('old', [1, 1, 1], null)], 2)).toMatchObject({ outsideShare: null, line: null });
    // The hum of a shared machine (0.66 % outside, 2.1 % steal) is no warning; a tenth of the cores is.
    const hum = (stealSeconds: number, outsideCpuSeconds = 0.0132) => cell('hum', [1, 1, 1], { windowSeconds: 1, outsideCpuSeconds, stealSeconds });
    expect(runNoise([hum(0.042)], 2).line).toBeNull();
    expect(runNoise([hum(0.2)], 2).line).toMatch(/^noisy run: other processes used 0\.66 % of the 2 cores during the samples and VM steal took 10 %.*without CPU steal/);
    expect(runNoise([hum(0, 0.2)], 2).line).toMatch(/^noisy run: other processes used 10 %/);
    // One heavy cell in eleven is under a tenth of the run; one in ten is not.
    const many = (n: number) => [busy, ...Array.from({ length: n - 1 }, () => quiet)].map((c) => ({ ...c, noise: { ...c.noise!, windowSeconds: 1, outsideCpuSeconds: c === busy ? 0.6 : 0 } }));
    expect(runNoise(many(11), 2).line).toBeNull();
    expect(runNoise(many(10), 2).line).toMatch(/1 of 10 cells ran under heavy outside load/);
    // Samples the bench took again because others crowded them are said, in a quiet run too.
    const retook = cell('retook', [1, 1, 1], { windowSeconds: 3, outsideCpuSeconds: 0.06, stealSeconds: 0, retakenSamples: 2 });
    expect(runNoise([retook, quiet], 2).line).toBe('2 samples that other processes crowded were taken again');
    expect(runNoise([busy, retook], 2).line).toMatch(/^noisy run: .* \(2 samples that other processes crowded were taken again\)$/);
  });
});
