/**
 * The graph model: building, validating, walking and ordering task graphs.
 *
 * A graph is plain data (`Record<Key, Task | { value }>`), so everything here is a pure
 * function of that data and imports nothing but types and errors. Every walk is iterative
 * (explicit stacks, never recursion): a 100,000-deep chain must validate, order and run
 * without overflowing the call stack, and a 100,000-task graph must validate in milliseconds.
 *
 * `$ref`s may sit anywhere inside a task's `args`: in nested arrays and plain objects
 * (prototype `Object.prototype` or `null`). Typed arrays, Maps, Dates and other class
 * instances are leaves: they are never walked, so a large Float64Array costs nothing here.
 *
 * `order` follows Dask's `order` in spirit: run depth-first toward the requested outputs,
 * finishing one branch before starting the next, and among a task's inputs start with the
 * tallest branch (longest path to a leaf, Sethi–Ullman style) so that the short branches,
 * whose results would otherwise sit in memory waiting, are computed last, just before the
 * task that frees them.
 */
import { GraphError } from './errors.js';
import type { Graph, GraphNode, Key, Ref, Task } from './types.js';

/** Build an op string `"<module>#<export>"`. `moduleUrl` is an absolute `file:` URL or a bare package specifier. */
export function opRef(moduleUrl: string, exportName: string): string {
  if (!moduleUrl) throw new TypeError('opRef: moduleUrl is empty; pass import.meta.url or a package name');
  if (!exportName || exportName.includes('#')) {
    throw new TypeError(`opRef: export name "${exportName}" is not a valid export name`);
  }
  return `${moduleUrl}#${exportName}`;
}

/** True when `op` is `"<module>#<export>"`: a non-empty module, then a non-empty export name after its last `#`. */
export function isOpString(op: string): boolean {
  const hash = op.lastIndexOf('#');
  return hash > 0 && hash < op.length - 1;
}

/** Split an op string at its last `#` into module specifier and export name. */
export function parseOp(op: string): { module: string; exportName: string } {
  if (!isOpString(op)) {
    throw new TypeError(`op "${op}" is not "<module>#<export>"; build it with opRef(moduleUrl, exportName)`);
  }
  const hash = op.lastIndexOf('#');
  return { module: op.slice(0, hash), exportName: op.slice(hash + 1) };
}

/** True for a plain object (literal `{}` or `Object.create(null)`), the only objects walked for `$ref`s. */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** True for `{ $ref: key }` (a plain object whose `$ref` is a string). */
export function isRef(x: unknown): x is Ref {
  return typeof x === 'object' && x !== null && typeof (x as Ref).$ref === 'string' && isPlainObject(x);
}

/** True for a well-formed task node: `{ op: string, args: unknown[] }`. */
export function isTask(node: unknown): node is Task {
  return typeof node === 'object' && node !== null && typeof (node as Task).op === 'string' && Array.isArray((node as Task).args);
}

/** Builds graphs in code; every method returns the `Ref` of the key it added. */
export class GraphBuilder {
  readonly graph: Graph = {};

  /** Add a literal value. */
  value(key: Key, v: unknown): Ref {
    this.#claim(key);
    this.graph[key] = { value: v };
    return { $ref: key };
  }

  /** Add a task `op(...args)`; `args` may contain `Ref`s anywhere (nested arrays and plain objects). */
  task(key: Key, op: string, args: unknown[]): Ref {
    this.#claim(key);
    if (typeof op !== 'string' || !isOpString(op)) parseOp(op); // throws the usual message (the check alone slices nothing)
    this.graph[key] = { op, args };
    return { $ref: key };
  }

  #claim(key: Key): void {
    if (typeof key !== 'string' || key === '') throw new TypeError(`GraphBuilder: key must be a non-empty string, got ${String(key)}`);
    if (key === '__proto__') throw new TypeError('GraphBuilder: "__proto__" cannot be a key of a plain-object graph; choose another name');
    if (Object.hasOwn(this.graph, key)) throw new TypeError(`GraphBuilder: key "${key}" is already in the graph; keys must be unique`);
  }
}

