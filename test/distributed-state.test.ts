// The distributed scheduler's state machine on its own (no processes, no network): placement
// by data locality, stealing, speculative assignment, release of intermediates, recovery of
// lost values, the retry limit, and rejected submissions.
import { describe, expect, it } from 'vitest';
import { ClusterState, type PendingAssignments as Assignments, type RunRecord, type WorkerRecord } from '../dist/schedulers/distributed/scheduler/state.js';
import type { NodeSpec, RunProgress } from '../dist/schedulers/distributed/protocol.js';
import { keyOfDataId } from '../dist/schedulers/distributed/ids.js';
import { ALLOWED_TRANSITIONS, checkTransition, InvalidTransitionError, isDone, TASK_STATES } from '../dist/schedulers/distributed/scheduler/transitions.js';
import { readFileSync } from 'node:fs';

function harness(options = {}) {
  const toWorkers = new Map<WorkerRecord, Assignments>();
  const toRuns = new Map<RunRecord, RunProgress>();
  const state = new ClusterState(
    {
      toWorker: (w) => {
        if (!toWorkers.has(w)) toWorkers.set(w, { tasks: [], cancel: [], release: [] });
        return toWorkers.get(w)!;
      },
      toRun: (r) => {
        if (!toRuns.has(r)) toRuns.set(r, { run: r.run, events: [], done: [], failed: [], tasks_done: 0, bytes_between_workers: 0, reupload: [] });
        return toRuns.get(r)!;
      },
    },
    options,
  );
  /** Take (and clear) what was sent to each worker. */
  const sent = (w: WorkerRecord): Assignments => {
    const batch = toWorkers.get(w) ?? { tasks: [], cancel: [], release: [] };
    toWorkers.delete(w);
    return batch;
  };
  const progress = () => {
    const all = [...toRuns.values()];
    toRuns.clear();
    return { done: all.flatMap((p) => p.done), failed: all.flatMap((p) => p.failed), reupload: all.flatMap((p) => p.reupload) };
  };
  const finish = (w: WorkerRecord, id: string, nbytes = 8) =>
    state.complete(w, { data_id: id, ok: true, nbytes, start: 0, end: 0.001, fetched_bytes: 0, fetched: [], missing: [] });
  return { state, sent, progress, finish };
}

/** A node as these tests write it: its op by name ('' for a literal) and its inputs by key (`submit` numbers both, as the client does). */
type TestNode = Omit<NodeSpec, 'op_index' | 'inputs'> & { op: string; deps: string[] };
const task = (key: string, deps: string[] = [], priority = 0): TestNode => ({ key, op: 'file:///ops.mjs#f', payload: new Uint8Array(1), deps, priority, placed: null });
const literal = (key: string): TestNode => ({ key, op: '', payload: new Uint8Array(3), deps: [], priority: 0, placed: null });
/**
 * Submit `nodes` as parts cut at `cuts` (indices into `nodes`; none: one part), the last one
 * final: each op numbered in its part's table, each input by its position over all parts (a
 * key not in `nodes`: a position past them). Returns each part's answer.
 */
const submitParts = (state: ClusterState, nodes: TestNode[], wanted: string[], cuts: number[], run = 1) => {
  const position = new Map<string, number>();
  nodes.forEach((n, i) => position.has(n.key) || position.set(n.key, i));
  const bounds = [0, ...cuts, nodes.length];
  return bounds.slice(1).map((end, p) => {
    const slice = nodes.slice(bounds[p], end);
    const ops = [...new Set(slice.map((n) => n.op).filter(Boolean))];
    const wire: NodeSpec[] = slice.map(({ op, deps, ...node }) => ({ ...node, op_index: op ? ops.indexOf(op) + 1 : 0, inputs: deps.map((d) => position.get(d) ?? nodes.length + 100) }));
    const final = p === bounds.length - 2;
    return state.submit('c1', { run, nodes: wire, ops, wanted: final ? wanted : [], externals: [], final, events: false });
  });
};
/** Submit `nodes` as one part. */
const submit = (state: ClusterState, nodes: TestNode[], wanted: string[], run = 1) => submitParts(state, nodes, wanted, [], run)[0];
const id = (key: string, run = 1) => `c1/${run}/${key}`;
/** Submit, then report every placed payload stored (as the client does once its Puts complete). */
const submitUploaded = (state: ClusterState, nodes: TestNode[], wanted: string[], run = 1) => {
  const problem = submit(state, nodes, wanted, run);
  const placed = nodes.flatMap((n) => (n.placed ? [n.placed] : []));
  if (!problem && placed.length) state.uploaded('c1', placed);
  return problem;
};
const keys = (batch: Assignments) => batch.tasks.map((t) => keyOfDataId(t.data_id));

