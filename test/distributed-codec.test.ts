// The wire codec of the distributed scheduler: raw bytes for plain typed arrays, JSON for
// small plain data, v8 (structured clone) for everything else, and always an exact
// structured-clone round trip.
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue, encodeValuePieces, joinPieces, piecesLength } from '../dist/schedulers/distributed/codec.js';

const V8 = 0xff;
const RAW = 0xfe;
const roundTrip = (value: unknown) => decodeValue(encodeValue(value));

describe('distributed codec', () => {
  it('writes small plain data as JSON and round-trips it', () => {
    for (const value of [0, 1.5, -3, 'text', '', true, null, [1, 'a', [null]], { a: 1, b: [{ $ref: 'k' }] }, 'lone \ud800 surrogate']) {
      const bytes = encodeValue(value);
      expect(bytes[0]).not.toBe(V8);
      expect(decodeValue(bytes)).toEqual(value);
    }
  });

  it('leaves long strings to v8, which copies them instead of escaping and parsing them', () => {
    const text = JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ i, s: 'quoted "text" \\ here' })));
    for (const value of [text, { doc: text }, ['short', text]]) {
      const bytes = encodeValue(value);
      expect(bytes[0]).toBe(V8);
      expect(decodeValue(bytes)).toEqual(value);
    }
    expect(encodeValue('x'.repeat(4096))[0]).not.toBe(V8);
    expect(encodeValue('x'.repeat(4097))[0]).toBe(V8);
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
      [new Float64Array([1, 2])],
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
    expect(encodeValue(Buffer.from('a Buffer is a subclass of Uint8Array: v8 writes it'))[0]).toBe(V8);
    expect(1 in (roundTrip(sparse) as unknown[])).toBe(false);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
  });

  it('writes plain typed arrays raw: the same kind and contents back, as a structured clone', () => {
    const backing = new Float64Array([9, 1.5, -2, NaN, 7]);
    const shared = new Float64Array(new SharedArrayBuffer(4 * 8)).fill(0.25);
    const cases: ArrayBufferView[] = [
      new Int8Array([-1, 2]),
      new Uint8Array([0, 255, 3]),
      new Uint8ClampedArray([5]),
      new Int16Array([-300, 300]),
      new Uint16Array([65535]),
      new Int32Array([-5, 1 << 30]),
      new Uint32Array([2 ** 32 - 1]),
      new Float32Array([0.5, -0]),
      new Float64Array([Math.PI, -0, Infinity]),
      new BigInt64Array([-(2n ** 63n)]),
      new BigUint64Array([2n ** 64n - 1n]),
      new Float64Array(0),
      backing.subarray(1, 4), // a view: only its elements travel
      shared, // SharedArrayBuffer memory comes back in a plain buffer, as from structuredClone
    ];
    for (const value of cases) {
      const bytes = encodeValue(value);
      expect(bytes[0]).toBe(RAW);
      const back = decodeValue(bytes) as ArrayBufferView;
      expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(value));
      expect(back).toStrictEqual(structuredClone(value));
      expect(back.buffer).toBeInstanceOf(ArrayBuffer);
    }
    expect(decodeValue(encodeValue(backing.subarray(1, 4)))).toStrictEqual(new Float64Array([1.5, -2, NaN]));
  });

  it('gives the same bytes in pieces, a plain typed array\'s data as a view of its own memory (uploads)', () => {
    const shared = new Float64Array(new SharedArrayBuffer(40 * 8)).map((_, i) => i / 3);
    const view = shared.subarray(3, 31); // at a byte offset, in shared memory
    for (const value of [view, new Int16Array([-300, 300]), new Float64Array(0)]) {
      const pieces = encodeValuePieces(value);
      expect(pieces).toHaveLength(2);
      expect(pieces[1]!.buffer).toBe(value.buffer); // no copy of the data
      expect([pieces[1]!.byteOffset, pieces[1]!.byteLength]).toEqual([value.byteOffset, value.byteLength]);
      expect(piecesLength(pieces)).toBe(encodeValue(value).byteLength);
      expect(Buffer.from(joinPieces(pieces)).equals(Buffer.from(encodeValue(value)))).toBe(true);
    }
    expect((decodeValue(joinPieces(encodeValuePieces(view))) as Float64Array)).toStrictEqual(structuredClone(view));
    for (const value of [1250025000, 'text', new Map([[1, 2]]), Buffer.from('a Buffer')]) {
      const pieces = encodeValuePieces(value);
      expect(pieces).toHaveLength(1);
      expect(Buffer.from(pieces[0]!).equals(Buffer.from(encodeValue(value)))).toBe(true);
    }
  });

  it('decodes a raw array in place when its data is aligned, and copies it when not', () => {
    const bytes = encodeValue(new Float64Array([1, 2, 3]));
    const aligned = new Uint8Array(new ArrayBuffer(bytes.byteLength + 8), 8);
    aligned.set(bytes);
    const view = decodeValue(aligned) as Float64Array;
    expect(view.buffer).toBe(aligned.buffer); // no copy: the caller gave the bytes up
    expect([...view]).toEqual([1, 2, 3]);
    const unaligned = new Uint8Array(new ArrayBuffer(bytes.byteLength + 3), 3);
    unaligned.set(bytes);
    const copy = decodeValue(unaligned) as Float64Array;
    expect(copy.buffer).not.toBe(unaligned.buffer);
    expect([...copy]).toEqual([1, 2, 3]);
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
    shared.set(bytes);
    expect((decodeValue(shared) as Float64Array).buffer).toBeInstanceOf(ArrayBuffer); // never a view of shared memory
  });

  it('says a raw value is corrupt rather than decoding garbage', () => {
    const bytes = encodeValue(new Float64Array([1, 2]));
    expect(() => decodeValue(bytes.subarray(0, bytes.byteLength - 3))).toThrow(/corrupt value: a raw typed array of kind 8 with 13 data bytes/);
    const unknownKind = Uint8Array.from(bytes);
    unknownKind[1] = 200;
    expect(() => decodeValue(unknownKind)).toThrow(/corrupt value: a raw typed array of kind 200/);
  });

  it('refuses values structured clone refuses', () => {
    expect(() => encodeValue({ f: () => 1 })).toThrow(/could not be cloned/);
  });
});
