/**
 * Graph model unit tests: builder, refs, dependency extraction, substitution, validation,
 * ordering, and the scale limits (100,000 tasks; 100,000-deep chains, no recursion).
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, GraphError, isRef, isTask, opRef, order, parseOp, substituteRefs, taskDependencies, validateGraph, compute, type Graph } from '../dist/schedulers/index.js';

const OPS = new URL('./fixtures/ops/basic.mjs', import.meta.url).href;
const inc = opRef(OPS, 'inc');
const add = opRef(OPS, 'add');

function catchGraphError(f: () => unknown): GraphError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(GraphError);
    return err as GraphError;
  }
  throw new Error('expected a GraphError');
}

describe('graph: building and walking', () => {
  it('opRef and parseOp round-trip, splitting at the last #', () => {
    const op = opRef('file:///a/b%23c.mjs', 'run');
    expect(op).toBe('file:///a/b%23c.mjs#run');
    expect(parseOp(op)).toEqual({ module: 'file:///a/b%23c.mjs', exportName: 'run' });
    expect(parseOp('pkg#x#y')).toEqual({ module: 'pkg#x', exportName: 'y' });
    expect(() => parseOp('no-hash')).toThrow(/<module>#<export>/);
    expect(() => opRef(OPS, '')).toThrow(TypeError);
  });

  it('GraphBuilder builds plain data and refuses duplicate keys', () => {
    const b = new GraphBuilder();
    const x = b.value('x', 1);
    const y = b.task('y', inc, [x]);
    expect(y).toEqual({ $ref: 'y' });
    expect(b.graph).toEqual({ x: { value: 1 }, y: { op: inc, args: [{ $ref: 'x' }] } });
    expect(JSON.parse(JSON.stringify(b.graph))).toEqual(b.graph);
    expect(() => b.value('x', 2)).toThrow(/already in the graph/);
    expect(() => b.task('z', 'bad-op', [])).toThrow(/<module>#<export>/);
  });

  it('isRef and isTask recognise only well-formed shapes', () => {
    expect(isRef({ $ref: 'a' })).toBe(true);
    expect(isRef({ $ref: 1 })).toBe(false);
    expect(isRef(new (class { $ref = 'a'; })())).toBe(false);
    expect(isTask({ op: 'm#f', args: [] })).toBe(true);
    expect(isTask({ op: 'm#f' })).toBe(false);
    expect(isTask({ value: 1 })).toBe(false);
  });

  it('taskDependencies finds unique refs anywhere in nested arrays and plain objects, not in typed arrays or class instances', () => {
    class Box {
      inner = { $ref: 'hidden' };
    }
    const node = { op: inc, args: [{ $ref: 'a' }, [1, { $ref: 'b' }, [{ k: { $ref: 'c' } }]], { $ref: 'a' }, new Float64Array(3), new Box(), new Map([['m', { $ref: 'm' }]])] };
    expect(taskDependencies(node)).toEqual(['a', 'b', 'c']);
    expect(taskDependencies({ value: { $ref: 'a' } })).toEqual([]);
    const wide = { op: sumOp(), args: Array.from({ length: 10_000 }, (_, i) => ({ $ref: `k${i % 5000}` })) };
    expect(taskDependencies(wide)).toHaveLength(5000);
  });

  it('substituteRefs copies containers, replaces refs, passes other values through', () => {
    const arr = new Float64Array([1, 2]);
    const args = [{ $ref: 'a' }, { list: [{ $ref: 'b' }, 3], keep: arr }, 'text', null];
    const out = substituteRefs(args, (k) => `<${k}>`);
    expect(out).toEqual(['<a>', { list: ['<b>', 3], keep: arr }, 'text', null]);
    expect((out[1] as { keep: Float64Array }).keep).toBe(arr);
    expect(args[0]).toEqual({ $ref: 'a' }); // not mutated
    expect(Object.keys(out[1] as object)).toEqual(['list', 'keep']);
  });

  it('substituteRefs handles 100,000-deep nesting without recursion', () => {
    let deep: unknown = { $ref: 'x' };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    let out = substituteRefs([deep], () => 7)[0];
    for (let i = 0; i < 100_000; i++) out = (out as unknown[])[0];
    expect(out).toBe(7);
  });
});

function sumOp(): string {
  return opRef(OPS, 'sum');
}

describe('graph: validation', () => {
  it('names the keys of a cycle, including a self-reference', () => {
    const self = catchGraphError(() => validateGraph({ a: { op: inc, args: [{ $ref: 'a' }] } }, ['a']));
    expect(self.code).toBe('CYCLE');
    expect(self.keys).toEqual(['a']);
    const g: Graph = { ok: { value: 1 }, p: { op: inc, args: [{ $ref: 'q' }] }, q: { op: inc, args: [{ $ref: 'p' }] } };
    const err = catchGraphError(() => validateGraph(g, ['ok']));
    expect(err.code).toBe('CYCLE'); // the whole graph is validated, not only what the keys need
    expect([...err.keys].sort()).toEqual(['p', 'q']);
  });

  it('MISSING_KEY names the referring and the missing key', () => {
    const err = catchGraphError(() => validateGraph({ t: { op: inc, args: [{ nested: [{ $ref: 'gone' }] }] } }, ['t']));
    expect(err.code).toBe('MISSING_KEY');
    expect(err.keys).toEqual(['t', 'gone']);
  });

  it('BAD_NODE for non-objects, arrays, missing fields, bad op strings, and a non-object graph', () => {
    for (const node of [null, 5, 'str', [], { args: [] }, { op: inc }, { op: inc, args: 'x' }, { op: '#f', args: [] }, { op: 'm#', args: [] }]) {
      const err = catchGraphError(() => validateGraph({ n: node } as unknown as Graph, ['n']));
      expect(err.code).toBe('BAD_NODE');
      expect(err.message).toContain('"n"');
    }
    expect(catchGraphError(() => validateGraph(null as unknown as Graph, [])).code).toBe('BAD_NODE');
  });

  it('validates a 100,000-task graph quickly (linear, not quadratic)', () => {
    const b = new GraphBuilder();
    const leaves = Array.from({ length: 50_000 }, (_, i) => b.task(`l${i}`, inc, [i]));
    for (let i = 0; i < 50_000; i++) b.task(`p${i}`, add, [leaves[i]!, leaves[(i * 7919) % 50_000]!]);
    const t0 = performance.now();
    const index = validateGraph(b.graph, ['p0']);
    const ms = performance.now() - t0;
    expect(index.keys).toHaveLength(100_000);
    console.log(`validateGraph: 100,000 tasks in ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(5000); // generous: only a quadratic walk would get near this on a loaded machine
  });

  it('validates, orders and runs (sync) a 100,000-deep chain without overflowing the stack', async () => {
    const b = new GraphBuilder();
    let prev = b.value('c0', 0);
    for (let i = 1; i <= 100_000; i++) prev = b.task(`c${i}`, inc, [prev]);
    validateGraph(b.graph, ['c100000']);
    const prio = order(b.graph, ['c100000']);
    expect(prio.get('c0')).toBe(0);
    expect(prio.get('c100000')).toBe(100_000);
    expect(await compute(b.graph, ['c100000'], { scheduler: 'sync' })).toEqual([100_000]);
  });
});

describe('graph: order', () => {
  it('every key comes after its dependencies, and unneeded keys are absent', () => {
    const b = new GraphBuilder();
    const a = b.task('a', inc, [1]);
    const c = b.task('c', inc, [a]);
    b.task('d', add, [a, c]);
    b.task('unrelated', inc, [5]);
    const p = order(b.graph, ['d']);
    expect([...p.keys()]).toEqual(['a', 'c', 'd']);
  });

  it('is depth-first: finishes one branch of a reduction before starting the next (few values held at once)', () => {
    // Two independent chains feeding one sum: depth-first runs one chain fully, then the other.
    const b = new GraphBuilder();
    let x = b.task('x0', inc, [0]);
    let y = b.task('y0', inc, [0]);
    for (let i = 1; i < 5; i++) {
      x = b.task(`x${i}`, inc, [x]);
      y = b.task(`y${i}`, inc, [y]);
    }
    b.task('sum', add, [x, y]);
    const keys = [...order(b.graph, ['sum']).keys()];
    expect(keys).toEqual(['x0', 'x1', 'x2', 'x3', 'x4', 'y0', 'y1', 'y2', 'y3', 'y4', 'sum']);
  });

  it('starts the tallest input branch first, so short branches are computed just before they are consumed', () => {
    const b = new GraphBuilder();
    const short = b.task('short', inc, [0]);
    let tall = b.task('t0', inc, [0]);
    for (let i = 1; i < 4; i++) tall = b.task(`t${i}`, inc, [tall]);
    b.task('root', add, [short, tall]);
    expect([...order(b.graph, ['root']).keys()]).toEqual(['t0', 't1', 't2', 't3', 'short', 'root']);
  });

  it('orders a 100,000-task graph quickly', () => {
    const b = new GraphBuilder();
    let level = Array.from({ length: 50_000 }, (_, i) => b.task(`l${i}`, inc, [i]));
    let id = 0;
    while (level.length > 1) {
      const next = [];
      for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? b.task(`s${id++}`, add, [level[i]!, level[i + 1]!]) : level[i]!);
      level = next;
    }
    const t0 = performance.now();
    const p = order(b.graph, [level[0]!.$ref]);
    const ms = performance.now() - t0;
    expect(p.size).toBe(Object.keys(b.graph).length);
    console.log(`order: ${p.size} tasks in ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(5000); // generous: catches quadratic behaviour only
  });
});
