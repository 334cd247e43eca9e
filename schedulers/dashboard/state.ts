/**
 * The dashboard's model: folds scheduler activity (runs, task starts and ends, workers joining
 * and leaving, transfers, resource samples) into bounded plain-data state, and cuts it into
 * the updates the page receives. Pure bookkeeping: no timers, no I/O; the server decides when
 * to call `update()`.
 *
 * Bounds. The task stream keeps the last `maxTasks` bars (and sends at most `maxTasksPerUpdate`
 * new ones per update: the newest), transfers the last `maxTransfers`,
 * the log the last `maxLog` entries; task groups beyond `maxGroups` count as "other", and
 * lost workers beyond `maxLostWorkers` are forgotten, oldest first. So a scheduler that runs
 * for days with the page open holds the same memory as after its first minute.
 *
 * Progress per task group (Dask's progress bars): a run registers its tasks by key; a task
 * counts as waiting until it is handed to a worker, then processing until it ends, then done
 * or erred. When a run ends, its unfinished tasks leave the counts (they will not run).
 *
 * Updates. `update(false)` returns what changed since the previous call: the new bars,
 * transfers and log lines, plus the small state (groups, workers, totals) in full. A page
 * that connects later first gets `update(true)`, with the whole buffers, then the same deltas
 * as everyone else.
 */
import { taskGroup } from '../../common/task-group.js';

/** One task bar of the stream: worker, group, start and end (epoch ms), 1 = ok / 0 = failed (a tuple: thousands travel per update). */
export type TaskBar = [worker: string, group: string, start: number, end: number, ok: 0 | 1];

/** One transfer between workers (distributed): bytes pulled by `to` from `from`. */
export interface TransferBar {
  from: string;
  to: string;
  bytes: number;
  start: number;
  end: number;
}

export interface LogEntry {
  time: number;
  kind: 'worker-joined' | 'worker-lost' | 'task-error' | 'run-failed';
  text: string;
}

export interface GroupProgress {
  group: string;
  waiting: number;
  processing: number;
  done: number;
  erred: number;
}

export interface WorkerRow {
  name: string;
  status: 'running' | 'lost';
  address: string;
  nthreads: number;
  /** Tasks handed to it and not finished. */
  running: number;
  /** Tasks it finished (ok or not). */
  finished: number;
  /** Values it holds and their bytes; null where values live in the scheduling process (local schedulers). */
  values: number | null;
  bytes: number | null;
  /** Resident memory (bytes) and CPU (fraction of one core) of its process; null when not its own process. */
  rss: number | null;
  cpu: number | null;
}

/** Bytes pulled between one pair of workers since the start. */
export interface Link {
  from: string;
  to: string;
  bytes: number;
}

export interface Totals {
  runs: number;
  runsActive: number;
  done: number;
  erred: number;
  bytesToWorkers: number;
  bytesFromWorkers: number;
  bytesBetweenWorkers: number;
}

/** One message to the page. */
export interface DashboardUpdate {
  time: number;
  full: boolean;
  title: string;
  scheduler: string;
  /** The scheduling process itself. */
  process: { pid: number; rss: number; cpu: number };
  totals: Totals;
  groups: GroupProgress[];
  workers: WorkerRow[];
  links: Link[];
  tasks: TaskBar[];
  transfers: TransferBar[];
  log: LogEntry[];
  /** Kept on the page's side up to this many bars. */
  maxTasks: number;
}

/** What a worker holds right now, read from the scheduler when an update is cut. */
export interface Holding {
  worker: string;
  values: number;
  bytes: number;
  /** Tasks the scheduler has handed to it and not heard back about. */
  running: number;
}

export interface DashboardLimits {
  maxTasks?: number;
  maxTasksPerUpdate?: number;
  maxTransfers?: number;
  maxLog?: number;
  maxGroups?: number;
  maxLostWorkers?: number;
}

interface GroupCounts {
  registered: number;
  started: number;
  ended: number;
}

interface WorkerState extends WorkerRow {
  lostAt: number;
}

