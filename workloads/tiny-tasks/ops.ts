/** Ops of the tiny-tasks workload: each does almost nothing, so only scheduling cost is left. */

/** Leaf task: i + 1. */
export function increment(i: number): number {
  return i + 1;
}

/** Reduction task: the sum of its inputs. */
export function add(...values: number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
