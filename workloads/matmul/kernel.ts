/**
 * Dense Float64 matrix-multiply kernels (row-major, plain Float64Array, any backing buffer).
 *
 * `multiplyAdd` is the fast one: C (m×n) += A (m×p) · B (p×n). How it is fast in plain JS:
 * - register tiling: a 4×4 tile of C lives in 16 local variables for a whole pass over k,
 *   so each step loads 4 values of A and 4 of B for 16 multiply-adds (the naive ikj loop
 *   does 2 loads and 1 store per multiply-add);
 * - packing: the 4 columns of B that a tile needs are copied once into a contiguous panel,
 *   so the inner loop reads B sequentially instead of with stride n;
 * - cache blocking: k runs in chunks of KC so that the packed panel (KC×4) and four rows of
 *   A (4×KC) stay in L1 while every 4-row tile of C sweeps over them.
 * Edge rows and columns (m or n not a multiple of 4) go through a simple loop.
 * It measures ~4 GFLOP/s on one core here against ~1.1 for `multiplyAddNaive`; the same
 * algorithm in WebAssembly SIMD (wasm-kernel.ts, used by the ops when available) reaches
 * ~15 (`node dist/scripts/measure-kernel.js`).
 */

/** k-chunk length: a 4×KC panel of B plus 4 rows of A is 16 KiB, well inside L1. */
const KC = 256;

let panel = new Float64Array(KC * 4);

/** Signature shared by the kernels, row-major: C (m×n) += A (m×p) · B (p×n), or C = A·B for the `multiply` ones. */
export type MultiplyAdd = (c: Float64Array, a: Float64Array, b: Float64Array, m: number, p: number, n: number) => void;

/** Throw a RangeError naming the sizes when an array is too short for the shape. */
export function checkShapes(c: Float64Array, a: Float64Array, b: Float64Array, m: number, p: number, n: number): void {
  if (a.length < m * p || b.length < p * n || c.length < m * n) {
    throw new RangeError(
      `matmul kernel: arrays too short for m=${m} p=${p} n=${n}: A has ${a.length} (needs ${m * p}), ` +
        `B has ${b.length} (needs ${p * n}), C has ${c.length} (needs ${m * n})`,
    );
  }
}

/** C (m×n) += A (m×p) · B (p×n); register-tiled, packed, cache-blocked. */
export function multiplyAdd(c: Float64Array, a: Float64Array, b: Float64Array, m: number, p: number, n: number): void {
  checkShapes(c, a, b, m, p, n);
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  if (panel.length < KC * 4) panel = new Float64Array(KC * 4);
  const pk = panel;
  for (let k0 = 0; k0 < p; k0 += KC) {
    const kEnd = Math.min(p, k0 + KC);
    const kLen = kEnd - k0;
    for (let j = 0; j < n4; j += 4) {
      for (let k = 0; k < kLen; k++) {
        const s = (k0 + k) * n + j;
        const d = k * 4;
        pk[d] = b[s]!;
        pk[d + 1] = b[s + 1]!;
        pk[d + 2] = b[s + 2]!;
        pk[d + 3] = b[s + 3]!;
      }
      for (let i = 0; i < m4; i += 4) {
        const r0 = i * p + k0;
        const r1 = r0 + p;
        const r2 = r1 + p;
        const r3 = r2 + p;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let k = 0; k < kLen; k++) {
          const d = k * 4;
          const b0 = pk[d]!, b1 = pk[d + 1]!, b2 = pk[d + 2]!, b3 = pk[d + 3]!;
          let x = a[r0 + k]!;
          c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3;
          x = a[r1 + k]!;
          c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3;
          x = a[r2 + k]!;
          c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3;
          x = a[r3 + k]!;
          c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3;
        }
        let o = i * n + j;
        c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03;
        o += n;
        c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13;
        o += n;
        c[o] += c20; c[o + 1] += c21; c[o + 2] += c22; c[o + 3] += c23;
        o += n;
        c[o] += c30; c[o + 1] += c31; c[o + 2] += c32; c[o + 3] += c33;
      }
    }
  }
  multiplyAddEdges(c, a, b, m, p, n);
}

/**
 * C (m×n) = A (m×p) · B (p×n), C's old contents ignored. C is written (zeroed) before it is
 * read: on a fresh result that matters. Fresh memory reads as Linux's shared zero page, so
 * reading a page before writing it maps the zero page and the first write then replaces it
 * (a copy-on-write fault), which must flush that address from the TLB of every CPU running a
 * thread of the process: one inter-processor interrupt per 4 KiB page, very costly in a VM.
 * Writing first takes a plain fault that flushes nothing. (With two busy worker threads the
 * read-then-write order made every block product about twice as slow.)
 */
export function multiply(c: Float64Array, a: Float64Array, b: Float64Array, m: number, p: number, n: number): void {
  checkShapes(c, a, b, m, p, n);
  c.fill(0, 0, m * n);
  multiplyAdd(c, a, b, m, p, n);
}

/** The part of C outside the 4×4 tiles: the last m % 4 rows, and the last n % 4 columns of the other rows. */
export function multiplyAddEdges(c: Float64Array, a: Float64Array, b: Float64Array, m: number, p: number, n: number): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  if (m4 < m) edge(c, a, b, m4, m, 0, n, p, n);
  if (n4 < n) edge(c, a, b, 0, m4, n4, n, p, n);
}

/** C[i0..i1, j0..j1] += A[i0..i1, :] · B[:, j0..j1] with a plain ikj loop. */
function edge(c: Float64Array, a: Float64Array, b: Float64Array, i0: number, i1: number, j0: number, j1: number, p: number, n: number): void {
  for (let i = i0; i < i1; i++) {
    const ci = i * n;
    for (let k = 0; k < p; k++) {
      const aik = a[i * p + k]!;
      const bk = k * n;
      for (let j = j0; j < j1; j++) c[ci + j] += aik * b[bk + j]!;
    }
  }
}

/** The naive ikj loop: the baseline the fast kernel is measured against. */
export function multiplyAddNaive(c: Float64Array, a: Float64Array, b: Float64Array, m: number, p: number, n: number): void {
  checkShapes(c, a, b, m, p, n);
  edge(c, a, b, 0, m, 0, n, p, n);
}
