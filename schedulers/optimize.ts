/**
 * Graph optimisations applied by the local engine before it runs anything (as Dask's
 * `cull` and `fuse`), so the same graph costs less on schedulers with a per-task cost.
 *
 * - cull keeps only what the requested keys need: unrelated parts of a big graph are never
 *   imported, ordered or run.
 * - fuse finds linear chains `a -> b -> c` where each link's value is needed by the next
 *   link alone (exactly one dependent, which has no other task input) and is not requested.
 *   The engine schedules a chain as one unit: it runs on one worker in one submission, and
 *   the links' intermediate values never cross a thread or process boundary. The graph is
 *   not rewritten (ops stay `"<module>#<export>"`): a chain is a list of the original
 *   tasks, so events and stats still name every task.
 *
 * The engine uses the numbered forms (`cullIndices`, `fuseIndices`) on the index
 * `validateGraph` built; `cull` and `fuseLinearChains` are the same on plain keys.
 */
import { isTask, taskDependencies, validateGraph, type GraphIndex } from './graph.js';
import type { Graph, Key } from './types.js';

/** Mark (1) every node that `outputs` need, walking dependencies iteratively. */
export function cullIndices(index: GraphIndex, outputs: readonly number[]): Uint8Array {
  const needed = new Uint8Array(index.deps.length);
  const stack = [...outputs];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (needed[node]) continue;
    needed[node] = 1;
    for (const d of index.deps[node]!) if (!needed[d]) stack.push(d);
  }
  return needed;
}

/** The part of `graph` that `keys` need (a new plain graph sharing the nodes). */
export function cull(graph: Graph, keys: readonly Key[]): Graph {
  const index = validateGraph(graph, keys);
  const needed = cullIndices(index, keys.map((k) => index.indexOf.get(k)!));
  const culled: Graph = {};
  for (let i = 0; i < needed.length; i++) if (needed[i]) culled[index.keys[i]!] = index.nodes[i]!;
  return culled;
}

/**
 * Keys of the tasks (not literals) that `keys` need, without validating anything: for
 * progress counts (dashboard, progress bar), which must not cost a second validation. Keys
 * missing from the graph are skipped; `get` reports them.
 */
export function neededTasks(graph: Graph, keys: readonly Key[]): Key[] {
  const seen = new Set<Key>();
  const tasks: Key[] = [];
  const stack = [...keys];
  while (stack.length > 0) {
    const key = stack.pop()!;
    if (seen.has(key)) continue;
    seen.add(key);
    const node = Object.hasOwn(graph, key) ? graph[key] : undefined;
    if (!isTask(node)) continue;
    tasks.push(key);
    for (const d of taskDependencies(node)) if (!seen.has(d)) stack.push(d);
  }
  return tasks;
}

/** Links of the fused chains: `next[i]`/`prev[i]` is the task fused after/before task i, or -1. */
export interface ChainLinks {
  next: Int32Array;
  prev: Int32Array;
}

/**
 * Maximal linear chains among the needed tasks, as links (a task with neither link is a
 * chain of one). A task is fused into its dependent when it is not an output, has exactly
 * one dependent, and is that dependent's only task input (literal-value inputs do not
 * count: they ship with the chain).
 */
export function fuseIndices(index: GraphIndex, needed: Uint8Array, outputs: readonly number[]): ChainLinks {
  const { deps } = index;
  const n = deps.length;
  const isTaskNode = new Uint8Array(n);
  for (let i = 0; i < n; i++) isTaskNode[i] = needed[i]! & index.isTaskNode[i]!;
  const dependentCount = new Int32Array(n);
  const onlyTaskInput = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    if (!isTaskNode[i]) continue;
    let inputs = 0;
    for (const d of deps[i]!) {
      if (!isTaskNode[d]) continue;
      inputs++;
      dependentCount[d]!++;
      onlyTaskInput[i] = d;
    }
    if (inputs !== 1) onlyTaskInput[i] = -1;
  }
  const isOutput = new Uint8Array(n);
  for (const o of outputs) isOutput[o] = 1;
  const next = new Int32Array(n).fill(-1);
  const prev = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const p = onlyTaskInput[i]!;
    if (p < 0 || isOutput[p] || dependentCount[p] !== 1) continue;
    next[p] = i;
    prev[i] = p;
  }
  return { next, prev };
}

/** The linear chains of the tasks `keys` need, as keys, each listed dependencies first (see `fuseIndices`). */
export function fuseLinearChains(graph: Graph, keys: readonly Key[]): Key[][] {
  const index = validateGraph(graph, keys);
  const outputs = keys.map((k) => index.indexOf.get(k)!);
  const needed = cullIndices(index, outputs);
  const { next, prev } = fuseIndices(index, needed, outputs);
  const chains: Key[][] = [];
  for (let i = 0; i < needed.length; i++) {
    if (!needed[i] || !index.isTaskNode[i] || prev[i]! >= 0) continue;
    const chain: Key[] = [];
    for (let k = i; k >= 0; k = next[k]!) chain.push(index.keys[k]!);
    chains.push(chain);
  }
  return chains;
}
