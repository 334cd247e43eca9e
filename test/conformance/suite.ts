/**
 * The conformance suite itself (as Dask's GetFunctionTestMixin): results, events, stats and
 * every error case must be the same on every scheduler. `conformance.test.ts` runs it on each
 * scheduler of `schedulers.ts`; `distributed-cli-cluster.test.ts` runs it again on a cluster
 * started from the CLI. Each error case also checks the scheduler is usable afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortedError,
  createScheduler,
  GraphBuilder,
  GraphError,
  SchedulerClosedError,
  sharedFloat64Array,
  TaskError,
  WorkerLostError,
  type Graph,
  type Scheduler,
  type SchedulerEvent,
} from '../../dist/schedulers/index.js';
import { chain, fanOutIn, op, OPS, treeReduction } from './helpers.js';
import type { ConformanceTarget } from './schedulers.js';

/** A small graph mixing every kind of node; its result is the cross-scheduler reference. */
function mixedGraph(): { graph: Graph; keys: string[] } {
  const b = new GraphBuilder();
  const x = b.value('x', 3);
  const arr = b.value('arr', new Float64Array([1, 2, 3]));
  const a = b.task('a', op('inc'), [x]);
  const s = b.task('s', op('scale'), [arr, a]);
  const t = b.task('t', op('total'), [s]);
  const n = b.task('n', op('nested'), [{ list: [a, { deep: t }], text: 'hi', when: x }]);
  b.task('as', op('asyncInc'), [t]);
  b.task('m', op('pair'), [n, { $ref: 'as' }]);
  return { graph: b.graph, keys: ['m', 't', 's', 'x'] };
}

async function expectUsable(scheduler: Scheduler): Promise<void> {
  const { graph, root } = treeReduction(20);
  await expect(scheduler.get(graph, [root])).resolves.toEqual([210]);
}

export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

let reference: unknown[] | undefined;

/**
 * Every conformance test on `target`; `create` starts its scheduler (default: createScheduler
 * with the target's options). A run's first target sets the cross-scheduler reference result.
 */
