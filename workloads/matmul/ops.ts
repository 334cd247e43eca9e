/**
 * Ops of the matmul workload (run inside workers). Results are allocated in
 * SharedArrayBuffer memory, so on the `threads` scheduler a block moves between threads
 * without a copy; `processes` and `distributed` copy it like any typed array.
 */
import { sharedFloat64Array } from '../../schedulers/shared-arrays.js';
import { multiplyAdd as jsMultiplyAdd } from './kernel.js';
import { wasmMultiplyAdd } from './wasm-kernel.js';

/** The fastest kernel this runtime has: WebAssembly SIMD (~4x the JS kernel here), else plain JS. */
const multiplyAdd = wasmMultiplyAdd ?? jsMultiplyAdd;

/** One block product A_ik · B_kj: (rows×inner) · (inner×cols) → rows×cols. */
export function multiplyBlocks(a: Float64Array, b: Float64Array, rows: number, inner: number, cols: number): Float64Array {
  const c = sharedFloat64Array(rows * cols);
  multiplyAdd(c, a, b, rows, inner, cols);
  return c;
}

/** C_ij = Σ_k products[k] (element-wise sum of equally shaped blocks). */
export function sumBlocks(products: Float64Array[]): Float64Array {
  const first = products[0];
  if (!first) throw new RangeError('sumBlocks: no blocks to sum');
  const out = sharedFloat64Array(first.length);
  for (const block of products) {
    if (block.length !== out.length) throw new RangeError(`sumBlocks: block of length ${block.length} does not match ${out.length}`);
    for (let x = 0; x < out.length; x++) out[x] += block[x]!;
  }
  return out;
}
