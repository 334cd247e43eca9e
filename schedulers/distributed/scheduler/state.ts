/**
 * The distributed scheduler's brain: task state, placement, stealing and recovery. Pure logic:
 * it never touches the network. The server (`server.ts`) feeds it messages and it answers
 * through the `Outbox` it was given, which batches per worker and per client run.
 *
 * State. Every node of every submitted graph is a `TaskRecord` keyed by its data id
 * (`<client>/<run>/<key>`). Its states and the transitions allowed between them are in
 * `transitions.ts`; every change goes through `transition` here, which checks the table and
 * keeps the bookkeeping that depends on a state (pending-dependent counts, the no-worker set).
 * `pendingDependents` counts dependents not yet done; a value is released once that is 0 and
 * no client wants it. Recovery walks back from a lost value to whatever must be recomputed.
 * A run starts as its first part arrives (`submit`): the client sends nodes inputs first, so
 * each part is checked and dealt on its own, and the run holds its values until its final part.
 *
 * Placement (as Dask's `worker_objective`): a ready task goes to the worker minimising
 *   (tasks queued or processing there) * (mean task time) / nthreads
 *   + sum over inputs it lacks of (LATENCY + bytes / bandwidth),
 * so tasks follow their input bytes unless that worker is too busy. The bandwidth is what the
 * workers' fetches achieve (bytes over the time a task's fetches took, averaged; it starts at
 * Dask's 100 MB/s), so on a busy or slow network bytes weigh more against load. Tasks that
 * become ready together are dealt in blocks (`deal`): those without inputs (a run's roots) in
 * blocks of ceil(n / total threads), each block to the least-loaded worker, so every worker
 * gets its share at once; and the inputs of one same dependent (siblings) together, so their
 * outputs meet where they are combined instead of each moving there. Each worker gets at most `window` tasks at a
 * time - enough to cover ~50 ms of work so tiny tasks travel in large batches - and the rest
 * wait in its queue here.
 *
 * Stealing (as Dask's steal-request / confirm). A worker with idle threads takes queued tasks
 * from the busiest worker's queue here; if no worker has any queued here, it asks for tasks
 * already sent to a worker but perhaps not started: the scheduler marks them `stealing`, sends
 * the victim a steal request, and the victim answers for each whether the task was still
 * waiting there (then it dropped it, and the task goes to the thief: processing -> queued) or
 * had started (it stays). Only tasks whose inputs all exist are stolen this way, never the
 * speculative links of a chain. Either way a task is stolen only when moving it costs less
 * than twice the mean task time: its inputs' transfer, and its output's when a dependent's
 * other inputs are on the victim (a tree's leaf stays by its sibling).
 *
 * Speculative assignment: when a task goes to a worker, any dependent whose missing inputs
 * are all being computed on that same worker goes there too, at once, marked "pending here";
 * the worker runs it as soon as its inputs are produced locally. Chains and local subtrees
 * then run without a scheduler round trip per task. If such an input ends up computed
 * elsewhere after all (its worker could not fetch its own inputs), the speculative
 * dependents are withdrawn (`retract`).
 */
import { PriorityQueue } from './heap.js';
import { checkTransition, isDone, type TaskState } from './transitions.js';
import { dataIdOf } from '../ids.js';
import { now } from '../../../common/clock.js';
import { isOpString } from '../../graph.js';
import {
  errorInfo,
  type Assignment,
  type Assignments,
  type Completion,
  type DepLocation,
  type NodeSpec,
  type ErrorInfo,
  type RunProgress,
  type SubmitPart,
  type WorkerInfo,
} from '../protocol.js';

export type { TaskState } from './transitions.js';

export interface WorkerRecord {
  readonly id: string;
  readonly address: string;
  readonly nthreads: number;
  readonly processing: Set<TaskRecord>;
  readonly queue: PriorityQueue<TaskRecord>;
  queued: number;
  /** Tasks being stolen for this worker (steal requests not answered yet). */
  incoming: number;
  /** Tasks of this worker's `processing` it was asked to give up (not answered yet). */
  outgoing: number;
  readonly has: Set<TaskRecord>;
  lastSeen: number;
}

export interface RunRecord {
  readonly client: string;
  readonly run: number;
  readonly tasks: Map<string, TaskRecord>;
  /** Keys the client asked for (an external key names another run's record). */
  readonly wanted: Map<string, TaskRecord>;
  readonly events: boolean;
  /** More parts of its graph are to come: it keeps every value it computes until the final part. */
  open: boolean;
  /** While open: its records in the order sent (what `NodeSpec.inputs` count). */
  positions: TaskRecord[];
  /** The keys of other runs' values it refers to (what negative `NodeSpec.inputs` count, in order). */
  readonly externals: Map<string, TaskRecord>;
}

export interface TaskRecord {
  readonly id: string;
  readonly key: string;
  readonly run: RunRecord;
  /** '' for a literal value. */
  readonly op: string;
  /** Inline args (task) or inline value (literal). */
  readonly payload: Uint8Array;
  /** A literal whose bytes travel inline with each assignment: always available. */
  readonly inline: boolean;
  /** For a task whose args were uploaded: the args blob (also in `deps`). */
  readonly argsBlob: TaskRecord | undefined;
  readonly deps: TaskRecord[];
  /** Tasks whose args refer to this one (arrays: these lists are short, and Sets cost more to make). */
  readonly dependents: TaskRecord[];
  readonly priority: number;
  state: TaskState;
  waitingOn: number;
  pendingDependents: number;
  /** Workers holding the value. */
  readonly holders: WorkerRecord[];
  nbytes: number;
  worker: WorkerRecord | undefined;
  /** Where it goes once its uploaded inputs are stored (`planUploads`). */
  planned: WorkerRecord | undefined;
  /** Processing on `worker`, asked back for this thief (steal request sent, not answered). */
  stealing: WorkerRecord | undefined;
  /** Its task-start event was sent. */
  announced: boolean;
  /** Runs that asked for this value. */
  readonly wantedBy: RunRecord[];
  forgotten: boolean;
  /** Workers that died while this task was processing on them. */
  failures: number;
  error: ErrorInfo | undefined;
}

