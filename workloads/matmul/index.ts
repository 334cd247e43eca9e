/**
 * matmul: blocked dense C = A·B over n×n Float64 matrices split into b×b blocks (edge blocks
 * are smaller when b does not divide n). One task per block triple (i, j, k) multiplies
 * A_ik·B_kj with the fast kernel; one task per (i, j) sums the k products into C_ij.
 * Every input block is read by n/b tasks: the data-locality case.
 *
 * Entries are position-addressable pseudo-random numbers (`entry(seed, matrix, row, col)`),
 * so the reference needs no copy of the inputs: `verify` recomputes sampled entries of C
 * as plain dot products straight from the generator.
 */
import { GraphBuilder } from '../../schedulers/graph.js';
import { sharedFloat64Array } from '../../schedulers/shared-arrays.js';
import type { Ref } from '../../schedulers/types.js';
import { check, checkResultCount, closeTo, opNamer, positiveInt } from '../common.js';
import { hash3, mulberry32 } from '../../common/random.js';
import type { Workload } from '../types.js';
import type * as ops from './ops.js';

const op = opNamer<typeof ops>(new URL('./ops.js', import.meta.url).href);

/** Parameters: matrix order `n`, block order `b`, data `seed`. */
export interface MatmulParams {
  [name: string]: number;
  n: number;
  b: number;
  seed: number;
}

const A_MATRIX = 1;
const B_MATRIX = 2;

/** Entry (row, col) of input matrix `matrix` (A_MATRIX or B_MATRIX): uniform in [-1, 1). */
export function entry(seed: number, matrix: number, row: number, col: number): number {
  return hash3(seed * 4 + matrix, row, col) / 2147483648 - 1;
}

interface Blocking {
  n: number;
  b: number;
  /** Blocks per dimension. */
  nb: number;
  /** Order of block `i` (the last one may be smaller). */
  size(i: number): number;
}

function blocking(params: MatmulParams): Blocking {
  const n = positiveInt('matmul', params, 'n');
  const b = Math.min(positiveInt('matmul', params, 'b'), n);
  const nb = Math.ceil(n / b);
  return { n, b, nb, size: (i) => Math.min(b, n - i * b) };
}

function inputBlock(seed: number, matrix: number, bl: Blocking, bi: number, bj: number): Float64Array {
  const rows = bl.size(bi);
  const cols = bl.size(bj);
  const block = sharedFloat64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) block[r * cols + c] = entry(seed, matrix, bi * bl.b + r, bj * bl.b + c);
  }
  return block;
}

export const matmul: Workload<MatmulParams> = {
  name: 'matmul',
  description:
    'Blocked dense matrix multiply C = A·B (n×n Float64, b×b blocks in SharedArrayBuffer memory): a multiply ' +
    'task per block triple (i,j,k) running a register-tiled WebAssembly SIMD kernel, and a sum per output block. Each input ' +
    'block is read by n/b tasks, so it shows the cost of moving the same data to many tasks: threads share the ' +
    'blocks for free, processes and distributed workers must copy them (watch bytes moved against the speedup). ' +
    'Compute grows as n³ and data as n², so larger blocks favour every parallel scheduler.',
  sizes: {
    quick: { n: 1280, b: 256, seed: 1 },
    small: { n: 2000, b: 256, seed: 2 },
    medium: { n: 6000, b: 500, seed: 3 },
    large: { n: 12000, b: 768, seed: 4 },
  },

  build(params) {
    const bl = blocking(params);
    const g = new GraphBuilder();
    const A: Ref[][] = [];
    const B: Ref[][] = [];
    for (let i = 0; i < bl.nb; i++) {
      A.push([]);
      B.push([]);
      for (let j = 0; j < bl.nb; j++) {
        A[i]!.push(g.value(`A-${i}-${j}`, inputBlock(params.seed, A_MATRIX, bl, i, j)));
        B[i]!.push(g.value(`B-${i}-${j}`, inputBlock(params.seed, B_MATRIX, bl, i, j)));
      }
    }
    const keys: string[] = [];
    for (let i = 0; i < bl.nb; i++) {
      for (let j = 0; j < bl.nb; j++) {
        const products: Ref[] = [];
        for (let k = 0; k < bl.nb; k++) {
          products.push(g.task(`mul-${i}-${j}-${k}`, op('multiplyBlocks'), [A[i]![k], B[k]![j], bl.size(i), bl.size(k), bl.size(j)]));
        }
        keys.push(g.task(`C-${i}-${j}`, op('sumBlocks'), [products]).$ref);
      }
    }
    return { graph: g.graph, keys };
  },

  verify(results, params) {
    const bl = blocking(params);
    checkResultCount('matmul', results, bl.nb * bl.nb);
    // Two random entries in every output block, plus the last entry of each (edge blocks).
    const random = mulberry32(params.seed ^ 0x5eed);
    for (let i = 0; i < bl.nb; i++) {
      for (let j = 0; j < bl.nb; j++) {
        const rows = bl.size(i);
        const cols = bl.size(j);
        const block = results[i * bl.nb + j] as ArrayLike<number> | undefined;
        check('matmul', !!block && typeof block.length === 'number' && block.length === rows * cols, () =>
          `block C-${i}-${j} should hold ${rows}×${cols} = ${rows * cols} numbers, got ${describe(block)}`);
        const samples: Array<[number, number]> = [
          [Math.floor(random() * rows), Math.floor(random() * cols)],
          [Math.floor(random() * rows), Math.floor(random() * cols)],
          [rows - 1, cols - 1],
        ];
        for (const [r, c] of samples) {
          const row = i * bl.b + r;
          const col = j * bl.b + c;
          let expected = 0;
          let magnitude = 0;
          for (let k = 0; k < bl.n; k++) {
            const term = entry(params.seed, A_MATRIX, row, k) * entry(params.seed, B_MATRIX, k, col);
            expected += term;
            magnitude += Math.abs(term);
          }
          const actual = block[r * cols + c]!;
          check('matmul', closeTo(actual, expected, 1e-12 * bl.n, magnitude), () =>
            `C[${row}][${col}] (block C-${i}-${j}, entry ${r},${c}) is ${actual}, the reference dot product gives ${expected}`);
        }
      }
    }
  },
};

function describe(x: unknown): string {
  if (x === undefined || x === null) return String(x);
  if (ArrayBuffer.isView(x)) return `${x.constructor.name} of length ${(x as unknown as ArrayLike<number>).length}`;
  return typeof x === 'object' ? `${x.constructor?.name ?? 'object'}` : typeof x;
}
