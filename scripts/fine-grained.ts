/**
 * The fine-grained graph of issue 12: `tasks` independent pure-JS tasks of a chosen duration
 * (`spin` iterations, calibrated on this thread), summed by a 16-way tree reduction. Shared
 * by scripts/measure-local.ts and scripts/measure-metg.ts; `calibrateSpin` says how many
 * iterations take one microsecond here.
 */
import { GraphBuilder, opRef, type Graph, type Ref } from '../schedulers/index.js';
import { spin } from './spin-ops.js';

const OPS = new URL('./spin-ops.js', import.meta.url).href;

/** Iterations of `spin` per microsecond on this thread (best of a few timed runs). */
export function calibrateSpin(): number {
  const n = 2_000_000;
  let best = Infinity;
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    spin(n, r);
    best = Math.min(best, performance.now() - t0);
  }
  return n / (best * 1000);
}

/** `tasks` spin tasks of `iterations` each plus a 16-way reduction; the answer is `expected`. */
export function fineGrainedGraph(tasks: number, iterations: number, prefix = 'fg'): { graph: Graph; key: string; expected: number; taskCount: number } {
  const b = new GraphBuilder();
  let expected = 0;
  let level: Ref[] = [];
  for (let i = 0; i < tasks; i++) {
    level.push(b.task(`${prefix}-spin-${i}`, opRef(OPS, 'spin'), [iterations, i]));
    expected += spin(iterations, i);
  }
  for (let depth = 0; level.length > 1; depth++) {
    const next: Ref[] = [];
    for (let i = 0; i < level.length; i += 16) {
      const group = level.slice(i, i + 16);
      next.push(group.length === 1 ? group[0]! : b.task(`${prefix}-sum-${depth}-${next.length}`, opRef(OPS, 'sum'), group));
    }
    level = next;
  }
  return { graph: b.graph, key: level[0]!.$ref, expected, taskCount: Object.keys(b.graph).length };
}
