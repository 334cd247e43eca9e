/**
 * The local engine's state and its transitions, as plain functions over plain data (no I/O,
 * no timers, no workers), so each transition can be unit-tested on its own.
 *
 * Entries are the plan's scheduling units, numbered by priority (0 runs first). State:
 * - `waiting[i]`: how many of entry i's dependencies have not finished; at 0 it is ready.
 * - `ready`: a min-heap of entries whose inputs are all available; the lowest number
 *   (highest priority from `order`) is taken first.
 * - `running[i]`: 1 while entry i is handed to an executor and not yet finished.
 * - `waitingData[i]`: how many unfinished entries still need entry i's value; at 0 the
 *   value is released (dropped from `values`) unless i is a requested output (`pinned`).
 * - `values[i]` / `held[i]`: the value of a finished (or literal) entry while it is needed;
 *   `held` tells a kept `undefined` from a released value, and the engine checks it before
 *   it sends a value anywhere (`valueOf`), so a released value is never read.
 */
import type { Plan } from './plan.js';

/** Binary min-heap of entry numbers (= priorities). */
export class MinHeap {
  readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(x: number): void {
    const a = this.items;
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= x) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = x;
  }
  /** Smallest entry, or -1 when empty. */
  pop(): number {
    const a = this.items;
    if (a.length === 0) return -1;
    const top = a[0]!;
    const last = a.pop()!;
    const n = a.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && a[r]! < a[l]! ? r : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

export interface EngineState {
  readonly plan: Plan;
  readonly waiting: Int32Array;
  readonly waitingData: Int32Array;
  readonly pinned: Uint8Array;
  readonly held: Uint8Array;
  readonly values: unknown[];
  readonly ready: MinHeap;
  readonly running: Uint8Array;
  /** Zeroed scratch counters, one per entry, for a pass that must leave them zero (the engine's batch forming). */
  readonly scratch: Int32Array;
  /**
   * Scratch for encoding a batch, stamped with its number (`batches`) instead of reset: the
   * batch each entry last belonged to, the slot of each entry's value in the batch being
   * encoded and the batch that set it.
   */
  readonly member: Int32Array;
  readonly slot: Int32Array;
  readonly slotBatch: Int32Array;
  batches: number;
  /** Task entries finished so far, and how many there are in all. */
  finished: number;
  readonly total: number;
  /** Told about each value `releaseData` drops (the engine sets it for executors with `release`). */
  onRelease?: (entry: number, value: unknown) => void;
}

/** Initial state: literals held, tasks without task inputs ready. */
export function startState(plan: Plan): EngineState {
  const n = plan.keys.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += plan.isTask[i]!;
  const state: EngineState = {
    plan,
    waiting: new Int32Array(n),
    waitingData: new Int32Array(n),
    pinned: new Uint8Array(n),
    held: new Uint8Array(n),
    values: new Array<unknown>(n),
    ready: new MinHeap(),
    running: new Uint8Array(n),
    scratch: new Int32Array(n),
    member: new Int32Array(n),
    slot: new Int32Array(n),
    slotBatch: new Int32Array(n),
    batches: 0,
    finished: 0,
    total,
  };
  for (const o of plan.outputs) state.pinned[o] = 1;
  for (let i = 0; i < n; i++) {
    state.waitingData[i] = plan.dependentStart[i + 1]! - plan.dependentStart[i]!;
    if (!plan.isTask[i]) {
      state.values[i] = plan.literals[i];
      state.held[i] = 1;
      continue;
    }
    let unfinished = 0;
    for (let x = plan.depStart[i]!; x < plan.depStart[i + 1]!; x++) unfinished += plan.isTask[plan.depList[x]!]!;
    state.waiting[i] = unfinished;
    if (unfinished === 0) state.ready.push(i);
  }
  return state;
}

/** Take the highest-priority ready entry and mark it running; -1 when none is ready. */
export function takeReady(state: EngineState): number {
  const i = state.ready.pop();
  if (i >= 0) state.running[i] = 1;
  return i;
}

/** Drop entry i's value: nothing pending needs it any more. */
export function releaseData(state: EngineState, i: number): void {
  state.onRelease?.(i, state.values[i]);
  state.held[i] = 0;
  state.values[i] = undefined;
}

/**
 * Entry i finished with `value`: keep the value if anything still needs it, release inputs
 * that no pending entry needs, and move dependents whose last input this was to `ready`.
 */
export function finishEntry(state: EngineState, i: number, value: unknown): void {
  const plan = state.plan;
  state.running[i] = 0;
  state.finished++;
  if (state.waitingData[i]! > 0 || state.pinned[i]) {
    state.values[i] = value;
    state.held[i] = 1;
  }
  const { depStart, depList, dependentStart, dependentList } = plan;
  for (let x = depStart[i]!; x < depStart[i + 1]!; x++) {
    const d = depList[x]!;
    if (--state.waitingData[d]! === 0 && !state.pinned[d]) releaseData(state, d);
  }
  for (let x = dependentStart[i]!; x < dependentStart[i + 1]!; x++) {
    const j = dependentList[x]!;
    // A dependent already running was batched together with its inputs (engine's takeBatch).
    if (--state.waiting[j]! === 0 && !state.running[j]) state.ready.push(j);
  }
}

/** The value of entry i, which must still be held (an internal error otherwise: it was released too early). */
export function valueOf(state: EngineState, i: number): unknown {
  if (state.held[i] !== 1) throw new Error(`internal: the value of "${state.plan.keys[i]}" was read after it was released`);
  return state.values[i];
}

/** True once every task entry has finished. */
export function isDone(state: EngineState): boolean {
  return state.finished === state.total;
}
