// The profiler behind `advise` and the calibration: what it records of each value, and the
// weight it gives a byte of a string or an object (from how long it takes to serialize,
// against the calibration's own object values).
import { describe, expect, it } from 'vitest';
import { opRef } from '../dist/schedulers/graph.js';
import { profileGraph, profileWarm } from '../dist/harness/calibrate/profile.js';
import type { Graph } from '../dist/schedulers/types.js';

const OPS = new URL('../dist/harness/calibrate/ops.js', import.meta.url).href;

describe('profile: byte weights', () => {
  const graph: Graph = {
    text: { value: 'x'.repeat(4 << 20) },
    rows: { op: opRef(OPS, 'produce'), args: ['object', 4 << 20, 0] },
    array: { op: opRef(OPS, 'produce'), args: ['plain', 4 << 20, 0] },
    small: { op: opRef(OPS, 'produce'), args: ['object', 1000, 0] },
    total: { op: opRef(OPS, 'consume'), args: [0, { $ref: 'text' }, { $ref: 'rows' }, { $ref: 'array' }, { $ref: 'small' }] },
  };

  it('weighs a long string far below rows of small objects; typed arrays and small values weigh 1', { timeout: 30_000 }, async () => {
    const run = await profileWarm(graph, ['total']);
    expect(run.values).toEqual([4]);
    // Nodes are in the engine's priority order, not the graph's: find each by what it holds.
    const g = run.graph;
    const text = g.literal.findIndex((l) => l === 1);
    const rows = g.bytes.findIndex((b, i) => g.kinds[i] === 2 && g.literal[i] === 0 && b >= 1 << 20);
    const array = g.bytes.findIndex((b, i) => g.kinds[i] === 0 && b >= 1 << 20);
    const small = g.bytes.findIndex((b, i) => g.kinds[i] === 2 && g.literal[i] === 0 && b > 0 && b < 16 * 1024 && g.deps[i]!.length === 0);
    expect([text, rows, array, small].every((i) => i >= 0)).toBe(true);
    const w = g.byteWeights!;
    expect(w[text]!).toBeLessThan(w[rows]! / 3);
    expect(w[rows]!).toBeGreaterThan(0.3);
    expect(w[rows]!).toBeLessThan(3);
    expect(w[array]).toBe(1);
    expect(w[small]).toBe(1);
    // Only the long string is marked a string (its pool's stringWeight scales it).
    expect(g.strings!.map((s, i) => (s ? i : -1)).filter((i) => i >= 0)).toEqual([text]);
  });

  it('profileGraph records every node: durations, sizes, kinds, inputs and the requested outputs', { timeout: 30_000 }, async () => {
    const run = await profileGraph(graph, ['total']);
    const g = run.graph;
    expect(g.seconds).toHaveLength(5);
    expect(g.outputs).toHaveLength(1);
    expect(g.deps[g.outputs[0]!]).toHaveLength(4);
    expect(g.seconds.every((s) => s >= 0)).toBe(true);
  });
});
