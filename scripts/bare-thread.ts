/**
 * Entry of a bare worker thread of scripts/measure-local-bound.ts (started by
 * local-bound-process.ts, never imported): a workload's ops with no scheduler.
 * - tree-reduce: an order either makes leaves `from` .. `to - 1` and reduces them pairwise in
 *   the workload's tree shape, or adds two arrays; the answer goes back by transfer.
 * - matmul: an order lists output blocks, each as the argument lists of its block products
 *   (input blocks in SharedArrayBuffer memory, shared, not copied); the thread multiplies and
 *   sums each block and sends the blocks back (shared memory again).
 */
import { parentPort } from 'node:worker_threads';
import { addArrays, makeLeaf } from '../workloads/tree-reduce/ops.js';
import { multiplyBlocks, sumBlocks } from '../workloads/matmul/ops.js';

/** The arguments of one matmul block product: A_ik, B_kj, rows, inner, cols. */
export type ProductArgs = [Float64Array, Float64Array, number, number, number];

/** A bare thread's order. */
export type Order =
  | { leaves: [number, number]; length: number }
  | { add: [Float64Array, Float64Array] }
  | { blocks: ProductArgs[][] };

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
  if ('blocks' in order) {
    parentPort!.postMessage(order.blocks.map((products) => sumBlocks(products.map((args) => multiplyBlocks(...args)))));
    return;
  }
  const out = 'add' in order ? addArrays(order.add[0], order.add[1]) : reducePairs(Array.from({ length: order.leaves[1] - order.leaves[0] }, (_, i) => makeLeaf(order.leaves[0] + i, order.length)));
  parentPort!.postMessage(out, [out.buffer as ArrayBuffer]);
});
