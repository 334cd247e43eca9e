/**
 * How values and args become bytes on the wire (client, executor threads).
 *
 * Structured-clone semantics, as the processes scheduler: `v8.serialize` keeps typed arrays,
 * Maps, Sets, Dates, BigInts, undefined, NaN and sparse arrays. But creating a v8 serializer
 * costs microseconds, which dominates for the small plain values most tasks exchange
 * (numbers, short strings, arrays of `$ref`s). Those are written as JSON text instead when a
 * bounded walk proves JSON round-trips them exactly; anything else, or anything large, goes
 * through v8. A v8 serialization starts with byte 0xFF, which UTF-8 JSON never contains, so
 * the bytes say which they are. Dependency-free: executor threads import it.
 */
import { deserialize, serialize } from 'node:v8';

/** Values with more nodes than this are left to v8 (they are not the per-task overhead case). */
const JSON_NODE_BUDGET = 256;
const V8_TAG = 0xff;

/** True when JSON.parse(JSON.stringify(value)) is an exact structured clone of `value`. */
function jsonExact(value: unknown): boolean {
  const stack: unknown[] = [value];
  let budget = JSON_NODE_BUDGET;
  while (stack.length) {
    if (--budget < 0) return false;
    const v = stack.pop();
    switch (typeof v) {
      case 'string':
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

/** Bytes of `value`: JSON when exact and small, else v8.serialize. Throws DataCloneError for uncloneable values. */
export function encodeValue(value: unknown): Uint8Array {
  return jsonExact(value) ? Buffer.from(JSON.stringify(value), 'utf8') : serialize(value);
}

/** The value back from `encodeValue`'s bytes. */
export function decodeValue(bytes: Uint8Array): unknown {
  if (bytes[0] === V8_TAG) return deserialize(bytes);
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}
