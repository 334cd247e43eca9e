/**
 * `schedlab bench --dashboard`: the pool processes' scheduler events, carried to the dashboard
 * in the bench's main process. Events are coalesced in the pool process: per flush (every
 * 250 ms) one IPC message with the runs begun and ended, task counts per (run, group,
 * worker), and at most `MAX_BARS` task bars (the rest of that interval's bars are dropped,
 * their counts are not). The measured `get` pays one counter bump and, for a sampled bar,
 * one small array per task; a graph's task groups are counted once per graph, not per run.
 */
import { taskGroup } from '../../common/task-group.js';
import type { DashboardState, TaskBar } from '../../schedulers/dashboard/state.js';
import type { Graph, Key, RunOptions, Scheduler, SchedulerEvent } from '../../schedulers/types.js';

/** What one flush carries. */
export interface DashboardBatch {
  runsStarted: Array<{ run: string; groups: Array<[group: string, tasks: number]> }>;
  runsEnded: Array<[run: string, error: string | null]>;
  counts: Array<[run: string, group: string, worker: string, started: number, done: number, erred: number]>;
  bars: TaskBar[];
}

export const RELAY_INTERVAL_MS = 250;
const MAX_BARS = 2_000;

/** Pool-process side: wraps the pool's scheduler and flushes batches through `send`. */
export class EventRelay {
  private batch: DashboardBatch = { runsStarted: [], runsEnded: [], counts: [], bars: [] };
  private readonly counts = new Map<string, [string, string, string, number, number, number]>();
  private readonly groupsOf = new WeakMap<Graph, Array<[string, number]>>();
  private runs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly send: (batch: DashboardBatch) => void) {
    this.timer = setInterval(() => this.flush(), RELAY_INTERVAL_MS);
    this.timer.unref();
  }

  private groups(graph: Graph): Array<[string, number]> {
    let groups = this.groupsOf.get(graph);
    if (!groups) {
      const byGroup = new Map<string, number>();
      for (const key in graph) {
        const node = graph[key] as { op?: unknown };
        if (typeof node === 'object' && node !== null && typeof node.op === 'string') byGroup.set(taskGroup(key), (byGroup.get(taskGroup(key)) ?? 0) + 1);
      }
      this.groupsOf.set(graph, (groups = [...byGroup]));
    }
    return groups;
  }

  private count(run: string, key: Key, worker: string, field: 3 | 4 | 5): void {
    const group = taskGroup(key);
    const id = `${run}\u0000${group}\u0000${worker}`;
    let c = this.counts.get(id);
    if (!c) this.counts.set(id, (c = [run, group, worker, 0, 0, 0]));
    c[field] += 1;
  }

  /** `scheduler` whose every `get` is relayed. */
  wrap(scheduler: Scheduler): Scheduler {
    const relayed = Object.create(scheduler) as Scheduler;
    const get = async (graph: Graph, keys: Key[], options?: RunOptions): Promise<unknown[]> => {
      const run = `${process.pid}-${++this.runs}`;
      this.batch.runsStarted.push({ run, groups: this.groups(graph) });
      const own = options?.onEvent;
      const onEvent = (e: SchedulerEvent): void => {
        if (e.type === 'task-start') this.count(run, e.key, e.worker, 3);
        else if (e.type === 'task-end') {
          this.count(run, e.key, e.worker, e.ok ? 4 : 5);
          if (this.batch.bars.length < MAX_BARS) this.batch.bars.push([e.worker, taskGroup(e.key), e.start, e.end > e.start ? e.end : e.start, e.ok ? 1 : 0]);
        }
        own?.(e);
      };
      let error: string | null = null;
      try {
        return await scheduler.get(graph, keys, { ...options, onEvent });
      } catch (err) {
        error = `${(err as Error).name}: ${(err as Error).message}`;
        throw err;
      } finally {
        this.flushCounts();
        this.batch.runsEnded.push([run, error]);
      }
    };
    Object.defineProperty(relayed, 'get', { value: get });
    return relayed;
  }

  private flushCounts(): void {
    for (const c of this.counts.values()) this.batch.counts.push(c);
    this.counts.clear();
  }

  flush(): void {
    this.flushCounts();
    const b = this.batch;
    if (!b.runsStarted.length && !b.runsEnded.length && !b.counts.length && !b.bars.length) return;
    this.batch = { runsStarted: [], runsEnded: [], counts: [], bars: [] };
    this.send(b);
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}

/** Main-process side: apply a batch to the dashboard's state. */
export function applyBatch(state: DashboardState, batch: DashboardBatch): void {
  for (const { run, groups } of batch.runsStarted) for (const [group, n] of groups) state.runRegistered(run, group, n);
  for (const [run, group, worker, started, done, erred] of batch.counts) state.taskCounts(run, group, worker, started, done, erred);
  for (const bar of batch.bars) state.bar(bar);
  for (const [run, error] of batch.runsEnded) state.runEnded(run, error ?? undefined);
}
