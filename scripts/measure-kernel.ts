/**
 * Ad-hoc measurement (not part of the CLI): GFLOP/s of the matmul kernels (WebAssembly SIMD,
 * plain JS register-tiled) on one core against the naive ikj loop, for a few square sizes. Each figure is the median of timed repetitions
 * after a warm-up. Run: `npx tsc -p . && node dist/scripts/measure-kernel.js [n...]`.
 */
import { multiplyAdd, multiplyAddNaive, type MultiplyAdd } from '../workloads/matmul/kernel.js';
import { wasmMultiplyAdd } from '../workloads/matmul/wasm-kernel.js';
import { mulberry32 } from '../common/random.js';

type Kernel = MultiplyAdd;

function randomMatrix(n: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length: n * n }, () => random() * 2 - 1);
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median GFLOP/s of `kernel` on n×n matrices over ~`budgetMs` of repetitions. */
function gflops(kernel: Kernel, n: number, budgetMs: number): number {
  const a = randomMatrix(n, 1);
  const b = randomMatrix(n, 2);
  const c = new Float64Array(n * n);
  kernel(c, a, b, n, n, n); // warm-up: let V8 optimise
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 3 || performance.now() - start < budgetMs) {
    const t0 = performance.now();
    kernel(c, a, b, n, n, n);
    samples.push((2 * n * n * n) / ((performance.now() - t0) / 1000) / 1e9);
  }
  return median(samples);
}

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
console.log('GFLOP/s on one core (median)');
console.log('n      wasm-simd   js-tiled   naive-ikj   simd/naive  js/naive');
for (const n of sizes.length ? sizes : [128, 256, 512]) {
  const simd = wasmMultiplyAdd ? gflops(wasmMultiplyAdd, n, 1500) : NaN;
  const js = gflops(multiplyAdd, n, 1500);
  const naive = gflops(multiplyAddNaive, n, 1500);
  const cells = [simd, js, naive].map((x) => x.toFixed(2).padStart(9));
  console.log(`${String(n).padEnd(6)} ${cells.join('  ')}  ${(simd / naive).toFixed(1).padStart(9)}x ${(js / naive).toFixed(1).padStart(8)}x`);
}
