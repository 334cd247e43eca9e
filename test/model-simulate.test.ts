// The cost model on known costs: the simulator's makespan on small graphs, computed by hand,
// and the fit recovering the costs that generated its measurements.
import { describe, expect, it } from 'vitest';
import { fitPool, metgFromPoints, type CalibrationRun } from '../dist/model/fit.js';
import { simulate, type SimulationCosts } from '../dist/model/simulate.js';
import { pickOf } from '../dist/model/predict.js';
import type { ProfiledGraph } from '../dist/model/profile.js';
import { summarize } from '../dist/model/profile.js';
import { independentProfile } from './model-helpers.js';

const KINDS = ['plain', 'shared', 'object'] as const;

function costs(over: Partial<SimulationCosts> & { bytes?: Partial<Record<'toWorkers' | 'fromWorkers' | 'betweenWorkers', number>> } = {}): SimulationCosts {
  const perByte = { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0, ...over.bytes };
  return {
    workers: 1,
    dataPath: 'via-main',
    getSeconds: 0,
    taskSeconds: 0,
    efficiency: 1,
    ...over,
    byteSeconds: Object.fromEntries(KINDS.map((k) => [k, { ...perByte }])) as SimulationCosts['byteSeconds'],
  };
}

const independent = (n: number, seconds: number, bytes = 0): ProfiledGraph => independentProfile(n, seconds, bytes);

describe('simulator: hand-computed makespans', () => {
  it('four 1 s tasks on two workers: get 0.1 s, 0.01 s per task handed out', () => {
    // main: 0.1 get; t0 out at 0.11 (ends 1.11), t1 at 0.12 (ends 1.12); t2 out after t0 ends: 1.12 → 2.12; t3: 1.13 → 2.13.
    expect(simulate(independent(4, 1), costs({ workers: 2, getSeconds: 0.1, taskSeconds: 0.01 }))).toBeCloseTo(2.13, 9);
  });

  it('a chain through the main process pays the value back and out again', () => {
    // a (1 s, 1000 bytes) → b (1 s): back 1 ms, out again 2 ms: 1 + 0.001 + 0.002 + 1.
    const g: ProfiledGraph = { seconds: [1, 1], bytes: [1000, 0], kinds: [0, 0], literal: [0, 0], deps: [[], [0]], outputs: [1] };
    expect(simulate(g, costs({ bytes: { fromWorkers: 1e-6, betweenWorkers: 2e-6 } }))).toBeCloseTo(2.003, 9);
    // The literal-input cost (toWorkers) is not the resend's.
    expect(simulate(g, costs({ bytes: { fromWorkers: 1e-6, toWorkers: 2e-6 } }))).toBeCloseTo(2.001, 9);
  });

  it('peer-to-peer: a value read on another worker pays the between-workers cost; requested values come back at the end', () => {
    // a0, a1 (1 s each, 1000 bytes) on workers 0 and 1; b reads both: it runs where one of them is and fetches the other (5 ms), then 1 s; its 10 bytes come back (10 ms).
    const g: ProfiledGraph = { seconds: [1, 1, 1], bytes: [1000, 1000, 10], kinds: [0, 0, 0], literal: [0, 0, 0], deps: [[], [], [0, 1]], outputs: [2] };
    const c = costs({ workers: 2, dataPath: 'peer-to-peer', bytes: { betweenWorkers: 5e-6, fromWorkers: 1e-3 } });
    expect(simulate(g, c)).toBeCloseTo(1 + 0.005 + 1 + 0.01, 9);
  });

  it('inline (sync): the get, then every task and its cost in turn; efficiency slows compute only', () => {
    expect(simulate(independent(3, 0.5), costs({ dataPath: 'inline', getSeconds: 0.2, taskSeconds: 0.1, efficiency: 0.5 }))).toBeCloseTo(0.2 + 3 * (0.1 + 1), 9);
  });

  it('a literal input is sent from the main process', () => {
    const g: ProfiledGraph = { seconds: [0, 1], bytes: [4000, 0], kinds: [2, 0], literal: [1, 0], deps: [[], [0]], outputs: [1] };
    expect(simulate(g, costs({ bytes: { toWorkers: 1e-6 } }))).toBeCloseTo(1.004, 9);
  });
});

