/** Graph builders shared by the conformance tests (fixture ops are plain .mjs files). */
import { GraphBuilder, opRef, type Graph, type Ref } from '../../dist/schedulers/index.js';

export const OPS = new URL('../fixtures/ops/basic.mjs', import.meta.url).href;
export const op = (name: string): string => opRef(OPS, name);

/** x0 = 0, x(i) = inc(x(i-1)): the value of `x<depth>` is `depth`. */
export function chain(depth: number): { graph: Graph; last: string } {
  const b = new GraphBuilder();
  let prev: Ref = b.value('x0', 0);
  for (let i = 1; i <= depth; i++) prev = b.task(`x${i}`, op('inc'), [prev]);
  return { graph: b.graph, last: prev.$ref };
}

/** n leaves inc(i), reduced pairwise with add: total = n(n+1)/2. */
export function treeReduction(n: number): { graph: Graph; root: string } {
  const b = new GraphBuilder();
  let level: Ref[] = Array.from({ length: n }, (_, i) => b.task(`leaf-${i}`, op('inc'), [i]));
  let id = 0;
  while (level.length > 1) {
    const next: Ref[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? b.task(`add-${id++}`, op('add'), [level[i], level[i + 1]]) : level[i]!);
    level = next;
  }
  return { graph: b.graph, root: level[0]!.$ref };
}

/** One source, `width` inc tasks on it, one sum of them all. */
export function fanOutIn(width: number): { graph: Graph; sink: string } {
  const b = new GraphBuilder();
  const src = b.task('src', op('identity'), [10]);
  const mids = Array.from({ length: width }, (_, i) => b.task(`mid-${i}`, op('inc'), [src]));
  b.task('sink', op('sum'), mids);
  return { graph: b.graph, sink: 'sink' };
}