/** An assignment before its batch is sent: the server turns `op` into `op_index`. */
export interface PendingAssignment extends Assignment {
  op: string;
}

/** What one worker is sent next. */
export interface PendingAssignments extends Omit<Assignments, 'tasks' | 'ops' | 'steal'> {
  tasks: PendingAssignment[];
  /** Ask the worker to give these tasks back if it has not started them (it answers in `Completions`). */
  steal?: string[];
}

/** Where the state machine's decisions go; the server batches and sends them. */
export interface Outbox {
  toWorker(worker: WorkerRecord): PendingAssignments;
  toRun(run: RunRecord): RunProgress;
}

/** Tunables; defaults suit loopback and a LAN. */
export interface PlacementOptions {
  /** Workers a task may take down with it before it fails with WorkerLostError. */
  allowedFailures?: number;
}

/** A task that was running on this many dying workers fails (Dask's `allowed-failures` is 3). */
export const DEFAULT_ALLOWED_FAILURES = 3;
const LATENCY_SECONDS = 0.0005;
/** The first guess of the bandwidth between workers (Dask's `distributed.scheduler.bandwidth`). */
const INITIAL_BANDWIDTH = 100e6;
/** Fetches smaller than this say more about latency than bandwidth: not measured. */
const BANDWIDTH_SAMPLE_BYTES = 64 * 1024;
const WINDOW_SECONDS = 0.05;
const MAX_WINDOW = 1000;
/** Queued tasks a thief looks at before it gives up (each one it rejects costs more to move than to wait for). */
const STEAL_TRIES = 8;
/** Dependents with more inputs than this are never assigned speculatively (fan-in sinks). */
const SPECULATE_MAX_DEPS = 64;


export class ClusterState {
  readonly workers = new Map<string, WorkerRecord>();
  readonly tasks = new Map<string, TaskRecord>();
  private readonly runs = new Map<string, RunRecord>();
  /** Runs refused (or cancelled) before their final part: their later parts are ignored. */
  private readonly refused = new Set<string>();
  /** Tasks in state no-worker, in the order they became ready, with when (epoch ms). */
  private readonly unplaced = new Map<TaskRecord, number>();
  private meanTaskSeconds = 0.001;
  /** Bytes per second the workers' fetches achieve (moving average). */
  bandwidth = INITIAL_BANDWIDTH;
  /** Bytes each op's results had (moving average): what stealing expects a task to return. */
  private readonly opBytes = new Map<string, number>();
  private readonly allowedFailures: number;

  constructor(
    private readonly outbox: Outbox,
    options: PlacementOptions = {},
  ) {
    this.allowedFailures = options.allowedFailures ?? DEFAULT_ALLOWED_FAILURES;
  }

  // ------------------------------------------------------------------ workers

  addWorker(id: string, address: string, nthreads: number): WorkerRecord {
    const worker: WorkerRecord = {
      id,
      address,
      nthreads: Math.max(1, nthreads),
      processing: new Set(),
      queue: new PriorityQueue<TaskRecord>(
        (t) => t.priority,
        (t) => t.state === 'queued' && t.worker === worker,
      ),
      queued: 0,
      incoming: 0,
      outgoing: 0,
      has: new Set(),
      lastSeen: Date.now(),
    };
    this.workers.set(id, worker);
    for (const task of [...this.unplaced.keys()]) {
      if (task.state !== 'no-worker') continue;
      this.transition(task, 'queued');
      this.place(task);
    }
    this.fill(worker);
    return worker;
  }

  roster(): WorkerInfo[] {
    return [...this.workers.values()].map((w) => ({ id: w.id, data_address: w.address, nthreads: w.nthreads }));
  }

  /** A worker died or hung: reschedule its work, recompute values only it held. */
  removeWorker(worker: WorkerRecord, reason: string): void {
    if (!this.workers.delete(worker.id)) return;
    const lost = [...worker.has];
    for (const task of lost) remove(task.holders, worker);
    worker.has.clear();
    for (const task of [...worker.processing]) {
      worker.processing.delete(task);
      this.endSteal(task);
      task.worker = undefined;
      this.countDeath(task, worker, reason);
    }
    // Queued tasks simply go elsewhere.
    let task: TaskRecord | undefined;
    while ((task = worker.queue.pop())) {
      task.worker = undefined;
      this.place(task);
    }
    for (const value of lost) if (value.holders.length === 0 && value.state === 'memory' && this.isNeeded(value)) this.makeAvailable(value);
    for (const other of this.workers.values()) this.fill(other);
  }

  /**
   * `task` was running where a worker or one of its executor threads died: count it against
   * the task (Dask's KilledWorker after `allowedFailures`), else compute it again.
   */
  private countDeath(task: TaskRecord, worker: WorkerRecord, reason: string): void {
    task.failures += 1;
    if (task.failures < this.allowedFailures) {
      this.transition(task, 'waiting');
      this.makeAvailable(task);
      return;
    }
    this.fail(
      task,
      errorInfo({
        kind: 'worker-lost',
        name: 'WorkerLostError',
        message:
          `task "${task.key}" (op ${task.op}) was running on ${task.failures} workers or executor threads that died (last: ${worker.id}, ${reason}); ` +
          `giving up after ${this.allowedFailures} tries (KilledWorker): the task probably crashes or exhausts its worker`,
        key: task.key,
        op: task.op,
        worker: worker.id,
      }),
    );
  }

  /** Runs with tasks parked in no-worker (no worker is connected), as "<client>/<run>". */
  waitingForWorkers(): string[] {
    return [...new Set([...this.unplaced.keys()].map((t) => `${t.run.client}/${t.run.run}`))];
  }

