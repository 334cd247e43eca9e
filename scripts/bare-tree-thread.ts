/**
 * Entry of a bare worker thread of scripts/measure-tree-bound.ts (started by
 * tree-bound-process.ts, never imported): tree-reduce's ops with no scheduler. An order
 * either makes leaves `from` .. `to - 1` and reduces them pairwise in the workload's tree
 * shape, or adds two arrays; the answer goes back by transfer.
 */
import { parentPort } from 'node:worker_threads';
import { addArrays, makeLeaf } from '../workloads/tree-reduce/ops.js';

/** A bare thread's order: make leaves `from` .. `to - 1` and reduce them pairwise (the workload's tree shape), or add two arrays. */
export type Order = { leaves: [number, number]; length: number } | { add: [Float64Array, Float64Array] };

/** Pairwise reduction in the shape of workloads/common.ts treeReduce (adjacent pairs, fan-in 2). */
function reducePairs(level: Float64Array[]): Float64Array {
  while (level.length > 1) {
    const next: Float64Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? addArrays(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

parentPort!.on('message', (order: Order) => {
  const out = 'add' in order ? addArrays(order.add[0], order.add[1]) : reducePairs(Array.from({ length: order.leaves[1] - order.leaves[0] }, (_, i) => makeLeaf(order.leaves[0] + i, order.length)));
  parentPort!.postMessage(out, [out.buffer as ArrayBuffer]);
});

