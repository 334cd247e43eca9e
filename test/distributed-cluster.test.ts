// The distributed scheduler on a local cluster (1 scheduler + 2 worker processes): graphs,
// the futures API, events, errors, abort, stats and data locality. One cluster for the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDistributedScheduler, type DistributedScheduler } from '../dist/schedulers/distributed/index.js';
import { GraphBuilder, opRef } from '../dist/schedulers/graph.js';
import { AbortedError, GraphError, TaskError } from '../dist/schedulers/errors.js';
import type { Graph, SchedulerEvent } from '../dist/schedulers/types.js';

const ops = new URL('./fixtures/distributed-ops.mjs', import.meta.url).href;
const op = (name: string) => opRef(ops, name);

let scheduler: DistributedScheduler;
beforeAll(async () => {
  scheduler = await createDistributedScheduler({ workers: 2 });
}, 30_000);
afterAll(async () => {
  await scheduler?.close();
});

/** Sum of 0..n-1 through a pairwise tree of `add` tasks over `inc(i) - 1` leaves. */
function treeGraph(n: number): { graph: Graph; root: string } {
  const graph: Graph = {};
  let level: string[] = [];
  for (let i = 0; i < n; i++) {
    graph[`leaf-${i}`] = { op: op('inc'), args: [i - 1] };
    level.push(`leaf-${i}`);
  }
  let next = 0;
  while (level.length > 1) {
    const up: string[] = [];
    for (let i = 0; i < level.length; i += 2) {
      if (i + 1 === level.length) up.push(level[i]!);
      else {
        const key = `sum-${next++}`;
        graph[key] = { op: op('add'), args: [{ $ref: level[i]! }, { $ref: level[i + 1]! }] };
        up.push(key);
      }
    }
    level = up;
  }
  return { graph, root: level[0]! };
}

