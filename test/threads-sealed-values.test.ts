/**
 * Sealed values (schedulers/threads/sealed-values.ts): which results a worker seals, that a
 * sealed value leaves nothing readable behind (its buffers are detached on the sealing side),
 * and that the consumer opens it intact, once.
 */
import { MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { openSealed, sealedInputs, sealValues, SEAL_MIN_BYTES } from '../dist/schedulers/threads/sealed-values.js';

const big = (fill: number): Float64Array => new Float64Array(SEAL_MIN_BYTES / 8).fill(fill);

describe('sealed values', { timeout: 10_000 }, () => {
  it('seals only large values the engine allows, and opens them intact', () => {
    const allowed = big(1);
    const notAllowed = big(2);
    const small = new Float64Array(16).fill(3);
    const values: unknown[] = [allowed, notAllowed, small, 7];
    const ports = sealValues(values, Uint8Array.of(1, 0, 1, 1));
    expect(ports).toHaveLength(1);
    expect(values[0]).toBeInstanceOf(MessagePort);
    expect(values.slice(1)).toEqual([notAllowed, small, 7]);
    // The sealing side can no longer read what it sealed: its buffer moved into the message.
    expect(allowed.byteLength).toBe(0);
    expect(sealedInputs(values)).toEqual(ports);
    openSealed(values);
    expect(values[0]).toBeInstanceOf(Float64Array);
    expect((values[0] as Float64Array).length).toBe(SEAL_MIN_BYTES / 8);
    expect((values[0] as Float64Array)[5]).toBe(1);
    expect(sealedInputs(values)).toBeUndefined();
  });

  it('never seals a value whose memory another value of the result also views', () => {
    const shared = big(4);
    const values: unknown[] = [shared, { again: shared }, big(5), [shared.subarray(0, 8)]];
    expect(sealValues(values, Uint8Array.of(1, 1, 0, 1))).toHaveLength(0);
    expect(shared.byteLength).toBe(SEAL_MIN_BYTES);
    // A part of a buffer seen elsewhere keeps the whole buffer unsealed too; an unrelated one still seals.
    const whole = big(6);
    const values2: unknown[] = [whole, new Uint8Array(whole.buffer, 0, 8), big(7)];
    expect(sealValues(values2, Uint8Array.of(1, 1, 1))).toHaveLength(1);
    expect(values2[0]).toBe(whole);
    expect(whole.byteLength).toBe(SEAL_MIN_BYTES);
    openSealed(values2);
    expect((values2[2] as Float64Array)[0]).toBe(7);
  });

  it('seals values in shared memory too, without detaching them: the consumer sees the same memory', () => {
    const shared = new Float64Array(new SharedArrayBuffer(SEAL_MIN_BYTES)).fill(8);
    const inList = new Float64Array(new SharedArrayBuffer(SEAL_MIN_BYTES)).fill(9);
    const smallShared = new Float64Array(new SharedArrayBuffer(64)).fill(1);
    const values: unknown[] = [shared, [inList], smallShared, shared];
    // The last value views the first's memory: with shared memory nothing is detached, so both may go.
    expect(sealValues(values, Uint8Array.of(1, 1, 1, 0))).toHaveLength(2);
    expect(values[0]).toBeInstanceOf(MessagePort);
    expect(values[1]).toBeInstanceOf(MessagePort);
    expect(values[2]).toBe(smallShared);
    expect(values[3]).toBe(shared);
    expect(shared.length).toBe(SEAL_MIN_BYTES / 8);
    openSealed(values);
    const opened = values[0] as Float64Array;
    expect(opened).not.toBe(shared);
    expect(opened.buffer).toBeInstanceOf(SharedArrayBuffer);
    opened[3] = 42; // one memory: a write through the opened view shows through the original
    expect(shared[3]).toBe(42);
    expect((values[1] as Float64Array[])[0]![0]).toBe(9);
  });

  it('leaves an uncloneable value as it is', () => {
    const values: unknown[] = [{ data: big(1), fn: () => 1 }];
    expect(sealValues(values, Uint8Array.of(1))).toHaveLength(0);
    expect((values[0] as { data: Float64Array }).data.byteLength).toBe(SEAL_MIN_BYTES);
  });

  it('refuses to open a sealed value twice', () => {
    const values: unknown[] = [big(1)];
    const [port] = sealValues(values, Uint8Array.of(1));
    openSealed(values);
    expect(() => openSealed([port])).toThrow(/sealed input arrived empty/);
  });
});