/**
 * Unique keys referenced by a node's args, in first-seen order (iterative walk).
 * Literal value nodes have no dependencies.
 */
export function taskDependencies(node: GraphNode): Key[] {
  if (!isTask(node)) return [];
  const args = node.args;
  const found: Key[] = [];
  let seen: Set<Key> | undefined; // only for wide fan-in, where includes() would be quadratic
  const stack: unknown[] = [];
  for (let i = args.length - 1; i >= 0; i--) stack.push(args[i]);
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x !== 'object' || x === null) continue;
    if (Array.isArray(x)) {
      for (let i = x.length - 1; i >= 0; i--) stack.push(x[i]);
    } else if (isPlainObject(x)) {
      const ref = x.$ref;
      if (typeof ref === 'string') {
        if (seen === undefined && found.length > 16) seen = new Set(found);
        if (seen ? !seen.has(ref) : !found.includes(ref)) {
          found.push(ref);
          seen?.add(ref);
        }
        continue;
      }
      const vals = Object.values(x);
      for (let i = vals.length - 1; i >= 0; i--) stack.push(vals[i]);
    }
  }
  return found;
}

/**
 * Copy `args` with every `$ref` replaced by `lookup(key)`. Iterative; arrays and plain
 * objects are copied (the graph is never mutated), other values are passed through as they are.
 */
export function substituteRefs(args: readonly unknown[], lookup: (key: Key) => unknown): unknown[] {
  const n = args.length;
  const out = new Array<unknown>(n);
  let stack: Array<[Record<string | number, unknown>, string | number, unknown]> | undefined;
  for (let i = 0; i < n; i++) {
    const a = args[i];
    if (typeof a !== 'object' || a === null) out[i] = a;
    else if (isRef(a)) out[i] = lookup(a.$ref);
    else if (Array.isArray(a) || isPlainObject(a)) (stack ??= []).push([out as never, i, a]);
    else out[i] = a;
  }
  if (stack === undefined) return out;
  // Nested containers: depth-first copy; children pushed in reverse so object keys keep their order.
  stack.reverse();
  while (stack.length > 0) {
    const [target, slot, v] = stack.pop()!;
    if (typeof v !== 'object' || v === null) {
      target[slot] = v;
    } else if (Array.isArray(v)) {
      const copy = new Array<unknown>(v.length);
      target[slot] = copy;
      for (let i = v.length - 1; i >= 0; i--) stack.push([copy as never, i, v[i]]);
    } else if (isPlainObject(v)) {
      if (typeof v.$ref === 'string') {
        target[slot] = lookup(v.$ref);
        continue;
      }
      const copy: Record<string, unknown> = {};
      target[slot] = copy;
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) stack.push([copy, entries[i]![0], entries[i]![1]]);
    } else {
      target[slot] = v;
    }
  }
  return out;
}

/**
 * What `validateGraph` learned, numbered so later passes (cull, order, fuse, the engine)
 * work on small integers and typed arrays instead of string-keyed maps.
 */
export interface GraphIndex {
  /** Node number → key (graph insertion order). */
  keys: Key[];
  /** Key → node number. */
  indexOf: Map<Key, number>;
  /** Node number → node. */
  nodes: GraphNode[];
  /** 1 where the node is a task, 0 for a literal value. */
  isTaskNode: Uint8Array;
  /** Distinct op strings of the graph's tasks. */
  ops: string[];
  /** Node number → index into `ops` (-1 for a literal value). */
  opOf: Int32Array;
  /** Unique dependencies of every node, as node numbers. */
  deps: number[][];
  /**
   * Every task's top-level arguments, classified: node i's are `argNode[argStart[i] ..
   * argStart[i + 1])`, one per arg, the node number of a `$ref` or `ARG_LITERAL` (a value with
   * no ref inside) or `ARG_NESTED` (an array or plain object with refs inside). The engine
   * encodes batches from it without looking a key up again.
   */
  argStart: Int32Array;
  argNode: Int32Array;
  /** Node numbers, every node after all of its dependencies. */
  topological: Int32Array;
}

