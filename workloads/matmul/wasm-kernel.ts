/**
 * The matmul kernel in WebAssembly SIMD, assembled from the instructions below when this
 * module loads (no binary blob, no build tool: the encoder is ~40 lines and every opcode is
 * named). Same algorithm as `multiplyAdd` in kernel.ts — k in cache-sized chunks, B packed
 * into a 4-column panel, a 4×4 tile of C held in registers across a chunk — but each tile
 * row is two `f64x2` vectors, so every multiply and add does two lanes. Rows and columns beyond the last
 * multiple of 4 are finished by the JS edge loop.
 *
 * Inputs are copied into the module's linear memory (O(b²)) before the O(b³) multiply and C
 * is copied back; a block product of b ≥ 64 amortises that. `wasmMultiply` (C = A·B) never
 * reads C: when the shape is whole 4×4 tiles, the first k-chunk stores its tiles into C's
 * place in linear memory (the `mmset` variant of the kernel) instead of adding them to a
 * zero-filled one (otherwise it zeroes that place), so a freshly
 * allocated result is first touched by a write (see `multiply` in kernel.ts for why that
 * matters). Both exports are undefined when the runtime lacks WebAssembly SIMD; callers then
 * use the JS kernel.
 */
import { checkShapes, multiplyAddEdges, type MultiplyAdd } from './kernel.js';

// TypeScript's ES libs leave WebAssembly to lib.dom; declare the part this module uses.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: object);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  function validate(bytes: Uint8Array): boolean;
}

// --- a minimal WebAssembly binary encoder -------------------------------------------------

/** Unsigned LEB128. */
function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
function s32(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...u32(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...u32(body.length), ...body];
const name = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));

const I32 = 0x7f;
const V128 = 0x7b;
const VOID_BLOCK = 0x40;

/** Instructions used by the kernel (memarg: alignment log2 = 3, i.e. 8-byte aligned doubles). */
const ins = {
  get: (l: number) => [0x20, ...u32(l)],
  set: (l: number) => [0x21, ...u32(l)],
  tee: (l: number) => [0x22, ...u32(l)],
  i32: (v: number) => [0x41, ...s32(v)],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  geS: [0x4e],
  ltU: [0x49],
  block: [0x02, VOID_BLOCK],
  loop: [0x03, VOID_BLOCK],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...u32(depth)],
  brIf: (depth: number) => [0x0d, ...u32(depth)],
  v128Load: (offset = 0) => [0xfd, ...u32(0x00), 3, ...u32(offset)],
  v128Store: (offset = 0) => [0xfd, ...u32(0x0b), 3, ...u32(offset)],
  v128Load64Splat: [0xfd, ...u32(0x0a), 3, 0],
  v128Zero: [0xfd, ...u32(0x0c), ...new Array<number>(16).fill(0)],
  f64x2Add: [0xfd, ...u32(0xf0)],
  f64x2Mul: [0xfd, ...u32(0xf2)],
};

// --- the kernel -----------------------------------------------------------------------------

// Parameters: byte addresses of A (m×lda, first of p columns used), B (p×n), C (m×n), the
// panel (p×4); m4, p (the k extent of this call), n, n4, lda (row length of A).
const [A, B, C, PANEL, M4, P, N, N4, LDA] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const PARAMS = 9;
// i32 locals.
const [J, I, PB, PEND, T, A0, A1, A2, A3, PBYTES, NBYTES] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
// v128 locals: accumulators ACC[row][half], the B panel pair, the splatted A value.
const ACC = [[20, 21], [22, 23], [24, 25], [26, 27]] as const;
const [B01, B23, AV] = [28, 29, 30];
const ROWS = [A0, A1, A2, A3] as const;

function addLocal(local: number, amount: number[]): number[] {
  return [...ins.get(local), ...amount, ...ins.add, ...ins.set(local)];
}

