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
 *   ready      - all inputs here, waiting in this worker's small ready queue for a thread: a
 *                thread holds at most ~20 ms of work (one long task, or many short ones, so it
 *                seldom waits for the main thread), and the rest stay here, where the
 *                scheduler can still steal them
 *   dispatched - sent to an executor thread; it may still wait there for an input that same
 *                thread computes (a chain then costs no round trip per link)
 *   (gone)     - its result was reported, or it was cancelled or stolen, or an input could not
 *                be fetched anywhere (reported as `missing`, the scheduler recomputes it)
 * Inputs are fetched while other tasks run (overlapping transfer with compute), at most
 * MAX_FETCHES requests at a time, in the order their tasks arrived.
 * A steal request is answered at once: `stolen` for a task still fetching or ready (it is
 * dropped here), `kept` for one dispatched or unknown (already reported).
 * A cancelled task that already reached a thread still returns a result; it is recognised by
 * its `seq` (the same data id may have been assigned here again since) and ignored.
 *
 * Phases. With the epoch-ms times `worker.ts` passes in (when a batch arrived, when a fetch
 * began and ended, when a thread's results reached the main thread) and the thread's own
 * (start, end, decode and encode times), each completion says where its task's time went:
 * waiting (received until started, less its transfers), transfer (from the first fetch it
 * waited for to the last arrival), deserialize, compute, report (encoding until the main
 * thread had it). The module itself reads no clock.
 *
 * `held` mirrors the worker's value store (ids only: the bytes stay with `worker.ts`); each
 * executor's `holds` are the ids whose live value that thread keeps (sent once per thread).
 */
import type { Assignment, Completion, ErrorInfo, TaskPhases } from '../protocol.js';

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
  | { type: 'cancel-in-thread'; executor: number; ids: string[] }
  /** The answer to a steal request: `stolen` (dropped here, not started) or kept. */
  | { type: 'steal-reply'; id: string; stolen: boolean };

/** One result from an executor thread; `bytes` is the serialized value of a success. */
export interface ResultEvent {
  id: string;
  seq: number;
  ok: boolean;
  bytes?: Uint8Array;
  start: number;
  end: number;
  /** Milliseconds of start..end spent decoding inputs and encoding the result (thread-measured). */
  decode?: number;
  encode?: number;
  error?: ErrorInfo;
}

export type TaskPhase = 'fetching' | 'ready' | 'dispatched';

/** Tasks a thread gets ahead of the one it runs: enough to cover this much work. */
const THREAD_AHEAD_MS = 20;
const MAX_THREAD_AHEAD = 1024;
/**
 * Fetch requests out at once (each asks one peer for the inputs of one batch of tasks). The
 * rest wait, oldest first: the inputs of the tasks that run next arrive first instead of
 * every transfer sharing the links and finishing late together.
 */
const MAX_FETCHES = 4;

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
  /** Epoch ms: it arrived here (0: not timed); the first and last fetch it waited for (its transfer phase). */
  received: number;
  waitedFetchStart: number;
  waitedFetchEnd: number;
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
  /** Fetch requests not sent yet (oldest first), and the ids each sent one still waits for. */
  private readonly fetchQueue: Array<Extract<Instruction, { type: 'fetch' }>> = [];
  private readonly fetchGroups = new Map<string, { left: number }>();
  private fetchesOut = 0;
  private readonly executors: ExecutorBook[];
  /** Tasks in phase `ready`, oldest first (lazy deletion: an entry no longer ready is skipped). */
  private ready: PendingTask[] = [];
  private readyHead = 0;
  /** Mean task run time here (ms), from the threads' results; undefined until the first one. */
  private meanTaskMs: number | undefined;
  /** Ids in the value store. */
  readonly held = new Set<string>();
  private nextSeq = 1;
  private out: Instruction[] = [];
  /** Ids just dispatched: tasks here waiting only for them can follow to the same thread. */
  private woken: string[] = [];

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

  /** A batch from the scheduler: values to release, tasks to cancel or give back (steal), new tasks (with their op strings). */
  assign(batch: { tasks: Array<{ assignment: Assignment; op: string }>; cancel: string[]; release: string[]; steal?: string[]; at?: number }): Instruction[] {
    if (batch.release.length) this.releaseValues(batch.release);
    for (const dataId of batch.cancel) this.cancel(dataId);
    for (const dataId of batch.steal ?? []) this.out.push({ type: 'steal-reply', id: dataId, stolen: this.giveBack(dataId) });
    const fresh: PendingTask[] = [];
    for (const { assignment, op } of batch.tasks) {
      const task: PendingTask = {
        assignment,
        seq: this.nextSeq++,
        op,
        phase: 'fetching',
        waitingOn: new Set(),
        fetchedBytes: 0,
        fetched: [],
        missing: [],
        fetchStart: 0,
        fetchEnd: 0,
        received: batch.at ?? 0,
        waitedFetchStart: 0,
        waitedFetchEnd: 0,
      };
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

  /** Results from executor thread `index` (exactly one for every task dispatched to it); `at`: epoch ms they reached the main thread. */
  results(index: number, results: ResultEvent[], at = 0): Instruction[] {
    for (const result of results) this.result(index, result, at);
    this.drain();
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
    const group = this.fetchGroups.get(dataId);
    if (group) {
      this.fetchGroups.delete(dataId);
      if (--group.left === 0) {
        this.fetchesOut -= 1;
        this.sendFetches();
      }
    }
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
      if (bytes && began > 0) {
        task.waitedFetchStart = task.waitedFetchStart ? Math.min(task.waitedFetchStart, began) : began;
        task.waitedFetchEnd = Math.max(task.waitedFetchEnd, at);
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

  private result(index: number, result: ResultEvent, at: number): void {
    const executor = this.executors[index]!;
    executor.inFlight -= 1;
    if (result.ok) {
      const ms = Math.max(0, result.end - result.start);
      this.meanTaskMs = this.meanTaskMs === undefined ? ms : 0.8 * this.meanTaskMs + 0.2 * ms;
    }
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
      phases: current.assignment.phases ? phasesOf(current, result, at) : null,
    });
  }

  private take(): Instruction[] {
    // A task dispatched from the ready queue may be the head of a chain whose links wait here.
    while (this.woken.length) {
      const tasks = this.waiters.get(this.woken.pop()!);
      if (!tasks) continue;
      for (const task of [...tasks]) if (this.pending.get(task.assignment.data_id) === task) this.runWhenReady(task);
    }
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
    if (task.phase === 'dispatched') {
      this.pending.delete(dataId);
      // Its thread drops it if it is still parked there; if it ran, its result is ignored.
      const executor = this.computing.get(dataId);
      if (executor !== undefined) this.out.push({ type: 'cancel-in-thread', executor, ids: [dataId] });
      return;
    }
    this.drop(task);
  }

  /** A steal request: drop `dataId` if it has not reached a thread; true if it was dropped. */
  private giveBack(dataId: string): boolean {
    const task = this.pending.get(dataId);
    if (!task || task.phase === 'dispatched') return false;
    this.drop(task);
    return true;
  }

  /** Forget a task that has not reached a thread (fetching or ready). */
  private drop(task: PendingTask): void {
    const dataId = task.assignment.data_id;
    this.pending.delete(dataId);
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
    for (const [address, group] of byAddress) this.fetchQueue.push({ type: 'fetch', address, ids: group.ids, alternatives: group.alternatives });
    this.sendFetches();
  }

  /** Send queued fetch requests, oldest first, while fewer than MAX_FETCHES are out. */
  private sendFetches(): void {
    while (this.fetchesOut < MAX_FETCHES && this.fetchQueue.length) {
      const fetch = this.fetchQueue.shift()!;
      const group = { left: fetch.ids.length };
      for (const dataId of fetch.ids) this.fetchGroups.set(dataId, group);
      this.fetchesOut += 1;
      this.out.push(fetch);
    }
  }

  /**
   * Dispatch `task` once its inputs are here - or, when the only inputs missing are being
   * computed by one executor thread, to that thread at once.
   */
  private runWhenReady(task: PendingTask): void {
    if (task.phase !== 'fetching') return;
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
      // Inputs all here: a free thread, or the ready queue (behind the tasks already there).
      task.phase = 'ready';
      this.ready.push(task);
      this.drain();
      return;
    }
    this.dispatch(task, index);
  }

  /** Hand ready tasks, oldest first, to the least busy threads while they have room. */
  private drain(): void {
    // Tasks in a thread at once: one for tasks of THREAD_AHEAD_MS or more (a free thread takes
    // the next, so long tasks spread over the threads and stay stealable), more for short ones.
    // Until a task has been timed here, one: the first batch may be long tasks.
    const ahead = this.meanTaskMs === undefined ? 1 : Math.max(1, Math.min(MAX_THREAD_AHEAD, Math.ceil(THREAD_AHEAD_MS / Math.max(this.meanTaskMs, 1e-3))));
    while (this.readyHead < this.ready.length) {
      const task = this.ready[this.readyHead]!;
      if (task.phase !== 'ready' || this.pending.get(task.assignment.data_id) !== task) {
        this.readyHead += 1;
        continue;
      }
      let index = 0;
      for (let i = 1; i < this.executors.length; i++) if (this.executors[i]!.inFlight < this.executors[index]!.inFlight) index = i;
      if (this.executors[index]!.inFlight >= ahead) break;
      this.readyHead += 1;
      this.dispatch(task, index);
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
  }

  /** Send `task` to executor thread `index` (its `waitingOn` inputs are being computed there). */
  private dispatch(task: PendingTask, index: number): void {
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
    if (this.waiters.has(a.data_id)) this.woken.push(a.data_id);
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

/** Where `task`'s time went (ms), or null when the times to tell were not given. */
function phasesOf(task: PendingTask, result: ResultEvent, at: number): TaskPhases | null {
  if (!task.received || !at || !result.start) return null;
  const transfer = task.waitedFetchEnd > task.waitedFetchStart ? task.waitedFetchEnd - task.waitedFetchStart : 0;
  const decode = result.decode ?? 0;
  const encode = result.encode ?? 0;
  return {
    waiting: Math.max(0, result.start - task.received - transfer),
    transfer,
    deserialize: decode,
    compute: Math.max(0, result.end - result.start - decode - encode),
    report: encode + Math.max(0, at - result.end),
    transfer_at: transfer ? task.waitedFetchStart : 0,
  };
}
