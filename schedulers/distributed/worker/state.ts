/**
 * A distributed worker's bookkeeping as a pure state machine: events in (assignments from the
 * scheduler, values fetched from peers, results from executor threads, an executor thread
 * lost and replaced), instructions out (fetch these ids from that peer, store these bytes, dispatch this task
 * to that thread, report this completion, release these values, cancel a task in a thread).
 * No network, no threads, no timers: `worker.ts` carries out the instructions, in order.
 *
 * Life of an assigned task (its `phase`):
 *   fetching   - some inputs are on their way from peers (or produced here by a task assigned
 *                here earlier: "pending here")
 *   dispatched - sent to an executor thread; it may still wait there for an input that same
 *                thread computes (a chain then costs no round trip per link)
 *   (gone)     - its result was reported, or it was cancelled, or an input could not be fetched
 *                anywhere (reported as `missing`, the scheduler recomputes it)
 * A cancelled task that already reached a thread still returns a result; it is recognised by
 * its `seq` (the same data id may have been assigned here again since) and ignored.
 *
 * `held` mirrors the worker's value store (ids only: the bytes stay with `worker.ts`); each
 * executor's `holds` are the ids whose live value that thread keeps (sent once per thread).
 */
import type { Assignment, Completion, ErrorInfo } from '../protocol.js';

/** One input of a dispatched task, as the executor thread needs it. */
export interface DispatchDep {
  id: string;
  /** A small literal: `bytes` travel with the task and the thread does not keep the value. */
  inline: boolean;
  /** Inline literal bytes. */
  bytes?: Uint8Array;
  /** The thread does not hold the value yet: send the stored bytes of `id`. */
  fromStore?: boolean;
  /** Produced by a task sent to the same thread earlier: the thread waits for it. */
  later?: boolean;
}

export interface DispatchTask {
  id: string;
  seq: number;
  op: string;
  /** encodeValue(args), unless `argsId` names the dep that holds the args array. */
  args?: Uint8Array;
  argsId?: string;
  deps: DispatchDep[];
}

export type Instruction =
  /** Fetch `ids` from the peer at `address`; on failure try each id's `alternatives`, then report it as not found. */
  | { type: 'fetch'; address: string; ids: string[]; alternatives: Map<string, string[]> }
  | { type: 'store'; id: string; bytes: Uint8Array }
  | { type: 'dispatch'; executor: number; task: DispatchTask }
  | { type: 'complete'; completion: Completion }
  /** Drop `ids` from the store; tell each executor in `threads` to drop its live values. */
  | { type: 'release'; ids: string[]; threads: Map<number, string[]> }
  | { type: 'cancel-in-thread'; executor: number; ids: string[] };

/** One result from an executor thread; `bytes` is the serialized value of a success. */
export interface ResultEvent {
  id: string;
  seq: number;
  ok: boolean;
  bytes?: Uint8Array;
  start: number;
  end: number;
  error?: ErrorInfo;
}

export type TaskPhase = 'fetching' | 'dispatched';

interface PendingTask {
  assignment: Assignment;
  seq: number;
  op: string;
  phase: TaskPhase;
  /** Inputs not here yet. */
  waitingOn: Set<string>;
  fetchedBytes: number;
  fetched: string[];
  missing: string[];
  /** Epoch ms: its first fetch from a peer began, its last fetched input arrived (0: none; for the dashboard). */
  fetchStart: number;
  fetchEnd: number;
}

interface ExecutorBook {
  inFlight: number;
  holds: Set<string>;
}

export class WorkerState {
  private readonly pending = new Map<string, PendingTask>();
  private readonly waiters = new Map<string, Set<PendingTask>>();
  /** Data id -> the executor thread computing it right now. */
  private readonly computing = new Map<string, number>();
  private readonly inFlightFetches = new Set<string>();
  private readonly executors: ExecutorBook[];
  /** Ids in the value store. */
  readonly held = new Set<string>();
  private nextSeq = 1;
  private out: Instruction[] = [];

  constructor(nthreads: number) {
    this.executors = Array.from({ length: Math.max(1, nthreads) }, () => ({ inFlight: 0, holds: new Set<string>() }));
  }

