// Faults on a local cluster: a worker killed (-9) or hung (SIGSTOP) mid-graph, a task that keeps
// killing its workers, a worker joining mid-run, and the scheduler itself going away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDistributedScheduler, type DistributedScheduler } from '../dist/schedulers/distributed/index.js';
import { opRef } from '../dist/schedulers/graph.js';
import { ConnectionError, WorkerLostError } from '../dist/schedulers/errors.js';
import type { Graph, SchedulerEvent } from '../dist/schedulers/types.js';

const ops = new URL('./fixtures/distributed-ops.mjs', import.meta.url).href;
const op = (name: string) => opRef(ops, name);

/** n independent tasks that each busy-wait `ms` and return i, summed at the end. */
function spinGraph(n: number, ms: number): Graph {
  const graph: Graph = {};
  for (let i = 0; i < n; i++) graph[`part-${i}`] = { op: op('spin'), args: [ms, i] };
  graph.total = { op: op('sum'), args: Array.from({ length: n }, (_, i) => ({ $ref: `part-${i}` })) };
  return graph;
}
const spinTotal = (n: number) => (n * (n - 1)) / 2;

let scheduler: DistributedScheduler;
beforeAll(async () => {
  scheduler = await createDistributedScheduler({ workers: 2, heartbeatTimeoutMs: 2_000 });
}, 30_000);
afterAll(async () => {
  await scheduler?.close();
});

const waitForWorkers = async (n: number) => scheduler.client.waitForWorkers(n, 20_000);