  /** Fail the tasks parked in no-worker for `timeoutMs` or longer (and what depends on them) with `message`. */
  failUnplaced(timeoutMs: number, message: string): void {
    const cutoff = Date.now() - timeoutMs;
    const expired = [...this.unplaced].filter(([, since]) => since <= cutoff).map(([task]) => task);
    for (const task of expired) {
      if (task.state !== 'no-worker') continue;
      this.fail(task, errorInfo({ kind: 'no-workers', name: 'NoWorkersError', message, key: task.key, op: task.op }));
    }
  }

  // ------------------------------------------------------------------ clients

  /**
   * One part of a submitted graph: its tasks are linked and the ready ones dealt at once, so
   * workers start on the first part while the client still sends the rest. Nodes come in an
   * order where every input precedes its task (the client sends them by priority), so a part
   * is checked on its own and a graph can have no cycle. Until the final part (which names
   * the wanted keys) the run keeps every value it computes. A bad part ends the run: what
   * earlier parts started is cancelled, and later parts of it are ignored. Returns an error
   * message for a bad part.
   */
  submit(client: string, part: SubmitPart): string | undefined {
    const runKey = `${client}/${part.run}`;
    if (this.refused.has(runKey)) {
      if (part.final) this.refused.delete(runKey);
      return undefined;
    }
    let run = this.runs.get(runKey);
    if (run && !run.open) return `run ${part.run} was already submitted`;
    if (!run) {
      run = { client, run: part.run, tasks: new Map(), wanted: new Map(), events: part.events, open: true, positions: [], externals: new Map() };
      this.runs.set(runKey, run);
    }
    let problem = this.addPart(run, part);
    if (!problem && part.final) problem = this.closeRun(run, part.wanted);
    if (problem) {
      this.forgetRun(run);
      if (part.final) this.refused.delete(runKey);
    }
    return problem;
  }

  /** `submit` ignores the parts of this run: it was refused or cancelled before its final part. */
  ignores(client: string, runNumber: number): boolean {
    return this.refused.has(`${client}/${runNumber}`);
  }

