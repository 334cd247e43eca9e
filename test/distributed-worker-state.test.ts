// The distributed worker's bookkeeping on its own (no gRPC, no threads): which inputs it
// fetches and from where, when a task is dispatched and to which executor thread, what it
// reports, and how cancels, stale results and lost inputs are handled.
import { describe, expect, it } from 'vitest';
import { WorkerState, type Instruction } from '../dist/schedulers/distributed/worker/state.js';
import type { Assignment, DepLocation } from '../dist/schedulers/distributed/protocol.js';

const OP = 'file:///ops.mjs#f';
const bytes = (n: number) => new Uint8Array(n).fill(7);
const dep = (data_id: string, init: Partial<DepLocation> = {}): DepLocation => ({ data_id, inline: false, bytes: new Uint8Array(0), addresses: [], pending_here: false, ...init });
const task = (data_id: string, deps: DepLocation[] = []): { assignment: Assignment; op: string } => ({
  assignment: { data_id, args: bytes(2), args_data_id: '', deps, op_index: 0 },
  op: OP,
});
const assign = (state: WorkerState, tasks: Array<{ assignment: Assignment; op: string }>, cancel: string[] = [], release: string[] = [], steal: string[] = []) =>
  state.assign({ tasks, cancel, release, steal });
const ofType = <T extends Instruction['type']>(out: Instruction[], type: T) => out.filter((i): i is Extract<Instruction, { type: T }> => i.type === type);
const ok = (id: string, seq: number, n = 4) => ({ id, seq, ok: true, bytes: bytes(n), start: 1, end: 2 });