const MAX_NAMED = 10;
function nameKeys(keys: readonly Key[]): string {
  const shown = keys.slice(0, MAX_NAMED).map((k) => `"${k}"`).join(', ');
  return keys.length > MAX_NAMED ? `${shown} and ${keys.length - MAX_NAMED} more` : shown;
}

/** Throws BAD_NODE unless `node` is a well-formed task or literal; returns true for a task. */
function checkNode(key: Key, node: unknown, lastGoodOp: string | undefined): node is Task {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    throw new GraphError('BAD_NODE', `node "${key}" is ${node === null ? 'null' : Array.isArray(node) ? 'an array' : typeof node}; a node must be { op, args } or { value }`, [key]);
  }
  if ('op' in node) {
    const t = node as Partial<Task>;
    if (typeof t.op !== 'string' || !Array.isArray(t.args)) {
      throw new GraphError('BAD_NODE', `task "${key}" must have a string "op" ("<module>#<export>") and an array "args"`, [key]);
    }
    if (t.op === lastGoodOp) return true;
    if (!isOpString(t.op)) {
      throw new GraphError('BAD_NODE', `task "${key}" has op "${t.op}", which is not "<module>#<export>"; build it with opRef(moduleUrl, exportName)`, [key]);
    }
    return true;
  }
  if (!('value' in node)) {
    throw new GraphError('BAD_NODE', `node "${key}" has neither "op" nor "value"; a node must be { op, args } or { value }`, [key]);
  }
  return false;
}

/**
 * Check `graph` and the requested `keys` before anything runs: every node well formed
 * (BAD_NODE), every `$ref` and requested key present (MISSING_KEY), no cycle (CYCLE).
 * Validates the whole graph, not only what `keys` need. Returns the numbered index.
 */
export function validateGraph(graph: Graph, keys: readonly Key[]): GraphIndex {
  if (typeof graph !== 'object' || graph === null || Array.isArray(graph)) {
    throw new GraphError('BAD_NODE', 'the graph must be a plain object mapping keys to nodes', []);
  }
  if (!Array.isArray(keys)) throw new GraphError('MISSING_KEY', 'keys must be an array of graph keys', []);
  const names = Object.keys(graph);
  const n = names.length;
  const nodes = new Array<GraphNode>(n); // (Object.values is ~2x slower than keys + lookups on big graphs)
  const indexOf = new Map<Key, number>();
  for (let i = 0; i < n; i++) indexOf.set(names[i]!, i);
  const isTaskNode = new Uint8Array(n);
  const deps = new Array<number[]>(n);
  const ops: string[] = [];
  const opOf = new Int32Array(n).fill(-1);
  const opIndex = new Map<string, number>();
  const argStart = new Int32Array(n + 1);
  const args = new ArgCodes();
  let lastGoodOp: string | undefined;
  let lastOpIndex = -1;
  for (let i = 0; i < n; i++) {
    const key = names[i]!;
    const node = (nodes[i] = graph[key]!);
    argStart[i] = args.length;
    if (!checkNode(key, node, lastGoodOp)) {
      deps[i] = NO_DEPS;
      continue;
    }
    if (node.op !== lastGoodOp) {
      lastGoodOp = node.op;
      lastOpIndex = opIndex.get(lastGoodOp) ?? -1;
      if (lastOpIndex < 0) opIndex.set(lastGoodOp, (lastOpIndex = ops.push(lastGoodOp) - 1));
    }
    opOf[i] = lastOpIndex;
    isTaskNode[i] = 1;
    deps[i] = dependencyIds(key, node, indexOf, args);
  }
  argStart[n] = args.length;
  const missing = keys.filter((k) => typeof k !== 'string' || !indexOf.has(k));
  if (missing.length > 0) {
    throw new GraphError('MISSING_KEY', `requested key(s) ${nameKeys(missing.map(String))} are not in the graph`, missing.map(String));
  }
  const argNode = args.codes.subarray(0, args.length);
  return { keys: names, indexOf, nodes, isTaskNode, ops, opOf, deps, argStart, argNode, topological: topologicalOrder(names, deps) };
}