  private addPart(run: RunRecord, part: SubmitPart): string | undefined {
    const { client, run: runNumber } = run;
    const prefix = dataIdOf(client, runNumber, '');
    const make = (key: string, op: string, payload: Uint8Array, inline: boolean, argsBlob: TaskRecord | undefined, priority: number, id: string, state: TaskState): TaskRecord => ({
      id,
      key,
      run,
      op,
      payload,
      inline,
      argsBlob,
      deps: [],
      dependents: [],
      priority,
      state,
      waitingOn: 0,
      pendingDependents: 0,
      holders: [],
      nbytes: inline ? payload.byteLength : 0,
      worker: undefined,
      planned: undefined,
      stealing: undefined,
      announced: false,
      wantedBy: [],
      forgotten: false,
      failures: 0,
      error: undefined,
    });
    /** A payload the client is uploading (no task reads it before the client reports it stored: `uploaded`). */
    const placedOn = new Map<TaskRecord, string>();
    const placedRecord = (key: string, node: NodeSpec, id: string): TaskRecord => {
      const record = make(key, '', new Uint8Array(0), false, undefined, node.priority, id, 'awaiting-upload');
      record.nbytes = node.placed!.nbytes;
      placedOn.set(record, node.placed!.worker);
      return record;
    };
    // The part is checked whole before any of it enters the cluster's state.
    for (const ext of part.externals) {
      const record = this.tasks.get(ext.data_id);
      if (!record || !ext.data_id.startsWith(`${client}/`) || record.state === 'erred' || record.forgotten) {
        return `key "${ext.key}" refers to "${ext.data_id}", which this client no longer holds on the cluster`;
      }
      if (run.positions.length) return `key "${ext.key}" is an external reference in a later part of the graph; the client sends them all in its first part`;
    }
    for (const op of part.ops) if (!isOpString(op)) return `the graph has a malformed op "${op}" (expected "<module>#<export>")`;
    const base = run.positions.length;
    const externalCount = run.externals.size + part.externals.length;
    const records: TaskRecord[] = [];
    const problem = ((): string | undefined => {
      for (let i = 0; i < part.nodes.length; i++) {
        const node = part.nodes[i]!;
        const key = node.key;
        if (typeof key !== 'string' || key === '') return 'a node has an empty key';
        if (run.tasks.has(key)) return `key "${key}" appears twice`;
        const op = node.op_index === 0 ? '' : part.ops[node.op_index - 1];
        if (op === undefined) return `task "${key}" names op number ${node.op_index}, but its part of the graph lists ${part.ops.length} op(s)`;
        if (!Number.isFinite(node.priority)) return `node "${key}" has a non-finite priority`;
        for (const n of node.inputs) {
          if (!Number.isInteger(n) || n >= base + i || -1 - n >= externalCount) {
            return `task "${key}" (node number ${base + i}) refers to input number ${n}: an input must be a node sent before it (the client sends nodes by priority) or one of the ${externalCount} external key(s)`;
          }
        }
        const placed = node.placed?.data_id;
        if (placed && !placed.startsWith(prefix)) return `node "${key}" names data "${placed}" outside its run`;
        const id = dataIdOf(client, runNumber, key);
        let record: TaskRecord;
        if (op) record = make(key, op, node.payload, false, placed ? placedRecord(`${key} (args)`, node, placed) : undefined, node.priority, id, 'waiting');
        else if (placed) record = placedRecord(key, node, id);
        else record = make(key, '', node.payload, true, undefined, node.priority, id, 'memory');
        run.tasks.set(key, record);
        records.push(record);
      }
      return undefined;
    })();
    if (problem) {
      for (const record of records) run.tasks.delete(record.key);
      return problem;
    }

    for (const ext of part.externals) run.externals.set(ext.key, this.tasks.get(ext.data_id)!);
    const externals = [...run.externals.values()];
    const going = new Map<TaskRecord, WorkerRecord>();
    for (const [record, workerId] of placedOn) {
      this.tasks.set(record.id, record);
      const target = this.workers.get(workerId);
      if (target) going.set(record, target);
    }
    const tasks: TaskRecord[] = [];
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      this.tasks.set(record.id, record);
      run.positions.push(record);
      if (!record.op) continue;
      tasks.push(record);
      for (const n of part.nodes[i]!.inputs) {
        const input = n >= 0 ? run.positions[n]! : externals[-1 - n]!;
        record.deps.push(input);
        input.dependents.push(record);
        input.pendingDependents += 1;
      }
      if (record.argsBlob) {
        record.deps.push(record.argsBlob);
        record.argsBlob.dependents.push(record);
        record.argsBlob.pendingDependents += 1;
      }
    }
    const ready: TaskRecord[] = [];
    const waitingForUploads: TaskRecord[] = [];
    for (const record of tasks) {
      record.waitingOn = 0;
      let uploads = 0;
      for (const dep of record.deps) {
        if (this.available(dep)) continue;
        record.waitingOn += 1;
        if (going.has(dep)) uploads += 1;
      }
      if (uploads > 0 && uploads === record.waitingOn) waitingForUploads.push(record);
    }
    if (waitingForUploads.length) this.planUploads(waitingForUploads, going);
    for (const record of tasks) {
      for (const dep of record.deps) if (isDone(dep.state) && !this.available(dep) && dep.state !== 'erred') this.makeAvailable(dep);
      if (record.state !== 'waiting') continue;
      if (record.waitingOn === 0) ready.push(record);
      else for (const dep of record.deps) if (dep.state === 'erred' && dep.error) this.fail(record, dep.error);
    }
    ready.sort((a, b) => a.priority - b.priority);
    this.deal(ready);
    return undefined;
  }

  /** The final part arrived: the run wants `wanted` (told at once of those done or failed) and keeps only what is needed. */
  private closeRun(run: RunRecord, wanted: string[]): string | undefined {
    for (const key of wanted) if (!run.tasks.has(key) && !run.externals.has(key)) return `wanted key "${key}" is not in the graph`;
    run.open = false;
    run.positions = [];
    for (const key of wanted) {
      const record = run.tasks.get(key) ?? run.externals.get(key)!;
      if (!record.wantedBy.includes(run)) record.wantedBy.push(run);
      run.wanted.set(key, record);
      if (this.available(record)) this.reportDone(record, run);
      else if (record.state === 'erred' && record.error) this.outbox.toRun(run).failed.push({ key, error: record.error });
    }
    // Values computed while the run was open were kept for the parts to come.
    for (const record of run.tasks.values()) {
      if (record.argsBlob) this.releaseIfUnneeded(record.argsBlob);
      this.releaseIfUnneeded(record);
    }
    return undefined;
  }

  /** The client no longer wants these keys (all keys of the run when `keys` is empty). */
  release(client: string, runNumber: number, keys: string[]): void {
    const run = this.runs.get(`${client}/${runNumber}`);
    if (!run) return;
    if (keys.length === 0) {
      this.forgetRun(run);
      return;
    }
    for (const key of keys) {
      const record = run.wanted.get(key);
      if (!record) continue;
      run.wanted.delete(key);
      remove(record.wantedBy, run);
      this.releaseIfUnneeded(record);
    }
  }

  /** Stop the run: drop its queued and running tasks, release its values. */
  cancel(client: string, runNumber: number): void {
    const run = this.runs.get(`${client}/${runNumber}`);
    if (run) this.forgetRun(run);
  }

  /** A client disconnected: forget all its runs. */
  dropClient(client: string): void {
    for (const run of [...this.runs.values()]) if (run.client === client) this.forgetRun(run);
    for (const key of [...this.refused]) if (key.startsWith(`${client}/`)) this.refused.delete(key);
  }

  private forgetRun(run: RunRecord): void {
    this.runs.delete(`${run.client}/${run.run}`);
    if (run.open) {
      run.open = false;
      run.positions = [];
      this.refused.add(`${run.client}/${run.run}`);
    }
    for (const record of run.wanted.values()) remove(record.wantedBy, run);
    const wantedElsewhere = [...run.wanted.values()].filter((r) => r.run !== run);
    run.wanted.clear();
    for (const record of run.tasks.values()) record.forgotten = true;
    // Cancel the tasks no live run waits for; values go once nothing needs them.
    for (const record of run.tasks.values()) {
      if (!isDone(record.state) && !this.neededOutside(record)) this.cancelTask(record);
    }
    for (const record of run.tasks.values()) this.releaseIfUnneeded(record);
    for (const record of wantedElsewhere) this.releaseIfUnneeded(record);
    for (const worker of this.workers.values()) this.fill(worker);
  }

  private neededOutside(record: TaskRecord): boolean {
    for (const dependent of record.dependents) if (!dependent.forgotten && !isDone(dependent.state)) return true;
    return false;
  }

  /** Take `record` off its worker's queue or running set (telling the worker to drop it). */
  private detachFromWorker(record: TaskRecord): void {
    const worker = record.worker;
    if (record.state === 'queued' && worker) worker.queued -= 1;
    if (record.state === 'processing' && worker) {
      this.endSteal(record);
      worker.processing.delete(record);
      this.outbox.toWorker(worker).cancel.push(record.id);
    }
    record.worker = undefined;
  }

  private cancelTask(record: TaskRecord): void {
    this.detachFromWorker(record);
    this.transition(record, 'released');
  }

  // ------------------------------------------------------------------ workers report

  complete(worker: WorkerRecord, done: Completion): void {
    const record = this.tasks.get(done.data_id);
    if (record) {
      const progress = this.outbox.toRun(record.run);
      progress.bytes_between_workers += done.fetched_bytes;
      if (done.spilled_bytes) progress.bytes_spilled = (progress.bytes_spilled ?? 0) + done.spilled_bytes;
      if (done.read_back_bytes) progress.bytes_read_back = (progress.bytes_read_back ?? 0) + done.read_back_bytes;
    }
    const fetchSeconds = ((done.fetch_end ?? 0) - (done.fetch_start ?? 0)) / 1000;
    if (done.fetched_bytes >= BANDWIDTH_SAMPLE_BYTES && done.fetch_start && fetchSeconds > 0) {
      const sample = Math.min(10e9, Math.max(1e6, done.fetched_bytes / fetchSeconds));
      this.bandwidth = 0.9 * this.bandwidth + 0.1 * sample;
    }
    // Inputs the worker fetched are now held there too (or dropped at once if nobody needs them).
    for (const id of done.fetched) {
      const input = this.tasks.get(id);
      if (input && input.state === 'memory' && !input.inline) {
        if (!input.holders.includes(worker)) input.holders.push(worker);
        worker.has.add(input);
        this.releaseIfUnneeded(input);
      } else {
        this.outbox.toWorker(worker).release.push(id);
      }
    }
    if (done.dropped || !record || record.state !== 'processing' || record.worker !== worker) {
      // Cancelled, stolen back after a loss, or forgotten: the value is not wanted here.
      if (done.ok) this.outbox.toWorker(worker).release.push(done.data_id);
      return;
    }
    worker.processing.delete(record);
    this.endSteal(record);
    record.worker = undefined;
    const progress = this.outbox.toRun(record.run);
    if (!done.ok && done.error?.kind === 'worker-lost') {
      // Its executor thread died (the worker replaced it): as a worker death, for this task only.
      this.retract(record, worker);
      this.countDeath(record, worker, done.error.message);
      this.fill(worker);
      return;
    }
    if (done.missing.length) {
      for (const id of done.missing) {
        const input = this.tasks.get(id);
        if (!input) continue;
        for (const holder of input.holders) holder.has.delete(input);
        input.holders.length = 0;
      }
      this.retract(record, worker);
      this.transition(record, 'waiting');
      this.makeAvailable(record);
      this.fill(worker);
      return;
    }
    if (record.run.events) {
      progress.events.push({ key: record.key, worker: worker.id, finished: true, time: 0, start: done.start, end: done.end, ok: done.ok, phases: done.phases ?? null });
    }
    if (!done.ok) {
      this.fail(record, { ...(done.error ?? errorInfo({ kind: 'task', message: 'unknown error' })), worker: worker.id, key: record.key, op: record.op });
      this.fill(worker);
      return;
    }
    progress.tasks_done += 1;
    const seconds = Math.max(0, (done.end - done.start) / 1000);
    this.meanTaskSeconds = 0.9 * this.meanTaskSeconds + 0.1 * seconds;
    record.nbytes = done.nbytes;
    const opBytes = this.opBytes.get(record.op);
    this.opBytes.set(record.op, opBytes === undefined ? done.nbytes : 0.8 * opBytes + 0.2 * done.nbytes);
    if (!record.holders.includes(worker)) record.holders.push(worker);
    worker.has.add(record);
    this.transition(record, 'memory');
    this.reportDone(record);
    this.inputArrived(record);
    for (const dep of record.deps) this.releaseIfUnneeded(dep);
    this.releaseIfUnneeded(record);
    this.fill(worker);
    this.feedIdle();
  }

  /** The worker answered steal requests: `stolen` it dropped (not started), `kept` it had started or finished. */
  stealReplies(victim: WorkerRecord, stolen: string[], kept: string[]): void {
    for (const id of kept) {
      const record = this.tasks.get(id);
      if (record && record.worker === victim && record.stealing) this.endSteal(record);
    }
    for (const id of stolen) {
      const record = this.tasks.get(id);
      if (!record || record.state !== 'processing' || record.worker !== victim || !record.stealing) continue;
      const thief = record.stealing;
      this.endSteal(record);
      victim.processing.delete(record);
      this.retract(record, victim);
      record.worker = undefined;
      this.transition(record, 'queued');
      if (this.workers.has(thief.id)) {
        record.worker = thief;
        thief.queue.push(record);
        thief.queued += 1;
        this.fill(thief);
      } else {
        this.place(record);
      }
    }
    this.fill(victim);
    this.feedIdle();
  }

  /** Forget a pending steal request of `record` (answered, or the task moved on meanwhile). */
  private endSteal(record: TaskRecord): void {
    const thief = record.stealing;
    if (!thief) return;
    record.stealing = undefined;
    thief.incoming -= 1;
    if (record.worker) record.worker.outgoing -= 1;
  }

  // ------------------------------------------------------------------ transitions

  /** The one place a task's state changes: checked against ALLOWED_TRANSITIONS. */
  private transition(record: TaskRecord, state: TaskState): void {
    checkTransition(record.key, record.state, state);
    if (record.state === 'no-worker') this.unplaced.delete(record);
    else if (state === 'no-worker') this.unplaced.set(record, Date.now());
    const wasDone = isDone(record.state);
    record.state = state;
    const nowDone = isDone(state);
    if (wasDone === nowDone) return;
    for (const dep of record.deps) {
      dep.pendingDependents += nowDone ? -1 : 1;
      if (nowDone) this.releaseIfUnneeded(dep);
    }
  }

  private available(record: TaskRecord): boolean {
    return record.state === 'memory' && (record.inline || record.holders.length > 0);
  }

  private isNeeded(record: TaskRecord): boolean {
    return record.wantedBy.length > 0 || record.pendingDependents > 0 || record.run.open;
  }

  private releaseIfUnneeded(record: TaskRecord): void {
    if (record.state === 'memory' && !this.isNeeded(record)) {
      for (const holder of record.holders) {
        holder.has.delete(record);
        this.outbox.toWorker(holder).release.push(record.id);
      }
      record.holders.length = 0;
      if (!record.inline) this.transition(record, 'released');
    }
    if (record.forgotten && isDone(record.state) && record.pendingDependents === 0 && record.holders.length === 0) {
      this.tasks.delete(record.id);
      if (record.argsBlob) this.tasks.delete(record.argsBlob.id);
    }
  }

  /**
   * `start` must be (re)computed: walk back through inputs that are released or lost, make
   * all of them waiting, then recount what each waiting task (and each queued dependent of a
   * recomputed value) still waits for. Iterative, so deep chains cannot overflow the stack.
   */
  private makeAvailable(start: TaskRecord): void {
    const recompute: TaskRecord[] = [];
    const seen = new Set<TaskRecord>();
    const stack = [start];
    while (stack.length) {
      const record = stack.pop()!;
      if (seen.has(record)) continue;
      seen.add(record);
      if (this.available(record) || record.state === 'erred' || record.state === 'queued' || record.state === 'processing' || record.state === 'no-worker') continue;
      if (!record.op) {
        // A literal cannot be recomputed: its client uploads it again (`uploaded`).
        if (record.state !== 'awaiting-upload') {
          this.transition(record, 'awaiting-upload');
          this.outbox.toRun(record.run).reupload.push(record.id);
        }
        recompute.push(record);
        continue;
      }
      recompute.push(record);
      for (const dep of record.deps) if (!this.available(dep)) stack.push(dep);
    }
    const affected = new Set<TaskRecord>();
    for (const record of recompute) {
      if (record.op && record.state !== 'waiting') this.transition(record, 'waiting');
      affected.add(record);
      for (const dependent of record.dependents) {
        if (dependent.state === 'waiting' || dependent.state === 'queued' || dependent.state === 'no-worker') affected.add(dependent);
      }
    }
    const ready: TaskRecord[] = [];
    for (const record of affected) {
      if (record.state === 'queued' || record.state === 'no-worker') {
        this.detachFromWorker(record);
        this.transition(record, 'waiting');
      }
      if (record.state !== 'waiting') continue;
      record.waitingOn = 0;
      for (const dep of record.deps) if (!this.available(dep)) record.waitingOn += 1;
      if (record.waitingOn === 0 && record.op) ready.push(record);
    }
    ready.sort((a, b) => a.priority - b.priority);
    this.deal(ready);
  }

  /**
   * The client stored these payloads on workers: a run's uploads (as each Put completes) or
   * lost literals uploaded again. The tasks they make ready are dealt together (`deal`), so
   * one Put's worth of inputs is placed as one block. A payload nobody waits for any more (its
   * run was cancelled meanwhile) is dropped from its worker.
   */
  uploaded(client: string, placed: ReadonlyArray<{ data_id: string; worker: string; nbytes: number }>): void {
    const ready: TaskRecord[] = [];
    for (const { data_id: dataId, worker: workerId, nbytes } of placed) {
      const record = this.tasks.get(dataId);
      const worker = this.workers.get(workerId);
      if (!record || record.op || record.state !== 'awaiting-upload' || record.forgotten || record.run.client !== client) {
        if (worker && dataId.startsWith(`${client}/`) && !record?.holders.includes(worker)) this.outbox.toWorker(worker).release.push(dataId);
        continue;
      }
      if (!worker) {
        // That worker is gone: ask again.
        this.outbox.toRun(record.run).reupload.push(record.id);
        continue;
      }
      record.nbytes = nbytes;
      record.holders.push(worker);
      worker.has.add(record);
      this.transition(record, 'memory');
      this.inputArrived(record, ready);
      this.releaseIfUnneeded(record);
    }
    ready.sort((a, b) => a.priority - b.priority);
    const unplanned: TaskRecord[] = [];
    for (const record of ready) {
      const planned = record.planned;
      record.planned = undefined;
      if (planned && this.workers.has(planned.id)) this.makeReady(record, planned);
      else unplanned.push(record);
    }
    this.deal(unplanned);
  }

  /**
   * Tasks that wait only for their run's uploads become ready a Put at a time, too few at once
   * for `deal`'s blocks to mean anything. So deal them at submission, as if all were ready:
   * the worker each payload is going to stands in for its holder, and the tasks planned so far
   * count as load. Each is queued on its planned worker once its inputs are stored (`uploaded`).
   */
  private planUploads(waiting: TaskRecord[], going: ReadonlyMap<TaskRecord, WorkerRecord>): void {
    const plannedOn = new Map<WorkerRecord, number>();
    waiting.sort((a, b) => a.priority - b.priority);
    this.deal(waiting, (record, prefer) => {
      let best = prefer;
      if (!best) {
        let bestCost = Infinity;
        for (const worker of this.workers.values()) {
          let cost = this.load(worker) + ((plannedOn.get(worker) ?? 0) * this.meanTaskSeconds) / worker.nthreads;
          for (const dep of record.deps) {
            if (dep.inline || dep.holders.includes(worker) || going.get(dep) === worker) continue;
            cost += LATENCY_SECONDS + dep.nbytes / this.bandwidth;
          }
          if (cost < bestCost) {
            bestCost = cost;
            best = worker;
          }
        }
      }
      if (best) {
        plannedOn.set(best, (plannedOn.get(best) ?? 0) + 1);
        record.planned = best;
      }
      return best;
    });
  }

  /** `record`'s value is available now: the dependents that waited only for it are ready (into `ready`, else made ready one by one). */
  private inputArrived(record: TaskRecord, into?: TaskRecord[]): void {
    const ready: TaskRecord[] = [];
    for (const dependent of record.dependents) {
      if (dependent.state !== 'waiting') continue;
      dependent.waitingOn -= 1;
      if (dependent.waitingOn === 0) ready.push(dependent);
    }
    if (into) into.push(...ready);
    else for (const dependent of ready) this.makeReady(dependent);
  }

  /** Mark `record` and everything downstream of it erred; tell the clients that wanted any of them. */
  private fail(start: TaskRecord, error: ErrorInfo): void {
    const stack = [start];
    while (stack.length) {
      const record = stack.pop()!;
      if (record.state === 'erred') continue;
      this.detachFromWorker(record);
      record.error = error;
      this.transition(record, 'erred');
      for (const run of record.wantedBy) this.outbox.toRun(run).failed.push({ key: record.key, error });
      for (const dependent of record.dependents) stack.push(dependent);
    }
  }

  /** Tell the runs that want `record` (or just `only`) where its value is. */
  private reportDone(record: TaskRecord, only?: RunRecord): void {
    const holder = record.holders[0];
    for (const run of only ? [only] : record.wantedBy) {
      this.outbox.toRun(run).done.push({
        key: record.key,
        data_id: record.id,
        worker: holder?.id ?? '',
        data_address: holder?.address ?? '',
        nbytes: record.nbytes,
      });
    }
  }

  // ------------------------------------------------------------------ placement

  /**
   * Make `ready` (tasks that became ready together, in priority order) ready, in blocks: the
   * inputless ones in blocks of ceil(roots / threads), and the tasks whose one dependent is the
   * same (a sum's inputs, matmul's products of one output block) with their siblings, at most
   * ceil(ready / threads) of them per worker. The first of a block goes where it costs least;
   * its block follows it. Siblings then meet where their dependent will run, and only the
   * inputs move, once per worker, instead of every product. `put` queues a task (or, for
   * `planUploads`, only chooses its worker) and returns the worker.
   */
  private deal(ready: TaskRecord[], put: (record: TaskRecord, prefer?: WorkerRecord) => WorkerRecord | undefined = (r, p) => this.makeReady(r, p)): void {
    const threads = this.threads();
    const rootSize = Math.max(1, Math.ceil(ready.filter((r) => isRoot(r)).length / threads));
    const readySize = Math.max(1, Math.ceil(ready.length / threads));
    const rootBlock: Block = { worker: undefined, left: 0 };
    const siblings = new Map<TaskRecord, Block>();
    for (const record of ready) {
      let block: Block | undefined;
      let size = readySize;
      if (isRoot(record)) {
        block = rootBlock;
        size = rootSize;
      } else if (record.dependents.length === 1) {
        const dependent = record.dependents[0]!;
        block = siblings.get(dependent);
        if (!block) siblings.set(dependent, (block = { worker: undefined, left: 0 }));
      }
      const prefer = block && block.left > 0 && block.worker && this.workers.has(block.worker.id) ? block.worker : undefined;
      const worker = put(record, prefer);
      if (!block || !worker) continue;
      if (worker === prefer) block.left -= 1;
      else {
        block.worker = worker;
        block.left = size - 1;
      }
    }
  }

  private threads(): number {
    let threads = 0;
    for (const worker of this.workers.values()) threads += worker.nthreads;
    return Math.max(1, threads);
  }

  /** `record`'s inputs are all available: queue it on `prefer` or where it costs least; returns that worker. */
  private makeReady(record: TaskRecord, prefer?: WorkerRecord): WorkerRecord | undefined {
    record.worker = undefined;
    if (this.workers.size === 0) {
      this.transition(record, 'no-worker');
      return undefined;
    }
    this.transition(record, 'queued');
    return this.place(record, prefer);
  }

  private load(worker: WorkerRecord): number {
    return ((worker.queued + worker.processing.size) * this.meanTaskSeconds) / worker.nthreads;
  }

  private transferCost(record: TaskRecord, worker: WorkerRecord): number {
    let cost = 0;
    for (const dep of record.deps) {
      if (dep.inline || dep.holders.includes(worker)) continue;
      cost += LATENCY_SECONDS + dep.nbytes / this.bandwidth;
    }
    return cost;
  }

  /** Put a queued task in the queue of `prefer`, or of the worker where it costs least (no-worker if there is none). */
  private place(record: TaskRecord, prefer?: WorkerRecord): WorkerRecord | undefined {
    if (this.workers.size === 0) {
      this.transition(record, 'no-worker');
      return undefined;
    }
    let best = prefer;
    if (!best) {
      let bestCost = Infinity;
      for (const worker of this.workers.values()) {
        const cost = this.load(worker) + this.transferCost(record, worker);
        if (cost < bestCost) {
          bestCost = cost;
          best = worker;
        }
      }
    }
    const worker = best!;
    record.worker = worker;
    worker.queue.push(record);
    worker.queued += 1;
    this.fill(worker);
    return worker;
  }

  private window(worker: WorkerRecord): number {
    const byTime = Math.ceil(WINDOW_SECONDS / Math.max(this.meanTaskSeconds, 1e-6));
    return Math.min(MAX_WINDOW, Math.max(2 * worker.nthreads, byTime * worker.nthreads));
  }

  /** Send `worker` queued tasks up to its window; if it has none queued, steal from the busiest. */
  fill(worker: WorkerRecord): void {
    if (!this.workers.has(worker.id)) return;
    const window = this.window(worker);
    while (worker.processing.size < window) {
      let record = worker.queue.pop();
      if (!record) {
        record = this.steal(worker);
        if (!record) break;
      } else {
        worker.queued -= 1;
      }
      this.assign(record, worker);
      this.speculate(record, worker);
    }
    if (worker.processing.size + worker.incoming < worker.nthreads) this.requestSteals(worker);
  }

  /** Workers with idle threads ask for work (cheap when none is idle). */
  private feedIdle(): void {
    for (const worker of this.workers.values()) {
      if (worker.processing.size + worker.incoming < worker.nthreads) this.fill(worker);
    }
  }

  /**
   * `thief` has idle threads and no worker has tasks queued here: ask the busiest worker for
   * tasks it was sent but may not have started, enough to even out the two (at most what the
   * thief can start at once), newest first (the least likely to have started).
   */
  private requestSteals(thief: WorkerRecord): void {
    let victim: WorkerRecord | undefined;
    let surplus = 0;
    for (const worker of this.workers.values()) {
      if (worker === thief) continue;
      const spare = worker.processing.size - worker.outgoing - worker.nthreads;
      if (spare > surplus) {
        surplus = spare;
        victim = worker;
      }
    }
    if (!victim) return;
    const mine = thief.processing.size + thief.incoming;
    const theirs = victim.processing.size - victim.outgoing;
    let wanted = Math.min(surplus, Math.floor((theirs - mine) / 2), 2 * thief.nthreads - mine);
    if (wanted <= 0) return;
    const candidates = [...victim.processing];
    const request: string[] = [];
    for (let i = candidates.length - 1; i >= 0 && wanted > 0; i--) {
      const record = candidates[i]!;
      if (record.stealing || !record.deps.every((dep) => this.available(dep))) continue;
      if (this.notWorthMoving(record, victim, thief)) continue;
      record.stealing = thief;
      thief.incoming += 1;
      victim.outgoing += 1;
      request.push(record.id);
      wanted -= 1;
    }
    if (!request.length) return;
    const batch = this.outbox.toWorker(victim);
    (batch.steal ??= []).push(...request);
  }

  /** Send dependents of `start` whose missing inputs are all being computed on `worker` to it too. */
  private speculate(start: TaskRecord, worker: WorkerRecord): void {
    const window = this.window(worker);
    const stack = [start];
    while (stack.length && worker.processing.size < window) {
      const record = stack.pop()!;
      for (const dependent of record.dependents) {
        if (dependent.state !== 'waiting' || dependent.forgotten || dependent.deps.length > SPECULATE_MAX_DEPS) continue;
        if (!dependent.deps.every((dep) => this.available(dep) || (dep.state === 'processing' && dep.worker === worker))) continue;
        this.assign(dependent, worker);
        stack.push(dependent);
      }
    }
  }

  /** `record` will not be computed on `worker` after all: withdraw dependents sent there speculatively. */
  private retract(record: TaskRecord, worker: WorkerRecord): void {
    const withdrawn: TaskRecord[] = [];
    const stack = [record];
    while (stack.length) {
      const producer = stack.pop()!;
      for (const dependent of producer.dependents) {
        if (dependent.state !== 'processing' || dependent.worker !== worker) continue;
        worker.processing.delete(dependent);
        this.outbox.toWorker(worker).cancel.push(dependent.id);
        dependent.worker = undefined;
        this.transition(dependent, 'waiting');
        withdrawn.push(dependent);
        stack.push(dependent);
      }
    }
    for (const dependent of withdrawn) {
      dependent.waitingOn = 0;
      for (const dep of dependent.deps) if (!this.available(dep)) dependent.waitingOn += 1;
    }
  }

  private steal(thief: WorkerRecord): TaskRecord | undefined {
    let victim: WorkerRecord | undefined;
    for (const worker of this.workers.values()) {
      if (worker !== thief && worker.queued > 0 && (!victim || worker.queued > victim.queued)) victim = worker;
    }
    if (!victim) return undefined;
    // The victim's next tasks, unless moving them costs more in transfers than they take (those
    // go back: a tree's leaf stays by the sibling its output is added to).
    const rejected: TaskRecord[] = [];
    let record: TaskRecord | undefined;
    while (rejected.length < STEAL_TRIES && (record = victim.queue.pop())) {
      if (!this.notWorthMoving(record, victim, thief)) break;
      rejected.push(record);
      record = undefined;
    }
    for (const back of rejected) victim.queue.push(back);
    if (record) victim.queued -= 1;
    return record;
  }

  /**
   * Moving `record` from `victim` to `thief` costs more than the task takes: the inputs it
   * would fetch there, plus, when a dependent of it has other inputs on the victim, its own
   * output travelling back (estimated from what its op returned so far).
   */
  private notWorthMoving(record: TaskRecord, victim: WorkerRecord, thief: WorkerRecord): boolean {
    let cost = this.transferCost(record, thief) - this.transferCost(record, victim);
    const outputBytes = this.opBytes.get(record.op) ?? 0;
    if (outputBytes > 0) {
      const siblingThere = record.dependents.some((dependent) =>
        dependent.deps.some((dep) => dep !== record && !dep.inline && (dep.worker === victim || dep.holders.includes(victim))),
      );
      if (siblingThere) cost += LATENCY_SECONDS + outputBytes / this.bandwidth;
    }
    return cost > 2 * this.meanTaskSeconds;
  }

  private assign(record: TaskRecord, worker: WorkerRecord): void {
    this.transition(record, 'processing');
    record.worker = worker;
    worker.processing.add(record);
    const deps: DepLocation[] = record.deps.map((dep) => ({
      data_id: dep.id,
      inline: dep.inline,
      bytes: dep.inline ? dep.payload : EMPTY,
      addresses: dep.inline || dep.holders.includes(worker) ? NONE : holderAddresses(dep),
      pending_here: dep.state === 'processing' && dep.worker === worker,
    }));
    const assignment: PendingAssignment = {
      data_id: record.id,
      op: record.op,
      op_index: 0,
      args: record.argsBlob ? EMPTY : record.payload,
      args_data_id: record.argsBlob?.id ?? '',
      deps,
      phases: record.run.events,
    };
    this.outbox.toWorker(worker).tasks.push(assignment);
    if (record.run.events && !record.announced) {
      // One task-start per task: not again when it is stolen, withdrawn or rescheduled.
      record.announced = true;
      this.outbox.toRun(record.run).events.push({ key: record.key, worker: worker.id, finished: false, time: now(), start: 0, end: 0, ok: true });
    }
  }

  /** Workers whose last heartbeat is older than `timeoutMs`. */
  silentWorkers(timeoutMs: number): WorkerRecord[] {
    const limit = Date.now() - timeoutMs;
    return [...this.workers.values()].filter((w) => w.lastSeen < limit);
  }
}

/** A block being dealt (`ClusterState.deal`): its worker and how many more tasks go there. */
interface Block {
  worker: WorkerRecord | undefined;
  left: number;
}

/** A task none of whose inputs live on a worker (only inline literals, or none). */
function isRoot(record: TaskRecord): boolean {
  for (const dep of record.deps) if (!dep.inline) return false;
  return true;
}

/** Remove one occurrence of `item` from `list`. */
function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

const EMPTY = new Uint8Array(0);
const NONE: string[] = [];

function holderAddresses(dep: TaskRecord): string[] {
  const addresses: string[] = [];
  for (const holder of dep.holders) addresses.push(holder.address);
  return addresses;
}
