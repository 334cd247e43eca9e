/**
 * Ops of the matmul workload (run inside workers). Results are allocated in
 * SharedArrayBuffer memory, so on the `threads` scheduler a block moves between threads
 * without a copy; `processes` and `distributed` copy it like any typed array.
 *
 * Each fresh result is written before it is read (`multiply` never reads C, `sumBlocks`
 * copies the first block in before adding): reading fresh memory first costs a
 * copy-on-write fault and a cross-CPU TLB flush per page once the process runs two threads
 * (see `multiply` in kernel.ts), which made block products ~2x slower on `threads`.
 */
import { sharedFloat64Array } from '../../schedulers/shared-arrays.js';
import { multiply as jsMultiply } from './kernel.js';
import { wasmMultiply } from './wasm-kernel.js';

/** The fastest kernel this runtime has: WebAssembly SIMD (~4x the JS kernel here), else plain JS. */
const multiply = wasmMultiply ?? jsMultiply;

/** One block product A_ik · B_kj: (rows×inner) · (inner×cols) → rows×cols. */
export function multiplyBlocks(a: Float64Array, b: Float64Array, rows: number, inner: number, cols: number): Float64Array {
  const c = sharedFloat64Array(rows * cols);
  multiply(c, a, b, rows, inner, cols);
  return c;
}

/** C_ij = Σ_k products[k] (element-wise sum of equally shaped blocks). */
export function sumBlocks(products: Float64Array[]): Float64Array {
  const first = products[0];
  if (!first) throw new RangeError('sumBlocks: no blocks to sum');
  for (const block of products) {
    if (block.length !== first.length) throw new RangeError(`sumBlocks: block of length ${block.length} does not match ${first.length}`);
  }
  const out = sharedFloat64Array(first.length);
  out.set(first);
  // Three blocks per pass over `out` (a third of the memory traffic of one pass per block);
  // left-to-right additions, so every entry is rounded exactly as by one pass per block.
  const n = out.length;
  let k = 1;
  for (; k + 2 < products.length; k += 3) {
    const p = products[k]!;
    const q = products[k + 1]!;
    const r = products[k + 2]!;
    for (let x = 0; x < n; x++) out[x] = out[x]! + p[x]! + q[x]! + r[x]!;
  }
  for (; k < products.length; k++) {
    const p = products[k]!;
    for (let x = 0; x < n; x++) out[x] += p[x]!;
  }
  return out;
}
