/**
 * Pools start once per scheduler, are reused by every get, and close() stops every worker:
 * no child process survives and no worker thread keeps running.
 */
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScheduler, GraphBuilder, OptionError, compute, sharedTypedArray } from '../../dist/schedulers/index.js';
import { op } from './helpers.js';

function whereGraph(n: number) {
  const b = new GraphBuilder();
  const keys = Array.from({ length: n }, (_, i) => b.task(`w${i}`, op('where'), [b.value(`ms${i}`, i)]).$ref);
  // `busy` keeps both workers occupied so each answers at least once
  for (let i = 0; i < n; i++) b.task(`busy${i}`, op('busy'), [20]);
  return { graph: b.graph, keys, busy: Array.from({ length: n }, (_, i) => `busy${i}`) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('pools', () => {
  it('processes: the same child processes serve every get, and none survives close()', async () => {
    const scheduler = await createScheduler('processes', { workers: 2 });
    expect(scheduler.startupSeconds).toBeGreaterThan(0);
    const pids = new Set<number>();
    const { graph, keys, busy } = whereGraph(8);
    for (let i = 0; i < 3; i++) {
      const results = (await scheduler.get(graph, [...busy, ...keys])).slice(busy.length) as Array<{ pid: number; isMainThread: boolean }>;
      for (const r of results) pids.add(r.pid);
    }
    expect(pids.size).toBeGreaterThanOrEqual(1);
    expect(pids.size).toBeLessThanOrEqual(2); // reused across gets, never respawned
    expect(pids.has(process.pid)).toBe(false);
    await scheduler.close();
    const deadline = Date.now() + 5000;
    while ([...pids].some(alive) && Date.now() < deadline) await sleep(50);
    expect([...pids].filter(alive)).toEqual([]);
  });

  it('processes: close() settles even when its children were killed from outside (a Ctrl-C to the process group)', async () => {
    const scheduler = await createScheduler('processes', { workers: 2 });
    const { graph, keys, busy } = whereGraph(4);
    const results = (await scheduler.get(graph, [...busy, ...keys])).slice(busy.length) as Array<{ pid: number }>;
    const pids = [...new Set(results.map((r) => r.pid))];
    for (const pid of pids) process.kill(pid, 'SIGINT');
    while (pids.some(alive)) await sleep(20);
    const closed = await Promise.race([scheduler.close().then(() => 'closed'), sleep(5000).then(() => 'still pending after 5 s')]);
    expect(closed).toBe('closed');
  });

  it('threads: ops run off the main thread on the same pool across gets, and close() ends the threads', async () => {
    const scheduler = await createScheduler('threads', { workers: 2 });
    const threadIds = new Set<number>();
    const { graph, keys, busy } = whereGraph(8);
    for (let i = 0; i < 3; i++) {
      const results = (await scheduler.get(graph, [...busy, ...keys])).slice(busy.length) as Array<{ threadId: number; isMainThread: boolean }>;
      for (const r of results) {
        expect(r.isMainThread).toBe(false);
        threadIds.add(r.threadId);
      }
    }
    expect(threadIds.size).toBeLessThanOrEqual(2);
    // An op still running when close() is called ticks a shared counter until its thread ends.
    const counter = sharedTypedArray(Int32Array, 1);
    const running = scheduler.get({ c: { value: counter }, t: { op: op('tickFor'), args: [{ $ref: 'c' }, 20_000] } }, ['t']);
    running.catch(() => {}); // rejected by close(); only the thread's fate matters here
    while (Atomics.load(counter, 0) === 0) await sleep(10);
    await scheduler.close();
    const stopped = Atomics.load(counter, 0);
    await sleep(200);
    expect(Atomics.load(counter, 0)).toBe(stopped);
  });

  it('sync runs ops on the main thread', async () => {
    const [w] = (await compute({ w: { op: op('where'), args: [] } }, ['w'], { scheduler: 'sync' })) as [{ isMainThread: boolean; pid: number }];
    expect(w.isMainThread).toBe(true);
    expect(w.pid).toBe(process.pid);
  });

  it('validates options: unknown scheduler names the valid ones, workers must be a positive integer', async () => {
    await expect(createScheduler('gpu' as never)).rejects.toThrow(OptionError);
    await expect(createScheduler('gpu' as never)).rejects.toThrow(/sync, threads, processes, distributed/);
    for (const workers of [0, -1, 1.5, Number.NaN]) {
      await expect(createScheduler('threads', { workers })).rejects.toThrow(/"workers" must be a positive integer/);
    }
    const s = await createScheduler('sync');
    expect(s.workers).toBe(1);
    await s.close();
  });
});
