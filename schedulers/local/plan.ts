/**
 * From a graph and the requested keys to the engine's plan: validate, cull, order, fuse,
 * then number the scheduling units by priority so the engine works on small integers.
 *
 * A unit ("entry") is either a literal value or a fused chain of tasks (usually a chain of
 * one). Entry `i` has priority `i`: lower runs first. The entry's value is the value of its
 * last task; the values inside a chain are consumed inside it and never leave the worker.
 *
 * The tasks are stored flat, in entry order (a chain's tasks dependencies first), with their
 * top-level arguments already classified (`argCode`): the engine encodes a batch (protocol.ts)
 * by renumbering these codes, with no key lookup and no object per task. A fresh graph per
 * `get` is the common case, so the plan allocates per array, not per task: dependencies and
 * dependents are stored flat too (one Int32Array of entries and one of offsets each, not
 * an array per entry), which keeps a 100,000-task plan out of the garbage collector's way.
 */
import { orderIndices, validateGraph } from '../graph.js';
import { cullIndices, fuseIndices } from '../optimize.js';
import type { Graph, Key } from '../types.js';

/** `argCode` of an argument that is the value of the k-th task (from 0) of its own chain: `CHAIN_ARG - k`. */
export const CHAIN_ARG = -3;

/** What the engine runs. Entry arrays are indexed by entry (= priority rank), task arrays by plan task number. */
export interface Plan {
  /** Key whose value entry i produces. */
  keys: Key[];
  /** 1 where entry i is a task unit (a chain), 0 for a literal value. */
  isTask: Uint8Array;
  /** Value of a literal entry (undefined for task entries). */
  literals: unknown[];
  /** Entries whose values entry i needs: `depList[depStart[i] .. depStart[i + 1])`. */
  depStart: Int32Array;
  depList: Int32Array;
  /** Entries that need entry i's value (ascending): `dependentList[dependentStart[i] .. dependentStart[i + 1])`. */
  dependentStart: Int32Array;
  dependentList: Int32Array;
  /** Entry of each requested key, in the order requested. */
  outputs: number[];
  /** Number of original tasks (a chain counts as its tasks). */
  taskCount: number;
  /** Distinct ops of the graph's tasks; `taskOp` indexes into this list. */
  ops: string[];
  /** Entry i's tasks are `taskStart[i] .. taskStart[i + 1] - 1`, dependencies first (none for a literal). */
  taskStart: Int32Array;
  /** Key, op and (unresolved) args of every task. */
  taskKey: Key[];
  taskOp: Int32Array;
  taskArgs: unknown[][];
  /**
   * Task t's top-level arguments are `argCode[argStart[t] .. argStart[t + 1])`: an entry
   * number (a `$ref` to another unit's value), `ARG_LITERAL` or `ARG_NESTED` (graph.ts), or
   * `CHAIN_ARG - k` (the value of the k-th task of the same chain).
   */
  argStart: Int32Array;
  argCode: Int32Array;
}