/** A ring of the last `limit` items, with a running count so deltas can be cut. */
class Ring<T> {
  private items: T[] = [];
  private pushed = 0;
  private cut = 0;
  constructor(readonly limit: number) {}
  push(item: T): void {
    this.items.push(item);
    this.pushed += 1;
    if (this.items.length > this.limit + (this.limit >> 2)) this.items.splice(0, this.items.length - this.limit);
  }
  /** The newest items pushed since the previous delta (at most `cap`); `all`: every kept item, without moving the delta's cursor. */
  take(all: boolean, cap = this.limit): T[] {
    if (all) return this.items.slice(-this.limit);
    const fresh = Math.min(this.pushed - this.cut, cap, this.items.length);
    this.cut = this.pushed;
    return fresh ? this.items.slice(this.items.length - fresh) : [];
  }
}

/**
 * The task stream's ring: the last `limit` bars in columns (typed arrays for the numbers),
 * written in place, so a task costs no allocation; tuples are made only for the bars an
 * update sends (a burst of 100,000 tiny tasks sends a few thousand of them).
 */
class BarRing {
  private readonly worker: string[];
  private readonly group: string[];
  private readonly start: Float64Array;
  private readonly end: Float64Array;
  private readonly ok: Uint8Array;
  private pushed = 0;
  private cut = 0;
  constructor(readonly limit: number) {
    this.worker = new Array<string>(limit);
    this.group = new Array<string>(limit);
    this.start = new Float64Array(limit);
    this.end = new Float64Array(limit);
    this.ok = new Uint8Array(limit);
  }
  push(worker: string, group: string, start: number, end: number, ok: 0 | 1): void {
    if (this.limit === 0) return;
    const i = this.pushed % this.limit;
    this.worker[i] = worker;
    this.group[i] = group;
    this.start[i] = start;
    this.end[i] = end;
    this.ok[i] = ok;
    this.pushed += 1;
  }
  /** As `Ring.take`: the newest bars since the previous delta (at most `cap`), or every kept bar when `all`. */
  take(all: boolean, cap = this.limit): TaskBar[] {
    const kept = Math.min(this.pushed, this.limit);
    const count = all ? kept : Math.min(this.pushed - this.cut, cap, kept);
    if (!all) this.cut = this.pushed;
    const out = new Array<TaskBar>(count);
    for (let k = 0; k < count; k++) {
      const i = (this.pushed - count + k) % this.limit;
      out[k] = [this.worker[i]!, this.group[i]!, this.start[i]!, this.end[i]!, this.ok[i] as 0 | 1];
    }
    return out;
  }
}

export class DashboardState {
  title: string;
  readonly maxTasks: number;
  /** Bars per delta: a burst of tiny tasks sends its newest bars (the counts stay exact), so an update stays small. */
  private readonly maxTasksPerUpdate: number;
  private readonly maxGroups: number;
  private readonly maxLostWorkers: number;
  private readonly tasks: BarRing;
  private readonly transfers: Ring<TransferBar>;
  private readonly log: Ring<LogEntry>;
  private readonly runs = new Map<string, Map<string, GroupCounts>>();
  private readonly finishedGroups = new Map<string, { done: number; erred: number }>();
  private readonly workerStates = new Map<string, WorkerState>();
  private readonly links = new Map<string, Link>();
  private readonly totals: Totals = { runs: 0, runsActive: 0, done: 0, erred: 0, bytesToWorkers: 0, bytesFromWorkers: 0, bytesBetweenWorkers: 0 };
  private process = { pid: globalThis.process.pid, rss: 0, cpu: 0 };
  /** Bumped on every change, so an idle scheduler sends nothing. */
  version = 0;
  // Events come in long runs of one run and one group: remember the last ones (no slicing, no hashing).
  private lastGroup = '';
  private lastRun = '';
  private lastCountsGroup = '';
  private lastCounts: GroupCounts | undefined;

  constructor(
    readonly scheduler: string,
    limits: DashboardLimits = {},
  ) {
    this.title = scheduler;
    this.maxTasks = limits.maxTasks ?? 5_000;
    this.maxTasksPerUpdate = limits.maxTasksPerUpdate ?? 1_000;
    this.maxGroups = limits.maxGroups ?? 64;
    this.maxLostWorkers = limits.maxLostWorkers ?? 32;
    this.tasks = new BarRing(this.maxTasks);
    this.transfers = new Ring(limits.maxTransfers ?? 1_000);
    this.log = new Ring(limits.maxLog ?? 200);
  }