/** Shared (never mutated) dependency list of literal values. */
const NO_DEPS: number[] = [];

/** `GraphIndex.argNode` of an argument that holds no `$ref`. */
export const ARG_LITERAL = -1;
/** `GraphIndex.argNode` of an array or plain-object argument with `$ref`s inside. */
export const ARG_NESTED = -2;

/** Growable Int32Array of the classified args (one allocation per doubling, not per task). */
class ArgCodes {
  codes = new Int32Array(1024);
  length = 0;
  push(code: number): void {
    if (this.length === this.codes.length) {
      const grown = new Int32Array(this.codes.length * 2);
      grown.set(this.codes);
      this.codes = grown;
    }
    this.codes[this.length++] = code;
  }
}

/**
 * Node numbers of a task's unique dependencies, classifying each top-level arg into `codes`;
 * throws MISSING_KEY for a ref to an absent key.
 */
function dependencyIds(key: Key, node: Task, indexOf: Map<Key, number>, codes: ArgCodes): number[] {
  const args = node.args;
  const start = codes.length;
  // Fast path: top-level refs among scalars (the common case, wide fan-in included) need no
  // walk. The first two distinct dependencies stay in locals, so most tasks allocate one
  // array of the exact size (or none); duplicates are found by scan while few, by a Set beyond.
  let d0 = -1;
  let d1 = -1;
  let ids: number[] | undefined;
  let seen: Set<number> | undefined;
  for (let a = 0; a < args.length; a++) {
    const arg = args[a];
    if (typeof arg !== 'object' || arg === null) {
      codes.push(ARG_LITERAL);
      continue;
    }
    if (!isRef(arg)) {
      codes.length = start;
      return walkedDependencyIds(key, node, indexOf, codes);
    }
    const d = indexOf.get(arg.$ref);
    if (d === undefined) throw missingRef(key, arg.$ref);
    codes.push(d);
    if (d === d0 || d === d1) continue;
    if (d0 < 0) d0 = d;
    else if (d1 < 0) d1 = d;
    else if (ids === undefined) ids = [d0, d1, d];
    else {
      if (seen === undefined && ids.length >= 16) seen = new Set(ids);
      if (seen ? seen.has(d) : ids.includes(d)) continue;
      ids.push(d);
      seen?.add(d);
    }
  }
  return ids ?? (d0 < 0 ? NO_DEPS : d1 < 0 ? [d0] : [d0, d1]);
}

/** `dependencyIds` for args with refs nested in arrays or plain objects. */
function walkedDependencyIds(key: Key, node: Task, indexOf: Map<Key, number>, codes: ArgCodes): number[] {
  const ids: number[] = [];
  const seen = new Set<number>();
  const resolve = (ref: Key): number => {
    const d = indexOf.get(ref);
    if (d === undefined) throw missingRef(key, ref);
    if (!seen.has(d)) {
      seen.add(d);
      ids.push(d);
    }
    return d;
  };
  for (const arg of node.args) {
    if (typeof arg !== 'object' || arg === null) codes.push(ARG_LITERAL);
    else if (isRef(arg)) codes.push(resolve(arg.$ref));
    else if (Array.isArray(arg) || isPlainObject(arg)) {
      const refs = taskDependencies({ op: node.op, args: [arg] });
      for (const ref of refs) resolve(ref);
      codes.push(refs.length > 0 ? ARG_NESTED : ARG_LITERAL);
    } else codes.push(ARG_LITERAL);
  }
  return ids;
}

function missingRef(key: Key, ref: Key): GraphError {
  return new GraphError('MISSING_KEY', `task "${key}" refers to "${ref}", which is not in the graph; add a node "${ref}" or fix the $ref`, [key, ref]);
}