/** Build the plan; `optimize: false` skips fusing (each task its own unit; used by tests to show fusing changes nothing). */
export function buildPlan(graph: Graph, keys: readonly Key[], options: { optimize?: boolean } = {}): Plan {
  const optimize = options.optimize ?? true;
  const index = validateGraph(graph, keys);
  const { nodes, deps: nodeDeps, argStart: nodeArgStart, argNode } = index;
  const outputs = keys.map((k) => index.indexOf.get(k)!);
  const needed = cullIndices(index, outputs);
  const priority = orderIndices(index, outputs);
  const links = optimize ? fuseIndices(index, needed, outputs) : undefined;

  // One entry per unit, named by its last node, numbered by that node's priority (dense: 0..needed-1).
  let neededCount = 0;
  let taskTotal = 0;
  let argTotal = 0;
  let depTotal = 0; // an upper bound: a chain's inputs from itself or repeated are dropped
  const lastByPriority = new Int32Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    if (!needed[i]) continue;
    neededCount++;
    if (index.isTaskNode[i]) {
      taskTotal++;
      argTotal += nodeArgStart[i + 1]! - nodeArgStart[i]!;
      depTotal += nodeDeps[i]!.length;
    }
    lastByPriority[priority[i]!] = links && links.next[i]! >= 0 ? -1 : i;
  }
  let n = 0;
  for (let p = 0; p < neededCount; p++) if (lastByPriority[p]! >= 0) lastByPriority[n++] = lastByPriority[p]!;
  const lastNodes = lastByPriority.subarray(0, n);
  // entryOf: node -> its entry; posOf: node -> its position in its chain.
  const entryOf = new Int32Array(nodes.length).fill(-1);
  const posOf = links ? new Int32Array(nodes.length) : undefined;
  for (let e = 0; e < n; e++) {
    for (let node = lastNodes[e]!; node >= 0; node = links ? links.prev[node]! : -1) entryOf[node] = e;
  }

  const plan: Plan = {
    keys: new Array<Key>(n),
    isTask: new Uint8Array(n),
    literals: new Array<unknown>(n),
    depStart: new Int32Array(n + 1),
    depList: new Int32Array(depTotal),
    dependentStart: new Int32Array(n + 1),
    dependentList: new Int32Array(0),
    outputs: outputs.map((o) => entryOf[o]!),
    taskCount: taskTotal,
    ops: index.ops,
    taskStart: new Int32Array(n + 1),
    taskKey: new Array<Key>(taskTotal),
    taskOp: new Int32Array(taskTotal),
    taskArgs: new Array<unknown[]>(taskTotal),
    argStart: new Int32Array(taskTotal + 1),
    argCode: new Int32Array(argTotal),
  };
  let t = 0;
  let a = 0;
  // The nodes of the entry being filled, dependencies first (a buffer, not an array per entry).
  const chain = new Int32Array(links ? nodes.length : 1);
  // The chain entry that last listed each entry as an input (dedupes a chain's inputs).
  const listedBy = links ? new Int32Array(n).fill(-1) : undefined;
  const { depStart, depList } = plan;
  let dl = 0;
  for (let e = 0; e < n; e++) {
    plan.taskStart[e] = t;
    depStart[e] = dl;
    const last = lastNodes[e]!;
    plan.keys[e] = index.keys[last]!;
    if (!index.isTaskNode[last]) {
      plan.literals[e] = (nodes[last] as { value: unknown }).value;
      continue;
    }
    plan.isTask[e] = 1;
    let length = 0;
    if (!links || links.prev[last]! < 0) {
      // A single task: its dependencies are unique already.
      for (const d of nodeDeps[last]!) depList[dl++] = entryOf[d]!;
      chain[length++] = last;
    } else {
      // A fused chain: its links' inputs may repeat (a shared literal) or come from the chain itself.
      for (let k = last; k >= 0; k = links.prev[k]!) length++;
      for (let k = last, at = length - 1; k >= 0; k = links.prev[k]!, at--) {
        chain[at] = k;
        posOf![k] = at;
      }
      for (let k = 0; k < length; k++) {
        for (const d of nodeDeps[chain[k]!]!) {
          const de = entryOf[d]!;
          if (de === e || listedBy![de] === e) continue;
          listedBy![de] = e;
          depList[dl++] = de;
        }
      }
    }
    for (let k = 0; k < length; k++) {
      const c = chain[k]!;
      plan.taskKey[t] = index.keys[c]!;
      plan.taskOp[t] = index.opOf[c]!;
      plan.taskArgs[t] = (nodes[c] as { args: unknown[] }).args;
      plan.argStart[t] = a;
      for (let j = nodeArgStart[c]!; j < nodeArgStart[c + 1]!; j++) {
        const d = argNode[j]!;
        plan.argCode[a++] = d < 0 ? d : entryOf[d] === e ? CHAIN_ARG - posOf![d]! : entryOf[d]!;
      }
      t++;
    }
  }
  plan.taskStart[n] = t;
  plan.argStart[t] = a;
  depStart[n] = dl;
  if (dl < depList.length) plan.depList = depList.subarray(0, dl);
  // Dependents: counted per entry, offsets summed, then filled in ascending entry order.
  const { dependentStart } = plan;
  for (let x = 0; x < dl; x++) dependentStart[depList[x]! + 1]!++;
  for (let e = 0; e < n; e++) dependentStart[e + 1]! += dependentStart[e]!;
  const dependentList = new Int32Array(dl);
  const fill = dependentStart.slice(0, n);
  for (let e = 0; e < n; e++) for (let x = depStart[e]!; x < depStart[e + 1]!; x++) dependentList[fill[depList[x]!]!++] = e;
  plan.dependentList = dependentList;
  return plan;
}

/** The keys of entry e's tasks, dependencies first (empty for a literal). */
export function entryTaskKeys(plan: Plan, e: number): Key[] {
  return plan.taskKey.slice(plan.taskStart[e], plan.taskStart[e + 1]);
}

/** The entries entry e needs, as an array (for tests and messages; the engine reads `depList` directly). */
export function entryDeps(plan: Plan, e: number): number[] {
  return Array.from(plan.depList.subarray(plan.depStart[e], plan.depStart[e + 1]));
}
