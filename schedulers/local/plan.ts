/**
 * From a graph and the requested keys to the engine's plan: validate, cull, order, fuse,
 * then number the scheduling units by priority so the engine works on small integers.
 *
 * A unit ("entry") is either a literal value or a fused chain of tasks (usually a chain of
 * one). Entry `i` has priority `i`: lower runs first. The entry's value is the value of its
 * last task; the values inside a chain are consumed inside it and never leave the worker.
 */
import { orderIndices, validateGraph } from '../graph.js';
import { cullIndices, fuseIndices } from '../optimize.js';
import type { Graph, Key } from '../types.js';
import type { BatchTask } from './protocol.js';

/** What the engine runs. Arrays are indexed by entry (= priority rank). */
export interface Plan {
  /** Key whose value entry i produces. */
  keys: Key[];
  /** Tasks of entry i, dependencies first; `undefined` for a literal value. */
  tasks: Array<BatchTask[] | undefined>;
  /** Value of a literal entry (undefined for task entries). */
  literals: unknown[];
  /** Entries whose values entry i needs. */
  deps: number[][];
  /** Entries that need entry i's value. */
  dependents: number[][];
  /** Entry of each requested key, in the order requested. */
  outputs: number[];
  /** Number of original tasks (a chain counts as its tasks). */
  taskCount: number;
  /** Distinct ops of the graph's tasks; a task's `op` is an index into this list. */
  ops: string[];
}

/** Build the plan; `optimize: false` skips fusing (each task its own unit; used by tests to show fusing changes nothing). */
export function buildPlan(graph: Graph, keys: readonly Key[], options: { optimize?: boolean } = {}): Plan {
  const optimize = options.optimize ?? true;
  const index = validateGraph(graph, keys);
  const { nodes, deps: nodeDeps } = index;
  const outputs = keys.map((k) => index.indexOf.get(k)!);
  const needed = cullIndices(index, outputs);
  const priority = orderIndices(index, outputs);
  const links = optimize ? fuseIndices(index, needed, outputs) : undefined;

  // One entry per unit, named by its last node, numbered by that node's priority (dense: 0..needed-1).
  let neededCount = 0;
  for (let i = 0; i < needed.length; i++) neededCount += needed[i]!;
  const lastByPriority = new Int32Array(neededCount).fill(-1);
  for (let i = 0; i < nodes.length; i++) {
    if (needed[i] && !(links && links.next[i]! >= 0)) lastByPriority[priority[i]!] = i;
  }
  const lastNodes = lastByPriority.filter((i) => i >= 0);
  const n = lastNodes.length;
  const entryOf = new Int32Array(nodes.length).fill(-1);
  for (let e = 0; e < n; e++) {
    for (let node = lastNodes[e]!; node >= 0; node = links ? links.prev[node]! : -1) entryOf[node] = e;
  }

  const plan: Plan = {
    keys: new Array<Key>(n),
    tasks: new Array<BatchTask[] | undefined>(n),
    literals: new Array<unknown>(n),
    deps: new Array<number[]>(n),
    dependents: new Array<number[]>(n),
    outputs: outputs.map((o) => entryOf[o]!),
    taskCount: 0,
    ops: index.ops,
  };
  for (let e = 0; e < n; e++) {
    const last = lastNodes[e]!;
    plan.keys[e] = index.keys[last]!;
    if (!index.isTaskNode[last]) {
      plan.literals[e] = (nodes[last] as { value: unknown }).value;
      plan.deps[e] = NO_ENTRIES;
      continue;
    }
    const node = nodes[last] as { op: string; args: unknown[] };
    let deps: number[];
    let tasks: BatchTask[];
    if (!links || links.prev[last]! < 0) {
      // A single task: its dependencies are unique already; renumber them in place (the index is ours).
      deps = nodeDeps[last]!;
      for (let k = 0; k < deps.length; k++) deps[k] = entryOf[deps[k]!]!;
      tasks = [{ key: plan.keys[e]!, op: index.opOf[last]!, args: node.args }];
    } else {
      // A fused chain: its links' inputs may repeat (a shared literal) or come from the chain itself.
      const chain: number[] = [];
      for (let k = last; k >= 0; k = links.prev[k]!) chain.push(k);
      chain.reverse();
      deps = [];
      const seen = new Set<number>();
      tasks = chain.map((c) => {
        const t = nodes[c] as { op: string; args: unknown[] };
        for (const d of nodeDeps[c]!) {
          const de = entryOf[d]!;
          if (de === e || seen.has(de)) continue;
          seen.add(de);
          deps.push(de);
        }
        return { key: index.keys[c]!, op: index.opOf[c]!, args: t.args };
      });
    }
    plan.tasks[e] = tasks;
    plan.taskCount += tasks.length;
    plan.deps[e] = deps;
    for (const d of deps) (plan.dependents[d] ??= []).push(e);
  }
  for (let e = 0; e < n; e++) plan.dependents[e] ??= NO_ENTRIES;
  return plan;
}

/** Shared empty list for entries without dependencies or dependents (never mutated). */
const NO_ENTRIES: number[] = [];
