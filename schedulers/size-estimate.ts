/**
 * Cheap estimate of how many bytes a value costs to cross a thread or process boundary by
 * structured clone (what `stats()` reports as bytes moved).
 *
 * Exact sizes would need a second serialisation of every value (`v8.serialize`), doubling
 * the cost we are trying to measure. Instead: typed arrays, DataViews and ArrayBuffers count
 * their `byteLength` (they dominate real payloads and are exact); strings count their length
 * (one byte per Latin-1 character, as V8 writes them); numbers 8, booleans/null/undefined 1;
 * plus the key lengths of objects. Containers with more than `SAMPLE` elements are estimated
 * from `SAMPLE` evenly spaced elements, scaled up, so a million-element array of numbers
 * costs 16 visits; a global visit budget bounds deeply nested data. Typed arrays backed by
 * a `SharedArrayBuffer` count 0 when the boundary shares memory (worker threads).
 * Accuracy: exact for typed arrays and flat strings, within a few percent for arrays of
 * numbers (V8 writes small integers in fewer bytes), cheap (O(1) for the common cases).
 */
const SAMPLE = 16;
const BUDGET = 4096;

/** Estimated bytes of `value` on the wire; `sharedIsFree`: SharedArrayBuffer memory is not copied. */
export function estimateSize(value: unknown, sharedIsFree: boolean): number {
  // Fast paths for the values trivial tasks pass around.
  if (typeof value === 'number') return 8;
  if (typeof value === 'string') return value.length;
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint' ? 8 : 1;
  const values: unknown[] = [value];
  const weights: number[] = [1];
  let total = 0;
  let visits = 0;
  while (values.length > 0) {
    const v = values.pop();
    const w = weights.pop()!;
    if (++visits > BUDGET) {
      total += 8 * w;
      continue;
    }
    if (typeof v === 'number' || typeof v === 'bigint') total += 8 * w;
    else if (typeof v === 'string') total += v.length * w;
    else if (typeof v !== 'object' || v === null) total += w;
    else if (ArrayBuffer.isView(v)) total += sharedIsFree && v.buffer instanceof SharedArrayBuffer ? 0 : v.byteLength * w;
    else if (v instanceof ArrayBuffer) total += v.byteLength * w;
    else if (v instanceof SharedArrayBuffer) total += sharedIsFree ? 0 : v.byteLength * w;
    else if (Array.isArray(v)) pushSampled(v, w, values, weights);
    else if (v instanceof Map) {
      const flat: unknown[] = [];
      for (const [k, x] of v) flat.push(k, x);
      pushSampled(flat, w, values, weights);
    } else if (v instanceof Set) pushSampled([...v], w, values, weights);
    else if (v instanceof Date) total += 8 * w;
    else {
      const keys = Object.keys(v);
      let keyBytes = 0;
      for (const k of keys) keyBytes += k.length;
      total += keyBytes * w;
      pushSampled(keys.map((k) => (v as Record<string, unknown>)[k]), w, values, weights);
    }
  }
  return Math.round(total);
}

function pushSampled(items: readonly unknown[], w: number, values: unknown[], weights: number[]): void {
  const n = items.length;
  if (n <= SAMPLE) {
    for (let i = 0; i < n; i++) {
      values.push(items[i]);
      weights.push(w);
    }
    return;
  }
  const scaled = (w * n) / SAMPLE;
  for (let s = 0; s < SAMPLE; s++) {
    values.push(items[Math.floor((s * n) / SAMPLE)]);
    weights.push(scaled);
  }
}
