/**
 * A profiled graph: what the simulator replays. One node per graph node, in the engine's
 * priority order (inputs before their consumers), as parallel arrays so a 50,000-task
 * profile stays small in a calibration file: each node's measured duration (0 for a
 * literal value), the size and kind of the value it produces, and its inputs.
 *
 * `summarize` turns it into the figures a person reads: task count, total work, critical
 * path, width over time (how many tasks could run at once with unlimited workers and no
 * overhead), bytes by kind, and the point the decision map places it at.
 */
import { z } from 'zod';

/** Kind index of a value: 0 plain typed array, 1 SharedArrayBuffer-backed array, 2 string/object (VALUE_KINDS order). */
export const profiledGraphSchema = z.object({
  /** Measured duration of each node's op, seconds (0 for a literal). */
  seconds: z.array(z.number().nonnegative()),
  /** Bytes of each node's value (the schedulers' size estimate, shared memory counted). */
  bytes: z.array(z.number().nonnegative()),
  /** Kind of each node's value: 0 plain, 1 shared, 2 object. */
  kinds: z.array(z.number().int().min(0).max(2)),
  /** 1 for a literal value node, 0 for a task. */
  literal: z.array(z.number().int().min(0).max(1)),
  /**
   * How much a byte of each node's value costs to move, relative to the calibration's own
   * values of its kind (1: the same). Strings and objects differ most: a long string clones
   * at memcpy speed, an array of small objects property by property, 10-20x slower per
   * byte. Absent (older profiles): 1 everywhere.
   */
  byteWeights: z.array(z.number().nonnegative()).optional(),
  /**
   * 1 for a node whose value is a long string (weighed: WEIGH_FROM_BYTES and up), 0 otherwise:
   * how a pool moves a string (its wire format) prices it apart from objects, so each pool's
   * `stringWeight` scales these nodes' weights. Absent (older profiles): no strings.
   */
  strings: z.array(z.number().int().min(0).max(1)).optional(),
  /** Input node indices of each node (always lower than its own index). */
  deps: z.array(z.array(z.number().int().nonnegative())),
  /** Nodes whose values are requested. */
  outputs: z.array(z.number().int().nonnegative()),
});
export type ProfiledGraph = z.infer<typeof profiledGraphSchema>;

export interface ProfileSummary {
  tasks: number;
  literals: number;
  /** Sum of task durations (the work sync does), seconds. */
  totalTaskSeconds: number;
  meanTaskSeconds: number;
  /** Longest chain of task durations, seconds (no schedule can beat it). */
  criticalPathSeconds: number;
  /** Total work / critical path: the most workers that can help. */
  averageParallelism: number;
  /** Most tasks running at once with unlimited workers and no overhead. */
  maxWidth: number;
  /** Tasks running at once in each tenth of the critical path (same ideal schedule). */
  widthOverTime: number[];
  /** Bytes of task results and literal inputs, by kind. */
  bytesByKind: { plain: number; shared: number; object: number };
  /** (task results + literal inputs) / tasks: the decision map's y. */
  bytesPerTask: number;
  /** Kind holding most bytes (object when no bytes). */
  dominantKind: 'plain' | 'shared' | 'object';
}

const KIND_NAMES = ['plain', 'shared', 'object'] as const;

export function summarize(g: ProfiledGraph): ProfileSummary {
  const n = g.seconds.length;
  const finish = new Float64Array(n);
  const start = new Float64Array(n);
  let tasks = 0;
  let total = 0;
  const bytesByKind = { plain: 0, shared: 0, object: 0 };
  for (let i = 0; i < n; i++) {
    let ready = 0;
    for (const d of g.deps[i]!) ready = Math.max(ready, finish[d]!);
    start[i] = ready;
    finish[i] = ready + g.seconds[i]!;
    bytesByKind[KIND_NAMES[g.kinds[i]!]!] += g.bytes[i]!;
    if (!g.literal[i]) {
      tasks++;
      total += g.seconds[i]!;
    }
  }
  let critical = 0;
  for (let i = 0; i < n; i++) critical = Math.max(critical, finish[i]!);
  const buckets = 10;
  const widthOverTime = new Array<number>(buckets).fill(0);
  let maxWidth = 0;
  if (critical > 0) {
    // Ideal schedule (as soon as possible, unlimited workers): sweep task starts and ends.
    const events: Array<[number, number]> = [];
    for (let i = 0; i < n; i++) if (!g.literal[i] && g.seconds[i]! > 0) events.push([start[i]!, 1], [finish[i]!, -1]);
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let running = 0;
    for (const [, delta] of events) maxWidth = Math.max(maxWidth, (running += delta));
    for (let b = 0; b < buckets; b++) {
      const mid = ((b + 0.5) / buckets) * critical;
      let w = 0;
      for (let i = 0; i < n; i++) if (!g.literal[i] && start[i]! <= mid && finish[i]! > mid) w++;
      widthOverTime[b] = w;
    }
  } else {
    maxWidth = tasks;
  }
  const allBytes = bytesByKind.plain + bytesByKind.shared + bytesByKind.object;
  const dominantKind = allBytes === 0 ? 'object' : KIND_NAMES.reduce((a, b) => (bytesByKind[b] > bytesByKind[a] ? b : a));
  return {
    tasks,
    literals: n - tasks,
    totalTaskSeconds: total,
    meanTaskSeconds: tasks ? total / tasks : 0,
    criticalPathSeconds: critical,
    averageParallelism: critical > 0 ? total / critical : tasks,
    maxWidth,
    widthOverTime,
    bytesByKind,
    bytesPerTask: tasks ? allBytes / tasks : 0,
    dominantKind,
  };
}
