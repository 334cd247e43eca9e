/**
 * Entry of a pool process (runs INSIDE the child that `schedlab bench` forks per pool): serves
 * the runner's requests (pool-protocol.ts) with a PoolSession, one at a time, in order.
 *
 * Ctrl-C in a terminal reaches this process too (same process group), as does an `interrupt`
 * message from the runner: the run in flight is dropped and its request answered `interrupted`.
 * A lost IPC channel (the runner died) closes the pool and ends the process.
 */
import type { Workload } from '../../workloads/types.js';
import { InterruptedError, describeError } from '../measure/cell.js';
import { EventRelay } from './dashboard-relay.js';
import { PoolSession } from './pool.js';
import type { FromPool, PoolJob, PoolReply, PoolRequest, ToPool } from './pool-protocol.js';

const interrupt = new AbortController();
const stop = (): void => interrupt.abort();
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('disconnect', () => {
  stop();
  void Promise.resolve(closed ? undefined : session?.close()).finally(() => process.exit(0));
});

let session: PoolSession | undefined;
let relay: EventRelay | undefined;
let workloads = new Map<string, Workload>();
let workloadFile: string | undefined;
let queue = Promise.resolve();
let closed = false;

process.on('message', (message: ToPool) => {
  if (message.type === 'interrupt') return stop();
  queue = queue.then(() => serve(message.id, message.request));
});

async function serve(id: number, request: PoolRequest): Promise<void> {
  try {
    await send({ type: 'reply', id, value: await handle(request) });
  } catch (err) {
    await send({ type: 'error', id, message: describeError(err).message, interrupted: err instanceof InterruptedError || interrupt.signal.aborted });
  }
  if (request.type === 'close' && process.connected) process.disconnect(); // nothing else keeps this process alive
}

async function handle(request: PoolRequest): Promise<PoolReply> {
  switch (request.type) {
    case 'start': {
      const { job } = request;
      workloads = await loadWorkloads(job);
      workloadFile = job.workloadFile;
      relay = job.dashboard ? new EventRelay((batch) => void send({ type: 'dashboard', batch })) : undefined;
      session = new PoolSession(job.pool, job.settings, job.workloadOptions, {
        interrupt: interrupt.signal,
        note: (message) => void send({ type: 'note', message }),
        ...(relay ? { createScheduler: async (name, options) => relay!.wrap(await (await import('../../schedulers/index.js')).createScheduler(name, options)) } : {}),
      });
      await session.start();
      return null;
    }
    case 'prepare': {
      const workload = workloads.get(request.workload);
      if (!workload) throw new Error(`workload "${request.workload}" is neither in the catalog nor in ${workloadFile ?? 'a workload file'}`);
      return started().prepare({ workload, size: request.size });
    }
    case 'sample':
      return started().sample();
    case 'discard':
      return started().discard();
    case 'finish':
      return started().finish(request.raceEnd);
    case 'close':
      closed = true;
      await session?.close();
      relay?.close();
      return null;
  }
}

function started(): PoolSession {
  if (!session) throw new Error('the pool was not started');
  return session;
}

async function loadWorkloads(job: PoolJob): Promise<Map<string, Workload>> {
  const { catalog, loadWorkloadFile } = await import('../../workloads/index.js');
  const byName = new Map(catalog.map((w) => [w.name, w] as [string, Workload]));
  if (job.workloadFile) {
    const own = await loadWorkloadFile(job.workloadFile);
    byName.set(own.name, own);
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