describe('WorkerState', () => {
  it('dispatches a task whose inputs are inline or held, to the least busy thread', () => {
    const state = new WorkerState(2);
    state.uploaded('c/1/a');
    const out = assign(state, [task('c/1/x', [dep('c/1/a'), dep('c/1/lit', { inline: true, bytes: bytes(3) })]), task('c/1/y')]);
    const dispatched = ofType(out, 'dispatch');
    expect(dispatched.map((d) => [d.task.id, d.executor])).toEqual([['c/1/x', 0], ['c/1/y', 1]]);
    expect(dispatched[0]!.task.deps).toEqual([
      { id: 'c/1/a', inline: false, fromStore: true },
      { id: 'c/1/lit', inline: true, bytes: bytes(3) },
    ]);
    expect(ofType(out, 'fetch')).toEqual([]);
    expect(state.phases()).toEqual(new Map([['c/1/x', 'dispatched'], ['c/1/y', 'dispatched']]));
  });

  it('fetches missing inputs grouped by peer, once, and dispatches when they arrive', () => {
    const state = new WorkerState(1);
    const out = assign(state, [
      task('c/1/x', [dep('c/1/a', { addresses: ['h:1', 'h:2'] }), dep('c/1/b', { addresses: ['h:1'] })]),
      task('c/1/y', [dep('c/1/a', { addresses: ['h:1'] })]),
    ]);
    const fetches = ofType(out, 'fetch');
    expect(fetches.map((f) => [f.address, f.ids])).toEqual([['h:1', ['c/1/a', 'c/1/b']]]);
    expect(fetches[0]!.alternatives.get('c/1/a')).toEqual(['h:2']);
    expect(ofType(out, 'dispatch')).toEqual([]);
    const first = state.fetched('c/1/a', bytes(10));
    expect(ofType(first, 'store').map((s) => s.id)).toEqual(['c/1/a']);
    expect(ofType(first, 'dispatch').map((d) => d.task.id)).toEqual(['c/1/y']);
    // x is ready too, but the one thread runs y (an untimed worker gives a thread one task at a time).
    expect(ofType(state.fetched('c/1/b', bytes(5)), 'dispatch')).toEqual([]);
    const afterY = state.results(0, [ok('c/1/y', 2)]);
    expect(ofType(afterY, 'dispatch').map((d) => d.task.id)).toEqual(['c/1/x']);
    // The thread already got `a` with y: x does not send it again.
    expect(ofType(afterY, 'dispatch')[0]!.task.deps[0]).toEqual({ id: 'c/1/a', inline: false });
    // Each copy is reported once, by the first live task that wanted it.
    const done = [...afterY, ...state.results(0, [ok('c/1/x', 1)])];
    const completions = ofType(done, 'complete').map((c) => c.completion);
    expect(completions.map((c) => [c.data_id, c.fetched, c.fetched_bytes])).toEqual([
      ['c/1/y', [], 0],
      ['c/1/x', ['c/1/a', 'c/1/b'], 15],
    ]);
  });

  it('keeps at most 4 fetch requests out, sending the waiting ones oldest first as others complete', () => {
    const state = new WorkerState(1);
    const tasks = Array.from({ length: 6 }, (_, i) => task(`c/1/t${i}`, [dep(`c/1/in${i}`, { addresses: [`h:${i}`] })]));
    const out = assign(state, tasks);
    expect(ofType(out, 'fetch').map((f) => f.address)).toEqual(['h:0', 'h:1', 'h:2', 'h:3']);
    // A request completes when all its ids arrived (or failed): the next one goes out.
    expect(ofType(state.fetched('c/1/in2', bytes(4)), 'fetch').map((f) => f.address)).toEqual(['h:4']);
    expect(ofType(state.fetched('c/1/in0', undefined), 'fetch').map((f) => f.address)).toEqual(['h:5']);
    expect(ofType(state.fetched('c/1/in1', bytes(4)), 'fetch')).toEqual([]);
  });

  it('sends a task whose input is computed here to that thread at once (pending here)', () => {
    const state = new WorkerState(2);
    const out = assign(state, [task('c/1/a'), task('c/1/b', [dep('c/1/a', { pending_here: true })])]);
    const dispatched = ofType(out, 'dispatch');
    expect(dispatched.map((d) => [d.task.id, d.executor])).toEqual([['c/1/a', 0], ['c/1/b', 0]]);
    expect(dispatched[1]!.task.deps).toEqual([{ id: 'c/1/a', inline: false, later: true }]);
    const done = state.results(0, [ok('c/1/a', 1), ok('c/1/b', 2)]);
    expect(ofType(done, 'store').map((s) => s.id)).toEqual(['c/1/a', 'c/1/b']);
    expect(ofType(done, 'complete').map((c) => [c.completion.data_id, c.completion.ok, c.completion.nbytes])).toEqual([
      ['c/1/a', true, 4],
      ['c/1/b', true, 4],
    ]);
    expect(state.held).toEqual(new Set(['c/1/a', 'c/1/b']));
  });

  it('reports an input no holder could serve as missing', () => {
    const state = new WorkerState(1);
    assign(state, [task('c/1/x', [dep('c/1/a', { addresses: ['h:1'] })])]);
    const out = state.fetched('c/1/a', undefined);
    expect(ofType(out, 'complete').map((c) => c.completion)).toEqual([
      { data_id: 'c/1/x', ok: false, nbytes: 0, start: 0, end: 0, fetched_bytes: 0, fetched: [], missing: ['c/1/a'] },
    ]);
    expect(state.phases().size).toBe(0);
  });

  it('drops a cancelled task before it runs and ignores the result of one cancelled in a thread', () => {
    const state = new WorkerState(1);
    assign(state, [task('c/1/x', [dep('c/1/a', { addresses: ['h:1'] })]), task('c/1/y')]);
    const cancelled = assign(state, [], ['c/1/x', 'c/1/y']);
    expect(ofType(cancelled, 'cancel-in-thread')).toEqual([{ type: 'cancel-in-thread', executor: 0, ids: ['c/1/y'] }]);
    // x's input arrives anyway: reported as a dropped copy, so the scheduler can release it.
    const late = state.fetched('c/1/a', bytes(3));
    expect(ofType(late, 'complete').map((c) => [c.completion.data_id, c.completion.dropped, c.completion.fetched])).toEqual([['c/1/x', true, ['c/1/a']]]);
    expect(ofType(late, 'dispatch')).toEqual([]);
    // y ran anyway: its value is released from the thread, nothing is reported.
    const stale = state.results(0, [ok('c/1/y', 2)]);
    expect(ofType(stale, 'complete')).toEqual([]);
    expect(ofType(stale, 'release')).toEqual([{ type: 'release', ids: ['c/1/y'], threads: new Map([[0, ['c/1/y']]]) }]);
    expect(state.inFlight(0)).toBe(0);
  });

  it('ignores the result of an earlier assignment of a data id assigned again', () => {
    const state = new WorkerState(1);
    assign(state, [task('c/1/x')]);
    assign(state, [task('c/1/x')], ['c/1/x']);
    expect(ofType(state.results(0, [ok('c/1/x', 1)]), 'complete')).toEqual([]);
    expect(ofType(state.results(0, [ok('c/1/x', 2)]), 'complete').map((c) => c.completion.data_id)).toEqual(['c/1/x']);
  });

  it('releases values from the store and from the threads that hold them', () => {
    const state = new WorkerState(2);
    assign(state, [task('c/1/a'), task('c/1/b')]);
    state.results(0, [ok('c/1/a', 1)]);
    state.results(1, [ok('c/1/b', 2)]);
    const out = assign(state, [], [], ['c/1/a', 'c/1/b']);
    expect(out).toEqual([{ type: 'release', ids: ['c/1/a', 'c/1/b'], threads: new Map([[0, ['c/1/a']], [1, ['c/1/b']]]) }]);
    expect(state.held.size).toBe(0);
  });

  it('keeps only a few tasks ahead in each thread; the rest wait in the ready queue, oldest first', () => {
    const state = new WorkerState(1);
    // Long tasks (learnt from results): a thread holds only the one it runs.
    assign(state, [task('c/0/warm')]);
    state.results(0, [{ ...ok('c/0/warm', 1), start: 0, end: 500 }]);
    const tasks = Array.from({ length: 5 }, (_, i) => task(`c/1/t${i}`));
    const out = assign(state, tasks);
    expect(ofType(out, 'dispatch').map((d) => d.task.id)).toEqual(['c/1/t0']);
    expect(state.phases().get('c/1/t1')).toBe('ready');
    // It finishes: the oldest ready task follows.
    const next = state.results(0, [{ ...ok('c/1/t0', 2), start: 0, end: 500 }]);
    expect(ofType(next, 'dispatch').map((d) => d.task.id)).toEqual(['c/1/t1']);
  });

  it('gives back on a steal request only tasks that have not reached a thread', () => {
    const state = new WorkerState(1);
    assign(state, [task('c/0/warm')]);
    state.results(0, [{ ...ok('c/0/warm', 1), start: 0, end: 500 }]);
    assign(state, [task('c/1/a'), task('c/1/b'), task('c/1/c'), task('c/1/d', [dep('c/1/x', { addresses: ['h:1'] })])]);
    // a is in the thread, b and c wait for it, d for its input.
    const out = assign(state, [], [], [], ['c/1/d', 'c/1/c', 'c/1/a', 'c/1/gone']);
    expect(ofType(out, 'steal-reply').map((r) => [r.id, r.stolen])).toEqual([
      ['c/1/d', true],
      ['c/1/c', true],
      ['c/1/a', false],
      ['c/1/gone', false],
    ]);
    expect([...state.phases().keys()]).toEqual(['c/1/a', 'c/1/b']);
    // The freed thread runs b, not the stolen ones; d's input, arriving late, is reported as a dropped copy.
    const after = state.results(0, [ok('c/1/a', 2)]);
    expect(ofType(after, 'dispatch').map((d) => d.task.id)).toEqual(['c/1/b']);
    const late = state.fetched('c/1/x', bytes(3));
    expect(ofType(late, 'complete').map((c) => [c.completion.data_id, c.completion.dropped])).toEqual([['c/1/d', true]]);
  });

  it('reports where a task spent its time: waiting, transfer, deserialize, compute, report', () => {
    const state = new WorkerState(1);
    // Received at t=1000; its input is fetched from 1010 to 1030; the thread starts it at 1050,
    // spends 5 ms decoding and 4 encoding, ends at 1100; the main thread has the result at 1103.
    const timed = (t: ReturnType<typeof task>) => ({ ...t, assignment: { ...t.assignment, phases: true } });
    state.assign({ tasks: [timed(task('c/1/x', [dep('c/1/a', { addresses: ['h:1'] })]))], cancel: [], release: [], at: 1000 });
    state.fetched('c/1/a', bytes(8), 1010, 1030);
    const out = state.results(0, [{ ...ok('c/1/x', 1), start: 1050, end: 1100, decode: 5, encode: 4 }], 1103);
    const [completion] = ofType(out, 'complete').map((c) => c.completion);
    expect(completion!.phases).toEqual({ waiting: 30, transfer: 20, deserialize: 5, compute: 41, report: 7, transfer_at: 1010 });
    // Without the times (a caller that does not measure), no phases are claimed; nor when the run did not ask.
    assign(state, [timed(task('c/1/y'))]);
    expect(ofType(state.results(0, [ok('c/1/y', 2)]), 'complete')[0]!.completion.phases).toBeNull();
    state.assign({ tasks: [task('c/1/z')], cancel: [], release: [], at: 2000 });
    expect(ofType(state.results(0, [{ ...ok('c/1/z', 3), start: 2001, end: 2002 }], 2003), 'complete')[0]!.completion.phases).toBeNull();
  });

  it('reports a failed task with its error and stores nothing', () => {
    const state = new WorkerState(1);
    assign(state, [task('c/1/x')]);
    const error = { kind: 'task', name: 'Error', message: 'boom', stack: '', code: '', key: '', op: '', worker: '', keys: [] };
    const out = state.results(0, [{ id: 'c/1/x', seq: 1, ok: false, start: 1, end: 2, error }]);
    expect(ofType(out, 'store')).toEqual([]);
    expect(ofType(out, 'complete').map((c) => [c.completion.ok, c.completion.error?.message])).toEqual([[false, 'boom']]);
  });
  it('reports the tasks of a lost executor thread as lost, keeps the store, and re-sends held values to its replacement', () => {
    const state = new WorkerState(2);
    state.uploaded('c/1/a');
    const first = assign(state, [task('c/1/x', [dep('c/1/a')]), task('c/1/y')]);
    expect(ofType(first, 'dispatch').map((d) => [d.task.id, d.executor])).toEqual([['c/1/x', 0], ['c/1/y', 1]]);
    const lost = state.threadLost(0, 'an executor thread exited with code 3');
    const completions = ofType(lost, 'complete').map((c) => c.completion);
    expect(completions.map((c) => [c.data_id, c.ok, c.error?.kind, c.error?.message])).toEqual([['c/1/x', false, 'worker-lost', 'an executor thread exited with code 3']]);
    expect(state.inFlight(0)).toBe(0);
    expect(state.held.has('c/1/a')).toBe(true);
    expect([...state.phases().keys()]).toEqual(['c/1/y']);
    // Assigned again: the new thread does not hold "a" yet, so its stored bytes go with the task.
    const again = assign(state, [task('c/1/x', [dep('c/1/a')])]);
    const dispatched = ofType(again, 'dispatch');
    expect(dispatched.map((d) => d.executor)).toEqual([0]);
    expect(dispatched[0]!.task.deps).toEqual([{ id: 'c/1/a', inline: false, fromStore: true }]);
    // The other thread is untouched: its result still counts.
    const done = state.results(1, [ok('c/1/y', ofType(first, 'dispatch')[1]!.task.seq)]);
    expect(ofType(done, 'complete').map((c) => [c.completion.data_id, c.completion.ok])).toEqual([['c/1/y', true]]);
  });
});
