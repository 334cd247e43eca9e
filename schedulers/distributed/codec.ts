/**
 * How values and args become bytes on the wire (client, executor threads).
 *
 * Structured-clone semantics, as the processes scheduler: `v8.serialize` keeps typed arrays,
 * Maps, Sets, Dates, BigInts, undefined, NaN and sparse arrays. But creating a v8 serializer
 * costs microseconds, which dominates for the small plain values most tasks exchange
 * (numbers, short strings, arrays of `$ref`s). Those are written as JSON text instead when a
 * bounded walk proves JSON round-trips them exactly; anything else, or anything large, goes
 * through v8. A v8 serialization starts with byte 0xFF, which UTF-8 JSON never contains, so
 * the bytes say which they are. Dependency-free (a type aside): executor threads import it.
 *
 * A plain typed array (the data of numeric workloads: matmul blocks, tree-reduce arrays) is
 * written raw instead: RAW_TAG (0xFE, also never in UTF-8), its kind, padding to 8 bytes,
 * then its bytes, so encoding is one copy (v8's serializer grows its buffer as it writes: a
 * 16 MB Float64Array took 4.6-4.9 ms, raw 1.4 ms). Decoding views the bytes when the data is
 * aligned for its element type (bytes from a buffer of their own, e.g. a large value received
 * or sent to an executor thread alone) and copies them otherwise, as v8's deserializer does.
 * Either way the result is a plain typed array of the same kind and contents, as a structured
 * clone gives (a SharedArrayBuffer-backed one comes back backed by a plain ArrayBuffer).
 */
import { deserialize, serialize } from 'node:v8';
import { TYPED_ARRAY_KINDS } from '../shared-arrays.js';

/** Values with more nodes than this are left to v8 (they are not the per-task overhead case). */
const JSON_NODE_BUDGET = 256;
/**
 * Values whose strings hold more characters than this are left to v8 too: it copies a
 * one-byte string as it is, while JSON escapes every quote and backslash and parses it back
 * (a 16 MB JSON text as a string value: json-memory's input, 2.2x slower on distributed
 * than the cost model priced it).
 */
const JSON_CHAR_BUDGET = 4096;
const V8_TAG = 0xff;
const RAW_TAG = 0xfe;
/** Bytes before a raw typed array's data: the tag, the kind, padding (8: every element size divides it). */
const RAW_HEADER_BYTES = 8;

/** The raw kinds, by the index written after RAW_TAG (TYPED_ARRAY_KINDS' order, which is append only). */
const RAW_KINDS = TYPED_ARRAY_KINDS;
const RAW_KIND_INDEX = new Map<object, number>(RAW_KINDS.map((kind, i) => [kind.prototype, i]));

/** A typed array of exactly one of the RAW_KINDS (no subclass such as Buffer): its kind index, else -1. */
function rawKind(value: unknown): number {
  if (!ArrayBuffer.isView(value)) return -1;
  return RAW_KIND_INDEX.get(Object.getPrototypeOf(value) as object) ?? -1;
}

/** Writes a raw typed array's header (tag, kind, padding) at the start of `out`. */
function writeRawHeader(out: Uint8Array, kind: number): void {
  out.fill(0, 0, RAW_HEADER_BYTES);
  out[0] = RAW_TAG;
  out[1] = kind;
}

/** The bytes of a typed array's elements (a view: no copy). */
const elementBytes = (view: ArrayBufferView): Uint8Array => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

function encodeRaw(view: ArrayBufferView, kind: number): Uint8Array {
  // allocUnsafe: every byte is written below. Above Buffer's pool size the buffer is its own
  // ArrayBuffer, so an executor thread can transfer it whole.
  const out = Buffer.allocUnsafe(RAW_HEADER_BYTES + view.byteLength);
  writeRawHeader(out, kind);
  out.set(elementBytes(view), RAW_HEADER_BYTES);
  return out;
}

