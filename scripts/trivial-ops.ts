/**
 * Trivial ops (near-zero work) used to measure the schedulers' per-task overhead
 * (scripts/measure-overhead.ts, scripts/measure-distributed.ts).
 */

/** x + 1 */
export function inc(x: number): number {
  return x + 1;
}

/** a + b */
export function add(a: number, b: number): number {
  return a + b;
}

/** Returns its argument. */
export function identity<T>(x: T): T {
  return x;
}
