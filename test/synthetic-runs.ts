// Synthetic results files for the baseline and verdict tests: 7 workloads × 7 pools on a
// 2-core machine, samples drawn around fixed medians with seeded noise, the machine's speed
// (drift) applied alike to the cells and to the reference probe, as a shared machine does.
import { mulberry32 } from '../dist/common/random.js';
import { parseResults, RESULTS_SCHEMA_VERSION, type Cell, type ResultsFile } from '../dist/results/schema.js';
import { statsFromSamples } from '../dist/harness/measure/metrics.js';

export const WORKLOADS = ['matmul', 'json-files', 'json-memory', 'mandelbrot', 'shuffle', 'tiny-tasks', 'tree-reduce'];
export const POOLS = [
  { scheduler: 'sync', workers: 1 },
  { scheduler: 'threads', workers: 1 },
  { scheduler: 'threads', workers: 2 },
  { scheduler: 'processes', workers: 1 },
  { scheduler: 'processes', workers: 2 },
  { scheduler: 'distributed', workers: 1 },
  { scheduler: 'distributed', workers: 2 },
] as const;

export interface SyntheticOptions {
  seed: number;
  /** The machine's speed in this run: 1.2 = everything 20 % slower. */
  drift?: number;
  /** Each workload's race sees the drift vary by up to ± this much (the machine moves during a run too). */
  driftWobble?: number;
  /** A real change: this scheduler's cells are `factor` times slower. */
  slowdown?: { scheduler: string; factor: number };
  /** Relative spread of samples around the median (uniform-sum noise). */
  spread?: number;
}

/** A complete results file, valid against the schema. */
export function syntheticRun(o: SyntheticOptions): ResultsFile {
  const random = mulberry32(o.seed);
  const noise = (spread: number) => 1 + spread * (random() + random() + random() - 1.5);
  // Fixed per-cell medians and sample counts: the same in every run (seeded apart from `o.seed`).
  const layout = mulberry32(42);
  const cells: Cell[] = [];
  const points: Array<{ group: string | null; median: number; samples: number }> = [{ group: null, median: 5e-4 * (o.drift ?? 1) * noise(0.02), samples: 80 }];
  for (const workload of WORKLOADS) {
    const speed = (o.drift ?? 1) * (1 + (o.driftWobble ?? 0.03) * (2 * random() - 1));
    const group = `${workload}/quick`;
    for (let p = 0; p < 5; p++) points.push({ group, median: 5e-4 * speed * noise(0.02), samples: 80 });
    for (const pool of POOLS) {
      const base = 0.01 + layout() * 0.5;
      const n = layout() < 0.5 ? 3 : 8 + Math.floor(layout() * 13);
      const factor = o.slowdown && o.slowdown.scheduler === pool.scheduler ? o.slowdown.factor : 1;
      const samples = Array.from({ length: n }, () => base * speed * factor * noise(o.spread ?? 0.06));
      cells.push({
        workload,
        size: 'quick',
        params: { n: 1 },
        scheduler: pool.scheduler,
        workers: pool.workers,
        status: 'ok',
        verified: true,
        samples,
        stats: statsFromSamples(samples),
        speedup: null,
        efficiency: null,
        tasks: 10,
        perTaskOverheadUs: 10,
        bytes: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 },
        peakMemoryBytes: 50e6,
        cpuSeconds: base,
        startupSeconds: 0.1,
        taskStream: null,
        raceEnd: n === 3 ? 'slower' : 'within-noise',
        noise: { windowSeconds: n * base, outsideCpuSeconds: 0.02 * n * base, stealSeconds: 0 },
      });
    }
  }
  points.push({ group: null, median: 5e-4 * (o.drift ?? 1) * noise(0.02), samples: 80 });
  const file = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId: `synthetic-${o.seed}`,
    startedAt: '2026-12-02T00:00:00.000Z',
    finishedAt: '2026-12-02T00:03:00.000Z',
    status: 'complete',
    preset: 'quick',
    plannedCells: cells.length,
    environment: {
      cpuModel: 'synthetic', cores: 2, availableParallelism: 2, totalMemoryBytes: 8e9,
      os: { platform: 'linux', release: '6', arch: 'x64' }, node: 'v20', v8: '11', packages: {}, gitCommit: null, command: ['bench'],
    },
    cells,
    settings: { budgetSeconds: 8, minSamples: 3, maxSamples: 20, runTimeoutSeconds: 120 },
    reference: { name: 'probe-1', points },
  };
  return parseResults(file, `synthetic-${o.seed}.json`);
}
