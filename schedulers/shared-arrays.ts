/**
 * Typed arrays backed by `SharedArrayBuffer`: the one kind of value that crosses to a worker
 * thread without being copied (structured clone shares the memory). Ops allocate their
 * results with these when the result is large and goes to another thread; the `threads`
 * scheduler counts them as 0 bytes moved. Across processes (`processes`, `distributed`)
 * memory cannot be shared, so they are copied like any typed array.
 */

/** Constructors of the typed arrays that can be shared. */
export type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

/**
 * Every built-in typed-array constructor (not subclasses such as Buffer), in a fixed order:
 * the distributed codec writes a kind's index here on the wire, so append only.
 */
export const TYPED_ARRAY_KINDS: readonly TypedArrayConstructor[] = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];

/** A zero-filled typed array of `length` elements whose memory is a new `SharedArrayBuffer`. */
export function sharedTypedArray<C extends TypedArrayConstructor>(Ctor: C, length: number): InstanceType<C> {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`sharedTypedArray: length must be a non-negative integer, got ${length}`);
  // Every typed-array constructor accepts a SharedArrayBuffer; lib.d.ts types only ArrayBuffer.
  const buffer = new SharedArrayBuffer(length * Ctor.BYTES_PER_ELEMENT) as unknown as ArrayBuffer;
  return new Ctor(buffer) as InstanceType<C>;
}

/** A zero-filled Float64Array of `length` elements backed by a `SharedArrayBuffer`. */
export function sharedFloat64Array(length: number): Float64Array {
  return sharedTypedArray(Float64Array, length);
}

/** True when `x` is a typed array or DataView whose memory is a `SharedArrayBuffer`. */
export function isShared(x: unknown): boolean {
  return ArrayBuffer.isView(x) && x.buffer instanceof SharedArrayBuffer;
}