  /** Tasks assigned here and not yet reported, by phase (for logs and tests). */
  phases(): Map<string, TaskPhase> {
    return new Map([...this.pending].map(([id, task]) => [id, task.phase]));
  }

  /** Tasks in flight in executor `index`. */
  inFlight(index: number): number {
    return this.executors[index]!.inFlight;
  }

  // ---------------------------------------------------------------- events

  /** A batch from the scheduler: values to release, tasks to cancel, new tasks (with their op strings). */
  assign(batch: { tasks: Array<{ assignment: Assignment; op: string }>; cancel: string[]; release: string[] }): Instruction[] {
    if (batch.release.length) this.releaseValues(batch.release);
    for (const dataId of batch.cancel) this.cancel(dataId);
    const fresh: PendingTask[] = [];
    for (const { assignment, op } of batch.tasks) {
      const task: PendingTask = { assignment, seq: this.nextSeq++, op, phase: 'fetching', waitingOn: new Set(), fetchedBytes: 0, fetched: [], missing: [], fetchStart: 0, fetchEnd: 0 };
      this.pending.set(assignment.data_id, task);
      fresh.push(task);
    }
    this.fetchInputs(fresh);
    for (const task of fresh) this.runWhenReady(task);
    return this.take();
  }

  /** A value was stored here from outside (a client's upload). */
  uploaded(dataId: string): void {
    this.held.add(dataId);
  }

  /**
   * A fetched value arrived, or (`bytes` undefined) could not be fetched from any holder;
   * `began`/`at`: epoch ms when its fetch began and when it arrived (reported with the task).
   */
  fetched(dataId: string, bytes: Uint8Array | undefined, began = 0, at = 0): Instruction[] {
    this.arrive(dataId, bytes, began, at);
    return this.take();
  }

  /** Results from executor thread `index` (exactly one for every task dispatched to it). */
  results(index: number, results: ResultEvent[]): Instruction[] {
    for (const result of results) this.result(index, result);
    return this.take();
  }

  /**
   * Executor thread `index` died (an op called process.exit or crashed it) and was replaced by
   * a fresh one: every task in flight there is reported lost (the scheduler counts it as a
   * worker death against the task and retries it or gives up); the store keeps its values.
   */
  threadLost(index: number, reason: string): Instruction[] {
    const executor = this.executors[index]!;
    executor.inFlight = 0;
    executor.holds.clear();
    for (const [dataId, producer] of [...this.computing]) {
      if (producer !== index) continue;
      this.computing.delete(dataId);
      const task = this.pending.get(dataId);
      if (!task || task.phase !== 'dispatched') continue;
      this.pending.delete(dataId);
      this.complete({
        data_id: dataId,
        ok: false,
        nbytes: 0,
        start: 0,
        end: 0,
        error: { kind: 'worker-lost', name: 'WorkerLostError', message: reason, stack: '', code: '', key: '', op: '', worker: '', keys: [] },
        fetched_bytes: task.fetchedBytes,
        fetched: task.fetched,
        missing: [],
      });
    }
    return this.take();
  }

  /** The ids whose live value each executor thread keeps, or gets with a task dispatched to it (for the memory limit). */
  threadHoldings(): ReadonlyArray<ReadonlySet<string>> {
    return this.executors.map((executor) => executor.holds);
  }

  /**
   * Memory is short: the threads drop their live copies of `ids` (the store keeps the value;
   * a later task gets its bytes again), except copies an unfinished task dispatched to that
   * thread still reads.
   */
  dropFromThreads(ids: string[]): Instruction[] {
    const inUse = this.executors.map(() => new Set<string>());
    for (const task of this.pending.values()) {
      const executor = task.phase === 'dispatched' ? this.computing.get(task.assignment.data_id) : undefined;
      if (executor === undefined) continue;
      for (const dep of task.assignment.deps) inUse[executor]!.add(dep.data_id);
    }
    const threads = new Map<number, string[]>();
    this.executors.forEach((executor, index) => {
      const dropped = ids.filter((dataId) => !inUse[index]!.has(dataId) && !this.computing.has(dataId) && executor.holds.delete(dataId));
      if (dropped.length) threads.set(index, dropped);
    });
    if (threads.size) this.out.push({ type: 'release', ids: [], threads });
    return this.take();
  }

