/**
 * tree-reduce: `leaves` tasks each make a Float64Array of `length` values; a binary tree of
 * element-wise additions reduces them to one array. Compute per byte is tiny (one add per
 * 8 bytes), so the time is data movement: how each scheduler carries megabytes between tasks.
 */
import { GraphBuilder } from '../../schedulers/graph.js';
import { check, checkResultCount, opNamer, positiveInt, treeReduce } from '../common.js';
import { VerificationError, type Workload } from '../types.js';
import type * as ops from './ops.js';

const op = opNamer<typeof ops>(new URL('./ops.js', import.meta.url).href);

/** Parameters: number of leaf arrays and their length (elements, 8 bytes each). */
export interface TreeReduceParams {
  [name: string]: number;
  leaves: number;
  length: number;
}

export const treeReduceWorkload: Workload<TreeReduceParams> = {
  name: 'tree-reduce',
  description:
    'Large Float64Arrays made by leaf tasks and reduced pairwise (a binary tree of element-wise additions). ' +
    'There is one add per 8 bytes, so data movement dominates: every edge of the tree copies a whole array ' +
    'between threads or processes (ordinary ArrayBuffers, not shared). Compare bytes moved and time: this is ' +
    'the shape where a parallel scheduler can lose to sync, and where SharedArrayBuffer results would help.',
  sizes: {
    quick: { leaves: 16, length: 2_000_000 },
    small: { leaves: 32, length: 2_000_000 },
    medium: { leaves: 128, length: 4_000_000 },
    large: { leaves: 512, length: 4_000_000 },
  },

  build(params) {
    const leaves = positiveInt('tree-reduce', params, 'leaves');
    const length = positiveInt('tree-reduce', params, 'length');
    const g = new GraphBuilder();
    const arrays = Array.from({ length: leaves }, (_, i) => g.task(`leaf-${i}`, op('makeLeaf'), [i, length]));
    const root = treeReduce(g, arrays, op('addArrays'), 2, 'add');
    return { graph: g.graph, keys: [root.$ref] };
  },

  verify(results, params) {
    checkResultCount('tree-reduce', results, 1);
    const out = results[0] as ArrayLike<number> | undefined;
    check('tree-reduce', ArrayBuffer.isView(out) && out.length === params.length, () =>
      `the result should be a typed array of ${params.length} numbers, got ${ArrayBuffer.isView(out) ? `length ${out.length}` : typeof out}`);
    // Reference: the sum over leaves of (31·leaf + 17·i) mod 1024, written as an arithmetic
    // walk over leaves per element rather than through the ops' functions. Every element is
    // checked up to ~5e7 steps of work; beyond that an evenly spaced sample plus the last one.
    const stride = Math.max(1, Math.ceil((params.leaves * params.length) / 5e7));
    const checkElement = (i: number): void => {
      let expected = 0;
      let term = (17 * i) % 1024;
      for (let leaf = 0; leaf < params.leaves; leaf++) {
        expected += term;
        term = (term + 31) % 1024;
      }
      if (out[i] !== expected) {
        throw new VerificationError('tree-reduce', `element ${i} of the summed array is ${out[i]}, expected ${expected}`);
      }
    };
    for (let i = 0; i < params.length; i += stride) checkElement(i);
    checkElement(params.length - 1);
  },
};
