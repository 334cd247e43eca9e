/**
 * The local engine's pieces on their own: plan building (cull, order, fuse), the pure state
 * transitions, batching, and that the optimised plan gives the same answers as the plain one.
 */
import { describe, expect, it } from 'vitest';
import { cull, fuseLinearChains, GraphBuilder, opRef, type Graph, type TransferStats } from '../dist/schedulers/index.js';
import { buildPlan, entryDeps, entryTaskKeys } from '../dist/schedulers/local/plan.js';
import { finishEntry, isDone, MinHeap, releaseData, startState, takeReady } from '../dist/schedulers/local/state.js';
import { runGraph, takeBatch } from '../dist/schedulers/local/engine.js';
import { syncExecutor } from '../dist/schedulers/sync/index.js';
import { estimateSize } from '../dist/schedulers/size-estimate.js';
import { sharedFloat64Array } from '../dist/schedulers/shared-arrays.js';

const OPS = new URL('./fixtures/ops/basic.mjs', import.meta.url).href;
const inc = opRef(OPS, 'inc');
const add = opRef(OPS, 'add');

/** a -> b -> c (a chain), d = add(c, lit), e = inc(lit); outputs d, e. */
function sample(): Graph {
  const b = new GraphBuilder();
  const lit = b.value('lit', 10);
  const a = b.task('a', inc, [1]);
  const bb = b.task('b', inc, [a]);
  const c = b.task('c', inc, [bb]);
  b.task('d', add, [c, lit]);
  b.task('e', inc, [lit]);
  b.task('unused', inc, [lit]);
  return b.graph;
}

const zeroStats = (): TransferStats => ({ tasks: 0, bytesToWorkers: 0, bytesFromWorkers: 0, bytesBetweenWorkers: 0 });

describe('optimisations: cull and fuse', () => {
  it('cull keeps exactly what the keys need', () => {
    expect(Object.keys(cull(sample(), ['d'])).sort()).toEqual(['a', 'b', 'c', 'd', 'lit']);
    expect(Object.keys(cull(sample(), ['e'])).sort()).toEqual(['e', 'lit']);
  });

  it('fuse joins linear chains but never across a requested key or a shared value', () => {
    const chains = fuseLinearChains(sample(), ['d', 'e']);
    expect(chains.map((c) => c.join('>')).sort()).toEqual(['a>b>c>d', 'e']);
    // Requesting b breaks the chain after b; a value with two dependents ends a chain.
    expect(fuseLinearChains(sample(), ['d', 'b']).map((c) => c.join('>')).sort()).toEqual(['a>b', 'c>d']);
    const g = new GraphBuilder();
    const s = g.task('s', inc, [0]);
    g.task('l', inc, [s]);
    g.task('r', inc, [s]);
    expect(fuseLinearChains(g.graph, ['l', 'r']).map((c) => c.join('>')).sort()).toEqual(['l', 'r', 's']);
  });

  it('the plan numbers units by priority and ships literals as dependencies', () => {
    const plan = buildPlan(sample(), ['d', 'e']);
    expect(plan.taskCount).toBe(5);
    const chainEntry = plan.keys.indexOf('d');
    expect(entryTaskKeys(plan, chainEntry)).toEqual(['a', 'b', 'c', 'd']);
    expect(entryDeps(plan, chainEntry).map((e) => plan.keys[e])).toEqual(['lit']);
    expect(plan.keys).not.toContain('unused');
    expect(plan.outputs.map((o) => plan.keys[o])).toEqual(['d', 'e']);
    for (let e = 0; e < plan.keys.length; e++) for (const d of entryDeps(plan, e)) expect(d).toBeLessThan(e);
    // Dependents are the same relation read the other way, each list ascending.
    const dependents = (d: number): number[] => Array.from(plan.dependentList.subarray(plan.dependentStart[d], plan.dependentStart[d + 1]));
    const lit = plan.keys.indexOf('lit');
    expect(dependents(lit).map((e) => plan.keys[e])).toEqual(['e', 'd'].sort((x, y) => plan.keys.indexOf(x) - plan.keys.indexOf(y)));
    for (let d = 0; d < plan.keys.length; d++) {
      const mine = dependents(d);
      expect(mine).toEqual([...mine].sort((x, y) => x - y));
      for (const e of mine) expect(entryDeps(plan, e)).toContain(d);
    }
    const plain = buildPlan(sample(), ['d', 'e'], { optimize: false });
    expect(plain.keys.every((_, e) => entryTaskKeys(plain, e).length === plain.isTask[e])).toBe(true);
    expect(plain.taskCount).toBe(5);
  });

  it('the optimised graph gives the same answers as the unoptimised one', async () => {
    const b = new GraphBuilder();
    let level = Array.from({ length: 64 }, (_, i) => b.task(`l${i}`, inc, [i]));
    for (let i = 0; i < 64; i++) level[i] = b.task(`m${i}`, inc, [level[i]!]); // fusable chains
    let id = 0;
    while (level.length > 1) {
      const next = [];
      for (let i = 0; i < level.length; i += 2) next.push(b.task(`s${id++}`, add, [level[i]!, level[i + 1]!]));
      level = next;
    }
    const keys = [level[0]!.$ref, 'm3', 's5'];
    const optimised = await runGraph(b.graph, keys, syncExecutor, zeroStats());
    const plain = await runGraph(b.graph, keys, syncExecutor, zeroStats(), { optimize: false });
    expect(optimised).toEqual(plain);
    expect(optimised[0]).toBe((64 * 65) / 2 + 64);
  });
});

