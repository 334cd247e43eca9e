/**
 * The reference probe: a fixed, small CPU and memory task timed with tinybench in the bench's
 * main process, at the start of a run, between the workloads' races, between rounds and at the
 * end. It never changes with schedlab's code, so two runs' probe times compare the machines'
 * speeds at those moments: a baseline comparison divides each cell's change by the probe's
 * (report/baseline.ts) to tell a machine that drifted from a cell that changed.
 *
 * One iteration: 200,000 steps of an integer hash that reads and writes a 4 MiB Float64Array at
 * hashed positions (cache and memory bound as well as ALU bound), about 0.5 ms on a 2020s core;
 * one point is about 80 iterations. Pools are idle while it runs (the runner takes one sample at a time).
 */
import { Bench } from 'tinybench';

/** Stored with the points: a probe of another name is not comparable. */
export const PROBE_NAME = 'probe-1: 200,000 hashed read-modify-writes over a 4 MiB Float64Array';
const STEPS = 200_000;
const WORDS = 512 * 1024;
/** Time budget of one probe point (tinybench `time`), ms, and its minimum of iterations. */
const PROBE_MS = 40;
const PROBE_ITERATIONS = 10;

let buffer: Float64Array | undefined;
let sink = 0;

function probeOnce(data: Float64Array): number {
  let h = 0x9e3779b9;
  let acc = 0;
  for (let i = 0; i < STEPS; i++) {
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) + i;
    h ^= h >>> 13;
    const at = (h >>> 0) % WORDS;
    acc += data[at]!;
    data[at] = acc * 0.5 + i;
  }
  return acc;
}

export interface ProbePoint {
  /** Median seconds of one iteration. */
  median: number;
  samples: number;
}

/** Time the probe once (about 50 ms with tinybench's warm-up). */
export async function measureProbe(): Promise<ProbePoint> {
  const data = (buffer ??= new Float64Array(WORDS).fill(1));
  const bench = new Bench({ time: PROBE_MS, iterations: PROBE_ITERATIONS, warmupTime: 5, warmupIterations: 2, throws: true });
  bench.add('reference probe', () => {
    sink = probeOnce(data) % 1; // keep the result alive so the loop is not optimised away
  });
  const [task] = await bench.run();
  const result = task!.result;
  if (result.state !== 'completed') throw new Error(`the reference probe ended in state "${result.state}"`);
  void sink;
  return { median: result.latency.p50 / 1000, samples: result.latency.samplesCount };
}
