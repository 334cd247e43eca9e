/**
 * Ops of the tree-reduce workload. Arrays are ordinary (not shared) Float64Arrays on purpose:
 * every edge of the tree moves a whole array, which is what this workload measures.
 */

/** Leaf value at index i: an integer in [0, 1024), so every sum is exact in any order. */
export function leafValue(leaf: number, i: number): number {
  return (leaf * 31 + i * 17) % 1024;
}

/** Make leaf `leaf`: a Float64Array of `length` values. */
export function makeLeaf(leaf: number, length: number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = leafValue(leaf, i);
  return out;
}

/** Element-wise sum of two equally long arrays. */
export function addArrays(x: Float64Array, y: Float64Array): Float64Array {
  if (x.length !== y.length) throw new RangeError(`addArrays: lengths differ (${x.length} vs ${y.length})`);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! + y[i]!;
  return out;
}
