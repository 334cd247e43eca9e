/**
 * Main-side helpers shared by the catalog's workloads (used by `build` and `verify`, not by
 * ops): naming ops, tree-shaped reductions, parameter checks and tolerant comparisons.
 * Deterministic data generators that ops also need live in common/random.ts.
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

/** The positive integer parameter `name`, or a RangeError naming the workload and the parameter. */
export function positiveInt(workload: string, params: Record<string, unknown>, name: string): number {
  const v = params[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`${workload}: parameter "${name}" must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}