function decodeRaw(bytes: Uint8Array): ArrayBufferView {
  const kind = RAW_KINDS[bytes[1]!];
  const length = bytes.byteLength - RAW_HEADER_BYTES;
  if (!kind || length < 0 || length % kind.BYTES_PER_ELEMENT !== 0) {
    throw new Error(`corrupt value: a raw typed array of kind ${bytes[1]} with ${length} data bytes`);
  }
  const offset = bytes.byteOffset + RAW_HEADER_BYTES;
  const count = length / kind.BYTES_PER_ELEMENT;
  if (offset % kind.BYTES_PER_ELEMENT === 0 && bytes.buffer instanceof ArrayBuffer) return new kind(bytes.buffer, offset, count);
  const copy = new kind(count);
  new Uint8Array(copy.buffer).set(bytes.subarray(RAW_HEADER_BYTES));
  return copy;
}

/** True when JSON.parse(JSON.stringify(value)) is an exact structured clone of `value`. */
function jsonExact(value: unknown): boolean {
  const stack: unknown[] = [value];
  let budget = JSON_NODE_BUDGET;
  let chars = JSON_CHAR_BUDGET;
  while (stack.length) {
    if (--budget < 0) return false;
    const v = stack.pop();
    switch (typeof v) {
      case 'string':
        chars -= v.length;
        if (chars < 0) return false;
        continue;
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(v) || Object.is(v, -0)) return false;
        continue;
      case 'object':
        if (v === null) continue;
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            if (!(i in v)) return false; // a hole: JSON would write null
            stack.push(v[i]);
          }
          continue;
        }
        {
          const proto = Object.getPrototypeOf(v);
          if (proto !== Object.prototype && proto !== null) return false;
          if (Object.getOwnPropertySymbols(v).length) return false;
          for (const key in v) stack.push((v as Record<string, unknown>)[key]);
        }
        continue;
      default:
        return false; // undefined, bigint, function, symbol
    }
  }
  return true;
}

/** Bytes of `value`: raw for a plain typed array, JSON when exact and small, else v8.serialize. Throws DataCloneError for uncloneable values. */
export function encodeValue(value: unknown): Uint8Array {
  const kind = rawKind(value);
  if (kind >= 0) return encodeRaw(value as ArrayBufferView, kind);
  return jsonExact(value) ? Buffer.from(JSON.stringify(value), 'utf8') : serialize(value);
}

/**
 * `encodeValue(value)` as pieces whose concatenation is those bytes, without copying a plain
 * typed array's data: its header, then a view of the array's own memory (which must not
 * change until the pieces are written). For what is sent once and straight to a socket (the
 * client's uploads: matmul quick's inputs are 25 MB a get, copied and collected for nothing).
 */
export function encodeValuePieces(value: unknown): Uint8Array[] {
  const kind = rawKind(value);
  if (kind < 0) return [encodeValue(value)];
  const header = new Uint8Array(RAW_HEADER_BYTES);
  writeRawHeader(header, kind);
  return [header, elementBytes(value as ArrayBufferView)];
}

/** Bytes in one buffer, or in pieces to be read one after the other (`encodeValuePieces`). */
export type Pieces = Uint8Array | readonly Uint8Array[];

/** The total length of `pieces`. */
export const piecesLength = (pieces: Pieces): number =>
  pieces instanceof Uint8Array ? pieces.byteLength : pieces.reduce((n, piece) => n + piece.byteLength, 0);

/** The bytes of `pieces` in one buffer (a copy, unless there is one piece). */
export const joinPieces = (pieces: readonly Uint8Array[]): Uint8Array => (pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));

/**
 * The value back from `encodeValue`'s bytes. A raw typed array may be a view of `bytes`: the
 * caller gives the bytes up (does not write them afterwards).
 */
export function decodeValue(bytes: Uint8Array): unknown {
  if (bytes[0] === RAW_TAG) return decodeRaw(bytes);
  if (bytes[0] === V8_TAG) return deserialize(bytes);
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}
