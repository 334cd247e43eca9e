/**
 * Trivial ops (near-zero work) used to measure the engine's per-task overhead
 * (harness/measure-overhead.ts) and by tests that need compiled ops.
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