export function conformanceSuite(target: ConformanceTarget, create: () => Promise<Scheduler> = () => createScheduler(target.name, target.options)): void {
  describe(`conformance: ${target.name}`, () => {
    let scheduler: Scheduler;
    beforeAll(async () => {
      scheduler = await create();
    });
    afterAll(async () => {
      await scheduler?.close();
    });

    it('reports its name, workers and start-up time', () => {
      expect(scheduler.name).toBe(target.name);
      expect(scheduler.workers).toBe(target.options.workers ?? 1);
      expect(scheduler.startupSeconds).toBeGreaterThanOrEqual(0);
    });

    it('returns literal values', async () => {
      const b = new GraphBuilder();
      b.value('n', 42);
      b.value('obj', { a: [1, 'two', null], b: true });
      expect(await scheduler.get(b.graph, ['obj', 'n'])).toEqual([{ a: [1, 'two', null], b: true }, 42]);
    });

    it('substitutes nested $refs in arrays and objects', async () => {
      const b = new GraphBuilder();
      const x = b.value('x', 1);
      const y = b.task('y', op('inc'), [x]);
      b.task('z', op('nested'), [{ list: [x, [y, { inner: y }]], obj: { k: x }, plain: 'text', n: null }]);
      expect(await scheduler.get(b.graph, ['z'])).toEqual([{ list: [1, [2, { inner: 2 }]], obj: { k: 1 }, plain: 'text', n: null }]);
    });

    it('passes a fused chain link nested in an object, a value used twice by one task, and literals among refs', async () => {
      // p's only dependent is q, which has no other task input (p is nested): p -> q -> c fuse into one unit on the local engine.
      const b = new GraphBuilder();
      const lit = b.value('lit', 10);
      const p = b.task('p', op('inc'), [1]);
      const q = b.task('q', op('nested'), [{ prev: p, lit, list: [p, 'x'] }]);
      b.task('c', op('pair'), [q, 7]);
      b.task('d', op('add'), [lit, lit]);
      const r = b.task('r', op('inc'), [1]);
      b.task('e', op('sum'), [3, r, lit, r, 4]);
      const qValue = { prev: 2, lit: 10, list: [2, 'x'] };
      expect(await scheduler.get(b.graph, ['c', 'd', 'e'])).toEqual([[qValue, 7], 20, 3 + 2 + 10 + 2 + 4]);
      // With an intermediate requested, the chain is cut there.
      expect(await scheduler.get(b.graph, ['q', 'c'])).toEqual([qValue, [qValue, 7]]);
    });

    it('computes a diamond once per node', async () => {
      const b = new GraphBuilder();
      const top = b.task('top', op('inc'), [0]);
      const l = b.task('left', op('inc'), [top]);
      const r = b.task('right', op('inc'), [top]);
      b.task('bottom', op('add'), [l, r]);
      const events: SchedulerEvent[] = [];
      expect(await scheduler.get(b.graph, ['bottom'], { onEvent: (e) => events.push(e) })).toEqual([4]);
      const ends = events.filter((e) => e.type === 'task-end').map((e) => e.key);
      expect(ends.sort()).toEqual(['bottom', 'left', 'right', 'top']);
    });

    it('handles wide fan-out and fan-in', async () => {
      const { graph, sink } = fanOutIn(2000);
      expect(await scheduler.get(graph, [sink])).toEqual([2000 * 11]);
    });

    it('runs a 10,000-deep chain', async () => {
      const { graph, last } = chain(10_000);
      expect(await scheduler.get(graph, [last, 'x5000'])).toEqual([10_000, 5000]);
    });

    it('returns many output keys in the order asked', async () => {
      const { graph } = treeReduction(1000);
      const keys = Array.from({ length: 1000 }, (_, i) => `leaf-${999 - i}`);
      const values = await scheduler.get(graph, keys);
      expect(values).toEqual(keys.map((_, i) => 1000 - i));
    });

    it('runs only what the keys need (culling), and returns a key asked twice twice', async () => {
      const b = new GraphBuilder();
      b.task('needed', op('inc'), [1]);
      b.task('unneeded', op('throwSync'), ['must not run']);
      expect(await scheduler.get(b.graph, ['needed', 'needed'])).toEqual([2, 2]);
    });

    it('is reusable across repeated gets and counts tasks cumulatively', async () => {
      const { graph, root } = treeReduction(100);
      const before = scheduler.stats().tasks;
      for (let i = 0; i < 3; i++) expect(await scheduler.get(graph, [root])).toEqual([5050]);
      expect(scheduler.stats().tasks - before).toBe(3 * 199);
    });

    it('moves typed arrays in and out', async () => {
      const b = new GraphBuilder();
      const input = b.value('input', new Float64Array([1, 2, 3, 4]));
      const r = b.task('r', op('range'), [5]);
      b.task('scaled', op('scale'), [input, 2]);
      b.task('scaledR', op('scale'), [r, 10]);
      const [scaled, scaledR, rv] = await scheduler.get(b.graph, ['scaled', 'scaledR', 'r']);
      expect(scaled).toBeInstanceOf(Float64Array);
      expect(Array.from(scaled as Float64Array)).toEqual([2, 4, 6, 8]);
      expect(Array.from(scaledR as Float64Array)).toEqual([0, 10, 20, 30, 40]);
      expect(Array.from(rv as Float64Array)).toEqual([0, 1, 2, 3, 4]);
    });

    it('passes SharedArrayBuffer-backed arrays (zero-copy and uncounted on threads)', async () => {
      const shared = sharedFloat64Array(100_000);
      const b = new GraphBuilder();
      const s = b.value('shared', shared);
      b.task('filled', op('fillShared'), [s, 7]);
      const before = scheduler.stats();
      const [filled] = (await scheduler.get(b.graph, ['filled'])) as [Float64Array];
      const after = scheduler.stats();
      expect(filled[99_999]).toBe(7);
      const moved = after.bytesToWorkers - before.bytesToWorkers + after.bytesFromWorkers - before.bytesFromWorkers;
      if (target.sharesMemory) {
        expect(shared[0]).toBe(7); // the op wrote into the very memory we passed
        expect(filled.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(moved).toBe(0);
      } else {
        expect(moved).toBeGreaterThanOrEqual(2 * 800_000); // copied out and back
      }
    });

    it('counts bytes moved for copied values', async () => {
      const b = new GraphBuilder();
      b.value('big', new Float64Array(50_000));
      b.task('copy', op('identity'), [{ $ref: 'big' }]);
      const before = scheduler.stats();
      await scheduler.get(b.graph, ['copy']);
      const after = scheduler.stats();
      if (target.name === 'bullmq') {
        // Bytes as they cross a connection to Redis: v8 bytes (a few header bytes) plus the job's data.
        expect(after.bytesToWorkers - before.bytesToWorkers).toBeGreaterThanOrEqual(400_000);
        expect(after.bytesToWorkers - before.bytesToWorkers).toBeLessThan(404_000);
        expect(after.bytesFromWorkers - before.bytesFromWorkers).toBeGreaterThanOrEqual(400_000);
        expect(after.bytesFromWorkers - before.bytesFromWorkers).toBeLessThan(400_100);
        expect(after.bytesBetweenWorkers - before.bytesBetweenWorkers).toBeGreaterThanOrEqual(800_000); // the worker read it and wrote it back
      } else if (target.clones) {
        // The literal is the caller's: copied, never moved. The result may come back moved.
        expect(after.bytesToWorkers - before.bytesToWorkers).toBe(400_000);
        expect(after.bytesFromWorkers - before.bytesFromWorkers).toBe(target.movesResults ? 0 : 400_000);
      } else {
        expect(after.bytesToWorkers - before.bytesToWorkers).toBe(0);
      }
      if (target.name !== 'distributed' && target.name !== 'bullmq') expect(after.bytesBetweenWorkers).toBe(0);
    });

    it('awaits async ops', async () => {
      const b = new GraphBuilder();
      let prev = b.value('v0', 0);
      for (let i = 1; i <= 20; i++) prev = b.task(`v${i}`, op('asyncInc'), [prev]);
      b.task('slow', op('sleep'), [30, 'done']);
      expect(await scheduler.get(b.graph, ['v20', 'slow'])).toEqual([20, 'done']);
    });

    it('emits task-start and task-end for every task with worker ids', async () => {
      const { graph, root } = treeReduction(50);
      const events: SchedulerEvent[] = [];
      await scheduler.get(graph, [root], { onEvent: (e) => events.push(e) });
      const starts = events.filter((e) => e.type === 'task-start');
      const ends = events.filter((e) => e.type === 'task-end');
      expect(starts).toHaveLength(99);
      expect(ends).toHaveLength(99);
      const pattern = { sync: /^main$/, threads: /^thread-\d+$/, processes: /^process-\d+$/, distributed: /./, bullmq: /^.+:\d+:thread-\d+$/ }[target.name];
      for (const e of events) expect(e.worker).toMatch(pattern);
      for (const e of ends) {
        if (e.type !== 'task-end') continue;
        expect(e.ok).toBe(true);
        expect(e.end).toBeGreaterThanOrEqual(e.start);
        expect(Math.abs(e.start - Date.now())).toBeLessThan(60_000);
      }
      const startedAt = new Map(starts.map((e) => [e.key, events.indexOf(e)]));
      for (const e of ends) expect(startedAt.get(e.key)!).toBeLessThan(events.indexOf(e));
    });

    it('serves concurrent gets on one scheduler', async () => {
      const a = treeReduction(300);
      const c = chain(500);
      const [ra, rc, rb] = await Promise.all([scheduler.get(a.graph, [a.root]), scheduler.get(c.graph, [c.last]), scheduler.get(a.graph, ['leaf-7'])]);
      expect([ra, rc, rb]).toEqual([[45150], [500], [8]]);
    });

    it('gives the same results as every other scheduler', async () => {
      const { graph, keys } = mixedGraph();
      const result = await scheduler.get(graph, keys);
      reference ??= result; // the first scheduler in the list sets the reference
      expect(result).toEqual(reference);
    });

    describe('errors', () => {
      it('rejects a cycle with GraphError CYCLE naming the keys', async () => {
        const graph: Graph = { a: { op: op('inc'), args: [{ $ref: 'c' }] }, b: { op: op('inc'), args: [{ $ref: 'a' }] }, c: { op: op('inc'), args: [{ $ref: 'b' }] } };
        const err = await rejection(scheduler.get(graph, ['c']));
        expect(err).toBeInstanceOf(GraphError);
        expect((err as GraphError).code).toBe('CYCLE');
        // a needs c, c needs b, b needs a: the message follows the dependency direction.
        expect(err.message).toMatch(/"a" -> "c" -> "b"|"c" -> "b" -> "a"|"b" -> "a" -> "c"/);
        expect([...(err as GraphError).keys].sort()).toEqual(['a', 'b', 'c']);
        await expectUsable(scheduler);
      });

      it('rejects a $ref to a missing key and a missing requested key with MISSING_KEY', async () => {
        const graph: Graph = { a: { op: op('inc'), args: [{ $ref: 'ghost' }] } };
        const err = await rejection(scheduler.get(graph, ['a']));
        expect(err).toBeInstanceOf(GraphError);
        expect((err as GraphError).code).toBe('MISSING_KEY');
        expect(err.message).toContain('"a"');
        expect(err.message).toContain('"ghost"');
        const err2 = await rejection(scheduler.get({ a: { value: 1 } }, ['nope']));
        expect((err2 as GraphError).code).toBe('MISSING_KEY');
        expect(err2.message).toContain('"nope"');
        await expectUsable(scheduler);
      });

      it('rejects malformed nodes with BAD_NODE naming the key', async () => {
        const bad: Array<[string, unknown]> = [
          ['nullNode', null],
          ['noOp', { args: [] }],
          ['numOp', { op: 5, args: [] }],
          ['noArgs', { op: op('inc') }],
          ['noHash', { op: 'just-a-module', args: [] }],
        ];
        for (const [key, node] of bad) {
          const err = await rejection(scheduler.get({ [key]: node } as Graph, [key]));
          expect(err).toBeInstanceOf(GraphError);
          expect((err as GraphError).code).toBe('BAD_NODE');
          expect(err.message).toContain(`"${key}"`);
        }
        await expectUsable(scheduler);
      });

      it('rejects an unknown module, export or non-function with UNKNOWN_OP', async () => {
        const cases: Array<[string, RegExp]> = [
          [`${new URL('../fixtures/ops/does-not-exist.mjs', import.meta.url).href}#inc`, /cannot import module/],
          [`${OPS}#noSuchExport`, /no exported function "noSuchExport"/],
          [`${OPS}#notAFunction`, /no exported function "notAFunction"/],
          ['schedlab-no-such-package#run', /cannot import module/],
        ];
        for (const [badOp, why] of cases) {
          const err = await rejection(scheduler.get({ t: { op: badOp, args: [] } }, ['t']));
          expect(err).toBeInstanceOf(GraphError);
          expect((err as GraphError).code).toBe('UNKNOWN_OP');
          expect(err.message).toContain('"t"');
          expect(err.message).toMatch(why);
        }
        await expectUsable(scheduler);
      });

      it('fails a task whose argument cannot be cloned (where values are cloned)', async () => {
        const b = new GraphBuilder();
        b.value('fn', { callback: () => 1 });
        b.task('user', op('identity'), [{ $ref: 'fn' }]);
        if (!target.clones) {
          const [v] = (await scheduler.get(b.graph, ['user'])) as [{ callback: () => number }];
          expect(v.callback()).toBe(1);
          return;
        }
        const err = await rejection(scheduler.get(b.graph, ['user']));
        expect(err).toBeInstanceOf(TaskError);
        expect((err as TaskError).key).toBe('user');
        expect((err as TaskError).errorName).toBe('DataCloneError');
        expect(err.message).toContain('"fn"');
        expect(err.message).toMatch(/could not be cloned|cannot be cloned/);
        await expectUsable(scheduler);
      });

      it('fails a task whose result cannot be cloned back (where values are cloned)', async () => {
        const b = new GraphBuilder();
        b.task('makesFn', op('returnFunction'), []);
        if (!target.clones) return;
        const err = await rejection(scheduler.get(b.graph, ['makesFn']));
        expect(err).toBeInstanceOf(TaskError);
        expect((err as TaskError).key).toBe('makesFn');
        expect(err.message).toMatch(/could not be cloned|cannot be cloned/);
        await expectUsable(scheduler);
      });

      it('rejects with TaskError carrying the worker-side stack when an op throws', async () => {
        const b = new GraphBuilder();
        const x = b.task('x', op('inc'), [1]);
        b.task('bad', op('throwSync'), [x]);
        const events: SchedulerEvent[] = [];
        const err = await rejection(scheduler.get(b.graph, ['bad'], { onEvent: (e) => events.push(e) }));
        expect(events.find((e) => e.type === 'task-end' && e.key === 'bad')).toMatchObject({ ok: false });
        expect(err).toBeInstanceOf(TaskError);
        const te = err as TaskError;
        expect(te.code).toBe('TASK_FAILED');
        expect(te.key).toBe('bad');
        expect(te.op).toBe(op('throwSync'));
        expect(te.errorName).toBe('RangeError');
        expect(te.errorMessage).toBe('boom: 2');
        expect(te.message).toContain('"bad"');
        expect(te.message).toContain('boom: 2');
        expect(te.remoteStack).toMatch(/throwSync/);
        expect(te.remoteStack).toContain('basic.mjs');
        expect(te.stack).toContain('basic.mjs');
        if (target.name === 'sync') {
          expect(te.cause).toBeInstanceOf(RangeError); // the original, with its own frames
          expect((te.cause as Error).stack).toContain('throwSync');
        }
        await expectUsable(scheduler);
      });

      it('rejects with TaskError when an async op rejects, and for non-Error throws', async () => {
        const err = await rejection(scheduler.get({ t: { op: op('throwAsync'), args: ['later'] } }, ['t']));
        expect(err).toBeInstanceOf(TaskError);
        expect((err as TaskError).errorName).toBe('TypeError');
        expect(err.message).toContain('async boom: later');
        const err2 = await rejection(scheduler.get({ s: { op: op('throwString'), args: [] } }, ['s']));
        expect(err2).toBeInstanceOf(TaskError);
        expect(err2.message).toContain('a plain string');
        await expectUsable(scheduler);
      });

      it('stops at the first failure even among many tasks, and stays usable', async () => {
        const b = new GraphBuilder();
        const leaves = Array.from({ length: 200 }, (_, i) => b.task(`l${i}`, op(i === 137 ? 'throwSync' : 'inc'), [i]));
        b.task('all', op('sum'), leaves);
        const err = await rejection(scheduler.get(b.graph, ['all']));
        expect(err).toBeInstanceOf(TaskError);
        expect((err as TaskError).key).toBe('l137');
        await expectUsable(scheduler);
      });

      it.skipIf(!target.hasWorkers)('rejects with WorkerLostError when an op exits its worker, then recovers', async () => {
        const err = await rejection(scheduler.get({ exits: { op: op('exitWorker'), args: [3] } }, ['exits']));
        expect(err).toBeInstanceOf(WorkerLostError);
        expect((err as WorkerLostError).key).toBe('exits');
        expect(err.message).toContain('"exits"');
        expect(err.message).toMatch(/code:? 3\b/);
        await expectUsable(scheduler);
        await expectUsable(scheduler);
      });

      it.skipIf(!target.hasWorkers)('rejects with WorkerLostError when an op crashes its worker, then recovers', async () => {
        const err = await rejection(scheduler.get({ crashes: { op: op('crashLater'), args: [] } }, ['crashes']));
        expect(err).toBeInstanceOf(WorkerLostError);
        expect(err.message).toContain('"crashes"');
        await expectUsable(scheduler);
      });

      it('rejects promptly with AbortedError when aborted midway, then stays usable', async () => {
        const b = new GraphBuilder();
        const quick = b.task('quick', op('inc'), [1]);
        const slow = Array.from({ length: 4 }, (_, i) => b.task(`slow${i}`, op('sleep'), [8000, quick]));
        b.task('end', op('sum'), slow);
        const controller = new AbortController();
        const started = Date.now();
        setTimeout(() => controller.abort(), 150);
        const err = await rejection(scheduler.get(b.graph, ['end'], { signal: controller.signal }));
        expect(err).toBeInstanceOf(AbortedError);
        expect(Date.now() - started).toBeLessThan(2500); // the sleeps would take 8 s
        // Usable at once: the aborted batches' workers were stopped (and replaced), not waited for.
        const again = Date.now();
        await expectUsable(scheduler);
        expect(Date.now() - again).toBeLessThan(5000);
      });

      it('honours a timer-based abort between synchronous busy tasks', async () => {
        // 40 tasks of 100 ms of busy work (no await anywhere): a timer must still get to fire.
        const b = new GraphBuilder();
        const busy = Array.from({ length: 40 }, (_, i) => b.task(`busy${i}`, op('busy'), [100]));
        b.task('end', op('sum'), busy);
        const started = Date.now();
        const err = await rejection(scheduler.get(b.graph, ['end'], { signal: AbortSignal.timeout(100) }));
        expect(err).toBeInstanceOf(AbortedError);
        expect(Date.now() - started).toBeLessThan(2500); // sync alone would take 4 s
        await expectUsable(scheduler);
      });

      it('stops before the next task when an event listener aborts', async () => {
        const b = new GraphBuilder();
        const busy = Array.from({ length: 40 }, (_, i) => b.task(`busy${i}`, op('busy'), [5]));
        b.task('end', op('sum'), busy);
        const controller = new AbortController();
        const ended: string[] = [];
        const onEvent = (e: SchedulerEvent): void => {
          if (e.type !== 'task-end') return;
          ended.push(e.key);
          controller.abort();
        };
        const err = await rejection(scheduler.get(b.graph, ['end'], { signal: controller.signal, onEvent }));
        expect(err).toBeInstanceOf(AbortedError);
        expect(ended.length).toBeLessThan(40);
        await expectUsable(scheduler);
      });

      it('rejects at once with AbortedError when the signal is already aborted', async () => {
        const { graph, root } = treeReduction(10);
        const err = await rejection(scheduler.get(graph, [root], { signal: AbortSignal.abort() }));
        expect(err).toBeInstanceOf(AbortedError);
      });
    });
  });
}