/** The kernel's code; `overwrite`: store the tile into C (C = A·B over this k-chunk) instead of adding it (C += A·B). */
function kernelBody(overwrite: boolean): number[] {
  const code: number[] = [
    ...ins.get(LDA), ...ins.i32(3), ...ins.shl, ...ins.set(PBYTES),
    ...ins.get(N), ...ins.i32(3), ...ins.shl, ...ins.set(NBYTES),
    ...ins.get(PANEL), ...ins.get(P), ...ins.i32(5), ...ins.shl, ...ins.add, ...ins.set(PEND),
    ...ins.i32(0), ...ins.set(J),
    ...ins.block, ...ins.loop, // for (j = 0; j < n4; j += 4)
    ...ins.get(J), ...ins.get(N4), ...ins.geS, ...ins.brIf(1),
    // Pack B[:, j..j+3] into the panel: 32 bytes per k.
    ...ins.get(PANEL), ...ins.set(PB),
    ...ins.get(B), ...ins.get(J), ...ins.i32(3), ...ins.shl, ...ins.add, ...ins.set(T),
    ...ins.loop,
    ...ins.get(PB), ...ins.get(T), ...ins.v128Load(0), ...ins.v128Store(0),
    ...ins.get(PB), ...ins.get(T), ...ins.v128Load(16), ...ins.v128Store(16),
    ...addLocal(PB, ins.i32(32)),
    ...addLocal(T, ins.get(NBYTES)),
    ...ins.get(PB), ...ins.get(PEND), ...ins.ltU, ...ins.brIf(0),
    ...ins.end,
    ...ins.i32(0), ...ins.set(I),
    ...ins.block, ...ins.loop, // for (i = 0; i < m4; i += 4)
    ...ins.get(I), ...ins.get(M4), ...ins.geS, ...ins.brIf(1),
    ...ins.get(A), ...ins.get(I), ...ins.get(PBYTES), ...ins.mul, ...ins.add, ...ins.tee(A0),
    ...ins.get(PBYTES), ...ins.add, ...ins.tee(A1),
    ...ins.get(PBYTES), ...ins.add, ...ins.tee(A2),
    ...ins.get(PBYTES), ...ins.add, ...ins.set(A3),
    ...ACC.flat().flatMap((acc) => [...ins.v128Zero, ...ins.set(acc)]),
    ...ins.get(PANEL), ...ins.set(PB),
    ...ins.loop, // for each k (p >= 1)
    ...ins.get(PB), ...ins.v128Load(0), ...ins.set(B01),
    ...ins.get(PB), ...ins.v128Load(16), ...ins.set(B23),
  ];
  ROWS.forEach((row, r) => {
    code.push(...ins.get(row), ...ins.v128Load64Splat, ...ins.set(AV));
    ([B01, B23] as const).forEach((bv, half) => {
      const acc = ACC[r]![half]!;
      code.push(...ins.get(acc), ...ins.get(AV), ...ins.get(bv), ...ins.f64x2Mul, ...ins.f64x2Add, ...ins.set(acc));
    });
    code.push(...addLocal(row, ins.i32(8)));
  });
  code.push(
    ...addLocal(PB, ins.i32(32)),
    ...ins.get(PB), ...ins.get(PEND), ...ins.ltU, ...ins.brIf(0),
    ...ins.end,
    // C[i+r][j..j+3] += tile row r.
    ...ins.get(C), ...ins.get(I), ...ins.get(N), ...ins.mul, ...ins.get(J), ...ins.add, ...ins.i32(3), ...ins.shl, ...ins.add, ...ins.set(T),
  );
  ACC.forEach(([lo, hi], r) => {
    if (overwrite) code.push(...ins.get(T), ...ins.get(lo), ...ins.v128Store(0), ...ins.get(T), ...ins.get(hi), ...ins.v128Store(16));
    else {
      code.push(
        ...ins.get(T), ...ins.get(T), ...ins.v128Load(0), ...ins.get(lo), ...ins.f64x2Add, ...ins.v128Store(0),
        ...ins.get(T), ...ins.get(T), ...ins.v128Load(16), ...ins.get(hi), ...ins.f64x2Add, ...ins.v128Store(16),
      );
    }
    if (r < 3) code.push(...addLocal(T, ins.get(NBYTES)));
  });
  code.push(
    ...addLocal(I, ins.i32(4)), ...ins.br(0), ...ins.end, ...ins.end, // i loop
    ...addLocal(J, ins.i32(4)), ...ins.br(0), ...ins.end, ...ins.end, // j loop
    ...ins.end, // function
  );
  return code;
}

