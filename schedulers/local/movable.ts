/**
 * Which memory of a value may move to another thread by transfer instead of being copied,
 * and the once-per-value promotion of a typed array to shared memory. One rule, used by
 * both sides of the threads boundary: the engine (values it sends to a batch whose tasks are
 * their last consumers, and the byte counts in `stats()`) and the worker (results it sends
 * back: once its batch ends a worker never reads them again).
 *
 * Movable: a non-shared `ArrayBuffer` of at least `MIN_MOVE_BYTES`, found as the value itself
 * or one level down (an array's elements, a plain object's properties), either bare or as a
 * typed array / DataView that spans the whole buffer. A view onto part of a buffer stays a
 * copy: the rest of the buffer may belong to something else (Node's Buffer pool, a
 * WebAssembly memory, another value). Small buffers are copied: a transfer costs about as
 * much as copying a few kilobytes.
 *
 * Transfer detaches the sender's buffer: a worker's op must not keep using an array it
 * returned (as with `postMessage`'s transfer list); an op that caches an array returns a copy.
 */
import { TYPED_ARRAY_KINDS } from '../shared-arrays.js';

/** Buffers below this size are copied (a copy of 64 KiB costs about what a transfer does). */
export const MIN_MOVE_BYTES = 64 * 1024;

/** Plain arrays and objects are looked into this many elements deep at most (then copied). */
const MAX_ELEMENTS = 64;

/** The typed-array constructors a value may be promoted with (subclasses such as Buffer are left alone). */
const PROMOTABLE = new Set<unknown>(TYPED_ARRAY_KINDS);

/** The buffer `x` owns whole and may move, or undefined. */
function ownedBuffer(x: unknown): ArrayBuffer | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  if (x instanceof ArrayBuffer) return x.byteLength >= MIN_MOVE_BYTES ? x : undefined;
  if (!ArrayBuffer.isView(x)) return undefined;
  const buffer = x.buffer;
  if (!(buffer instanceof ArrayBuffer) || x.byteOffset !== 0 || x.byteLength !== buffer.byteLength) return undefined;
  return buffer.byteLength >= MIN_MOVE_BYTES ? buffer : undefined;
}

/** Add the movable buffers of `value` to `into` (a Set: a transfer list must not repeat a buffer). */
export function addMovableBuffers(value: unknown, into: Set<ArrayBuffer>): void {
  if (typeof value !== 'object' || value === null) return;
  const own = ownedBuffer(value);
  if (own) {
    into.add(own);
    return;
  }
  if (ArrayBuffer.isView(value)) return;
  let items: readonly unknown[];
  if (Array.isArray(value)) items = value;
  else if (Object.getPrototypeOf(value) === Object.prototype) items = Object.values(value);
  else return;
  const n = Math.min(items.length, MAX_ELEMENTS);
  for (let i = 0; i < n; i++) {
    const b = ownedBuffer(items[i]);
    if (b) into.add(b);
  }
}

/** Bytes of `value` that move rather than copy (what the byte counters leave out). */
export function movableBytes(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const own = ownedBuffer(value);
  if (own) return own.byteLength;
  const found = new Set<ArrayBuffer>();
  addMovableBuffers(value, found);
  let bytes = 0;
  for (const b of found) bytes += b.byteLength;
  return bytes;
}

/**
 * A copy of `value` in shared memory when it is a large plain typed array (one memcpy),
 * so every later crossing to a thread is free; undefined when it is not one.
 */
export function sharedCopy(value: unknown): unknown {
  if (!ArrayBuffer.isView(value) || !PROMOTABLE.has(value.constructor)) return undefined;
  if (value.buffer instanceof SharedArrayBuffer || value.byteLength < MIN_MOVE_BYTES) return undefined;
  const memory = new SharedArrayBuffer(value.byteLength);
  new Uint8Array(memory).set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  const Ctor = value.constructor as new (buffer: ArrayBufferLike) => ArrayBufferView;
  return new Ctor(memory);
}