  private group(key: string): string {
    const last = this.lastGroup;
    if (last && key.length > last.length && key.charCodeAt(last.length) === 45 /* - */ && key.startsWith(last)) return last;
    const g = taskGroup(key);
    if (!this.finishedGroups.has(g) && this.finishedGroups.size >= this.maxGroups) return 'other';
    return (this.lastGroup = g);
  }

  /** The counts of `group` in an active run; a run that already ended counts nothing (late reports). */
  private counts(run: string, group: string): GroupCounts {
    if (run === this.lastRun && group === this.lastCountsGroup && this.lastCounts) return this.lastCounts;
    if (!this.finishedGroups.has(group)) this.finishedGroups.set(group, { done: 0, erred: 0 });
    const groups = this.runs.get(run);
    if (!groups) return { registered: 0, started: 0, ended: 0 };
    let c = groups.get(group);
    if (!c) groups.set(group, (c = { registered: 0, started: 0, ended: 0 }));
    this.lastRun = run;
    this.lastCountsGroup = group;
    return (this.lastCounts = c);
  }

  private worker(name: string): WorkerState {
    let w = this.workerStates.get(name);
    if (!w) {
      w = { name, status: 'running', address: '', nthreads: 1, running: 0, finished: 0, values: null, bytes: null, rss: null, cpu: null, lostAt: 0 };
      this.workerStates.set(name, w);
    }
    return w;
  }

  /** A run (one `get`) begins with these task keys; called again for a run, it registers more of them. */
  runStarted(run: string, taskKeys: Iterable<string>): void {
    if (!this.runs.has(run)) {
      this.runs.set(run, new Map());
      this.totals.runs += 1;
    }
    for (const key of taskKeys) this.counts(run, this.group(key)).registered += 1;
    this.version += 1;
  }

  /** A run ended: its unfinished tasks leave the counts. */
  runEnded(run: string, error?: string): void {
    if (!this.runs.delete(run)) return;
    this.lastCounts = undefined;
    if (error) this.log.push({ time: Date.now(), kind: 'run-failed', text: error.slice(0, 500) });
    this.version += 1;
  }

  taskStarted(run: string, key: string, worker: string): void {
    this.counts(run, this.group(key)).started += 1;
    this.worker(worker).running += 1;
    this.version += 1;
  }

  taskEnded(run: string, key: string, worker: string, start: number, end: number, ok: boolean, error?: string): void {
    const group = this.group(key);
    this.counts(run, group).ended += 1;
    const total = this.finishedGroups.get(group)!;
    if (ok) {
      total.done += 1;
      this.totals.done += 1;
    } else {
      total.erred += 1;
      this.totals.erred += 1;
      this.log.push({ time: end || Date.now(), kind: 'task-error', text: `task ${key} failed on ${worker}${error ? `: ${error.slice(0, 300)}` : ''}` });
    }
    const w = this.worker(worker);
    if (w.running > 0) w.running -= 1;
    w.finished += 1;
    this.tasks.push(worker, group, start, end > start ? end : start, ok ? 1 : 0);
    this.version += 1;
  }

  // ---- forwarded in bulk by another process (the bench's pool processes): counts, and a sample of bars

  /** `count` tasks of `group` registered by run `run` (which starts if new). */
  runRegistered(run: string, group: string, count: number): void {
    if (!this.runs.has(run)) {
      this.runs.set(run, new Map());
      this.totals.runs += 1;
    }
    this.counts(run, group).registered += count;
    this.version += 1;
  }

  /** `started` tasks of `group` handed to `worker`, `done` + `erred` ended there. */
  taskCounts(run: string, group: string, worker: string, started: number, done: number, erred: number): void {
    const c = this.counts(run, group);
    c.started += started;
    c.ended += done + erred;
    const total = this.finishedGroups.get(group)!;
    total.done += done;
    total.erred += erred;
    this.totals.done += done;
    this.totals.erred += erred;
    const w = this.worker(worker);
    w.running = Math.max(0, w.running + started - done - erred);
    w.finished += done + erred;
    this.version += 1;
  }

  bar(bar: TaskBar): void {
    this.tasks.push(...bar);
    this.version += 1;
  }

