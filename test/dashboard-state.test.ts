// The dashboard's model and server rules, without a browser: bounded buffers, progress per
// task group, deltas after a full update, lost workers, and the listen rule.
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createScheduler, GraphBuilder, OptionError, opRef } from '../dist/schedulers/index.js';
import { DashboardState } from '../dist/schedulers/dashboard/state.js';
import { startDashboard } from '../dist/schedulers/dashboard/server.js';

describe('DashboardState', () => {
  it('counts waiting, processing, done and erred per task group; a run that ends leaves the counts', () => {
    const s = new DashboardState('threads');
    s.runStarted('r1', ['inc-1', 'inc-2', 'inc-3', 'sum']);
    s.taskStarted('r1', 'inc-1', 'thread-0');
    s.taskStarted('r1', 'inc-2', 'thread-1');
    s.taskEnded('r1', 'inc-1', 'thread-0', 1, 2, true);
    s.taskEnded('r1', 'inc-2', 'thread-1', 1, 3, false, 'RangeError: no');
    const u = s.update(false);
    expect(u.groups).toEqual([
      { group: 'inc', waiting: 1, processing: 0, done: 1, erred: 1 },
      { group: 'sum', waiting: 1, processing: 0, done: 0, erred: 0 },
    ]);
    expect(u.log.map((l) => l.text)).toEqual(['task inc-2 failed on thread-1: RangeError: no']);
    expect(u.tasks).toEqual([['thread-0', 'inc', 1, 2, 1], ['thread-1', 'inc', 1, 3, 0]]);
    s.runEnded('r1', 'run r1 failed');
    s.taskEnded('r1', 'inc-3', 'thread-0', 3, 4, true); // a late report of an ended run counts as done, nothing waits
    const after = s.update(false);
    expect(after.groups.map((g) => [g.group, g.waiting, g.processing, g.done])).toEqual([['inc', 0, 0, 2], ['sum', 0, 0, 0]]);
    expect(after.totals).toMatchObject({ runs: 1, runsActive: 0, done: 2, erred: 1 });
    expect(after.tasks).toHaveLength(1); // only what is new since the previous update
  });

  it('keeps its buffers bounded however long it runs', () => {
    const s = new DashboardState('sync', { maxTasks: 100, maxTasksPerUpdate: 30, maxLog: 10, maxGroups: 3, maxLostWorkers: 2 });
    s.runStarted('r', []);
    for (let i = 0; i < 10_000; i++) s.taskEnded('r', `g${i % 7}-${i}`, 'main', i, i + 1, i % 100 !== 0);
    for (let w = 0; w < 10; w++) {
      s.workerJoined(`w${w}`, `127.0.0.1:${9000 + w}`, 1);
      s.workerLost(`w${w}`, 'gone');
    }
    const delta = s.update(false);
    expect(delta.tasks).toHaveLength(30);
    expect(delta.tasks.at(-1)).toEqual(['main', 'other', 9999, 10000, 1]);
    const full = s.update(true);
    expect(full.tasks).toHaveLength(100);
    expect(full.log).toHaveLength(10);
    expect(full.groups.map((g) => g.group)).toEqual(['g0', 'g1', 'g2', 'other']);
    expect(full.workers.map((w) => w.name)).toEqual(['main', 'w8', 'w9']);
    expect(s.update(false).tasks).toEqual([]);
    // The ring keeps the newest bars in order across its wrap, and a delta sends only the new ones.
    for (let i = 10_000; i < 10_042; i++) s.taskEnded('r', `g0-${i}`, 'main', i, i + 1, true);
    expect(s.update(false).tasks.map((t) => t[2])).toEqual(Array.from({ length: 30 }, (_, k) => 10_012 + k));
    expect(s.update(true).tasks.map((t) => t[2])).toEqual(Array.from({ length: 100 }, (_, k) => 9_942 + k));
  });
});

describe('startDashboard', () => {
  it('refuses a non-loopback address without a token, TLS or insecure, and a bad port', async () => {
    await expect(startDashboard(new DashboardState('sync'), { host: '0.0.0.0', port: 0 })).rejects.toThrow(OptionError);
    await expect(startDashboard(new DashboardState('sync'), { host: '0.0.0.0', port: 0 })).rejects.toThrow(/--insecure/);
    await expect(startDashboard(new DashboardState('sync'), { port: 70_000 })).rejects.toThrow(/0\.\.65535/);
    const open = await startDashboard(new DashboardState('sync'), { host: '0.0.0.0', port: 0, token: 't' });
    try {
      expect((await fetch(`http://127.0.0.1:${open.port}/state`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${open.port}/state`, { headers: { authorization: 'Bearer t' } })).status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('on loopback, answers only to a loopback Host (no DNS rebinding) and only GET', async () => {
    const board = await startDashboard(new DashboardState('sync'), { port: 0 });
    try {
      // fetch may not set Host; node:http may.
      const status = await new Promise<number | undefined>((resolve, reject) => {
        request({ host: '127.0.0.1', port: board.port, path: '/state', headers: { host: 'evil.example:80' } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(421);
      expect((await fetch(`${board.url}state`, { method: 'DELETE' })).status).toBe(405);
      expect((await fetch(`${board.url}nothing`)).status).toBe(404);
    } finally {
      await board.close();
    }
  });
});

describe('withDashboard on a local scheduler', () => {
  it('counts as waiting only the tasks the run executes (from the plan), then done', { timeout: 20_000 }, async () => {
    const OPS = new URL('./fixtures/ops/basic.mjs', import.meta.url).href;
    const scheduler = await createScheduler('sync', { dashboard: { port: 0, log: false } });
    try {
      const b = new GraphBuilder();
      const slow = b.task('slow', opRef(OPS, 'sleep'), [300, 1]);
      b.task('after', opRef(OPS, 'inc'), [slow]);
      b.task('unused-1', opRef(OPS, 'inc'), [1]);
      const running = scheduler.get(b.graph, ['after']);
      const groups = async (): Promise<Array<[string, number, number, number]>> => {
        const state = (await (await fetch(`${scheduler.dashboardUrl!.replace(/\/$/, '')}/state`)).json()) as { groups: Array<{ group: string; waiting: number; processing: number; done: number }> };
        return state.groups.map((g) => [g.group, g.waiting, g.processing, g.done] as [string, number, number, number]).sort();
      };
      await expect.poll(groups, { timeout: 5_000 }).toEqual([['after', 1, 0, 0], ['slow', 0, 1, 0]]);
      expect(await running).toEqual([2]);
      expect(await groups()).toEqual([['after', 0, 0, 1], ['slow', 0, 0, 1]]);
    } finally {
      await scheduler.close();
    }
  });
});