  // ---------------------------------------------------------------- transitions

  private arrive(dataId: string, bytes: Uint8Array | undefined, began: number, at: number): void {
    this.inFlightFetches.delete(dataId);
    const tasks = this.waiters.get(dataId);
    this.waiters.delete(dataId);
    let counted = false;
    let cancelled: PendingTask | undefined;
    if (bytes) this.store(dataId, bytes);
    for (const task of tasks ?? []) {
      if (!task.waitingOn.delete(dataId)) continue;
      if (this.pending.get(task.assignment.data_id) !== task) {
        cancelled = task;
        continue;
      }
      if (!bytes) task.missing.push(dataId);
      else if (!counted) {
        // The first live task that wanted it reports the copy (and the bytes moved).
        counted = true;
        task.fetchedBytes += bytes.byteLength;
        task.fetched.push(dataId);
        task.fetchStart = task.fetchStart ? Math.min(task.fetchStart, began) : began;
        task.fetchEnd = Math.max(task.fetchEnd, at);
      }
      this.runWhenReady(task);
    }
    if (bytes && !counted && cancelled) {
      // Only cancelled tasks wanted it: report the copy so the scheduler can release it.
      this.complete({ data_id: cancelled.assignment.data_id, ok: false, nbytes: 0, start: 0, end: 0, fetched_bytes: bytes.byteLength, fetched: [dataId], missing: [], dropped: true });
    }
  }

  private result(index: number, result: ResultEvent): void {
    const executor = this.executors[index]!;
    executor.inFlight -= 1;
    const current = this.pending.get(result.id);
    if (!current || current.seq !== result.seq) {
      // A cancelled assignment: nobody wants this result (a newer assignment, if any, will report).
      if (this.computing.get(result.id) === index && !current) this.computing.delete(result.id);
      if (result.ok) {
        executor.holds.add(result.id); // the thread kept the value: released with the id
        if (!current && !this.held.has(result.id)) this.releaseValues([result.id]);
      }
      return;
    }
    this.computing.delete(result.id);
    this.pending.delete(result.id);
    let nbytes = 0;
    if (result.ok && result.bytes) {
      nbytes = result.bytes.byteLength;
      executor.holds.add(result.id);
      this.store(result.id, result.bytes);
      this.producedHere(result.id);
    }
    this.complete({
      data_id: result.id,
      ok: result.ok,
      nbytes,
      start: result.start,
      end: result.end,
      error: result.error ?? null,
      fetched_bytes: current.fetchedBytes,
      fetched: current.fetched,
      missing: [],
      fetch_start: current.fetchStart,
      fetch_end: current.fetchEnd,
    });
  }

