// The cost model on known costs: the simulator's makespan on small graphs, computed by hand,
// and the fit recovering the costs that generated its measurements.
import { describe, expect, it } from 'vitest';
import { dataPathOf, fitPool, metgFromPoints, type CalibrationRun } from '../dist/model/fit.js';
import { SMALL_VALUE_BYTES, efficiencyAt, emptyTally, simulate, type SimulationCosts } from '../dist/model/simulate.js';
import { breakdown, observedPool, pickOf, predictPool } from '../dist/model/predict.js';
import type { PoolCosts } from '../dist/model/calibration.js';
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

/** A pool's fitted costs with every interval a point: those of `c`. */
function poolOf(c: SimulationCosts): PoolCosts {
  const point = (value: number) => ({ value, low: value, high: value });
  return {
    scheduler: 'threads',
    workers: c.workers,
    dataPath: c.dataPath,
    startupSeconds: point(0),
    getSeconds: point(c.getSeconds),
    taskSeconds: point(c.taskSeconds),
    byteSeconds: Object.fromEntries(KINDS.map((k) => [k, Object.fromEntries(Object.entries(c.byteSeconds[k]).map(([d, v]) => [d, point(v)]))])) as PoolCosts['byteSeconds'],
    efficiency: point(c.efficiency),
    relativeError: 0,
    observations: 0,
    metg: { seconds: null, bound: 'none', points: [] },
    ...(c.seals ? { seals: true } : {}),
  };
}

