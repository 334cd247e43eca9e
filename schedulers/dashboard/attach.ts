/**
 * The dashboard of a scheduler created in this process (`createScheduler(name, { dashboard })`):
 * wraps any `Scheduler` so that every `get` also feeds the dashboard's state, and serves it
 * until `close()`. The same events reach the caller's own `onEvent` unchanged. Values of the
 * local schedulers live in this process, so the worker table shows this process's memory and
 * CPU as the scheduler's and none per worker. Progress counts every task of the graph as
 * waiting until it starts; tasks the keys do not need leave the counts when the run ends.
 */
import { isTask } from '../graph.js';
import type { DashboardOptions, Graph, Key, RunOptions, Scheduler, SchedulerEvent } from '../types.js';
import { startDashboard } from './server.js';
import { DashboardState } from './state.js';

const stderrLog = (line: string): void => void process.stderr.write(`${line}\n`);

/**
 * The run's tasks for the progress counts: every task of the graph, not only those the keys
 * need (finding those would cost a second walk of the graph; the others leave the counts
 * when the run ends).
 */
function* taskKeys(graph: Graph): Generator<Key> {
  if (typeof graph !== 'object' || graph === null) return;
  for (const key in graph) if (isTask(graph[key])) yield key;
}

/** `scheduler` with a live dashboard; closing it stops both. */
export async function withDashboard(scheduler: Scheduler, options: DashboardOptions | true): Promise<Scheduler> {
  const opts = options === true ? {} : options;
  const state = new DashboardState(scheduler.name);
  state.title = `${scheduler.name} scheduler, ${scheduler.workers} worker(s), pid ${process.pid}`;
  const server = await startDashboard(state, opts, () => {
    const s = scheduler.stats();
    state.bytes(s.bytesToWorkers, s.bytesFromWorkers, s.bytesBetweenWorkers);
  });
  const log = opts.log === false ? undefined : (opts.log ?? stderrLog);
  log?.(`schedlab dashboard (${scheduler.name}): ${server.url}`);
  let runs = 0;
  let closing: Promise<void> | undefined;
  return {
    name: scheduler.name,
    workers: scheduler.workers,
    startupSeconds: scheduler.startupSeconds,
    dashboardUrl: server.url,
    async get(graph: Graph, keys: Key[], runOptions?: RunOptions): Promise<unknown[]> {
      const run = `r${++runs}`;
      state.runStarted(run, taskKeys(graph));
      const own = runOptions?.onEvent;
      const onEvent = (e: SchedulerEvent): void => {
        if (e.type === 'task-start') state.taskStarted(run, e.key, e.worker);
        else if (e.type === 'task-end') state.taskEnded(run, e.key, e.worker, e.start, e.end, e.ok);
        own?.(e);
      };
      let failure: string | undefined;
      try {
        return await scheduler.get(graph, keys, { ...runOptions, onEvent });
      } catch (err) {
        failure = `run ${run} failed: ${(err as Error).message}`;
        throw err;
      } finally {
        state.runEnded(run, failure);
      }
    },
    stats: () => scheduler.stats(),
    close(): Promise<void> {
      closing ??= server.close().then(() => scheduler.close());
      return closing;
    },
  };
}