describe('distributed scheduler on a local cluster', () => {
  it('starts the requested workers', () => {
    expect(scheduler.name).toBe('distributed');
    expect(scheduler.workers).toBe(2);
    expect(scheduler.cluster?.workerPids()).toHaveLength(2);
  });

  it('computes literals, nested refs and diamonds', async () => {
    const b = new GraphBuilder();
    const x = b.value('x', 1);
    const y = b.task('y', op('inc'), [x]);
    const z = b.task('z', op('inc'), [x]);
    b.task('w', op('sum'), [y, z, { nested: [y] } as never].slice(0, 2));
    b.task('obj', op('identity'), [{ a: [y, { b: z }], c: 'text' }]);
    const out = await scheduler.get(b.graph, ['w', 'obj', 'x']);
    expect(out).toEqual([4, { a: [2, { b: 2 }], c: 'text' }, 1]);
  });

  it('runs a 2,000-task tree reduction across both workers', async () => {
    const { graph, root } = treeGraph(1000);
    const events: SchedulerEvent[] = [];
    const [total] = await scheduler.get(graph, [root], { onEvent: (e) => events.push(e) });
    expect(total).toBe((999 * 1000) / 2);
    const ends = events.filter((e) => e.type === 'task-end');
    expect(ends).toHaveLength(Object.keys(graph).length);
    expect(new Set(ends.map((e) => e.worker)).size).toBe(2);
    for (const e of ends) if (e.type === 'task-end') expect(e.end).toBeGreaterThanOrEqual(e.start);
  });

  it('spreads independent ready tasks over both workers at once', async () => {
    // Eight independent ~35 ms tasks feeding one sum (the case that used to run all eight on one worker).
    const graph: Graph = {};
    for (let i = 0; i < 8; i++) graph[`part-${i}`] = { op: op('spin'), args: [35, i] };
    graph.total = { op: op('sum'), args: Array.from({ length: 8 }, (_, i) => ({ $ref: `part-${i}` })) };
    const events: SchedulerEvent[] = [];
    expect(await scheduler.get(graph, ['total'], { onEvent: (e) => events.push(e) })).toEqual([28]);
    const byWorker = new Map<string, number>();
    for (const e of events) if (e.type === 'task-end' && e.key.startsWith('part-')) byWorker.set(e.worker, (byWorker.get(e.worker) ?? 0) + 1);
    expect(byWorker.size).toBe(2);
    expect([...byWorker.values()].every((n) => n >= 2)).toBe(true);
  });

  it('round-trips typed arrays, Maps and BigInts by structured clone', async () => {
    const graph: Graph = {
      a: { op: op('range'), args: [5, 1] },
      m: { value: new Map([['k', 1n]]) },
      pair: { op: op('identity'), args: [[{ $ref: 'a' }, { $ref: 'm' }]] },
    };
    const [pair] = (await scheduler.get(graph, ['pair'])) as [[Float64Array, Map<string, bigint>]];
    expect(pair[0]).toBeInstanceOf(Float64Array);
    expect([...pair[0]]).toEqual([1, 2, 3, 4, 5]);
    expect(pair[1].get('k')).toBe(10n / 10n);
  });

  it('reports a failing op as TaskError with the worker-side stack, and stays usable', async () => {
    const graph: Graph = { bad: { op: op('fail'), args: ['no luck'] }, after: { op: op('inc'), args: [{ $ref: 'bad' }] } };
    const error = await scheduler.get(graph, ['after']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).key).toBe('bad');
    expect((error as TaskError).errorName).toBe('RangeError');
    expect((error as TaskError).remoteStack).toMatch(/distributed-ops\.mjs/);
    expect(await scheduler.get({ ok: { op: op('inc'), args: [1] } }, ['ok'])).toEqual([2]);
  });

  it('rejects bad graphs on the client with GraphError, and unknown ops from the worker', async () => {
    await expect(scheduler.get({ a: { op: op('inc'), args: [{ $ref: 'missing' }] } }, ['a'])).rejects.toMatchObject({ code: 'MISSING_KEY' });
    await expect(
      scheduler.get({ a: { op: op('inc'), args: [{ $ref: 'b' }] }, b: { op: op('inc'), args: [{ $ref: 'a' }] } }, ['a']),
    ).rejects.toMatchObject({ code: 'CYCLE' });
    const unknown = await scheduler.get({ a: { op: op('noSuchExport'), args: [] } }, ['a']).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(GraphError);
    expect((unknown as GraphError).code).toBe('UNKNOWN_OP');
    expect((unknown as GraphError).message).toMatch(/noSuchExport/);
  });

  it('aborts a run through its AbortSignal and stays usable', async () => {
    const controller = new AbortController();
    const graph: Graph = { slow: { op: op('sleep'), args: [5_000, 1] } };
    const pending = scheduler.get(graph, ['slow'], { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await scheduler.get({ ok: { op: op('inc'), args: [41] } }, ['ok'])).toEqual([42]);
  });

  it('futures: submit returns at once; result, gather, asCompleted, cancel', async () => {
    const client = scheduler.client;
    const futures = client.submit(
      { fast: { op: op('inc'), args: [1] }, slow: { op: op('sleep'), args: [300, 'late'] }, both: { op: op('identity'), args: [[{ $ref: 'fast' }, { $ref: 'slow' }]] } },
      ['slow', 'fast', 'both'],
    );
    expect(futures.map((f) => f.status)).toEqual(['pending', 'pending', 'pending']);
    const order: string[] = [];
    for await (const f of client.asCompleted(futures)) order.push(f.key);
    expect(order[0]).toBe('fast');
    expect(order).toHaveLength(3);
    expect(await futures[1]!.result()).toBe(2);
    expect(await client.gather(futures)).toEqual(['late', 2, [2, 'late']]);
    client.release(futures);

    const [cancelled] = client.submit({ s: { op: op('sleep'), args: [5_000, 0] } }, ['s']);
    await cancelled!.cancel();
    expect(cancelled!.status).toBe('cancelled');
    await expect(cancelled!.result()).rejects.toBeInstanceOf(AbortedError);
  });

  it('persist keeps values on the cluster for later graphs to reference by key', async () => {
    const client = scheduler.client;
    const before = scheduler.stats();
    const [block] = await client.persist({ block: { op: op('range'), args: [100_000, 0] } }, ['block']);
    expect(block!.status).toBe('finished');
    // A later graph refers to the persisted key without defining it: the 800 kB block is not sent again.
    const [dotFuture] = client.submit({ d: { op: op('dot'), args: [{ $ref: 'block' }, { $ref: 'block' }] } }, ['d']);
    const expected = Array.from({ length: 100_000 }, (_, i) => i * i).reduce((a, b) => a + b, 0);
    expect(await dotFuture!.result()).toBe(expected);
    const after = scheduler.stats();
    expect(after.bytesToWorkers - before.bytesToWorkers).toBeLessThan(10_000);
    expect(after.bytesFromWorkers - before.bytesFromWorkers).toBeLessThan(100);
    client.release([block!, dotFuture!]);
  });

  it('keeps data on the workers: inputs move between workers, not through the client', async () => {
    const before = scheduler.stats();
    const graph: Graph = {};
    for (let i = 0; i < 4; i++) graph[`v${i}`] = { op: op('range'), args: [50_000, i] };
    for (let i = 0; i < 4; i++) graph[`d${i}`] = { op: op('dot'), args: [{ $ref: `v${i}` }, { $ref: `v${(i + 1) % 4}` }] };
    graph.total = { op: op('sum'), args: [0, 1, 2, 3].map((i) => ({ $ref: `d${i}` })) };
    const [total] = await scheduler.get(graph, ['total']);
    let expected = 0;
    for (let i = 0; i < 4; i++) for (let k = 0; k < 50_000; k++) expected += (i + k) * (((i + 1) % 4) + k);
    expect(total).toBe(expected);
    const after = scheduler.stats();
    expect(after.tasks - before.tasks).toBe(9);
    expect(after.bytesFromWorkers - before.bytesFromWorkers).toBeLessThan(100);
    expect(after.bytesToWorkers - before.bytesToWorkers).toBeLessThan(5_000);
  });
});

describe('a worker with several executor threads', () => {
  it('runs ops on all its threads and passes values between them', async () => {
    const threaded = await createDistributedScheduler({ workers: 1, nthreads: 3 });
    try {
      const graph: Graph = {};
      // Enough busy tasks that every thread takes some (a free thread takes the next; under load one may start late).
      for (let i = 0; i < 12; i++) graph[`s${i}`] = { op: op('spinThread'), args: [200] };
      for (let i = 0; i < 6; i++) graph[`r${i}`] = { op: op('range'), args: [1000, i] };
      for (let i = 0; i < 6; i++) graph[`d${i}`] = { op: op('dot'), args: [{ $ref: `r${i}` }, { $ref: `r${(i + 1) % 6}` }] };
      graph.total = { op: op('sum'), args: Array.from({ length: 6 }, (_, i) => ({ $ref: `d${i}` })) };
      graph.threads = { op: op('identity'), args: [Array.from({ length: 12 }, (_, i) => ({ $ref: `s${i}` }))] };
      const [total, threads] = (await threaded.get(graph, ['total', 'threads'])) as [number, number[]];
      let expected = 0;
      for (let i = 0; i < 6; i++) for (let k = 0; k < 1000; k++) expected += (i + k) * (((i + 1) % 6) + k);
      expect(total).toBe(expected);
      expect(new Set(threads).size).toBe(3);
    } finally {
      await threaded.close();
    }
  });
});
