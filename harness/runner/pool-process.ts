/**
 * Entry of a pool process (runs INSIDE the child that `schedlab bench` forks per pool):
 * receives one job, loads its workloads, measures its cells with `runPool` and reports
 * each cell back as soon as it is measured, so the main process can save it.
 *
 * Ctrl-C in a terminal reaches this process too (same process group), as does an
 * `interrupt` message from the runner; a lost IPC channel (the runner died) stops it as well.
 */
import type { Workload } from '../../workloads/types.js';
import { describeError } from '../measure/cell.js';
import { EventRelay } from './dashboard-relay.js';
import { runPool } from './pool.js';
import type { FromPool, PoolJob, ToPool } from './pool-protocol.js';

const interrupt = new AbortController();
const stop = (): void => interrupt.abort();
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('disconnect', stop);
process.on('message', (message: ToPool) => {
  if (message.type === 'interrupt') stop();
  else if (message.type === 'job') void runJob(message.job);
});

async function runJob(job: PoolJob): Promise<void> {
  const relay = job.dashboard ? new EventRelay((batch) => void send({ type: 'dashboard', batch })) : undefined;
  try {
    const workloads = await loadWorkloads(job);
    await runPool(
      {
        pool: job.pool,
        cells: job.cells.map(({ workload, size }) => ({ workload: workloads.get(workload)!, size })),
        settings: job.settings,
        workloadOptions: job.workloadOptions,
      },
      {
        interrupt: interrupt.signal,
        cellStarted: (index) => void send({ type: 'cell-start', index }),
        cellFinished: (index, cell) => send({ type: 'cell', index, cell }),
        note: (message) => void send({ type: 'note', message }),
        ...(relay ? { createScheduler: async (name, options) => relay.wrap(await (await import('../../schedulers/index.js')).createScheduler(name, options)) } : {}),
      },
    );
    relay?.close();
    await send({ type: 'done' });
  } catch (err) {
    await send({ type: 'error', message: describeError(err).message });
  }
  if (process.connected) process.disconnect(); // nothing else keeps this process alive
}

async function loadWorkloads(job: PoolJob): Promise<Map<string, Workload>> {
  const { catalog, loadWorkloadFile } = await import('../../workloads/index.js');
  const byName = new Map(catalog.map((w) => [w.name, w] as [string, Workload]));
  if (job.workloadFile) {
    const own = await loadWorkloadFile(job.workloadFile);
    byName.set(own.name, own);
  }
  for (const { workload } of job.cells) {
    if (!byName.has(workload)) throw new Error(`workload "${workload}" is neither in the catalog nor in ${job.workloadFile ?? 'a workload file'}`);
  }
  return byName;
}

/** Send a message; resolves once it is handed to the channel (immediately if the runner is gone). */
function send(message: FromPool): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, undefined, {}, () => resolve());
  });
}
