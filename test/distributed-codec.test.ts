// The wire codec of the distributed scheduler: JSON for small plain data, v8 (structured
// clone) for everything else, and always an exact structured-clone round trip.
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../dist/schedulers/distributed/codec.js';

const V8 = 0xff;
const roundTrip = (value: unknown) => decodeValue(encodeValue(value));

describe('distributed codec', () => {
  it('writes small plain data as JSON and round-trips it', () => {
    for (const value of [0, 1.5, -3, 'text', '', true, null, [1, 'a', [null]], { a: 1, b: [{ $ref: 'k' }] }, 'lone \ud800 surrogate']) {
      const bytes = encodeValue(value);
      expect(bytes[0]).not.toBe(V8);
      expect(decodeValue(bytes)).toEqual(value);
    }
  });

  it('uses v8 whenever JSON would not be an exact structured clone', () => {
    const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const cases: unknown[] = [
      undefined,
      -0,
      NaN,
      Infinity,
      10n,
      [1, undefined],
      sparse,
      { a: undefined },
      new Map([[1, 2]]),
      new Set(['x']),
      new Date(5),
      new Float64Array([1, 2]),
      new Uint8Array(3),
      Object.create(null, { x: { value: 1, enumerable: true } }),
      Array.from({ length: 1000 }, (_, i) => i),
    ];
    for (const value of cases) {
      const bytes = encodeValue(value);
      if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === null) {
        // Null-prototype objects are plain data: either encoding must round-trip the fields.
        expect({ ...(decodeValue(bytes) as object) }).toEqual({ x: 1 });
        continue;
      }
      expect(bytes[0]).toBe(V8);
      expect(roundTrip(value)).toStrictEqual(structuredClone(value));
    }
    expect(1 in (roundTrip(sparse) as unknown[])).toBe(false);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
  });

  it('refuses values structured clone refuses', () => {
    expect(() => encodeValue({ f: () => 1 })).toThrow(/could not be cloned/);
  });
});
