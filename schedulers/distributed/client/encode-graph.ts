/**
 * Turning a user's graph into what the scheduler is sent (pure: no connection, no state). The
 * graph is validated HERE (GraphError before anything is sent), args and literals are
 * serialized (`codec.ts`: structured clone), and each node becomes a `NodeSpec` with its
 * inputs (by position: the run's n-th node, or its n-th external) and priority, in priority
 * order (inputs first). Payloads above INLINE_PAYLOAD_BYTES are set aside as uploads (the
 * client puts them straight on a worker first); keys the graph refers to but does not define
 * become external references to live futures of earlier runs; requested literals are answered
 * locally, never sent for. `splitParts` cuts the node list into messages under the limit, each
 * with the table of its ops.
 */
import { TaskError } from '../../errors.js';
import { isTask, orderIndices, taskDependencies, validateGraph } from '../../graph.js';
import type { Graph, Key } from '../../types.js';
import { INLINE_PAYLOAD_BYTES, SUBMIT_PART_BYTES, type ExternalRef, type NodeSpec } from '../protocol.js';
import { encodeValuePieces, joinPieces, piecesLength } from '../codec.js';
import { argsDataIdOf, dataIdOf } from '../ids.js';
import { estimateSize } from '../../size-estimate.js';

/** A node to send, with its op ('' for a literal): `splitParts` numbers the ops of each part. */
export interface EncodedNode extends NodeSpec {
  op: string;
}

export interface EncodedGraph {
  /** Nodes to send (literals only if some task needs them); an upload's payload is empty until placed. */
  nodes: EncodedNode[];
  /**
   * Large payloads to put on a worker (`node.placed` is set before the graph is sent, the
   * upload follows it), in pieces (`encodeValuePieces`: a plain typed array's are views of its
   * own memory) of `byteLength` bytes in all.
   */
  uploads: Array<{ node: EncodedNode; pieces: Uint8Array[]; byteLength: number }>;
  /** Requested keys the cluster computes (or holds, for externals). */
  wanted: Key[];
  externals: ExternalRef[];
  /** Requested literals: their values, answered locally. */
  local: Map<Key, unknown>;
  /** What is uploaded, by data id (uploaded again if the worker holding it dies). */
  uploaded: Map<string, unknown>;
  /** Bytes of data the client ships, sized as the local schedulers size them. */
  bytesToWorkers: number;
}

/**
 * Encode `keys` of `graph` as run `run` of client `clientId`; `live` maps keys of live
 * futures (of earlier runs) to their data ids. Throws GraphError or TaskError (an unserializable value).
 */
