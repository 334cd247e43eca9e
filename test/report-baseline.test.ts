// Baseline comparison: per-cell change in median with a bootstrap interval, the verdicts,
// environment differences, and baselines that cannot be compared.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSamples } from '../dist/report/compare.js';
import { renderReport } from '../dist/report/index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/results/${name}`, import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'schedlab-baseline-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('compareSamples', () => {
  const a = [1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97];

  it('calls a clear difference faster or slower, with an interval that excludes 1', () => {
    const b = a.map((x) => x * 0.7);
    const faster = compareSamples(a, b);
    expect(faster.verdict).toBe('faster');
    expect(faster.ratio).toBeCloseTo(0.7, 5);
    expect(faster.ci![1]).toBeLessThan(1);
    expect(compareSamples(b, a).verdict).toBe('slower');
  });

  it('calls overlapping samples within noise', () => {
    const b = [1.01, 0.99, 1.0, 1.02, 0.98, 1.04, 0.96];
    const c = compareSamples(a, b);
    expect(c.verdict).toBe('noise');
    expect(c.ci![0]).toBeLessThan(1);
    expect(c.ci![1]).toBeGreaterThan(1);
  });

  it('does not test with fewer than 3 samples a side', () => {
    expect(compareSamples([1, 1.1], [0.5, 0.6, 0.55])).toMatchObject({ verdict: 'untested', ci: null, n: [2, 3] });
  });

  it('is deterministic (seeded resampling)', () => {
    const b = a.map((x, i) => x * (i % 2 ? 0.97 : 1.01));
    expect(compareSamples(a, b)).toEqual(compareSamples(a, b));
  });
});

describe('report against a baseline', () => {
  let page: string;
  let warnings: string[];
  let markdown: string;

  beforeAll(async () => {
    const output = join(dir, 'vs-baseline.html');
    ({ warnings } = await renderReport({ input: fixture('complete.json'), baseline: fixture('baseline.json'), output, format: 'html' }));
    page = await readFile(output, 'utf8');
    markdown = (await renderReport({ input: fixture('complete.json'), baseline: fixture('baseline.json'), format: 'md' })).text!;
  });

  /** Baseline table rows: [cell, baseline median, this run, measured change, machine drift, change, CI, verdict]. */
  function rows(): string[][] {
    const body = /<table id="baseline-table">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(page)![1]!;
    return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) =>
      [...r[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!.replace(/<[^>]+>/g, '').trim()),
    );
  }

  it('marks the faster threads matmul improved and the slower processes tiny-tasks regressed, with intervals', () => {
    const byCell = new Map(rows().map((r) => [r[0], r]));
    expect(byCell.size).toBe(25);
    const matmul = byCell.get('matmul/quick on threads×2')!;
    expect(matmul[7]).toBe('improved');
    expect(matmul[5]).toMatch(/^-3\d(\.\d+)? %$/); // baseline threads matmul was 1.35× slower
    // Version-1 files have no reference probe: the change is the measured one, not corrected.
    expect(matmul[3]).toBe(matmul[5]);
    expect(matmul[4]).toBe('—');
    expect(matmul[6]).toMatch(/^-\d+(\.\d+)? % to -\d+(\.\d+)? %$/);
    const tiny = byCell.get('tiny-tasks/quick on processes×2')!;
    expect(tiny[7]).toBe('regressed');
    expect(tiny[5]).toMatch(/^\+4\d(\.\d+)? %$/);
    expect(page).toContain('not corrected for machine drift: the baseline has no reference probe (a results file of schema version 1)');
    // Cells drawn from the same distribution in both runs are mostly within noise.
    const noise = [...byCell.values()].filter((r) => r[7] === 'within noise').length;
    expect(noise).toBeGreaterThanOrEqual(20);
  });

  it('warns that the environments differ, naming what differs', () => {
    expect(warnings).toEqual([expect.stringMatching(/different environments \(Node: v20\.11\.0 → v20\.20\.2; V8: .*; piscina: 5\.2\.0 → 5\.3\.2\)/)]);
    expect(page).toContain('Environments differ: Node: v20.11.0 → v20.20.2');
  });

  it('summarises the notable changes in Markdown', () => {
    expect(markdown).toMatch(/- improved: matmul\/quick on threads×2 -\d+(\.\d+)? % \(CI -\d+(\.\d+)? % to -\d+(\.\d+)? %\)/);
    expect(markdown).toMatch(/- regressed: tiny-tasks\/quick on processes×2 \+\d+(\.\d+)? %/);
  });

  it('says so when the baseline has no cell in common, and still renders the run', async () => {
    const output = join(dir, 'no-common.html');
    const result = await renderReport({ input: fixture('complete.json'), baseline: fixture('no-common.json'), output, format: 'html' });
    expect(result.warnings).toEqual([expect.stringMatching(/baseline .*no-common\.json has no usable cell in common with .*complete\.json/)]);
    const html = await readFile(output, 'utf8');
    expect(html).toContain('No cell in common with the baseline');
    expect(html).toContain('id="recommendation-table"');
  });

  it('renders without the comparison when the baseline cannot be read', async () => {
    const { warnings, text } = await renderReport({ input: fixture('complete.json'), baseline: fixture('future-version.json'), format: 'md' });
    expect(warnings).toEqual([expect.stringMatching(/baseline not compared: .*future-version\.json: schema version 3 is newer/)]);
    expect(text).toContain('| matmul |');
    expect(text).not.toContain('Against baseline');
  });

  it('compares a partial run with its failed cells left out', async () => {
    const { text } = await renderReport({ input: fixture('partial.json'), baseline: fixture('complete.json'), format: 'md' });
    // 4 usable cells of partial.json exist in complete.json; the failed and unverified ones are not compared.
    expect(text).toMatch(/- \d of 4 common cells within noise or untested/);
    expect(text).toContain('- not compared (failed or unverified in one run, or parameters changed): matmul/quick on processes×2; matmul/quick on distributed×2');
  });

  it('does not compare cells whose parameters changed between the runs', async () => {
    const data = JSON.parse(await readFile(fixture('complete.json'), 'utf8'));
    for (const c of data.cells) if (c.workload === 'matmul' && c.size === 'quick') c.params = { n: 512, block: 64 };
    const input = join(dir, 'matmul-resized.json');
    await writeFile(input, JSON.stringify(data));
    const { text, warnings } = await renderReport({ input, baseline: fixture('baseline.json'), format: 'md' });
    expect(text).toContain('matmul/quick on threads×2 (parameters changed: n=256, block=64 → n=512, block=64)');
    expect(text).not.toMatch(/improved: matmul\/quick/);
    expect(text).toMatch(/- \d+ of 19 common cells within noise or untested/);
    expect(warnings.some((w) => /different environments/.test(w))).toBe(true);
  });
});