  private take(): Instruction[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private store(dataId: string, bytes: Uint8Array): void {
    this.held.add(dataId);
    this.out.push({ type: 'store', id: dataId, bytes });
  }

  private complete(completion: Completion): void {
    this.out.push({ type: 'complete', completion });
  }

  private cancel(dataId: string): void {
    const task = this.pending.get(dataId);
    if (!task) return;
    this.pending.delete(dataId);
    if (task.phase === 'dispatched') {
      // Its thread drops it if it is still parked there; if it ran, its result is ignored.
      const executor = this.computing.get(dataId);
      if (executor !== undefined) this.out.push({ type: 'cancel-in-thread', executor, ids: [dataId] });
      return;
    }
    // Say what it fetched already, so the scheduler can account for those copies and release them.
    if (task.fetched.length) {
      this.complete({ data_id: dataId, ok: false, nbytes: 0, start: 0, end: 0, fetched_bytes: task.fetchedBytes, fetched: task.fetched, missing: [], dropped: true });
    }
  }

  private releaseValues(ids: string[]): void {
    for (const dataId of ids) this.held.delete(dataId);
    const threads = new Map<number, string[]>();
    this.executors.forEach((executor, index) => {
      const dropped = ids.filter((dataId) => executor.holds.delete(dataId));
      if (dropped.length) threads.set(index, dropped);
    });
    this.out.push({ type: 'release', ids, threads });
  }

  /** Wait for (and start fetching) the inputs of `tasks` that are not here. */
  private fetchInputs(tasks: PendingTask[]): void {
    // Group the ids not yet here and not already on their way, by the first holder to try.
    const byAddress = new Map<string, { ids: string[]; alternatives: Map<string, string[]> }>();
    for (const task of tasks) {
      for (const dep of task.assignment.deps) {
        if (dep.inline || this.held.has(dep.data_id)) continue;
        let set = this.waiters.get(dep.data_id);
        if (!set) this.waiters.set(dep.data_id, (set = new Set()));
        set.add(task);
        task.waitingOn.add(dep.data_id);
        // Produced by a task assigned here earlier: its result wakes the waiters.
        if (dep.pending_here || this.inFlightFetches.has(dep.data_id)) continue;
        this.inFlightFetches.add(dep.data_id);
        const [first, ...rest] = dep.addresses;
        if (!first) {
          this.arrive(dep.data_id, undefined, 0, 0);
          continue;
        }
        let group = byAddress.get(first);
        if (!group) byAddress.set(first, (group = { ids: [], alternatives: new Map() }));
        group.ids.push(dep.data_id);
        group.alternatives.set(dep.data_id, rest);
      }
    }
    for (const [address, group] of byAddress) this.out.push({ type: 'fetch', address, ids: group.ids, alternatives: group.alternatives });
  }

  /**
   * Dispatch `task` once its inputs are here - or, when the only inputs missing are being
   * computed by one executor thread, to that thread at once.
   */
  private runWhenReady(task: PendingTask): void {
    if (task.phase === 'dispatched') return;
    if (task.missing.length) {
      if (task.waitingOn.size) return;
      this.pending.delete(task.assignment.data_id);
      this.complete({ data_id: task.assignment.data_id, ok: false, nbytes: 0, start: 0, end: 0, fetched_bytes: task.fetchedBytes, fetched: task.fetched, missing: task.missing });
      return;
    }
    let index: number | undefined;
    for (const dataId of task.waitingOn) {
      const producer = this.computing.get(dataId);
      if (producer === undefined || (index !== undefined && producer !== index)) return;
      index = producer;
    }
    if (index === undefined) {
      index = 0;
      this.executors.forEach((e, i) => {
        if (e.inFlight < this.executors[index!]!.inFlight) index = i;
      });
    }
    const executor = this.executors[index]!;
    const later = task.waitingOn;
    for (const dataId of later) this.waiters.get(dataId)?.delete(task);
    task.waitingOn = new Set();
    task.phase = 'dispatched';
    const a = task.assignment;
    const deps: DispatchDep[] = a.deps.map((dep) => {
      if (later.has(dep.data_id)) return { id: dep.data_id, inline: false, later: true };
      if (dep.inline) return { id: dep.data_id, inline: true, bytes: dep.bytes };
      if (executor.holds.has(dep.data_id)) return { id: dep.data_id, inline: false };
      executor.holds.add(dep.data_id);
      return { id: dep.data_id, inline: false, fromStore: true };
    });
    const dispatched: DispatchTask = { id: a.data_id, seq: task.seq, op: task.op, deps };
    if (a.args_data_id) dispatched.argsId = a.args_data_id;
    else dispatched.args = a.args;
    this.out.push({ type: 'dispatch', executor: index, task: dispatched });
    executor.inFlight += 1;
    this.computing.set(a.data_id, index);
  }

  /** A value computed here: run the tasks assigned here that were waiting for it. */
  private producedHere(dataId: string): void {
    const tasks = this.waiters.get(dataId);
    if (!tasks || this.inFlightFetches.has(dataId)) return;
    this.waiters.delete(dataId);
    for (const task of tasks) {
      task.waitingOn.delete(dataId);
      if (this.pending.get(task.assignment.data_id) === task) this.runWhenReady(task);
    }
  }
}
