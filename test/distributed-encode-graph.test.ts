// The distributed client's graph encoding on its own (pure: no connection): what is sent,
// what is uploaded, what is answered locally, external references and message parts.
import { describe, expect, it } from 'vitest';
import { encodeGraph, splitParts, type EncodedNode } from '../dist/schedulers/distributed/client/encode-graph.js';
import { decodeValue } from '../dist/schedulers/distributed/codec.js';
import { GraphError, TaskError } from '../dist/schedulers/errors.js';

const OP = 'file:///ops.mjs#add';

describe('encodeGraph', () => {
  it('sends tasks and the literals they use, with inputs and priorities; a requested literal is answered locally', () => {
    const graph = { a: { value: 1 }, b: { value: 2 }, unused: { value: 3 }, c: { op: OP, args: [{ $ref: 'a' }, { $ref: 'b' }] } };
    const encoded = encodeGraph(graph, ['c', 'b'], 'c1', 4, new Map());
    expect(encoded.nodes.map((n) => n.key).sort()).toEqual(['a', 'b', 'c']);
    const c = encoded.nodes.find((n) => n.key === 'c')!;
    expect(c.op).toBe(OP);
    // Inputs by their position among the nodes sent.
    expect(c.inputs.map((n) => encoded.nodes[n]!.key)).toEqual(['a', 'b']);
    expect(decodeValue(c.payload)).toEqual([{ $ref: 'a' }, { $ref: 'b' }]);
    expect(encoded.wanted).toEqual(['c']);
    expect(encoded.local).toEqual(new Map([['b', 2]]));
    expect(encoded.uploads).toEqual([]);
    expect(encoded.bytesToWorkers).toBeGreaterThan(0);
  });

  it('sends nodes by priority, so every input comes before its task', () => {
    // Defined root first: sent leaves first all the same.
    const graph = { root: { op: OP, args: [{ $ref: 'l' }, { $ref: 'r' }] }, r: { op: OP, args: [{ $ref: 'x' }] }, l: { op: OP, args: [{ $ref: 'x' }] }, x: { value: 1 } };
    const encoded = encodeGraph(graph, ['root'], 'c1', 1, new Map());
    const priorities = encoded.nodes.map((n) => n.priority);
    expect(priorities).toEqual([...priorities].sort((a, b) => a - b));
    encoded.nodes.forEach((node, i) => node.inputs.forEach((n) => expect(n).toBeLessThan(i)));
    expect(encoded.nodes.at(-1)!.key).toBe('root');
  });

  it('sets large payloads aside as uploads under their data ids', () => {
    const big = new Float64Array(20_000); // 160 kB > the inline limit
    const graph = { big: { value: big }, t: { op: OP, args: [{ $ref: 'big' }, new Uint8Array(100_000)] } };
    const encoded = encodeGraph(graph, ['t'], 'c1', 2, new Map());
    expect(encoded.uploads.map((u) => u.node.key).sort()).toEqual(['big', 't']);
    for (const upload of encoded.uploads) expect(upload.node.payload.byteLength).toBe(0);
    // A plain typed array is uploaded from its own memory: its header, then a view of it.
    const bigUpload = encoded.uploads.find((u) => u.node.key === 'big')!;
    expect(bigUpload.byteLength).toBe(8 + big.byteLength);
    expect(bigUpload.pieces.map((p) => p.byteLength)).toEqual([8, big.byteLength]);
    expect(bigUpload.pieces[1]!.buffer).toBe(big.buffer);
    expect([...encoded.uploaded.keys()].sort()).toEqual(['c1/2/big', 'c1/2/t\0args']);
  });

  it('turns keys of live futures that the graph does not define into external references', () => {
    const graph = { t: { op: OP, args: [{ $ref: 'earlier' }, 1] } };
    const encoded = encodeGraph(graph, ['t', 'earlier'], 'c1', 3, new Map([['earlier', 'c1/1/earlier']]));
    expect(encoded.externals).toEqual([{ key: 'earlier', data_id: 'c1/1/earlier' }]);
    expect(encoded.nodes.map((n) => n.key)).toEqual(['t']);
    expect(encoded.nodes[0]!.inputs).toEqual([-1]); // the first external
    expect(encoded.wanted.sort()).toEqual(['earlier', 't']);
  });

  it('rejects a bad graph with GraphError and an unserializable value with TaskError naming its consumer', () => {
    expect(() => encodeGraph({ t: { op: OP, args: [{ $ref: 'nope' }] } }, ['t'], 'c1', 1, new Map())).toThrow(GraphError);
    let error: unknown;
    try {
      encodeGraph({ f: { value: () => 1 }, t: { op: OP, args: [{ $ref: 'f' }] } }, ['t'], 'c1', 1, new Map());
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).key).toBe('t');
    expect((error as Error).message).toContain('cannot be serialized');
  });
});

describe('splitParts', () => {
  const node = (key: string, bytes: number, op = OP): EncodedNode => ({ key, op, op_index: 0, payload: new Uint8Array(bytes), inputs: [], priority: 0, placed: null });
  it('cuts the nodes into parts under the limit, in order, and always returns a last part', () => {
    const parts = splitParts([node('a', 600), node('b', 600), node('c', 600)], 1000);
    expect(parts.map((p) => p.nodes.map((n) => n.key))).toEqual([['a'], ['b'], ['c']]);
    expect(splitParts([node('a', 10), node('b', 10)], 1000).map((p) => p.nodes.length)).toEqual([2]);
    expect(splitParts([], 1000)).toEqual([{ nodes: [], ops: [] }]);
  });
  it('names each op once per part, by number from 1 (0: a literal)', () => {
    const other = 'file:///ops.mjs#mul';
    const [part] = splitParts([node('a', 1), node('lit', 1, ''), node('b', 1, other), node('c', 1)], 1000);
    expect(part!.ops).toEqual([OP, other]);
    expect(part!.nodes.map((n) => n.op_index)).toEqual([1, 0, 2, 1]);
  });
});