describe('distributed scheduler faults', () => {
  it('completes a graph correctly when a worker is killed with SIGKILL mid-graph', async () => {
    await waitForWorkers(2);
    const graph = spinGraph(30, 40);
    // Intermediate values that only the victim held must be recomputed: chain a second stage.
    for (let i = 0; i < 30; i++) graph[`twice-${i}`] = { op: op('add'), args: [{ $ref: `part-${i}` }, { $ref: `part-${i}` }] };
    graph.total2 = { op: op('sum'), args: Array.from({ length: 30 }, (_, i) => ({ $ref: `twice-${i}` })) };
    const pending = scheduler.get(graph, ['total', 'total2']);
    await new Promise((r) => setTimeout(r, 400));
    const victim = scheduler.cluster!.workerPids()[0]!;
    process.kill(victim, 'SIGKILL');
    expect(await pending).toEqual([spinTotal(30), 2 * spinTotal(30)]);
  });

  it('has the client upload again a large literal that was only on the killed worker', async () => {
    await waitForWorkers(2);
    // Four ~100 kB literals are uploaded round-robin, so each worker holds two; tasks that
    // read them run only after a slow first stage, by which time one worker is gone.
    const graph: Graph = {};
    for (let j = 0; j < 4; j++) graph[`lit-${j}`] = { value: Float64Array.from({ length: 13_000 }, (_, i) => i + j) };
    for (let i = 0; i < 8; i++) {
      graph[`slow-${i}`] = { op: op('spin'), args: [80, i] };
      graph[`use-${i}`] = { op: op('sumTimes'), args: [{ $ref: `lit-${i % 4}` }, { $ref: `slow-${i}` }] };
    }
    graph.total = { op: op('sum'), args: Array.from({ length: 8 }, (_, i) => ({ $ref: `use-${i}` })) };
    const sumOf = (j: number) => (12_999 * 13_000) / 2 + 13_000 * j;
    let expected = 0;
    for (let i = 0; i < 8; i++) expected += sumOf(i % 4) * i;
    const before = scheduler.stats().bytesToWorkers;
    const pending = scheduler.get(graph, ['total']);
    await new Promise((r) => setTimeout(r, 150));
    process.kill(scheduler.cluster!.workerPids()[0]!, 'SIGKILL');
    expect(await pending).toEqual([expected]);
    // The literals the dead worker held were sent again.
    expect(scheduler.stats().bytesToWorkers - before).toBeGreaterThan(4 * 13_000 * 8);
  });

  it('puts the uploads placed on a worker that died just before on another worker', async () => {
    await waitForWorkers(2);
    // Killed in the same tick as the get: the client's roster still lists the victim, so
    // half the literals are placed on it, their Put fails, and they go to the other worker.
    const graph: Graph = {};
    for (let j = 0; j < 6; j++) {
      graph[`lit-${j}`] = { value: Float64Array.from({ length: 13_000 }, (_, i) => i + j) };
      graph[`use-${j}`] = { op: op('sumTimes'), args: [{ $ref: `lit-${j}` }, j] };
    }
    graph.total = { op: op('sum'), args: Array.from({ length: 6 }, (_, j) => ({ $ref: `use-${j}` })) };
    let expected = 0;
    for (let j = 0; j < 6; j++) expected += ((12_999 * 13_000) / 2 + 13_000 * j) * j;
    process.kill(scheduler.cluster!.workerPids()[0]!, 'SIGKILL');
    expect(await scheduler.get(graph, ['total'])).toEqual([expected]);
  });

  it('detects a hung worker (SIGSTOP) by heartbeat and reschedules its tasks', async () => {
    await waitForWorkers(2);
    const graph = spinGraph(20, 50);
    const pending = scheduler.get(graph, ['total']);
    await new Promise((r) => setTimeout(r, 200));
    const victim = scheduler.cluster!.workerPids()[0]!;
    process.kill(victim, 'SIGSTOP');
    try {
      const started = Date.now();
      expect(await pending).toEqual([spinTotal(20)]);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      process.kill(victim, 'SIGCONT');
    }
  });

  it('fails a task that keeps killing its workers after 3 tries, saying so', async () => {
    await waitForWorkers(2);
    const error = await scheduler.get({ bomb: { op: op('crash'), args: [] } }, ['bomb']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerLostError);
    expect((error as WorkerLostError).key).toBe('bomb');
    expect((error as Error).message).toMatch(/3 workers or executor threads that died.*code 3.*giving up after 3 tries/);
    await waitForWorkers(2);
    expect(await scheduler.get({ ok: { op: op('inc'), args: [1] } }, ['ok'])).toEqual([2]);
  });

  it('uses a worker that joins mid-run', async () => {
    await waitForWorkers(2);
    const events: SchedulerEvent[] = [];
    // ~6 s of work on 2 workers: longer than a worker process takes to start on a loaded machine
    // (2 s seen at load 10, more at 20), so the new worker joins while tasks still wait: it steals
    // tasks queued at the scheduler or, when all were sent at once, tasks its peers had not started.
    const pending = scheduler.get(spinGraph(48, 250), ['total'], { onEvent: (e) => events.push(e) });
    await new Promise((r) => setTimeout(r, 300));
    const before = new Set(scheduler.client.workers().map((w) => w.id));
    await scheduler.cluster!.addWorker();
    expect(await pending).toEqual([spinTotal(48)]);
    const late = events.filter((e) => e.type === 'task-end' && !before.has(e.worker));
    expect(late.length).toBeGreaterThan(0);
  });
});

describe('the scheduler going away', () => {
  it('fails with ConnectionError when no scheduler listens at the address', async () => {
    const started = Date.now();
    await expect(createDistributedScheduler({ address: '127.0.0.1:1', connectTimeoutMs: 5_000 })).rejects.toBeInstanceOf(ConnectionError);
    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it('fails pending futures with ConnectionError instead of hanging', async () => {
    const doomed = await createDistributedScheduler({ workers: 1 });
    try {
      const pending = doomed.get(spinGraph(4, 2_000), ['total']);
      await new Promise((r) => setTimeout(r, 200));
      process.kill(doomed.cluster!.schedulerPid, 'SIGKILL');
      const started = Date.now();
      await expect(pending).rejects.toBeInstanceOf(ConnectionError);
      expect(Date.now() - started).toBeLessThan(5_000);
      await expect(doomed.get({ a: { value: 1 } }, ['a'])).rejects.toBeInstanceOf(ConnectionError);
    } finally {
      await doomed.close();
    }
  });
});