function kernelModule(): Uint8Array {
  const locals = [[...u32(11), I32], [...u32(11), V128]];
  const bodies = [false, true].map((overwrite) => {
    const body = [...vec(locals), ...kernelBody(overwrite)];
    return [...u32(body.length), ...body];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    ...section(1, vec([[0x60, ...vec(new Array(PARAMS).fill([I32])), ...vec([])]])), // type 0: (i32 ×9) -> ()
    ...section(3, vec([u32(0), u32(0)])), // functions 0 (mm: C += A·B) and 1 (mmset: C = A·B) have type 0
    ...section(5, vec([[0x00, ...u32(1)]])), // one memory, 1 page minimum, growable
    ...section(7, vec([[...name('mm'), 0x00, ...u32(0)], [...name('mmset'), 0x00, ...u32(1)], [...name('memory'), 0x02, ...u32(0)]])),
    ...section(10, vec(bodies)),
  ];
  return new Uint8Array(bytes);
}

// --- the JS wrapper ---------------------------------------------------------------------------

type RawKernel = (a: number, b: number, c: number, panel: number, m4: number, p: number, n: number, n4: number, lda: number) => void;

/** k-chunk per call: the panel (KC×32 bytes) and four rows of A (4×KC×8 bytes) stay in L1 (256 measured best of 64..all). */
const KC = 256;

/** C (m×n) = A·B, or C += A·B when `accumulate`; C is not read unless `accumulate`. */
type Kernel = (c: Float64Array, a: Float64Array, b: Float64Array, m: number, p: number, n: number, accumulate: boolean) => void;

function instantiate(): Kernel | undefined {
  const bytes = kernelModule();
  if (!WebAssembly.validate(bytes)) return undefined;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const mm = instance.exports.mm as RawKernel;
  const mmset = instance.exports.mmset as RawKernel;
  const memory = instance.exports.memory as WebAssembly.Memory;
  const align = (bytesNeeded: number): number => Math.ceil(bytesNeeded / 16) * 16;

  return function wasmKernel(c, a, b, m, p, n, accumulate) {
    checkShapes(c, a, b, m, p, n);
    const m4 = m - (m % 4);
    const n4 = n - (n % 4);
    if (m4 > 0 && n4 > 0 && p > 0) {
      const aAt = 0;
      const bAt = aAt + align(m * p * 8);
      const cAt = bAt + align(p * n * 8);
      const panelAt = cAt + align(m * n * 8);
      const end = panelAt + Math.min(p, KC) * 32;
      if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
      const heap = new Float64Array(memory.buffer);
      heap.set(a.subarray(0, m * p), aAt / 8);
      heap.set(b.subarray(0, p * n), bAt / 8);
      // C = A·B over whole 4×4 tiles: the first k-chunk stores its tiles (no zero fill, no
      // read of C); edge rows/columns are then added by the JS loop, so they need zeros.
      const overwrite = !accumulate && m4 === m && n4 === n;
      if (accumulate) heap.set(c.subarray(0, m * n), cAt / 8);
      else if (!overwrite) heap.fill(0, cAt / 8, cAt / 8 + m * n);
      for (let k0 = 0; k0 < p; k0 += KC) {
        (overwrite && k0 === 0 ? mmset : mm)(aAt + k0 * 8, bAt + k0 * n * 8, cAt, panelAt, m4, Math.min(KC, p - k0), n, n4, p);
      }
      c.set(heap.subarray(cAt / 8, cAt / 8 + m * n));
    } else if (!accumulate) {
      c.fill(0, 0, m * n);
    }
    multiplyAddEdges(c, a, b, m, p, n);
  };
}

const kernel = instantiate();

/** C (m×n) += A (m×p) · B (p×n) in WebAssembly SIMD; undefined where SIMD is unavailable. */
export const wasmMultiplyAdd: MultiplyAdd | undefined = kernel && ((c, a, b, m, p, n) => kernel(c, a, b, m, p, n, true));

/** C (m×n) = A (m×p) · B (p×n) in WebAssembly SIMD, writing C without reading it; undefined where SIMD is unavailable. */
export const wasmMultiply: MultiplyAdd | undefined = kernel && ((c, a, b, m, p, n) => kernel(c, a, b, m, p, n, false));
