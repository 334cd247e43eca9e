/**
 * The dashboard of a scheduler created in this process (`createScheduler(name, { dashboard })`):
 * wraps any `Scheduler` so that every `get` also feeds the dashboard's state, and serves it
 * until `close()`. The same events reach the caller's own `onEvent` unchanged. Values of the
 * local schedulers live in this process, so the worker table shows this process's memory and
 * CPU as the scheduler's and none per worker. Progress counts the tasks a run executes as
 * waiting until they start: the local engine names them once it has planned the run (its
 * `onPlan` option: only what the keys need, and no second walk of the graph); for another
 * scheduler every task of the graph is counted at its first event, and the tasks the keys
 * do not need leave the counts when the run ends.
 */
import { isTask } from '../graph.js';
import type { DashboardOptions, Graph, Key, RunOptions, Scheduler, SchedulerEvent } from '../types.js';
import { startDashboard } from './server.js';
import { DashboardState } from './state.js';

const stderrLog = (line: string): void => void process.stderr.write(`${line}\n`);

/** Every task of the graph (a plain loop over its keys: `for...in` and a generator cost 10x more on a 100,000-key graph). */
function taskKeys(graph: Graph): Key[] {
  if (typeof graph !== 'object' || graph === null) return [];
  const keys = Object.keys(graph);
  const tasks: Key[] = [];
  for (let i = 0; i < keys.length; i++) if (isTask(graph[keys[i]!])) tasks.push(keys[i]!);
  return tasks;
}

/** The local engine's own option (local/engine.ts `EngineOptions.onPlan`); other schedulers ignore it. */
type PlannedRunOptions = RunOptions & { onPlan?: (taskKeys: readonly Key[]) => void };

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
    ...(scheduler.sealsResults ? { sealsResults: true } : {}),
    async get(graph: Graph, keys: Key[], runOptions?: RunOptions): Promise<unknown[]> {
      const run = `r${++runs}`;
      state.runStarted(run, []);
      let registered = false;
      const onPlan = (keys: readonly Key[]): void => {
        registered = true;
        state.runStarted(run, keys);
      };
      const own = runOptions?.onEvent;
      const onEvent = (e: SchedulerEvent): void => {
        if (!registered) onPlan(taskKeys(graph));
        if (e.type === 'task-start') state.taskStarted(run, e.key, e.worker);
        else if (e.type === 'task-end') state.taskEnded(run, e.key, e.worker, e.start, e.end, e.ok);
        own?.(e);
      };
      let failure: string | undefined;
      try {
        const options: PlannedRunOptions = { ...runOptions, onEvent, onPlan };
        return await scheduler.get(graph, keys, options);
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