export function encodeGraph(graph: Graph, keys: Key[], clientId: string, run: number, live: ReadonlyMap<Key, string>): EncodedGraph {
  // Keys this graph refers to but does not define may name live futures of earlier runs.
  const externals: ExternalRef[] = [];
  let view = graph; // the graph plus a placeholder for each external key (a copy only if there are any)
  const external = (key: Key): void => {
    const dataId = live.get(key);
    if (dataId === undefined || key in view) return;
    if (view === graph) view = { ...graph };
    view[key] = { value: undefined };
    externals.push({ key, data_id: dataId });
  };
  if (live.size) {
    for (const key in graph) {
      const node = graph[key];
      if (isTask(node)) for (const dep of taskDependencies(node)) external(dep);
    }
    for (const key of keys) external(key);
  }
  const index = validateGraph(view, keys);
  const externalKeys = new Set(externals.map((e) => e.key));
  const priority = orderIndices(index, keys.map((k) => index.indexOf.get(k)!));

  const encoded: EncodedGraph = { nodes: [], uploads: [], wanted: [], externals, local: new Map(), uploaded: new Map(), bytesToWorkers: 0 };
  const requested = new Set(keys);
  const usedByTask = new Uint8Array(index.keys.length);
  for (let i = 0; i < index.keys.length; i++) if (priority[i]! >= 0) for (const d of index.deps[i]!) usedByTask[d] = 1;
  // Nodes are sent by priority: every input before its task (a priority is given after the
  // inputs'), and the scheduler starts the first part's tasks while the rest is on its way.
  const byPriority: number[] = [];
  for (let i = 0; i < index.keys.length; i++) if (priority[i]! >= 0) byPriority[priority[i]!] = i;
  // Where each node goes in the sent list (-1: not sent), or, for an external key, -1 - its number.
  const position = new Int32Array(index.keys.length).fill(-1);
  const externalNumber = new Map(externals.map((e, j) => [e.key, j]));
  let sent = 0;
  for (const i of byPriority) {
    const external = externalNumber.get(index.keys[i]!);
    if (external !== undefined) position[i] = -1 - external;
    else if (isTask(index.nodes[i]!) || usedByTask[i]) position[i] = sent++;
  }
  const wanted = new Set<Key>();
  for (const i of byPriority) {
    const key = index.keys[i]!;
    if (externalKeys.has(key)) continue;
    const node = index.nodes[i]!;
    const task = isTask(node);
    let pieces: Uint8Array[];
    try {
      pieces = encodeValuePieces(task ? node.args : node.value);
    } catch (err) {
      const consumer = task ? key : index.keys.find((_, j) => index.deps[j]!.includes(i)) ?? key;
      throw new TaskError({
        key: consumer,
        op: task ? node.op : (graph[consumer] as { op?: string }).op ?? '',
        errorName: 'DataCloneError',
        errorMessage: `${task ? 'its arguments' : `the value of "${key}"`} cannot be serialized to send to the cluster (${(err as Error).message}); pass plain data, typed arrays or other structured-cloneable values`,
      });
    }
    const byteLength = piecesLength(pieces);
    const upload = byteLength > INLINE_PAYLOAD_BYTES;
    const spec: EncodedNode = {
      key,
      op: task ? node.op : '',
      op_index: 0,
      payload: upload ? new Uint8Array(0) : joinPieces(pieces),
      inputs: index.deps[i]!.map((d) => position[d]!),
      priority: priority[i]!,
      placed: null,
    };
    if (upload) {
      encoded.uploads.push({ node: spec, pieces, byteLength });
      encoded.uploaded.set(task ? argsDataIdOf(clientId, run, key) : dataIdOf(clientId, run, key), task ? node.args : node.value);
    }
    // Data the client ships, sized as the local schedulers size it: literal values, and args
    // large enough to carry data (small args are the task's description, counted nowhere).
    if ((!task && usedByTask[i]) || (task && upload)) {
      encoded.bytesToWorkers += estimateSize(task ? node.args : node.value, false);
    }
    if (!task && requested.has(key)) encoded.local.set(key, node.value);
    else if (requested.has(key)) wanted.add(key);
    // A literal is sent only if some task needs it.
    if (task || usedByTask[i]) encoded.nodes.push(spec);
  }
  for (const key of externalKeys) if (requested.has(key)) wanted.add(key);
  encoded.wanted = [...wanted];
  return encoded;
}

/** One part of a submitted graph: its nodes (`op_index` set) and its table of ops. */
export interface Part {
  nodes: EncodedNode[];
  ops: string[];
}

/**
 * Cut `nodes` into consecutive parts of about SUBMIT_PART_BYTES each (the last may be empty),
 * numbering each part's ops (`op_index`, into the part's `ops`). The scheduler starts a part's
 * tasks as it arrives. (Cutting smaller parts, to start sooner, cost more than it gained: the
 * workers' CPU grew with the many small batches of assignments.)
 */
export function splitParts(nodes: EncodedNode[], limit = SUBMIT_PART_BYTES): Part[] {
  const parts: Part[] = [];
  let part: Part = { nodes: [], ops: [] };
  let opIndex = new Map<string, number>();
  let bytes = 0;
  for (const node of nodes) {
    const size = 128 + node.key.length + node.payload.byteLength + 4 * node.inputs.length;
    if (part.nodes.length && bytes + size > limit) {
      parts.push(part);
      part = { nodes: [], ops: [] };
      opIndex = new Map();
      bytes = 0;
    }
    node.op_index = 0;
    if (node.op) {
      let index = opIndex.get(node.op);
      if (index === undefined) {
        opIndex.set(node.op, (index = part.ops.push(node.op)));
        bytes += node.op.length;
      }
      node.op_index = index;
    }
    part.nodes.push(node);
    bytes += size;
  }
  parts.push(part);
  return parts;
}
