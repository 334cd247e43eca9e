/**
 * Ops of the calibration's synthetic workload (loaded by path in every worker). `spin` is
 * busy compute measured in iterations of a dependent floating-point loop, so a contended
 * core slows it as it slows real work (a wait on the clock would not); the sweep converts
 * durations to iterations with the rate it measures on the main thread. `produce` makes a
 * value of a given kind and size (`text`: a string of JSON, the string a Node program most
 * often moves, quotes and all), `consume` reads its inputs, `reduce` gathers many.
 */
import { sharedFloat64Array } from '../../schedulers/shared-arrays.js';

/** Bytes one row of an `object` value counts in the size estimate: keys "i" and "s" (2), a number (8), a 24-character string. */
export const OBJECT_ROW_BYTES = 34;
const ROW_TEXT = 'schedlab-calibration-row';

export function spin(iterations: number): number {
  let x = 1;
  for (let i = 0; i < iterations; i++) x = x * 1.0000001 + 1e-9;
  return x > 0 ? 0 : 1;
}

export function produce(kind: string, bytes: number, iterations: number): unknown {
  spin(iterations);
  switch (kind) {
    case 'plain':
      return new Float64Array(Math.max(1, Math.round(bytes / 8)));
    case 'shared':
      return sharedFloat64Array(Math.max(1, Math.round(bytes / 8)));
    case 'object': {
      const rows = new Array<{ i: number; s: string }>(Math.max(1, Math.round(bytes / OBJECT_ROW_BYTES)));
      for (let i = 0; i < rows.length; i++) rows[i] = { i, s: ROW_TEXT };
      return rows;
    }
    case 'text': {
      const rows = produce('object', bytes, 0) as unknown[];
      return JSON.stringify(rows).slice(0, Math.max(1, Math.round(bytes)));
    }
    default:
      throw new Error(`produce: unknown kind "${kind}" (plain, shared, object or text)`);
  }
}

export function consume(iterations: number, ...inputs: unknown[]): number {
  spin(iterations);
  return inputs.length;
}

export function reduce(...inputs: unknown[]): number {
  return inputs.length;
}