describe('fit: known costs are recovered', () => {
  const truth = { getSeconds: 0.002, taskSeconds: 40e-6, toWorkers: 3e-9, fromWorkers: 5e-9, efficiency: 0.8 };
  const pool = costs({ workers: 2, getSeconds: truth.getSeconds, taskSeconds: truth.taskSeconds, efficiency: truth.efficiency, bytes: { toWorkers: truth.toWorkers, fromWorkers: truth.fromWorkers } });

  function run(name: string, purpose: CalibrationRun['purpose'], graph: ProfiledGraph, moved: CalibrationRun['moved']): CalibrationRun {
    const t = simulate(graph, pool);
    return { name, purpose, graph, kind: 'plain', moved, samples: [t, t, t] };
  }
  function literalsIn(n: number, bytes: number): ProfiledGraph {
    const g: ProfiledGraph = { seconds: [], bytes: [], kinds: [], literal: [], deps: [], outputs: [] };
    for (let i = 0; i < n; i++) {
      g.seconds.push(0, 0);
      g.bytes.push(bytes, 0);
      g.kinds.push(0, 0);
      g.literal.push(1, 0);
      g.deps.push([], [2 * i]);
      g.outputs.push(2 * i + 1);
    }
    return g;
  }

  const runs: CalibrationRun[] = [
    run('empty', 'overhead', independent(1, 0), { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 }),
    run('tasks×100', 'overhead', independent(100, 0), { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 }),
    run('tasks×400', 'overhead', independent(400, 0), { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 }),
    run('back 1 MB', 'overhead', independent(4, 0, 1e6), { toWorkers: 0, fromWorkers: 4e6, betweenWorkers: 0 }),
    run('back 4 MB', 'overhead', independent(4, 0, 4e6), { toWorkers: 0, fromWorkers: 16e6, betweenWorkers: 0 }),
    run('to 1 MB', 'overhead', literalsIn(4, 1e6), { toWorkers: 4e6, fromWorkers: 0, betweenWorkers: 0 }),
    run('to 4 MB', 'overhead', literalsIn(4, 4e6), { toWorkers: 16e6, fromWorkers: 0, betweenWorkers: 0 }),
    run('compute 10 ms', 'compute', independent(40, 0.01), { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 }),
    run('compute 100 ms', 'compute', independent(8, 0.1), { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 }),
  ];
  const fitted = fitPool({ scheduler: 'threads', workers: 2, startupSeconds: 0.05, runs });

  it('reads the data path from the byte counters', () => {
    expect(fitted.dataPath).toBe('via-main');
  });

  it('recovers get, per-task and per-byte costs (each inside its interval)', () => {
    const close = (e: { value: number; low: number; high: number }, want: number) => {
      expect(e.value / want).toBeGreaterThan(0.95);
      expect(e.value / want).toBeLessThan(1.05);
      expect(e.low).toBeLessThanOrEqual(e.value);
      expect(e.high).toBeGreaterThanOrEqual(e.value);
    };
    close(fitted.getSeconds, truth.getSeconds);
    close(fitted.taskSeconds, truth.taskSeconds);
    close(fitted.byteSeconds.plain.toWorkers, truth.toWorkers);
    close(fitted.byteSeconds.plain.fromWorkers, truth.fromWorkers);
    expect(fitted.byteSeconds.object.toWorkers.value).toBe(0); // never measured: costs nothing
  });

  it('recovers parallel efficiency from the compute-bound runs, and replays its own runs closely', () => {
    expect(fitted.efficiency.value).toBeGreaterThan(0.76);
    expect(fitted.efficiency.value).toBeLessThan(0.84);
    expect(fitted.relativeError).toBeLessThan(0.05);
  });

  it('METG: Task Bench definition (granularity = wall × workers / tasks, 50 % efficiency), interpolated', () => {
    const points = [
      { taskSeconds: 1e-5, granularitySeconds: 1e-4, efficiency: 0.1 },
      { taskSeconds: 1e-4, granularitySeconds: 1e-3, efficiency: 0.3 },
      { taskSeconds: 1e-3, granularitySeconds: 1e-2, efficiency: 0.7 },
    ];
    const metg = metgFromPoints(points);
    expect(metg.bound).toBe('exact');
    expect(metg.seconds!).toBeCloseTo(10 ** -2.5, 6); // halfway between 0.3 and 0.7 on a log axis
    expect(metgFromPoints(points.slice(0, 2))).toEqual({ seconds: null, bound: 'none' });
    expect(metgFromPoints(points.slice(2)).bound).toBe('at-most');
  });
});

describe('pick: the simplest pool whose interval reaches the fastest prediction', () => {
  it('prefers sync when its interval reaches the fastest prediction, a parallel pool beyond it', () => {
    const sync = { scheduler: 'sync' as const, workers: 1, seconds: 1.0, low: 0.8, high: 1.2 };
    const threads = { scheduler: 'threads' as const, workers: 2, seconds: 0.85, low: 0.8, high: 0.95 };
    expect(pickOf([threads, sync])!.pick).toBe(sync);
    // Overlapping intervals are not enough: sync's low end (0.9) is above threads' prediction (0.85).
    expect(pickOf([threads, { ...sync, low: 0.9 }])!.pick).toBe(threads);
    expect(pickOf([{ ...threads, seconds: 0.5, low: 0.45, high: 0.55 }, sync])!.pick.scheduler).toBe('threads');
  });

  it('summarize: critical path and width of a fork-join', () => {
    const g: ProfiledGraph = { seconds: [1, 1, 1, 0.5], bytes: [0, 0, 0, 0], kinds: [2, 2, 2, 2], literal: [0, 0, 0, 0], deps: [[], [], [], [0, 1, 2]], outputs: [3] };
    const s = summarize(g);
    expect(s.criticalPathSeconds).toBeCloseTo(1.5, 9);
    expect(s.maxWidth).toBe(3);
    expect(s.totalTaskSeconds).toBeCloseTo(3.5, 9);
  });
});