describe('engine state transitions', () => {
  it('MinHeap pops in ascending order', () => {
    const h = new MinHeap();
    for (const x of [5, 1, 9, 3, 7, 2, 8]) h.push(x);
    const out = [];
    while (h.size) out.push(h.pop());
    expect(out).toEqual([1, 2, 3, 5, 7, 8, 9]);
    expect(h.pop()).toBe(-1);
  });

  it('startState holds literals and makes input-free tasks ready', () => {
    const plan = buildPlan(sample(), ['d', 'e'], { optimize: false });
    const s = startState(plan);
    const entry = (k: string): number => plan.keys.indexOf(k);
    expect(s.held[entry('lit')]).toBe(1);
    expect(s.values[entry('lit')]).toBe(10);
    expect([...s.ready.items].map((e) => plan.keys[e]).sort()).toEqual(['a', 'e']);
    expect(s.waiting[entry('d')]).toBe(1); // c (the literal does not count)
    expect(s.waitingData[entry('lit')]).toBe(2); // d and e
    expect(s.total).toBe(5);
    expect(isDone(s)).toBe(false);
  });

  it('takeReady takes the highest priority and marks it running', () => {
    const plan = buildPlan(sample(), ['d', 'e'], { optimize: false });
    const s = startState(plan);
    const first = takeReady(s);
    expect(first).toBe(Math.min(plan.keys.indexOf('a'), plan.keys.indexOf('e')));
    expect(s.running[first]).toBe(1);
  });

  it('finishEntry stores needed values, releases inputs nobody needs, readies dependents, pins outputs', () => {
    const plan = buildPlan(sample(), ['d', 'e'], { optimize: false });
    const s = startState(plan);
    const entry = (k: string): number => plan.keys.indexOf(k);
    const run = (k: string, v: unknown): void => {
      s.running[entry(k)] = 1;
      finishEntry(s, entry(k), v);
    };
    run('a', 2);
    expect(s.held[entry('a')]).toBe(1);
    expect(s.ready.items).toContain(entry('b'));
    run('b', 3);
    expect(s.held[entry('a')]).toBe(0); // released: b was its only consumer
    expect(s.values[entry('a')]).toBeUndefined();
    run('c', 4);
    run('e', 11);
    expect(s.held[entry('lit')]).toBe(1); // d still needs it
    run('d', 14);
    expect(s.held[entry('lit')]).toBe(0);
    expect(s.held[entry('c')]).toBe(0);
    expect(s.values[entry('d')]).toBe(14); // outputs are pinned
    expect(s.values[entry('e')]).toBe(11);
    expect(isDone(s)).toBe(true);
    expect(s.running.every((r) => r === 0)).toBe(true);
  });

  it('releaseData drops a value', () => {
    const s = startState(buildPlan(sample(), ['d']));
    const lit = s.plan.keys.indexOf('lit');
    releaseData(s, lit);
    expect(s.held[lit]).toBe(0);
    expect(s.values[lit]).toBeUndefined();
  });

  it('takeBatch adds units whose inputs all come from the batch, and keeps them out of ready', () => {
    // A budget of two ready units per batch.
    const upTo2 = { begin: () => ({ accept: (_entry: number, taken: number) => taken < 2 }) };
    const b = new GraphBuilder();
    const l = Array.from({ length: 4 }, (_, i) => b.task(`l${i}`, inc, [i]));
    const s01 = b.task('s01', add, [l[0]!, l[1]!]);
    const s23 = b.task('s23', add, [l[2]!, l[3]!]);
    b.task('root', add, [s01, s23]);
    const plan = buildPlan(b.graph, ['root'], { optimize: false });
    const s = startState(plan);
    const batch = takeBatch(s, upTo2);
    expect(batch.map((e) => plan.keys[e])).toEqual(['l0', 'l1', 's01']);
    expect(s.running.reduce((n, r) => n + r, 0)).toBe(3);
    expect(s.scratch.every((c) => c === 0)).toBe(true);
    for (const e of batch) finishEntry(s, e, 1);
    expect(s.ready.items.map((e) => plan.keys[e]).sort()).toEqual(['l2', 'l3']);
    const all = takeBatch(s, upTo2);
    expect(all.map((e) => plan.keys[e])).toEqual(['l2', 'l3', 's23', 'root']);
  });
});

describe('size estimate', () => {
  it('counts typed arrays exactly, shared memory as free when shared, and samples big arrays', () => {
    expect(estimateSize(new Float64Array(1000), true)).toBe(8000);
    expect(estimateSize(sharedFloat64Array(1000), true)).toBe(0);
    expect(estimateSize(sharedFloat64Array(1000), false)).toBe(8000);
    expect(estimateSize('abcd', false)).toBe(4);
    expect(estimateSize(3.5, false)).toBe(8);
    expect(estimateSize(Array.from({ length: 100_000 }, () => 1), false)).toBe(800_000);
    expect(estimateSize({ ab: 'xyz', c: [1, 2] }, false)).toBe(3 + 3 + 16);
  });
});