/** Iterative depth-first topological sort; throws GraphError CYCLE naming the keys on the cycle. */
function topologicalOrder(names: readonly Key[], deps: readonly number[][]): Int32Array {
  const n = names.length;
  const VISITING = 1;
  const DONE = 2;
  const mark = new Uint8Array(n);
  const out = new Int32Array(n);
  let emitted = 0;
  const path = new Int32Array(n);
  const nextDep = new Int32Array(n);
  for (let root = 0; root < n; root++) {
    if (mark[root]) continue;
    let top = 0;
    path[0] = root;
    nextDep[0] = 0;
    mark[root] = VISITING;
    while (top >= 0) {
      const node = path[top]!;
      const ds = deps[node]!;
      const i = nextDep[top]!;
      if (i < ds.length) {
        nextDep[top] = i + 1;
        const d = ds[i]!;
        const m = mark[d];
        if (m === DONE) continue;
        if (m === VISITING) {
          const cycle: Key[] = [];
          for (let p = top; p >= 0; p--) {
            cycle.unshift(names[path[p]!]!);
            if (path[p] === d) break;
          }
          throw new GraphError('CYCLE', `the graph has a cycle: ${[...cycle, names[d]!].map((k) => `"${k}"`).join(' -> ')}; a task cannot depend on itself`, cycle);
        }
        mark[d] = VISITING;
        top++;
        path[top] = d;
        nextDep[top] = 0;
      } else {
        mark[node] = DONE;
        out[emitted++] = node;
        top--;
      }
    }
  }
  return out;
}

/**
 * Priority of every node needed for `outputs` (lower runs first; -1 = not needed): a
 * depth-first post-order from the outputs, visiting a task's tallest input branch first.
 * Works on node numbers; `order` is the key-level wrapper.
 */
export function orderIndices(index: GraphIndex, outputs: readonly number[]): Int32Array {
  const { deps, topological } = index;
  const n = deps.length;
  // Height: longest path down to a leaf, computed dependencies first.
  const height = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    const node = topological[t]!;
    let h = 0;
    for (const d of deps[node]!) if (height[d]! + 1 > h) h = height[d]! + 1;
    height[node] = h;
  }
  const tallestFirst = (a: number, b: number): number => height[b]! - height[a]! || a - b;
  const sortedDeps = (node: number): number[] => {
    const ds = deps[node]!;
    if (ds.length < 2) return ds;
    if (ds.length === 2) return tallestFirst(ds[0]!, ds[1]!) <= 0 ? ds : [ds[1]!, ds[0]!];
    return ds.slice().sort(tallestFirst);
  };
  const priority = new Int32Array(n).fill(-1);
  const seen = new Uint8Array(n);
  let next = 0;
  const path = new Int32Array(n);
  const pos = new Int32Array(n);
  const pending: number[][] = new Array<number[]>(n);
  for (const root of outputs) {
    if (seen[root]) continue;
    seen[root] = 1;
    let top = 0;
    path[0] = root;
    pos[0] = 0;
    pending[0] = sortedDeps(root);
    while (top >= 0) {
      const todo = pending[top]!;
      let child = -1;
      while (pos[top]! < todo.length) {
        const d = todo[pos[top]!++]!;
        if (!seen[d]) {
          child = d;
          break;
        }
      }
      if (child >= 0) {
        seen[child] = 1;
        top++;
        path[top] = child;
        pos[top] = 0;
        pending[top] = sortedDeps(child);
      } else {
        priority[path[top]!] = next++;
        top--;
      }
    }
  }
  return priority;
}

/**
 * Execution priority of every key needed for `keys` (lower runs first), Dask-style:
 * depth-first from the outputs, tallest input branch first. Keys not needed are absent.
 */
export function order(graph: Graph, keys: readonly Key[]): Map<Key, number> {
  const index = validateGraph(graph, keys);
  const priority = orderIndices(index, keys.map((k) => index.indexOf.get(k)!));
  const byPriority: Key[] = [];
  for (let i = 0; i < priority.length; i++) if (priority[i]! >= 0) byPriority[priority[i]!] = index.keys[i]!;
  return new Map(byPriority.map((k, p) => [k, p]));
}
