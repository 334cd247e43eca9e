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

const task = (key: string, deps: string[] = [], priority = 0): NodeSpec => ({ key, op: 'file:///ops.mjs#f', payload: new Uint8Array(1), deps, priority, placed: null });
const literal = (key: string): NodeSpec => ({ key, op: '', payload: new Uint8Array(3), deps: [], priority: 0, placed: null });
const submit = (state: ClusterState, nodes: NodeSpec[], wanted: string[], run = 1) =>
  state.submit('c1', { run, nodes, wanted, externals: [], final: true, events: false });
const id = (key: string, run = 1) => `c1/${run}/${key}`;
const keys = (batch: Assignments) => batch.tasks.map((t) => keyOfDataId(t.data_id));

describe('ClusterState', () => {
  it('places a task on the worker that holds most of its input bytes', () => {
    const { state, sent } = harness();
    const w1 = state.addWorker('w1', 'h:1', 1);
    const w2 = state.addWorker('w2', 'h:2', 1);
    // Two uploaded literals: 10 MB on w2, 8 bytes on w1.
    const placed = (key: string, worker: string, nbytes: number): NodeSpec => ({ ...literal(key), placed: { worker, data_id: id(key), nbytes } });
    expect(submit(state, [placed('big', 'w2', 10_000_000), placed('small', 'w1', 8), task('use', ['big', 'small'])], ['use'])).toBeUndefined();
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
    const placed: NodeSpec = { ...literal('lit'), placed: { worker: 'w1', data_id: id('lit'), nbytes: 1_000_000 } };
    submit(state, [placed, task('slow'), task('use', ['lit', 'slow'])], ['use']);
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
    state.uploaded('c1', id('lit'), 'w2', 1_000_000);
    state.complete(w2, { data_id: id('slow'), ok: true, nbytes: 8, start: 0, end: 1, fetched_bytes: 0, fetched: [], missing: [] });
    expect(keys(sent(w2))).toContain('use');
  });

  it('rejects submissions with a missing key, a duplicate key or a cycle', () => {
    const { state } = harness();
    expect(submit(state, [task('a', ['nope'])], ['a'], 1)).toMatch(/missing key "nope"/);
    expect(submit(state, [task('a'), task('a')], ['a'], 2)).toMatch(/"a" appears twice/);
    expect(submit(state, [task('a', ['b']), task('b', ['a'])], ['a'], 3)).toMatch(/cycle/);
    expect(submit(state, [literal('x'), task('a', ['b', 'x']), task('b', ['a', 'x'])], ['a'], 5)).toMatch(/cycle through "a", "b"/);
    expect(submit(state, [{ ...task('a'), op: 'no-hash' }], ['a'], 4)).toMatch(/malformed op/);
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
    expect(() => checkTransition('k', 'processing', 'queued')).toThrow(InvalidTransitionError);
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
    const placed: NodeSpec = { ...literal('big'), placed: { worker: 'w1', data_id: id('big'), nbytes: 1_000_000 } };
    expect(submit(state, [placed, task('use', ['big'])], ['use'])).toBeUndefined();
    state.removeWorker(w1, 'killed');
    expect(state.tasks.get(id('big'))!.state).toBe('awaiting-upload');
    expect(progress().reupload).toEqual([id('big')]);
    state.uploaded('c1', id('big'), 'w2', 1_000_000);
    expect(state.tasks.get(id('big'))!.state).toBe('memory');
    expect(state.tasks.get(id('use'))!.state).toBe('processing');
    expect(state.tasks.get(id('use'))!.worker).toBe(w2);
  });
});
