/**
 * Helpers shared by the catalog's workloads: naming ops, deterministic pseudo-random data,
 * tree-shaped reductions and tolerant comparisons. Kept free of Node-only imports so that
 * op modules running in any worker may import it.
 */
import { opRef } from '../schedulers/graph.js';
import type { GraphBuilder } from '../schedulers/graph.js';
import type { Ref } from '../schedulers/types.js';
import { VerificationError } from './types.js';

/**
 * `opNamer<typeof ops>(url)` returns `(name) => "<url>#<name>"`, checked at compile time
 * against the op module's exports, so a renamed op is a type error instead of UNKNOWN_OP.
 */
export function opNamer<Ops>(moduleUrl: string): (name: keyof Ops & string) => string {
  return (name) => opRef(moduleUrl, name);
}

/** mulberry32: a small, fast, deterministic 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit hash of three integers (murmur3 finaliser): position-addressable random data. */
export function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c + 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Reduce `items` to one Ref with `op`, combining at most `fanIn` at a time, level by level
 * (a balanced tree: depth log_fanIn(n), so parallel schedulers can combine in parallel).
 * Task keys are `${prefix}-${level}-${index}`.
 */
export function treeReduce(b: GraphBuilder, items: Ref[], op: string, fanIn: number, prefix: string): Ref {
  if (items.length === 0) throw new RangeError(`treeReduce ${prefix}: nothing to reduce`);
  if (fanIn < 2) throw new RangeError(`treeReduce ${prefix}: fanIn must be >= 2, got ${fanIn}`);
  let level = items;
  for (let depth = 0; level.length > 1; depth++) {
    const next: Ref[] = [];
    for (let i = 0; i < level.length; i += fanIn) {
      const group = level.slice(i, i + fanIn);
      next.push(group.length === 1 ? group[0]! : b.task(`${prefix}-${depth}-${next.length}`, op, group));
    }
    level = next;
  }
  return level[0]!;
}

/** True when `actual` equals `expected` within a relative tolerance (scaled by `scale` when given). */
export function closeTo(actual: number, expected: number, relTol: number, scale = Math.abs(expected)): boolean {
  return Math.abs(actual - expected) <= relTol * Math.max(scale, 1e-300) || actual === expected;
}

/** Throw a VerificationError for `workload` unless `condition` holds. */
export function check(workload: string, condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new VerificationError(workload, message());
}

/** Throw unless `results` holds exactly `expected` values. */
export function checkResultCount(workload: string, results: unknown[], expected: number): void {
  check(workload, Array.isArray(results) && results.length === expected, () =>
    `expected ${expected} result value(s), got ${Array.isArray(results) ? results.length : typeof results}`);
}

/** A positive integer parameter, or a VerificationError-free RangeError naming it. */
export function positiveInt(workload: string, params: Record<string, unknown>, name: string): number {
  const v = params[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`${workload}: parameter "${name}" must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}
