// The report's decision map and model check, drawn from a calibration file (hand-made, with
// known costs) placed next to a results fixture, as `schedlab calibrate` would place it.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALIBRATION_SCHEMA_VERSION, fingerprintOf, type CalibrationFile, type PoolCosts } from '../dist/model/calibration.js';
import { calibrationPath } from '../dist/model/calibration-file.js';
import { repeatability } from '../dist/report/decision.js';
import { renderReport } from '../dist/report/index.js';
import { independentProfile } from './model-helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/results/complete.json', import.meta.url));
let dir: string;
let page: string;

const e = (value: number) => ({ value, low: value * 0.9, high: value * 1.1 });
function pool(scheduler: PoolCosts['scheduler'], workers: number, over: { get: number; task: number; perByte: number; dataPath: PoolCosts['dataPath'] }): PoolCosts {
  const dir = { toWorkers: e(over.perByte), fromWorkers: e(over.perByte), betweenWorkers: e(0) };
  return {
    scheduler,
    workers,
    dataPath: over.dataPath,
    startupSeconds: e(0.05),
    getSeconds: e(over.get),
    taskSeconds: e(over.task),
    byteSeconds: { plain: dir, shared: { ...dir, toWorkers: e(0), fromWorkers: e(0) }, object: { ...dir, toWorkers: e(over.perByte * 4), fromWorkers: e(over.perByte * 4) } },
    efficiency: e(0.95),
    relativeError: 0.05,
    observations: 20,
    metg: { seconds: over.task * 2, bound: 'exact', points: [] },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'schedlab-report-decision-'));
  const input = join(dir, 'complete.json');
  await copyFile(fixture, input);
  const results = JSON.parse(await readFile(fixture, 'utf8'));
  const params = (workload: string, size: string) => results.cells.find((c: { workload: string; size: string }) => c.workload === workload && c.size === size).params;
  const calibration: CalibrationFile = {
    schemaVersion: CALIBRATION_SCHEMA_VERSION,
    kind: 'schedlab-calibration',
    createdAt: '2026-12-01T00:00:00.000Z',
    sweep: 'quick',
    durationSeconds: 100,
    fingerprint: fingerprintOf(results.environment),
    environment: results.environment,
    pools: [
      pool('sync', 1, { get: 1e-4, task: 5e-6, perByte: 0, dataPath: 'inline' }),
      pool('threads', 2, { get: 5e-4, task: 2e-5, perByte: 1e-9, dataPath: 'via-main' }),
      pool('processes', 2, { get: 1e-3, task: 6e-5, perByte: 3e-9, dataPath: 'via-main' }),
    ],
    skipped: [{ scheduler: 'distributed', workers: 1, reason: 'cannot start (test)' }],
    catalog: [
      { workload: 'matmul', size: 'quick', params: params('matmul', 'quick'), graph: independentProfile(64, 1.8e-3, 32_768, true) },
      { workload: 'tiny-tasks', size: 'quick', params: params('tiny-tasks', 'quick'), graph: independentProfile(1000, 2e-6, 8, true) },
    ],
  };
  await writeFile(calibrationPath(dir, calibration.fingerprint), JSON.stringify(calibration));
  const { outputPath, warnings } = await renderReport({ input, format: 'html' });
  expect(warnings).toEqual([]);
  page = await readFile(outputPath!, 'utf8');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function charts(): Array<{ id: string; kind: string; grid?: { columns: number; rows: number }; config: { data: { datasets: Array<{ label: string; data: Array<{ x: number; y: number }> }> } } }> {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(page)!;
  return JSON.parse(match[1]!).charts;
}

describe('decision map', () => {
  it('draws one heatmap per kind of value over the full grid, coloured by the predicted pick', () => {
    const maps = charts().filter((c) => c.kind === 'decision-map');
    expect(maps).toHaveLength(3);
    for (const map of maps) {
      const squares = map.config.data.datasets.filter((d) => !d.label.startsWith('catalog')).flatMap((d) => d.data);
      expect(squares).toHaveLength(map.grid!.columns * map.grid!.rows);
    }
    // Plain values: sync wins for 1 µs tasks, threads for 1 s tasks (no bytes).
    const plain = maps[0]!.config.data.datasets;
    const at = (x: number, y: number) => plain.find((d) => d.data.some((p) => p.x === x && p.y === y))?.label;
    expect(at(0, 0)).toBe('sync');
    expect(at(24, 0)).toBe('threads');
  });

  it('places the catalog workloads and says whether the measured pick matches', () => {
    expect(page).toMatch(/matmul\/quick \([^)]*\/task\): map threads×2, measured threads×2 — matches/);
    expect(page).toMatch(/tiny-tasks\/quick \([^)]*\): map sync, measured sync — matches/);
  });

  it('says where the pick changes, and shows the METG table', () => {
    expect(page).toMatch(/<summary>Where the pick changes \(plain\)<\/summary><ul><li>0 B( – [^:]+)?: sync from 1 µs, threads from /);
    expect(page).toMatch(/<table id="metg-table">[\s\S]*threads×2[\s\S]*40 µs/);
  });
});

describe('model check', () => {
  it('gives the share of rows and cells the model got right, with the misses listed', () => {
    expect(page).toMatch(/Predicted pick equals the measured one or is within noise of it: <strong>100 %<\/strong>[^]*?of 2 rows/);
    expect(page).toMatch(/Predicted time within ±25 % of the measured median: <strong>[\d.]+ %<\/strong>[^]*?of 6 cells/);
    expect(page).toMatch(/<table id="model-check-picks">/);
  });

  it("sets the time agreement beside the bench's own repeatability: each sample against the median of its cell's others", () => {
    // [1, 1, 2]: 1 against 1.5 (-33 %), 1 against 1.5, 2 against 1 (+100 %): none within ±25 %.
    // [1, 1.1, 1.2]: 1 against 1.15, 1.1 against 1.1, 1.2 against 1.05: all three within.
    // [5, 6] has too few samples to count.
    expect(repeatability([[1, 1, 2], [1, 1.1, 1.2], [5, 6]])).toBeCloseTo(0.5, 10);
    expect(repeatability([[5, 6]])).toBeNull();
    expect(page).toMatch(/the repeatability of the bench itself on this run: a single sample was within ±25 % of the median of the other samples of its cell [\d.]+ %/);
  });
});