describe('simulator: hand-computed makespans', () => {
  it('four 1 s tasks on two workers: get 0.1 s, 0.01 s per task handed out', () => {
    // main: 0.1 get; t0 out at 0.11 (ends 1.11), t1 at 0.12 (ends 1.12); t2 out after t0 ends: 1.12 → 2.12; t3: 1.13 → 2.13.
    expect(simulate(independent(4, 1), costs({ workers: 2, getSeconds: 0.1, taskSeconds: 0.01 }))).toBeCloseTo(2.13, 9);
  });

  it('a chain through the main process pays the value back and out again', () => {
    // a (1 s, 10 kB) → b (1 s): back 1 ms, out again 2 ms: 1 + 0.001 + 0.002 + 1.
    const g: ProfiledGraph = { seconds: [1, 1], bytes: [1e4, 0], kinds: [0, 0], literal: [0, 0], deps: [[], [0]], outputs: [1] };
    expect(simulate(g, costs({ bytes: { fromWorkers: 1e-7, betweenWorkers: 2e-7 } }))).toBeCloseTo(2.003, 9);
    // The literal-input cost (toWorkers) is not the resend's.
    expect(simulate(g, costs({ bytes: { fromWorkers: 1e-7, toWorkers: 2e-7 } }))).toBeCloseTo(2.001, 9);
  });

  it('a pool that seals (threads) hands a one-consumer result on unread: nothing for its bytes; two readers or a requested value pay as before', () => {
    const c = costs({ bytes: { fromWorkers: 1e-7, betweenWorkers: 2e-7 }, seals: true });
    // a (1 s, 10 kB) → b (1 s): sealed, 2 s.
    const chain: ProfiledGraph = { seconds: [1, 1], bytes: [1e4, 0], kinds: [0, 0], literal: [0, 0], deps: [[], [0]], outputs: [1] };
    expect(simulate(chain, c)).toBeCloseTo(2, 9);
    // a also requested: back 1 ms and out again 2 ms, as without sealing.
    expect(simulate({ ...chain, outputs: [0, 1] }, c)).toBeCloseTo(2.003, 9);
    // a read by b and c (one worker): back once (1 ms), out to each (2 ms each): 1 + 0.001 + 0.002 + 1 + 0.002 + 1.
    const two: ProfiledGraph = { seconds: [1, 1, 1], bytes: [1e4, 0, 0], kinds: [0, 0, 0], literal: [0, 0, 0], deps: [[], [0], [0]], outputs: [1, 2] };
    expect(simulate(two, c)).toBeCloseTo(3.005, 9);
    // The breakdown agrees: nothing for the sealed value's bytes.
    const pool = poolOf(c);
    expect(breakdown(chain, pool).byteSeconds).toBe(0);
    expect(breakdown(chain, { ...pool, seals: false }).byteSeconds).toBeCloseTo(0.003, 12);
  });

  it('peer-to-peer: a value read on another worker pays the between-workers cost; requested values come back at the end', () => {
    // a0, a1 (1 s each, 10 kB) on workers 0 and 1; b reads both: it runs where one of them is and fetches the other (5 ms), then 1 s; its 2 kB come back (10 ms).
    const g: ProfiledGraph = { seconds: [1, 1, 1], bytes: [1e4, 1e4, 2000], kinds: [0, 0, 0], literal: [0, 0, 0], deps: [[], [], [0, 1]], outputs: [2] };
    const c = costs({ workers: 2, dataPath: 'peer-to-peer', bytes: { betweenWorkers: 5e-7, fromWorkers: 5e-6 } });
    expect(simulate(g, c)).toBeCloseTo(1 + 0.005 + 1 + 0.01, 9);
  });

  it('inline (sync): the get, then every task and its cost in turn; efficiency slows compute only', () => {
    expect(simulate(independent(3, 0.5), costs({ dataPath: 'inline', getSeconds: 0.2, taskSeconds: 0.1, efficiency: 0.5 }))).toBeCloseTo(0.2 + 3 * (0.1 + 1), 9);
  });

  it('peer-to-peer: a literal goes up from main once; a worker that fetched a value keeps it', () => {
    // literal L (10 kB, 0.1 µs/byte up) read by a, then b (1 worker): uploaded once (1 ms), then held.
    const g: ProfiledGraph = { seconds: [0, 1, 1], bytes: [1e4, 0, 0], kinds: [0, 0, 0], literal: [1, 0, 0], deps: [[], [0], [0]], outputs: [1, 2] };
    expect(simulate(g, costs({ dataPath: 'peer-to-peer', bytes: { toWorkers: 1e-7 } }))).toBeCloseTo(2.001, 9);
    // Via main it is sent with every task that reads it.
    expect(simulate(g, costs({ bytes: { toWorkers: 1e-7 } }))).toBeCloseTo(2.002, 9);
  });

  it('via a store: each result is written once by its worker and fetched by every reader and by the caller', () => {
    // a (1 s, 10 kB) read by b and c (1 s each, 0 bytes) on one worker; write 1 ms, each fetch 2 ms; b and c are requested (0 bytes).
    const g: ProfiledGraph = { seconds: [1, 1, 1], bytes: [1e4, 0, 0], kinds: [0, 0, 0], literal: [0, 0, 0], deps: [[], [0], [0]], outputs: [1, 2] };
    expect(simulate(g, costs({ dataPath: 'via-store', bytes: { fromWorkers: 1e-7, betweenWorkers: 2e-7 } }))).toBeCloseTo(1 + 0.001 + 2 * (0.002 + 1), 9);
  });

  it("via a store: the store serves one write or fetch at a time, in the order they are asked for", () => {
    const c = costs({ workers: 2, dataPath: 'via-store', bytes: { fromWorkers: 1e-7, betweenWorkers: 2e-7 } });
    // a, b (1 s, 10 kB each) end together on two workers; their writes queue: a's 1.000–1.001,
    // b's 1.001–1.002. c reads both: fetches 1.002–1.006, then 1 s.
    const join: ProfiledGraph = { seconds: [1, 1, 1], bytes: [1e4, 1e4, 0], kinds: [0, 0, 0], literal: [0, 0, 0], deps: [[], [], [0, 1]], outputs: [2] };
    expect(simulate(join, c)).toBeCloseTo(2.006, 9);
    // a (1 s, 10 kB), written 1.000–1.001, read by b and c on two workers: b fetches
    // 1.001–1.003, c waits for the store and fetches 1.003–1.005, then 1 s.
    const fan: ProfiledGraph = { seconds: [1, 1, 1], bytes: [1e4, 0, 0], kinds: [0, 0, 0], literal: [0, 0, 0], deps: [[], [0], [0]], outputs: [1, 2] };
    expect(simulate(fan, c)).toBeCloseTo(2.005, 9);
  });

  it('byte weights scale what a value costs to move, and the tally counts weighted bytes', () => {
    const g: ProfiledGraph = { seconds: [0, 1], bytes: [4000, 0], kinds: [2, 2], literal: [1, 0], deps: [[], [0]], outputs: [1], byteWeights: [0.25, 1] };
    const tally = emptyTally();
    expect(simulate(g, costs({ bytes: { toWorkers: 1e-6 } }), tally)).toBeCloseTo(1.001, 9);
    expect(tally.object.toWorkers).toBe(1000);
  });

  it("a long string's weight is scaled by the pool's stringWeight; other values are not", () => {
    // A 4,000-byte literal (weight 0.25) read by one 1 s task: 1 ms to send at weight 1.
    const literal = (strings?: number[]): ProfiledGraph => ({ seconds: [0, 1], bytes: [4000, 0], kinds: [2, 2], literal: [1, 0], deps: [[], [0]], outputs: [1], byteWeights: [0.25, 1], ...(strings ? { strings } : {}) });
    const c = costs({ bytes: { toWorkers: 1e-6 } });
    expect(simulate(literal([1, 0]), c)).toBeCloseTo(1.001, 9);
    const tally = emptyTally();
    expect(simulate(literal([1, 0]), { ...c, stringWeight: 8 }, tally)).toBeCloseTo(1.008, 9);
    expect(tally.object.toWorkers).toBe(4000 * 0.25 * 8);
    expect(simulate(literal([1, 0]), { ...c, stringWeight: 0 })).toBeCloseTo(1, 9);
    // Not a string (an object, or an older profile without the marks): the pool's weight does not apply.
    expect(simulate(literal([0, 0]), { ...c, stringWeight: 8 })).toBeCloseTo(1.001, 9);
    expect(simulate(literal(), { ...c, stringWeight: 8 })).toBeCloseTo(1.001, 9);
  });

  it('a value under SMALL_VALUE_BYTES costs nothing beyond the per-task cost (the calibration fits that on tasks returning numbers)', () => {
    const chain = (bytes: number): ProfiledGraph => ({ seconds: [1, 1], bytes: [bytes, 0], kinds: [2, 2], literal: [0, 0], deps: [[], [0]], outputs: [1] });
    const c = costs({ taskSeconds: 0.01, bytes: { fromWorkers: 1e-6, betweenWorkers: 1e-6 } });
    const tally = emptyTally();
    expect(simulate(chain(SMALL_VALUE_BYTES - 1), c, tally)).toBeCloseTo(2.02, 9);
    expect(tally.object.fromWorkers).toBe(0);
    expect(simulate(chain(SMALL_VALUE_BYTES), c)).toBeCloseTo(2.02 + 2 * SMALL_VALUE_BYTES * 1e-6, 9);
  });

  it('efficiency by task duration: interpolated on log(duration), the nearest end beyond the curve', () => {
    const curve = [
      { taskSeconds: 1e-4, efficiency: 0.5 },
      { taskSeconds: 1e-2, efficiency: 0.9 },
    ];
    const c = costs({ efficiency: 0.6, efficiencyCurve: curve });
    expect(efficiencyAt(c, 1e-3)).toBeCloseTo(0.7, 9); // halfway on the log axis
    expect(efficiencyAt(c, 0)).toBe(0.5);
    expect(efficiencyAt(c, 1)).toBe(0.9);
    expect(efficiencyAt(costs({ efficiency: 0.6 }), 1e-3)).toBe(0.6); // no curve: one figure
    // One worker: a 1 ms task at 0.7 and a 10 ms one at 0.9, one after the other.
    const g: ProfiledGraph = { seconds: [1e-3, 1e-2], bytes: [0, 0], kinds: [0, 0], literal: [0, 0], deps: [[], []], outputs: [0, 1] };
    expect(simulate(g, c)).toBeCloseTo(1e-3 / 0.7 + 1e-2 / 0.9, 9);
  });

  it('a literal input is sent from the main process', () => {
    const g: ProfiledGraph = { seconds: [0, 1], bytes: [4000, 0], kinds: [2, 0], literal: [1, 0], deps: [[], [0]], outputs: [1] };
    expect(simulate(g, costs({ bytes: { toWorkers: 1e-6 } }))).toBeCloseTo(1.004, 9);
  });

  it('cores: bytes main moves while every worker computes take a core from them, processor-sharing style', () => {
    // Two 1 s tasks, each reading its own 1 MB literal (0.1 s each to send): t0 out at 0.1 (ends
    // 1.1), t1 at 0.2 (ends 1.2). On 2 cores, 2 workers and main are 3 busy threads: compute is
    // stretched by 1 + (main's byte share / makespan) × (2 + 1 − 2) / 2, over two more replays:
    // 1 + 0.2 / 1.2 / 2 (makespan 1.28333), then 1 + 0.2 / 1.28333 / 2 (makespan 1.27792).
    const g: ProfiledGraph = { seconds: [0, 0, 1, 1], bytes: [1e6, 1e6, 8, 8], kinds: [0, 0, 0, 0], literal: [1, 1, 0, 0], deps: [[], [], [0], [1]], outputs: [2, 3] };
    const c = costs({ workers: 2, bytes: { toWorkers: 1e-7 } });
    expect(simulate(g, c)).toBeCloseTo(1.2, 9);
    const s1 = 1 + 0.2 / 1.2 / 2;
    const s2 = 1 + 0.2 / (0.2 + s1) / 2;
    expect(simulate(g, { ...c, cores: 2 })).toBeCloseTo(0.2 + s2, 9);
    expect(0.2 + s2).toBeCloseTo(1.27792, 5);
    // A core to spare (4 cores), or one worker on 2 cores: nothing is stretched.
    expect(simulate(g, { ...c, cores: 4 })).toBeCloseTo(1.2, 9);
    expect(simulate(g, { ...costs({ workers: 1, bytes: { toWorkers: 1e-7 } }), cores: 2 })).toBeCloseTo(2.2, 9);
    // What main pays per task is in the calibrated efficiency curve already: it stretches nothing.
    expect(simulate(independent(2, 1), { ...costs({ workers: 2, taskSeconds: 0.1 }), cores: 2 })).toBeCloseTo(1.2, 9);
  });
});

