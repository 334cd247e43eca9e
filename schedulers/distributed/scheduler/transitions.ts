/**
 * The scheduler's task states and the one table of transitions allowed between them (as
 * `distributed`'s worker_state_machine keeps its own). `ClusterState.transition` is the only
 * place a task's state changes, and it checks every change against this table: a transition
 * not listed is a bug in the scheduler, reported as `InvalidTransitionError` at the point it
 * happens instead of surfacing later as a hang or a wrong answer.
 *
 *   waiting         - some input is not in memory yet
 *   no-worker       - ready, but no worker is connected: parked until one registers (hidden
 *                     in the first version as "queued without a worker")
 *   queued          - ready, placed in a worker's queue here at the scheduler (stealable)
 *   processing      - sent to its worker (fetching inputs, waiting there for an input that
 *                     worker computes or for a free thread, or running); maybe being stolen
 *   memory          - its value sits on the workers in `holders` (or inline, for small literals)
 *   awaiting-upload - a payload the client is uploading (a run starts with its large literals
 *                     and args here, and each leaves as its Put completes), or an uploaded
 *                     literal lost with its worker that the client was asked to upload again
 *                     (hidden in the first version as "waiting" plus a flag)
 *   released        - value dropped: nobody needs it (or the task was cancelled)
 *   erred           - it, or an input of it, failed (final)
 */
export type TaskState = 'waiting' | 'no-worker' | 'queued' | 'processing' | 'memory' | 'awaiting-upload' | 'released' | 'erred';

/** Every state, in the order of a task's usual life. */
export const TASK_STATES: readonly TaskState[] = ['waiting', 'no-worker', 'queued', 'processing', 'memory', 'awaiting-upload', 'released', 'erred'];

/**
 * from -> the states it may go to, and why:
 *   waiting -> queued | no-worker: its last input arrived;  -> processing: assigned
 *     speculatively with its producer;  -> erred: an input failed;  -> released: cancelled.
 *   no-worker -> queued: a worker registered;  -> waiting: an input was lost.
 *   queued -> processing: sent;  -> no-worker: its worker left, none remain;  -> waiting: an
 *     input was lost.
 *   processing -> memory: done;  -> waiting: its worker died, an input was missing there,
 *     or a speculative assignment was withdrawn;  -> queued: stolen (its worker confirmed it
 *     had not started it), now in the thief's queue.
 *   memory -> released: nobody needs it;  -> waiting | awaiting-upload: every holder was lost;
 *     -> erred: recomputing an input of it failed.
 *   released -> waiting | awaiting-upload: needed again (a later run refers to it).
 *   awaiting-upload -> memory: uploaded (again);  -> released: its run was cancelled first.
 * Any state but erred may become released (cancel) or erred (failure upstream), except that
 * nothing leaves erred.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  waiting: ['queued', 'no-worker', 'processing', 'erred', 'released'],
  'no-worker': ['queued', 'waiting', 'erred', 'released'],
  queued: ['processing', 'no-worker', 'waiting', 'erred', 'released'],
  processing: ['memory', 'waiting', 'queued', 'erred', 'released'],
  memory: ['released', 'waiting', 'awaiting-upload', 'erred'],
  'awaiting-upload': ['memory', 'erred', 'released'],
  released: ['waiting', 'awaiting-upload', 'erred'],
  erred: [],
};

/** Settled: the task needs no more work (its dependents stop counting it as pending). */
export const isDone = (state: TaskState): boolean => state === 'memory' || state === 'released' || state === 'erred';

export class InvalidTransitionError extends Error {
  constructor(
    readonly key: string,
    readonly from: TaskState,
    readonly to: TaskState,
  ) {
    super(`internal scheduler error: task "${key}" cannot go from ${from} to ${to} (allowed: ${ALLOWED_TRANSITIONS[from].join(', ') || 'none'})`);
    this.name = 'InvalidTransitionError';
  }
}

/** Throws InvalidTransitionError unless `from -> to` is in the table. */
export function checkTransition(key: string, from: TaskState, to: TaskState): void {
  if (!ALLOWED_TRANSITIONS[from].includes(to)) throw new InvalidTransitionError(key, from, to);
}
