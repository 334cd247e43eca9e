// The matmul kernels against a straightforward triple-loop reference, on odd shapes (not
// multiples of the 4×4 register tile, k longer than one cache block), with accumulation
// (C += A·B) and with overwriting (C = A·B whatever C held).
import { describe, expect, it } from 'vitest';
import { multiply, multiplyAdd, multiplyAddNaive } from '../dist/workloads/matmul/kernel.js';
import { multiplyBlocks, sumBlocks } from '../dist/workloads/matmul/ops.js';
import { wasmMultiply, wasmMultiplyAdd } from '../dist/workloads/matmul/wasm-kernel.js';
import { mulberry32 } from '../dist/common/random.js';

function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length: rows * cols }, () => random() * 2 - 1);
}

/** C + A·B, one dot product per entry (ijk order). */
function reference(c: Float64Array, a: Float64Array, b: Float64Array, m: number, p: number, n: number): Float64Array {
  const out = Float64Array.from(c);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < p; k++) dot += a[i * p + k]! * b[k * n + j]!;
      out[i * n + j] += dot;
    }
  }
  return out;
}

function maxAbsDiff(x: Float64Array, y: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  return worst;
}

const SHAPES: Array<[m: number, p: number, n: number]> = [
  [1, 1, 1],
  [3, 5, 7],
  [4, 4, 4],
  [13, 17, 11],
  [64, 64, 64],
  [65, 63, 67],
  [130, 257, 129],
  [5, 600, 9],
  [8, 513, 12],
];

const KERNELS = [
  ['multiplyAdd (JS)', multiplyAdd],
  ['wasmMultiplyAdd (WebAssembly SIMD)', (...args: Parameters<typeof multiplyAdd>) => wasmMultiplyAdd!(...args)],
  ['multiplyAddNaive', multiplyAddNaive],
] as const;

const OVERWRITING_KERNELS = [
  ['multiply (JS)', multiply],
  ['wasmMultiply (WebAssembly SIMD)', (...args: Parameters<typeof multiply>) => wasmMultiply!(...args)],
] as const;

describe('matmul kernels', () => {
  it('WebAssembly SIMD is available on this Node (so the SIMD cases below really run)', () => {
    expect(wasmMultiplyAdd).toBeTypeOf('function');
    expect(wasmMultiply).toBeTypeOf('function');
  });

  for (const [m, p, n] of SHAPES) {
    for (const [name, kernel] of KERNELS) {
      it(`${name} ${m}×${p} · ${p}×${n} adds A·B into a non-zero C`, () => {
        const a = randomMatrix(m, p, m * 1000 + p);
        const b = randomMatrix(p, n, n * 1000 + p + 1);
        const c = randomMatrix(m, n, 7);
        const expected = reference(c, a, b, m, p, n);
        kernel(c, a, b, m, p, n);
        expect(maxAbsDiff(c, expected)).toBeLessThan(1e-12 * p);
      });
    }
  }

  for (const [m, p, n] of SHAPES) {
    for (const [name, kernel] of OVERWRITING_KERNELS) {
      it(`${name} ${m}×${p} · ${p}×${n} overwrites a non-zero C with A·B`, () => {
        const a = randomMatrix(m, p, m * 1000 + p);
        const b = randomMatrix(p, n, n * 1000 + p + 1);
        const c = randomMatrix(m, n, 7);
        const expected = reference(new Float64Array(m * n), a, b, m, p, n);
        kernel(c, a, b, m, p, n);
        expect(maxAbsDiff(c, expected)).toBeLessThan(1e-12 * p);
      });
    }
  }

  it('rejects arrays too short for the shape, naming the sizes', () => {
    const a = new Float64Array(6);
    expect(() => multiplyAdd(new Float64Array(4), a, new Float64Array(6), 2, 3, 3)).toThrow(/C has 4 \(needs 6\)/);
    expect(() => wasmMultiplyAdd!(new Float64Array(9), a, new Float64Array(5), 2, 3, 3)).toThrow(/B has 5 \(needs 9\)/);
  });

  it('the SIMD kernel reuses its memory across calls of different shapes (grows, never reads stale data)', () => {
    for (const [m, p, n] of [[300, 300, 300], [8, 8, 8], [260, 520, 12]] as const) {
      const a = randomMatrix(m, p, m);
      const b = randomMatrix(p, n, n);
      const c = new Float64Array(m * n);
      wasmMultiplyAdd!(c, a, b, m, p, n);
      expect(maxAbsDiff(c, reference(new Float64Array(m * n), a, b, m, p, n))).toBeLessThan(1e-12 * p);
    }
  });

  it('multiplyBlocks returns a SharedArrayBuffer-backed block; sumBlocks adds equal blocks', () => {
    const a = randomMatrix(5, 3, 1);
    const b = randomMatrix(3, 6, 2);
    const product = multiplyBlocks(a, b, 5, 3, 6);
    expect(product.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(maxAbsDiff(product, reference(new Float64Array(30), a, b, 5, 3, 6))).toBeLessThan(1e-12);
    const sum = sumBlocks([product, product, product]);
    expect(sum.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(maxAbsDiff(sum, product.map((x) => 3 * x))).toBeLessThan(1e-12);
    expect(() => sumBlocks([product, new Float64Array(3)])).toThrow(/length 3 does not match 30/);
  });
});
