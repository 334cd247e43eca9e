/**
 * Profiling a graph: run it once on the main thread, as the sync scheduler would (the
 * engine's priority order, each op awaited in turn), and record for every node its op's
 * duration, the size and kind of its value (the schedulers' own size estimate) and its
 * inputs, and for strings and objects how dear a byte of them is to move (serialized and
 * timed against the calibration's own object values): a `ProfiledGraph` the simulator can
 * replay on any pool. Values are dropped as
 * soon as no pending task needs them, so peak memory stays what sync's would be.
 * `profileWarm` profiles a short graph twice and keeps the second, warm run: the first
 * pays for compiling the ops and first-touch allocations, which a warm pool does not.
 */
import { serialize } from 'node:v8';
import type { ProfiledGraph } from '../../model/profile.js';
import { isTask, order, substituteRefs, taskDependencies } from '../../schedulers/graph.js';
import { loadOp } from '../../schedulers/ops.js';
import { estimateSize } from '../../schedulers/size-estimate.js';
import type { Graph, Key } from '../../schedulers/types.js';
import { produce } from './ops.js';

/** Kind index of strings and objects (VALUE_KINDS order). */
const OBJECT_KIND = 2;

export interface ProfileRun {
  graph: ProfiledGraph;
  /** Values of the requested keys, in order (for the workload's verify). */
  values: unknown[];
  /** Wall time of the whole run, seconds. */
  seconds: number;
}

/** 0 plain typed array, 1 SharedArrayBuffer-backed, 2 anything else (VALUE_KINDS order); a container takes the kind of most of its bytes. */
export function kindOf(value: unknown): number {
  if (ArrayBuffer.isView(value)) return value.buffer instanceof SharedArrayBuffer ? 1 : 0;
  if (value instanceof ArrayBuffer) return 0;
  if (value instanceof SharedArrayBuffer) return 1;
  if (typeof value !== 'object' || value === null) return 2;
  const all = estimateSize(value, false);
  if (all === 0) return 2;
  const shared = all - estimateSize(value, true);
  if (shared * 2 > all) return 1;
  const items = Array.isArray(value) ? value : Object.values(value);
  const typed = items.slice(0, 64).filter((x) => ArrayBuffer.isView(x) || x instanceof ArrayBuffer).length;
  return typed * 2 > Math.min(items.length, 64) ? 0 : 2;
}

/** Runs shorter than this are profiled a second time, warm (compiled ops, warm caches), as the bench measures warm pools. */
const WARM_PROFILE_SECONDS = 2;

/** Profile `graph`: once, and when that took under 2 s, once more, keeping the warm run. */
export async function profileWarm(graph: Graph, keys: readonly Key[]): Promise<ProfileRun> {
  const first = await profileGraph(graph, keys);
  return first.seconds < WARM_PROFILE_SECONDS ? profileGraph(graph, keys) : first;
}

/** Below this a value's move cost is not weighed (scalars and small values cost per task, not per byte). */
const WEIGH_FROM_BYTES = 16 * 1024;
let objectReference: number | undefined;

/** Seconds per byte to serialize the calibration's own object values (the fastest of 3), measured once per process. */
function objectSecondsPerByte(): number {
  if (objectReference === undefined) {
    const rows = produce('object', 1 << 20, 0);
    const bytes = estimateSize(rows, false);
    objectReference = Math.min(...[0, 1, 2].map(() => serializeSecondsPerByte(rows, bytes)));
  }
  return objectReference;
}

/** One serialization of `value`, timed, per byte (once per value: a profile may hold many large ones). */
function serializeSecondsPerByte(value: unknown, bytes: number): number {
  const t0 = performance.now();
  serialize(value);
  return (performance.now() - t0) / 1000 / Math.max(1, bytes);
}

/**
 * How much a byte of `value` costs to move against the calibration's values of its kind:
 * strings and objects are serialized (what structured clone and the schedulers' wire
 * formats do) and timed against the calibration's object rows; typed arrays move at
 * their kind's rate (1).
 */
function byteWeightOf(value: unknown, kind: number, bytes: number): number {
  if (kind !== OBJECT_KIND || bytes < WEIGH_FROM_BYTES) return 1;
  try {
    return serializeSecondsPerByte(value, bytes) / objectSecondsPerByte();
  } catch {
    return 1; // not serializable (a function, say): the scheduler will say so when it moves it
  }
}

export async function profileGraph(graph: Graph, keys: readonly Key[]): Promise<ProfileRun> {
  const priority = order(graph, keys);
  const nodeKeys = [...priority.keys()];
  const indexOf = new Map(nodeKeys.map((k, i) => [k, i]));
  const n = nodeKeys.length;
  const out: ProfiledGraph = { seconds: new Array(n), bytes: new Array(n), kinds: new Array(n), literal: new Array(n), byteWeights: new Array(n), strings: new Array(n), deps: new Array(n), outputs: keys.map((k) => indexOf.get(k)!) };
  const remaining = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const node = graph[nodeKeys[i]!]!;
    out.deps[i] = taskDependencies(node).map((k) => indexOf.get(k)!);
    for (const d of out.deps[i]!) remaining[d]++;
  }
  for (const i of out.outputs) remaining[i]++;
  const values = new Map<number, unknown>();
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const node = graph[nodeKeys[i]!]!;
    let value: unknown;
    if (isTask(node)) {
      const op = await loadOp(node.op);
      const args = substituteRefs(node.args, (k) => values.get(indexOf.get(k)!));
      const t0 = performance.now();
      value = op(...args);
      if (value instanceof Promise) value = await value;
      out.seconds[i] = (performance.now() - t0) / 1000;
      out.literal[i] = 0;
    } else {
      value = node.value;
      out.seconds[i] = 0;
      out.literal[i] = 1;
    }
    out.bytes[i] = estimateSize(value, false);
    out.kinds[i] = kindOf(value);
    out.byteWeights![i] = byteWeightOf(value, out.kinds[i]!, out.bytes[i]!);
    out.strings![i] = typeof value === 'string' && out.bytes[i]! >= WEIGH_FROM_BYTES ? 1 : 0;
    if (remaining[i]! > 0) values.set(i, value);
    for (const d of out.deps[i]!) if (--remaining[d] === 0) values.delete(d);
  }
  const seconds = (performance.now() - started) / 1000;
  return { graph: out, values: out.outputs.map((o) => values.get(o)), seconds };
}
