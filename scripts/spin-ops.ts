/**
 * Ops of calibrated duration for the fine-grained measurements (scripts/fine-grained.ts,
 * scripts/measure-metg.ts): pure JS work with no allocation, so a task costs what its
 * iteration count says on any thread.
 */

/** Run `iterations` steps of a linear congruential generator from `seed`; returns the state (so the loop cannot be dropped). */
export function spin(iterations: number, seed: number): number {
  let x = seed | 0;
  for (let i = 0; i < iterations; i++) x = (Math.imul(x, 1664525) + 1013904223) | 0;
  return x & 1;
}

/** Sum of the inputs. */
export function sum(...values: number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** Busy-wait `ms` milliseconds of wall time (blocks the thread, as a CPU-bound task); returns `value`. */
export function busyWait(ms: number, value: number): number {
  const end = performance.now() + ms;
  while (performance.now() < end);
  return value;
}