describe('fit: known costs are recovered', () => {
  const truth = { getSeconds: 0.002, taskSeconds: 40e-6, toWorkers: 3e-9, fromWorkers: 5e-9, efficiency: 0.8 };
  const pool = costs({ workers: 2, getSeconds: truth.getSeconds, taskSeconds: truth.taskSeconds, efficiency: truth.efficiency, bytes: { toWorkers: truth.toWorkers, fromWorkers: truth.fromWorkers } });

  function run(name: string, purpose: CalibrationRun['purpose'], graph: ProfiledGraph, moved: CalibrationRun['moved']): CalibrationRun {
    const t = simulate(graph, pool);
    return { name, purpose, graph, kind: graph.bytes.some((b) => b > 0) ? 'plain' : null, moved, samples: [t, t, t] };
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

  it('an inline pool (sync): its byte runs, which it does not charge, and its compute runs (their own profile) do not set its typical error', () => {
    const sync = costs({ dataPath: 'inline', getSeconds: truth.getSeconds, taskSeconds: truth.taskSeconds });
    const timed = (name: string, purpose: CalibrationRun['purpose'], graph: ProfiledGraph, factor = 1): CalibrationRun => {
      const t = simulate(graph, sync) * factor;
      return { name, purpose, graph, kind: graph.bytes.some((b) => b > 0) ? 'plain' : null, moved: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 }, samples: [t, t, t] };
    };
    const syncRuns = [
      timed('empty', 'overhead', independent(1, 0)),
      timed('tasks×100', 'overhead', independent(100, 0), 1.1),
      timed('tasks×400', 'overhead', independent(400, 0), 0.95),
      // Allocations timed against their profile: 3x, 0.3x, 4x … off, as sync's 2-16 MiB byte runs are.
      ...[3, 0.3, 4, 0.25, 2, 0.4].map((f, i) => timed(`back ${i} MB`, 'overhead', independent(4, 0.001, (i + 1) * 1e6), f)),
      timed('compute 10 ms', 'compute', independent(40, 0.01)),
      timed('compute 100 ms', 'compute', independent(8, 0.1)),
    ];
    const f = fitPool({ scheduler: 'sync', workers: 1, startupSeconds: 0, runs: syncRuns });
    expect(f.dataPath).toBe('inline');
    expect(f.relativeError).toBeLessThan(0.15); // the task runs' few per cent, not the byte runs' 70-300 %
    expect(f.relativeError).toBeGreaterThan(0); // nor the compute runs' 0
  });

  it("recovers a known stringWeight from a run of string literals, the other costs fitted first", () => {
    // Strings cost this pool 6× what their weight (0.05) says: the run is simulated at that truth.
    const text = (n: number, bytes: number): ProfiledGraph => {
      const g = literalsIn(n, bytes);
      return { ...g, kinds: g.kinds.map(() => 2), byteWeights: g.bytes.map(() => 0.05), strings: g.literal.map((l) => l) };
    };
    const objectPool = { ...pool, byteSeconds: { ...pool.byteSeconds, object: { toWorkers: truth.toWorkers, fromWorkers: truth.fromWorkers, betweenWorkers: 0 } } };
    const t = simulate(text(4, 4e6), { ...objectPool, stringWeight: 6 });
    const strings: CalibrationRun = { name: 'to text', purpose: 'strings', graph: text(4, 4e6), kind: 'object', moved: { toWorkers: 16e6, fromWorkers: 0, betweenWorkers: 0 }, samples: [t * 0.98, t, t * 1.02] };
    const objectRuns = runs.map((r) => (r.kind === 'plain' ? { ...r, graph: { ...r.graph, kinds: r.graph.kinds.map(() => 2) }, kind: 'object' as const } : r));
    const withStrings = fitPool({ scheduler: 'threads', workers: 2, startupSeconds: 0.05, runs: [...objectRuns, strings] });
    expect(withStrings.stringWeight!.value).toBeCloseTo(6, 1);
    expect(withStrings.stringWeight!.low).toBeLessThan(6);
    expect(withStrings.stringWeight!.high).toBeGreaterThan(6);
    // The string run does not move the fitted per-byte costs of objects.
    expect(withStrings.byteSeconds.object.toWorkers.value).toBeCloseTo(truth.toWorkers, 12);
    // No string run: no weight (predictions then take 1).
    expect(fitted.stringWeight).toBeUndefined();
  });

  it('reads the data path from the byte counters', () => {
    expect(fitted.dataPath).toBe('via-main');
  });

  it('inline: byte runs, which such a pool does not charge, leave the get and task costs alone', () => {
    const inline = costs({ dataPath: 'inline', getSeconds: 50e-6, taskSeconds: 1.5e-6 });
    const timed = (graph: ProfiledGraph, kind: CalibrationRun['kind'], offset = 0): CalibrationRun => {
      const t = simulate(graph, inline) + offset;
      return { name: 'run', purpose: 'overhead', kind, graph, moved: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 }, samples: [t, t, t] };
    };
    // 16 MiB allocations: the pool's run differs from the profile by milliseconds either way.
    const f = fitPool({
      scheduler: 'sync',
      workers: 1,
      startupSeconds: 0,
      runs: [timed(independent(1, 0), null), timed(independent(4000, 0), null), timed(independent(16000, 0), null), timed(independent(4, 5e-3, 16e6), 'plain', 2e-3), timed(independent(4, 5e-3, 16e6), 'plain', -2e-3), timed(independent(4, 1e-3, 2e6), 'plain', 1e-3)],
    });
    expect(f.dataPath).toBe('inline');
    expect(f.taskSeconds.value / 1.5e-6).toBeGreaterThan(0.95);
    expect(f.taskSeconds.value / 1.5e-6).toBeLessThan(1.05);
    expect(f.getSeconds.value / 50e-6).toBeGreaterThan(0.95);
    expect(f.getSeconds.value / 50e-6).toBeLessThan(1.05);
  });

  it('keeps what observing every task adds per task, and adds it only to predictions of observed gets', () => {
    expect(fitted.observedTaskSeconds).toBeUndefined();
    // Observed, the 400-task run takes 400 × 3 µs longer.
    const observed = runs.map((r) => (r.name === 'tasks×400' ? { ...r, observedSamples: r.samples.map((t) => t + 400 * 3e-6) } : r));
    const f = fitPool({ scheduler: 'threads', workers: 2, startupSeconds: 0.05, runs: observed });
    expect(f.observedTaskSeconds).toBeCloseTo(3e-6, 9);
    const g = independent(1000, 0);
    const plain = predictPool(g, f);
    const seen = predictPool(g, observedPool(f));
    expect(seen.seconds - plain.seconds).toBeCloseTo(1000 * 3e-6, 6);
    expect(observedPool(fitted)).toBe(fitted);
  });

  it("keeps the machine's cores, and its predictions stretch compute that main's bytes overlap", () => {
    expect(fitted.cores).toBeUndefined();
    const f = fitPool({ scheduler: 'threads', workers: 2, startupSeconds: 0.05, runs, cores: 2 });
    expect(f.cores).toBe(2);
    // Eight 0.1 s tasks, each reading a 1 MB literal main sends: slower on a machine whose 2 cores the 2 workers fill.
    const g: ProfiledGraph = {
      seconds: [...Array(8).fill(0), ...Array(8).fill(0.1)],
      bytes: [...Array(8).fill(1e6), ...Array(8).fill(8)],
      kinds: Array(16).fill(0),
      literal: [...Array(8).fill(1), ...Array(8).fill(0)],
      deps: [...Array.from({ length: 8 }, () => []), ...Array.from({ length: 8 }, (_, i) => [i])],
      outputs: Array.from({ length: 8 }, (_, i) => 8 + i),
    };
    expect(predictPool(g, f).seconds).toBeGreaterThan(predictPool(g, fitted).seconds);
  });

  it('keeps the mean outside load of the runs that measured it, and none when no run did', () => {
    expect(fitted.outsideLoad).toBeUndefined();
    const loaded = runs.map((r, i) => ({ ...r, outsideShare: i % 2 ? 0.3 : 0.1 }));
    expect(fitPool({ scheduler: 'threads', workers: 2, startupSeconds: 0.05, runs: loaded }).outsideLoad).toBeCloseTo(runs.length % 2 ? (0.1 * (runs.length + 1) / 2 + 0.3 * (runs.length - 1) / 2) / runs.length : 0.2, 9);
  });

  it('fits the bytes the simulator charges, not the counters: values moved by transfer (uncounted) still get their cost', () => {
    const transferred = runs.map((r) => (r.name.startsWith('back') ? { ...r, moved: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 } } : r));
    const f = fitPool({ scheduler: 'threads', workers: 2, startupSeconds: 0.05, runs: transferred });
    expect(f.byteSeconds.plain.fromWorkers.value / truth.fromWorkers).toBeGreaterThan(0.95);
    expect(f.byteSeconds.plain.fromWorkers.value / truth.fromWorkers).toBeLessThan(1.05);
  });

  it('data paths: bytes between workers where none could pass worker to worker is a store; one worker keeping intermediates is peer-to-peer', () => {
    const none = { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 };
    const read = (moved: CalibrationRun['moved']): CalibrationRun => ({ name: 'to', purpose: 'overhead', kind: 'plain', graph: literalsIn(4, 1e6), samples: [1], moved });
    const chain: ProfiledGraph = { seconds: [0, 0], bytes: [1e6, 8], kinds: [0, 2], literal: [0, 0], deps: [[], [0]], outputs: [1] };
    const stage = (moved: CalibrationRun['moved']): CalibrationRun => ({ name: 'stages', purpose: 'overhead', kind: 'plain', graph: chain, samples: [1], moved });
    const back = (moved: CalibrationRun['moved']): CalibrationRun => ({ name: 'back', purpose: 'overhead', kind: 'plain', graph: independent(4, 0, 1e6), samples: [1], moved });
    // A store counts what its workers write, even what only the caller reads.
    expect(dataPathOf([back({ ...none, fromWorkers: 4e6, betweenWorkers: 4e6 })], 2)).toBe('via-store');
    // A literal stored on one worker and read on another (distributed places uploads) is peer to peer.
    expect(dataPathOf([read({ ...none, toWorkers: 4e6, betweenWorkers: 4e6 }), back({ ...none, fromWorkers: 4e6 })], 2)).toBe('peer-to-peer');
    expect(dataPathOf([read({ ...none, toWorkers: 4e6 }), stage({ ...none, fromWorkers: 8 })], 1)).toBe('peer-to-peer');
    expect(dataPathOf([read({ ...none, toWorkers: 4e6 }), stage({ ...none, fromWorkers: 1e6 })], 1)).toBe('via-main');
    expect(dataPathOf([read(none)], 1)).toBe('inline');
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

  it('keeps the efficiency of each compute-bound run by task duration (a round trip per batch costs short tasks more)', () => {
    // Each task pays 2 ms on its worker besides its compute: 1 ms tasks run at 1/3, 10 ms ones at 10/12.
    const compute = (n: number, d: number): CalibrationRun => {
      const graph = independent(n, d);
      const t = simulate(graph, costs({ workers: 2, getSeconds: truth.getSeconds, taskSeconds: truth.taskSeconds, efficiency: d / (d / truth.efficiency + 2e-3) }));
      return { name: `compute ${d}`, purpose: 'compute', kind: null, graph, moved: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 }, samples: [t, t, t] };
    };
    const f = fitPool({ scheduler: 'bullmq', workers: 2, startupSeconds: 0.05, runs: [...runs.filter((r) => r.purpose === 'overhead'), compute(200, 1e-3), compute(20, 1e-2), compute(4, 1e-1)] });
    const curve = f.efficiencyCurve!;
    expect(curve.map((p) => p.taskSeconds)).toEqual([...curve.map((p) => p.taskSeconds)].sort((a, b) => a - b));
    const at = (d: number) => efficiencyAt({ efficiency: f.efficiency.value, efficiencyCurve: curve }, d);
    expect(at(1e-3)).toBeCloseTo(1e-3 / (1e-3 / 0.8 + 2e-3), 1);
    expect(at(1e-1)).toBeCloseTo(1e-1 / (1e-1 / 0.8 + 2e-3), 1);
    expect(at(1e-1)).toBeGreaterThan(2 * at(1e-3));
    // The interval's ends move the curve with the median.
    const high = predictPool(independent(8, 0.05), { ...f, efficiency: { ...f.efficiency, low: f.efficiency.value * 0.5 } });
    expect(high.high).toBeGreaterThan(high.seconds * 1.2);
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

describe('intervals: each fitted figure at its ends, combined in quadrature with the simulator error', () => {
  const estimate = (value: number, low = value, high = value) => ({ value, low, high });
  const zero = estimate(0);
  const pool: PoolCosts = {
    scheduler: 'threads',
    workers: 1,
    dataPath: 'via-main',
    startupSeconds: zero,
    getSeconds: estimate(0.1, 0.07, 0.13),
    taskSeconds: estimate(0.01, 0.01, 0.05),
    byteSeconds: Object.fromEntries(KINDS.map((k) => [k, { toWorkers: zero, fromWorkers: zero, betweenWorkers: zero }])) as PoolCosts['byteSeconds'],
    efficiency: estimate(1),
    relativeError: 0,
    observations: 10,
    metg: { seconds: null, bound: 'none', points: [] },
  };
  const g = independent(2, 1); // 2 × (1 s + task) + get

  it('one uncertain figure: the interval is the simulation at its ends', () => {
    const p = predictPool(g, { ...pool, taskSeconds: estimate(0.01) });
    expect(p.seconds).toBeCloseTo(2.12, 9);
    expect(p.low).toBeCloseTo(2.09, 9);
    expect(p.high).toBeCloseTo(2.15, 9);
  });

  it('two: deviations add in quadrature, not all at once; the simulator error widens both sides', () => {
    const p = predictPool(g, pool);
    // get ±0.03, task +0.08 (2 tasks × 0.04): above √(0.03² + 0.08²), below 0.03.
    expect(p.high - p.seconds).toBeCloseTo(Math.hypot(0.03, 0.08), 9);
    expect(p.seconds - p.low).toBeCloseTo(0.03, 9);
    const widened = predictPool(g, { ...pool, relativeError: 0.1 });
    expect(widened.seconds - widened.low).toBeCloseTo(Math.hypot(0.03, 0.212), 9);
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