  /** Forget every worker row (a new pool starts). */
  forgetWorkers(): void {
    this.workerStates.clear();
    this.version += 1;
  }

  workerJoined(name: string, address: string, nthreads: number): void {
    const w = this.worker(name);
    Object.assign(w, { status: 'running', address, nthreads, lostAt: 0 });
    this.log.push({ time: Date.now(), kind: 'worker-joined', text: `worker ${name} joined from ${address} (${nthreads} thread(s))` });
    this.version += 1;
  }

  workerLost(name: string, reason: string): void {
    const w = this.worker(name);
    Object.assign(w, { status: 'lost', running: 0, values: w.values === null ? null : 0, bytes: w.bytes === null ? null : 0, lostAt: Date.now() });
    this.log.push({ time: Date.now(), kind: 'worker-lost', text: `worker ${name} lost: ${reason}` });
    const lost = [...this.workerStates.values()].filter((x) => x.status === 'lost').sort((a, b) => a.lostAt - b.lostAt);
    for (const old of lost.slice(0, Math.max(0, lost.length - this.maxLostWorkers))) this.workerStates.delete(old.name);
    this.version += 1;
  }

  /** A resource sample of a worker's own process (distributed heartbeats). */
  workerResources(name: string, rss: number, cpu: number): void {
    const w = this.workerStates.get(name);
    if (!w || w.status === 'lost') return;
    w.rss = rss;
    w.cpu = cpu;
    this.version += 1;
  }

  transfer(from: string, to: string, bytes: number, start: number, end: number): void {
    this.transfers.push({ from, to, bytes, start, end: Math.max(start, end) });
    const id = `${from}\u0000${to}`;
    const link = this.links.get(id);
    if (link) link.bytes += bytes;
    else this.links.set(id, { from, to, bytes });
    this.totals.bytesBetweenWorkers += bytes;
    this.version += 1;
  }

  /** Cumulative byte counters of the scheduler (its `stats()`). */
  bytes(toWorkers: number, fromWorkers: number, betweenWorkers: number): void {
    const t = this.totals;
    if (t.bytesToWorkers === toWorkers && t.bytesFromWorkers === fromWorkers && t.bytesBetweenWorkers === betweenWorkers) return;
    Object.assign(t, { bytesToWorkers: toWorkers, bytesFromWorkers: fromWorkers, bytesBetweenWorkers: betweenWorkers });
    this.version += 1;
  }

  /** What each worker holds now (distributed). */
  holdings(list: Holding[]): void {
    for (const h of list) {
      const w = this.workerStates.get(h.worker);
      if (!w || w.status === 'lost' || (w.values === h.values && w.bytes === h.bytes && w.running === h.running)) continue;
      w.values = h.values;
      w.bytes = h.bytes;
      w.running = h.running;
      this.version += 1;
    }
  }

  processResources(rss: number, cpu: number): void {
    this.process = { pid: this.process.pid, rss, cpu };
    this.version += 1;
  }

  private groupProgress(): GroupProgress[] {
    const out = new Map<string, GroupProgress>();
    for (const [group, t] of this.finishedGroups) out.set(group, { group, waiting: 0, processing: 0, done: t.done, erred: t.erred });
    for (const groups of this.runs.values()) {
      for (const [group, c] of groups) {
        const p = out.get(group)!;
        p.waiting += Math.max(0, c.registered - c.started);
        p.processing += Math.max(0, c.started - c.ended);
      }
    }
    return [...out.values()];
  }

  /** The next message: deltas of the buffers since the previous call (or all of them when `full`). */
  update(full: boolean): DashboardUpdate {
    const workers = [...this.workerStates.values()]
      .map(({ lostAt: _, ...row }) => row)
      .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    return {
      time: Date.now(),
      full,
      title: this.title,
      scheduler: this.scheduler,
      process: { ...this.process },
      totals: { ...this.totals, runsActive: this.runs.size },
      groups: this.groupProgress(),
      workers,
      links: [...this.links.values()].map((l) => ({ ...l })),
      tasks: this.tasks.take(full, this.maxTasksPerUpdate),
      transfers: this.transfers.take(full),
      log: this.log.take(full),
      maxTasks: this.maxTasks,
    };
  }
}
