/**
 * The dashboard of a distributed scheduler process (`schedlab scheduler`): turns what the
 * scheduler server observes (workers joining and leaving, graphs submitted, tasks assigned
 * and reported, transfers, heartbeats' resource samples) into `DashboardState` calls.
 *
 * A task may be assigned more than once (stolen, retracted, recovered after a worker loss):
 * it counts as started once, from its first assignment until it is reported. A run ends
 * when each of its tasks was reported (recomputed ones count once), or when it is cancelled or its client leaves. Tasks
 * running per worker come from the scheduler's own bookkeeping (its `holdings()`), not from events.
 */
import { keyOfDataId } from '../distributed/ids.js';
import type { ClusterObserver } from '../distributed/scheduler/server.js';
import type { DashboardState } from './state.js';

const runOf = (dataId: string): string => dataId.slice(0, dataId.indexOf('/', dataId.indexOf('/') + 1));

export function clusterObserver(state: DashboardState): ClusterObserver {
  const started = new Set<string>();
  const runs = new Map<string, { registered: number; reported: Set<string> }>();
  const closeRun = (run: string, problem?: string): void => {
    runs.delete(run);
    state.runEnded(run, problem);
  };
  return {
    workerJoined: (worker, address, nthreads) => state.workerJoined(worker, address, nthreads),
    workerLost: (worker, reason) => state.workerLost(worker, reason),
    workerResources: (worker, rss, cpu) => state.workerResources(worker, rss, cpu),
    submitted(run, taskKeys) {
      state.runStarted(run, taskKeys);
      const r = runs.get(run) ?? { registered: 0, reported: new Set<string>() };
      r.registered += taskKeys.length;
      runs.set(run, r);
    },
    runClosed: closeRun,
    clientGone(client) {
      for (const run of [...runs.keys()]) if (run.startsWith(`${client}/`)) closeRun(run);
      for (const id of started) if (id.startsWith(`${client}/`)) started.delete(id);
    },
    assigned(worker, dataIds) {
      for (const id of dataIds) {
        if (started.has(id)) continue;
        started.add(id);
        state.taskStarted(runOf(id), keyOfDataId(id), worker);
      }
    },
    completed(worker, c, sources) {
      if (c.fetch_start && c.fetch_end) {
        for (const { from, bytes } of sources) state.transfer(from || '?', worker, bytes, c.fetch_start, c.fetch_end);
      }
      if (c.missing.length) return; // it did not run: it will be assigned again
      if (!started.delete(c.data_id) || c.dropped) return;
      const run = runOf(c.data_id);
      state.taskEnded(run, keyOfDataId(c.data_id), worker, c.start, c.end, c.ok, c.error?.message);
      const r = runs.get(run);
      // A task recomputed after a worker loss reports twice: count each task once.
      if (r && r.reported.add(c.data_id).size >= r.registered) closeRun(run);
    },
  };
}