describe('ClusterState', () => {
  it('places a task on the worker that holds most of its input bytes', () => {
    const { state, sent } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    const w2 = state.addWorker('w2', 'h:2', 1);
    // Two uploaded literals: 10 MB on w2, 8 bytes on w1.
    const placed = (key: string, worker: string, nbytes: number): TestNode => ({ ...literal(key), placed: { worker, data_id: id(key), nbytes } });
    expect(submitUploaded(state, [placed('big', 'w2', 10_000_000), placed('small', 'w1', 8), task('use', ['big', 'small'])], ['use'])).toBeUndefined();
    expect(keys(sent(w1))).toEqual([]);
    const batch = sent(w2);
    expect(keys(batch)).toEqual(['use']);
    // `big` is here already (no address to fetch from); `small` is fetched from w1.
    expect(batch.tasks[0]!.deps.map((d) => d.addresses)).toEqual([[], ['h:1']]);
  });

  it('assigns a chain to one worker speculatively, marking inputs produced there', () => {
    const { state, sent } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    const nodes = [literal('x'), task('a', ['x']), task('b', ['a']), task('c', ['b'])];
    submit(state, nodes, ['c']);
    const batch = sent(w1);
    expect(keys(batch)).toEqual(['a', 'b', 'c']);
    expect(batch.tasks[0]!.deps[0]).toMatchObject({ inline: true, pending_here: false });
    expect(batch.tasks[1]!.deps[0]).toMatchObject({ data_id: id('a'), pending_here: true });
  });

  it('releases an intermediate once its dependents are done, and reports wanted keys', () => {
    const { state, sent, progress, finish } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    submit(state, [task('a'), task('b', ['a'])], ['b']);
    sent(w1);
    finish(w1, id('a'));
    expect(sent(w1).release).toEqual([]);
    finish(w1, id('b'));
    expect(sent(w1).release).toEqual([id('a')]);
    expect(progress().done).toMatchObject([{ key: 'b', data_id: id('b'), worker: 'w1', data_address: 'h:1' }]);
    state.release('c1', 1, []);
    expect(sent(w1).release).toEqual([id('b')]);
  });

  it('lets an idle worker steal queued work, including a worker that joins later', () => {
    const { state, sent, finish } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    // Long tasks: teach the scheduler the mean task time first, so the window is small.
    submit(state, [task('warm')], ['warm'], 1);
    sent(w1);
    state.complete(w1, { data_id: id('warm', 1), ok: true, nbytes: 8, start: 0, end: 60_000, fetched_bytes: 0, fetched: [], missing: [] });
    sent(w1);
    submit(state, Array.from({ length: 10 }, (_, i) => task(`t${i}`, [], i)), Array.from({ length: 10 }, (_, i) => `t${i}`), 2);
    expect(sent(w1).tasks.length).toBe(2); // window: 2 per thread; the rest wait here
    const w2 = state.addWorker('w2', 'h:2', 1);
    expect(sent(w2).tasks.length).toBe(2); // stolen from w1's queue
    finish(w1, id('t0', 2));
    expect(sent(w1).tasks.length).toBe(1);
  });

  it('deals independent ready tasks in blocks over all workers at once, each block to the least loaded', () => {
    const { state, sent } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    const w2 = state.addWorker('w2', 'h:2', 1);
    const parts = Array.from({ length: 8 }, (_, i) => task(`p${i}`, [], i));
    submit(state, [...parts, task('sum', parts.map((p) => p.key), 8)], ['sum']);
    // Blocks of ceil(8 / 2 threads) = 4, in priority order: neighbours share a worker.
    expect(keys(sent(w1))).toEqual(['p0', 'p1', 'p2', 'p3']);
    expect(keys(sent(w2))).toEqual(['p4', 'p5', 'p6', 'p7']);
    // With 3 threads in all (w3 has 2), blocks of 3: the 2-thread worker is least loaded per thread.
    const { state: s3, sent: sent3 } = harness();
    const a = s3.addWorker('a', 'h:1', 1);
    const b = s3.addWorker('b', 'h:2', 2);
    submit(s3, parts, parts.map((p) => p.key));
    expect(keys(sent3(a)).length + keys(sent3(b)).length).toBe(8);
    expect(s3.tasks.get(id('p0'))!.worker).toBe(a);
    expect([id('p3'), id('p4'), id('p5')].map((t) => s3.tasks.get(t)!.worker)).toEqual([b, b, b]);
  });

  it('deals the inputs of one dependent together, so they meet where it runs', () => {
    const { state } = harness();
    state.addWorker('w1', 'h:1', 1);
    state.addWorker('w2', 'h:2', 1);
    // Matmul's shape: products of an output block (their inputs uploaded to either worker) feed one sum.
    const placed = (key: string, worker: string): TestNode => ({ ...literal(key), placed: { worker, data_id: id(key), nbytes: 500_000 } });
    const nodes: TestNode[] = [placed('a', 'w1'), placed('b', 'w2')];
    for (let g = 0; g < 4; g++) {
      const products = Array.from({ length: 4 }, (_, k) => task(`mul-${g}-${k}`, k % 2 ? ['a', 'b'] : ['b', 'a'], g * 10 + k));
      nodes.push(...products, task(`sum-${g}`, products.map((p) => p.key), g * 10 + 5));
    }
    submitUploaded(state, nodes, ['sum-0', 'sum-1', 'sum-2', 'sum-3']);
    const workerOf = (key: string) => state.tasks.get(id(key))!.worker!.id;
    for (let g = 0; g < 4; g++) expect(new Set([0, 1, 2, 3].map((k) => workerOf(`mul-${g}-${k}`))).size).toBe(1);
    expect([0, 1, 2, 3].map((g) => workerOf(`mul-${g}-0`)).sort()).toEqual(['w1', 'w1', 'w2', 'w2']);
  });

  it('steals dispatched tasks only when their worker confirms it had not started them', () => {
    const { state, sent, finish } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    // The default window sends all ten to w1 at once: none stay queued here.
    submit(state, Array.from({ length: 10 }, (_, i) => task(`t${i}`, [], i)), Array.from({ length: 10 }, (_, i) => `t${i}`));
    expect(keys(sent(w1))).toHaveLength(10);
    const w2 = state.addWorker('w2', 'h:2', 1);
    expect(keys(sent(w2))).toEqual([]);
    // w2 is idle: w1 is asked for its newest tasks, as many as w2 can start and keep ahead.
    expect(sent(w1).steal).toEqual([id('t9'), id('t8')]);
    expect(state.tasks.get(id('t9'))!.state).toBe('processing');
    // w1 had started t8 (kept) but not t9 (stolen): only t9 moves.
    state.stealReplies(w1, [id('t9')], [id('t8')]);
    expect(keys(sent(w2))).toEqual(['t9']);
    expect(state.tasks.get(id('t9'))!.worker).toBe(w2);
    expect(state.tasks.get(id('t8'))!.worker).toBe(w1);
    // A stale "stolen" for a task that was not asked for (or already moved) changes nothing.
    state.stealReplies(w1, [id('t0'), id('t9')], []);
    expect(state.tasks.get(id('t0'))!.worker).toBe(w1);
    expect(state.tasks.get(id('t9'))!.worker).toBe(w2);
    // As w2 finishes, it asks again; the result of w1's t0 still counts normally.
    sent(w1);
    finish(w2, id('t9'));
    expect(sent(w1).steal?.length).toBeGreaterThan(0);
    finish(w1, id('t0'));
    expect(state.tasks.get(id('t0'))!.state).toBe('memory');
  });

  it('does not steal a leaf whose large output would have to come back to its sibling', () => {
    const run = (outputBytes: number) => {
      const { state, sent } = harness();
      const w1 = state.addWorker('w1', 'h:1', 1);
      // Teach the scheduler what op f returns and how long it takes (10 ms).
      submit(state, [task('warm')], ['warm'], 1);
      sent(w1);
      state.complete(w1, { data_id: id('warm', 1), ok: true, nbytes: outputBytes, start: 0, end: 10, fetched_bytes: 0, fetched: [], missing: [] });
      const leaves = [0, 1, 2, 3].map((i) => task(`leaf-${i}`, [], i));
      submit(state, [...leaves, task('add-0', ['leaf-0', 'leaf-1'], 4), task('add-1', ['leaf-2', 'leaf-3'], 5)], ['add-0', 'add-1'], 2);
      sent(w1);
      state.addWorker('w2', 'h:2', 1);
      return sent(w1).steal ?? [];
    };
    // 16 MB outputs: stealing a leaf would move 16 MB back to its sibling's worker for a 10 ms task.
    expect(run(16_000_000)).toEqual([]);
    // Small outputs: the idle worker takes some.
    expect(run(8).length).toBeGreaterThan(0);
  });

  it('keeps a task whose steal was requested when its worker finishes it first, or dies', () => {
    const { state, sent, progress, finish } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    submit(state, Array.from({ length: 6 }, (_, i) => task(`t${i}`, [], i)), Array.from({ length: 6 }, (_, i) => `t${i}`));
    sent(w1);
    const w2 = state.addWorker('w2', 'h:2', 1);
    const asked = sent(w1).steal!;
    expect(asked).toEqual([id('t5'), id('t4')]);
    // t5 finished on w1 before the request arrived: the late "kept" is harmless.
    finish(w1, id('t5'));
    state.stealReplies(w1, [], [id('t5')]);
    expect(state.tasks.get(id('t5'))!.state).toBe('memory');
    // w1 dies with t4's steal unanswered: t4 is rescheduled like its other tasks (and t5, whose value lived only there).
    progress();
    state.removeWorker(w1, 'killed');
    expect(keys(sent(w2)).sort()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5']);
    expect(w2.incoming).toBe(0);
    for (let i = 0; i < 6; i++) finish(w2, id(`t${i}`));
    expect(progress().done.map((d) => d.key).sort()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5']);
  });

  it('reschedules the tasks of a lost worker and recomputes values only it held', () => {
    const { state, sent, progress, finish } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    submit(state, [task('a'), task('b'), task('sum', ['a', 'b'])], ['sum']);
    sent(w1);
    finish(w1, id('a'));
    const w2 = state.addWorker('w2', 'h:2', 1);
    sent(w1);
    sent(w2);
    state.removeWorker(w1, 'test');
    // `b` was running on w1, `a` lived only there: both run again on w2 (then `sum`, speculatively).
    expect(keys(sent(w2)).sort()).toEqual(['a', 'b', 'sum']);
    finish(w2, id('a'));
    finish(w2, id('b'));
    finish(w2, id('sum'));
    expect(progress().done.map((d) => d.key)).toEqual(['sum']);
  });

  it('fails a task that was running on too many dying workers, saying so', () => {
    const { state, sent, progress } = harness({ allowedFailures: 2 });
    let worker = state.addWorker('w0', 'h:0', 1);
    submit(state, [task('bomb')], ['bomb']);
    for (let i = 1; i <= 2; i++) {
      expect(keys(sent(worker))).toEqual(['bomb']);
      const next = state.addWorker(`w${i}`, `h:${i}`, 1);
      state.removeWorker(worker, 'it exited with code 3');
      worker = next;
    }
    const { failed } = progress();
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error.kind).toBe('worker-lost');
    expect(failed[0]!.error.message).toMatch(/running on 2 workers or executor threads that died.*code 3.*giving up after 2 tries \(KilledWorker\)/);
  });

  it('counts a task whose executor thread died as a worker death: retried on a live worker, then failed', () => {
    const { state, sent, progress } = harness({ allowedFailures: 2 });
    const w1 = state.addWorker('w1', 'h:1', 1);
    submit(state, [task('a'), task('bomb', ['a'])], ['bomb']);
    expect(keys(sent(w1))).toEqual(['a', 'bomb']);
    state.complete(w1, { data_id: id('a'), ok: true, nbytes: 8, start: 0, end: 0.001, fetched_bytes: 0, fetched: [], missing: [] });
    const lost = (reason: string) =>
      state.complete(w1, {
        data_id: id('bomb'), ok: false, nbytes: 0, start: 0, end: 0, fetched_bytes: 0, fetched: [], missing: [],
        error: { kind: 'worker-lost', name: 'WorkerLostError', message: reason, stack: '', code: '', key: '', op: '', worker: '', keys: [] },
      });
    lost('an executor thread exited with code 3');
    // The worker is still there (its thread was replaced) and so is "a": "bomb" runs there again.
    expect(state.workers.has('w1')).toBe(true);
    expect(keys(sent(w1))).toEqual(['bomb']);
    expect(progress().failed).toEqual([]);
    lost('an executor thread exited with code 3');
    const { failed } = progress();
    expect(failed.map((f) => [f.key, f.error.kind])).toEqual([['bomb', 'worker-lost']]);
    expect(failed[0]!.error.message).toMatch(/task "bomb" .*2 workers or executor threads that died \(last: w1, an executor thread exited with code 3\).*giving up after 2 tries/);
  });

  it('fails tasks that waited for a worker longer than the no-worker timeout, naming the scheduler', async () => {
    const { state, progress } = harness();
    submit(state, [task('a'), task('b', ['a'])], ['b']);
    expect(state.waitingForWorkers()).toEqual(['c1/1']);
    state.failUnplaced(60_000, 'no worker');
    expect(progress().failed).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    state.failUnplaced(10, 'no worker connected to the scheduler at h:0 within 10 ms');
    const { failed } = progress();
    expect(failed.map((f) => [f.key, f.error.kind, f.error.name])).toEqual([['b', 'no-workers', 'NoWorkersError']]);
    expect(state.waitingForWorkers()).toEqual([]);
  });

  it('withdraws speculative dependents when their input cannot be computed where planned', () => {
    const { state, sent, finish } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    submit(state, [task('a'), task('b', ['a']), task('c', ['b'])], ['c']);
    expect(keys(sent(w1))).toEqual(['a', 'b', 'c']);
    finish(w1, id('a'));
    // w1 could not fetch `a` for `b` (say, its value was lost): b is redone and c withdrawn.
    state.complete(w1, { data_id: id('b'), ok: false, nbytes: 0, start: 0, end: 0, fetched_bytes: 0, fetched: [], missing: [id('a')] });
    const batch = sent(w1);
    expect(batch.cancel).toContain(id('c'));
    expect(keys(batch)).toEqual(['a', 'b', 'c']);
  });

  it('asks the client to upload again a literal lost with its worker, then runs its dependents', () => {
    const { state, sent, progress } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    const w2 = state.addWorker('w2', 'h:2', 1);
    const placed: TestNode = { ...literal('lit'), placed: { worker: 'w1', data_id: id('lit'), nbytes: 1_000_000 } };
    submitUploaded(state, [placed, task('slow'), task('use', ['lit', 'slow'])], ['use']);
    sent(w1);
    sent(w2);
    progress();
    state.removeWorker(w1, 'killed');
    const slowOn = state.tasks.get(id('slow'))!.worker!;
    expect(slowOn).toBe(w2);
    // `use` still needs `lit`, which only w1 had: the client is asked for it.
    const { failed, reupload } = progress();
    expect(reupload).toEqual([id('lit')]);
    expect(failed).toEqual([]);
    state.uploaded('c1', [{ data_id: id('lit'), worker: 'w2', nbytes: 1_000_000 }]);
    state.complete(w2, { data_id: id('slow'), ok: true, nbytes: 8, start: 0, end: 1, fetched_bytes: 0, fetched: [], missing: [] });
    expect(keys(sent(w2))).toContain('use');
  });

  it('rejects submissions with a missing key, a duplicate key, an input not sent before its task (so no cycle) or a bad op', () => {
    const { state } = harness();
    expect(submit(state, [task('a', ['nope'])], ['a'], 1)).toMatch(/task "a" \(node number 0\) refers to input number 101: an input must be a node sent before it/);
    expect(submit(state, [task('a'), task('a')], ['a'], 2)).toMatch(/"a" appears twice/);
    expect(submit(state, [task('a', ['b']), task('b', ['a'])], ['a'], 3)).toMatch(/task "a" \(node number 0\) refers to input number 1:/);
    expect(submit(state, [literal('x'), task('a', ['a', 'x'])], ['a'], 5)).toMatch(/task "a" \(node number 1\) refers to input number 1:/);
    expect(submit(state, [{ ...task('a'), op: 'no-hash' }], ['a'], 4)).toMatch(/malformed op/);
    expect(submit(state, [task('a')], ['b'], 6)).toMatch(/wanted key "b" is not in the graph/);
  });

  it('starts the tasks of each part as it arrives and keeps its values until the final part', () => {
    const { state, sent, progress, finish } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    const nodes = [task('a'), task('b'), task('ab', ['a', 'b']), task('c'), task('root', ['ab', 'c'])];
    const position = new Map(nodes.map((n, i) => [n.key, i]));
    const part = (slice: TestNode[], final: boolean, wanted: string[] = []) =>
      state.submit('c1', {
        run: 1,
        nodes: slice.map(({ op, deps, ...node }) => ({ ...node, op_index: op ? 1 : 0, inputs: deps.map((d) => position.get(d)!) })),
        ops: ['file:///ops.mjs#f'],
        wanted,
        externals: [],
        final,
        events: false,
      });
    expect(part(nodes.slice(0, 3), false)).toBeUndefined();
    expect(keys(sent(w1))).toEqual(['a', 'b', 'ab']); // ab speculatively, with its inputs
    for (const key of ['a', 'b', 'ab']) finish(w1, id(key));
    // Nothing is released: a later part may use any of them.
    expect(sent(w1).release).toEqual([]);
    expect(part(nodes.slice(3, 4), false)).toBeUndefined();
    expect(keys(sent(w1))).toEqual(['c']);
    finish(w1, id('c'));
    expect(part(nodes.slice(4), true, ['root'])).toBeUndefined();
    const batch = sent(w1);
    expect(keys(batch)).toEqual(['root']);
    expect(batch.release.sort()).toEqual([id('a'), id('b')]); // the final part: no task needs them
    finish(w1, id('root'));
    expect(sent(w1).release.sort()).toEqual([id('ab'), id('c')]);
    expect(progress().done.map((d) => d.key)).toEqual(['root']);
  });

  it('tells the final part of a run which wanted keys are already done or failed', () => {
    const { state, sent, progress, finish } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    const parts = submitParts(state, [task('a'), task('bad'), task('c', ['a'])], [], [2], 1);
    expect(parts).toEqual([undefined, undefined]);
    finish(w1, id('a'));
    state.complete(w1, { data_id: id('bad'), ok: false, nbytes: 0, start: 0, end: 0, fetched_bytes: 0, fetched: [], missing: [], error: { kind: 'task', name: 'Error', message: 'boom', stack: '', code: '', key: '', op: '', worker: '', keys: [] } });
    sent(w1);
    progress();
    // Run 2 refers to nothing of run 1; its first part's tasks finish before its final part names them.
    const position = (key: string) => ['x', 'y'].indexOf(key);
    const wire = (key: string): NodeSpec => ({ key, payload: new Uint8Array(1), priority: 0, placed: null, op_index: 1, inputs: [] });
    expect(state.submit('c1', { run: 2, nodes: [wire('x'), wire('y')], ops: ['file:///ops.mjs#f'], wanted: [], externals: [], final: false, events: false })).toBeUndefined();
    expect(position('y')).toBe(1);
    finish(w1, id('x', 2));
    state.complete(w1, { data_id: id('y', 2), ok: false, nbytes: 0, start: 0, end: 0, fetched_bytes: 0, fetched: [], missing: [], error: { kind: 'task', name: 'Error', message: 'boom', stack: '', code: '', key: '', op: '', worker: '', keys: [] } });
    expect(progress()).toMatchObject({ done: [], failed: [] });
    expect(state.submit('c1', { run: 2, nodes: [], ops: [], wanted: ['x', 'y'], externals: [], final: true, events: false })).toBeUndefined();
    const told = progress();
    expect(told.done.map((d) => d.key)).toEqual(['x']);
    expect(told.failed).toMatchObject([{ key: 'y', error: { message: 'boom' } }]);
  });

  it('cancels what earlier parts started when a later part is bad, and ignores the parts after it', () => {
    const { state, sent } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    const answers = submitParts(state, [task('a'), task('b', ['a']), task('a'), task('c')], ['c'], [2, 3]);
    expect(answers[0]).toBeUndefined();
    expect(answers[1]).toMatch(/"a" appears twice/);
    expect(answers[2]).toBeUndefined(); // ignored
    const batch = sent(w1);
    expect(keys(batch)).toEqual(['a', 'b']);
    expect(batch.cancel.sort()).toEqual([id('a'), id('b')]);
    expect(state.ignores('c1', 1)).toBe(false); // its final part came
    // The run number is free of its refusal: a new final part is a new submission.
    expect(submit(state, [task('z')], ['z'], 1)).toBeUndefined();
  });
});

describe('scheduler task transitions', () => {
  it('has a table entry for every state; nothing leaves erred; only memory, released and erred are done', () => {
    expect(Object.keys(ALLOWED_TRANSITIONS).sort()).toEqual([...TASK_STATES].sort());
    for (const targets of Object.values(ALLOWED_TRANSITIONS)) for (const to of targets) expect(TASK_STATES).toContain(to);
    expect(ALLOWED_TRANSITIONS.erred).toEqual([]);
    expect(TASK_STATES.filter(isDone)).toEqual(['memory', 'released', 'erred']);
    for (const from of TASK_STATES) if (from !== 'erred') expect(ALLOWED_TRANSITIONS[from]).toContain('erred');
  });

  it('rejects a transition not in the table, naming the task and both states', () => {
    expect(() => checkTransition('k', 'processing', 'no-worker')).toThrow(InvalidTransitionError);
    expect(() => checkTransition('k', 'erred', 'waiting')).toThrow(/task "k" cannot go from erred to waiting \(allowed: none\)/);
    expect(() => checkTransition('k', 'queued', 'processing')).not.toThrow();
  });

  it('changes task states only through transition()', () => {
    const source = readFileSync(new URL('../schedulers/distributed/scheduler/state.ts', import.meta.url), 'utf8');
    expect(source.match(/\.state = /g)).toEqual(['.state = ']);
  });

  it('parks a ready task as no-worker while no worker is connected, and sends it to the first that joins', () => {
    const { state, sent } = harness();
    expect(submit(state, [task('a'), task('b', ['a'])], ['b'])).toBeUndefined();
    expect(state.tasks.get(id('a'))!.state).toBe('no-worker');
    expect(state.tasks.get(id('b'))!.state).toBe('waiting');
    const w1 = state.addWorker('w1', 'h:1', 1);
    expect(state.tasks.get(id('a'))!.state).toBe('processing');
    expect(keys(sent(w1))).toContain('a');
  });

  it('moves a lost uploaded literal to awaiting-upload and back to memory once uploaded again', () => {
    const { state, progress } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    const w2 = state.addWorker('w2', 'h:2', 1);
    const placed: TestNode = { ...literal('big'), placed: { worker: 'w1', data_id: id('big'), nbytes: 1_000_000 } };
    expect(submitUploaded(state, [placed, task('use', ['big'])], ['use'])).toBeUndefined();
    state.removeWorker(w1, 'killed');
    expect(state.tasks.get(id('big'))!.state).toBe('awaiting-upload');
    expect(progress().reupload).toEqual([id('big')]);
    state.uploaded('c1', [{ data_id: id('big'), worker: 'w2', nbytes: 1_000_000 }]);
    expect(state.tasks.get(id('big'))!.state).toBe('memory');
    expect(state.tasks.get(id('use'))!.state).toBe('processing');
    expect(state.tasks.get(id('use'))!.worker).toBe(w2);
  });

  it('starts the tasks of a run as their uploaded inputs are reported, before the rest arrive', () => {
    const { state, sent } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    const w2 = state.addWorker('w2', 'h:2', 1);
    const placed = (key: string, worker: string): TestNode => ({ ...literal(key), placed: { worker, data_id: id(key), nbytes: 1_000_000 } });
    const nodes = [placed('a', 'w1'), placed('b', 'w2'), placed('c', 'w2'), task('use-a', ['a']), task('use-bc', ['b', 'c']), task('sum', ['use-a', 'use-bc'])];
    expect(submit(state, nodes, ['sum'])).toBeUndefined();
    expect(state.tasks.get(id('a'))!.state).toBe('awaiting-upload');
    expect([...keys(sent(w1)), ...keys(sent(w2))]).toEqual([]);
    state.uploaded('c1', [{ data_id: id('a'), worker: 'w1', nbytes: 1_000_000 }, { data_id: id('b'), worker: 'w2', nbytes: 1_000_000 }]);
    expect(keys(sent(w1))).toEqual(['use-a']);
    expect(keys(sent(w2))).toEqual([]);
    expect(state.tasks.get(id('use-bc'))!.state).toBe('waiting');
    state.uploaded('c1', [{ data_id: id('c'), worker: 'w2', nbytes: 1_000_000 }]);
    expect(keys(sent(w2))).toEqual(['use-bc']);
  });

  it('deals tasks waiting for uploads at submission, so siblings still meet when the uploads arrive one by one', () => {
    const { state } = harness();
    state.addWorker('w1', 'h:1', 1);
    state.addWorker('w2', 'h:2', 1);
    const placed = (key: string, worker: string): TestNode => ({ ...literal(key), placed: { worker, data_id: id(key), nbytes: 500_000 } });
    const nodes: TestNode[] = [];
    for (let g = 0; g < 4; g++) {
      nodes.push(placed(`a-${g}`, 'w1'), placed(`b-${g}`, 'w2'));
      const products = Array.from({ length: 4 }, (_, k) => task(`mul-${g}-${k}`, [`a-${g}`, `b-${g}`], g * 10 + k));
      nodes.push(...products, task(`sum-${g}`, products.map((p) => p.key), g * 10 + 5));
    }
    expect(submit(state, nodes, ['sum-0', 'sum-1', 'sum-2', 'sum-3'])).toBeUndefined();
    for (const node of nodes) if (node.placed) state.uploaded('c1', [node.placed]);
    const workerOf = (key: string) => state.tasks.get(id(key))!.worker!.id;
    for (let g = 0; g < 4; g++) expect(new Set([0, 1, 2, 3].map((k) => workerOf(`mul-${g}-${k}`))).size).toBe(1);
    expect([0, 1, 2, 3].map((g) => workerOf(`mul-${g}-0`)).sort()).toEqual(['w1', 'w1', 'w2', 'w2']);
  });

  it('drops an upload reported after its run was cancelled from the worker that stored it', () => {
    const { state, sent } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    const placed: TestNode = { ...literal('big'), placed: { worker: 'w1', data_id: id('big'), nbytes: 1_000_000 } };
    expect(submit(state, [placed, task('use', ['big'])], ['use'])).toBeUndefined();
    state.cancel('c1', 1);
    sent(w1);
    state.uploaded('c1', [{ data_id: id('big'), worker: 'w1', nbytes: 1_000_000 }]);
    expect(sent(w1).release).toEqual([id('big')]);
    expect(state.tasks.has(id('big'))).toBe(false);
  });
});
