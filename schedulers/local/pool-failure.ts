/**
 * Main side of the pool executors (threads, processes): turns what a pool rejects a batch
 * with into the right schedlab error, naming the key and the cause. Op errors never arrive
 * here (the worker reports them in the batch result); what does is a value that cannot be
 * cloned across the boundary, an abort, or a worker that died under the batch.
 */
import { AbortedError, SchedlabError, TaskError, WorkerLostError } from '../errors.js';
import { taskDependencies } from '../graph.js';
import { RESULT_NOT_CLONEABLE_EXIT_CODE, type NamedBatchRequest } from './protocol.js';

function isCloneFailure(err: Error): boolean {
  return (
    err.name === 'DataCloneError' ||
    /could not be cloned|DataCloneError/.test(err.message) ||
    new RegExp(`exited with code:? ${RESULT_NOT_CLONEABLE_EXIT_CODE}\\b`).test(err.message)
  );
}

/** One line saying how the worker died (pools put exit codes in different places). */
function deathCause(err: Error): string {
  const exitCode = /exitCode: `(-?\d+)`/.exec(err.message)?.[1];
  const signal = /signalCode: `([A-Z]+)`/.exec(err.message)?.[1];
  const first = err.message.split('\n')[0]!.trim();
  if (exitCode !== undefined && exitCode !== 'null') return `${first} (exit code: ${exitCode})`;
  if (signal !== undefined) return `${first} (signal: ${signal})`;
  return first;
}

function canClone(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** Task t's argument codes and the literals it takes (error path only: walks the batch from its start). */
function taskArgs(batch: NamedBatchRequest, t: number): { codes: number[]; literals: unknown[] } {
  let literal = 0;
  for (let i = 0; i < t; i++) for (let a = batch.argStart[i]!; a < batch.argStart[i + 1]!; a++) if (batch.args[a]! < 0) literal++;
  const codes = Array.from(batch.args.subarray(batch.argStart[t]!, batch.argStart[t + 1]!));
  const literals = codes.filter((c) => c < 0).map(() => batch.literals[literal++]);
  return { codes, literals };
}

/** The first task of the batch that refers to input `slot` (or the first task when none does). */
function consumerOf(batch: NamedBatchRequest, slot: number): { key: string; op: string } {
  const key = batch.inputKeys[slot]!;
  let found = 0;
  for (let t = 0; t < batch.keys.length; t++) {
    const { codes, literals } = taskArgs(batch, t);
    if (codes.includes(slot) || taskDependencies({ op: '', args: literals }).includes(key)) {
      found = t;
      break;
    }
  }
  return { key: batch.keys[found]!, op: batch.ops[batch.opOf[found]!]! };
}

/** Map a pool's rejection of `batch` to a TaskError, AbortedError or WorkerLostError. */
export function poolFailure(raw: unknown, batch: NamedBatchRequest, boundary: 'thread' | 'process', signal: AbortSignal | undefined): SchedlabError {
  if (raw instanceof SchedlabError) return raw;
  const err = raw instanceof Error ? raw : new Error(String(raw));
  if (signal?.aborted) return new AbortedError(undefined, { cause: signal.reason });
  const keys = batch.keys;
  const shown = keys.slice(0, 5).map((k) => `"${k}"`).join(', ') + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');
  if (isCloneFailure(err)) {
    // Locate the culprit (error path only): an input value, a literal inside args, or a result.
    const badInput = batch.inputKeys.findIndex((_, i) => !canClone(batch.inputValues[i]));
    if (badInput >= 0) {
      const inputKey = batch.inputKeys[badInput]!;
      const task = consumerOf(batch, badInput);
      return new TaskError({
        key: task.key,
        op: task.op,
        errorName: 'DataCloneError',
        errorMessage: `its argument "${inputKey}" cannot be cloned to send to a worker ${boundary} (${err.message}); pass plain data, typed arrays or other structured-cloneable values`,
      });
    }
    const badArgs = batch.keys.findIndex((_, t) => !canClone(taskArgs(batch, t).literals));
    if (badArgs >= 0) {
      return new TaskError({
        key: batch.keys[badArgs]!,
        op: batch.ops[batch.opOf[badArgs]!]!,
        errorName: 'DataCloneError',
        errorMessage: `its arguments cannot be cloned to send to a worker ${boundary} (${err.message}); pass plain data, typed arrays or other structured-cloneable values`,
      });
    }
    const wanted = Array.from(batch.want, (slot) => slot - batch.inputKeys.length); // wanted slots are tasks' (inputs come first)
    const task = wanted[0] ?? batch.keys.length - 1;
    return new TaskError({
      key: batch.keys[task]!,
      op: batch.ops[batch.opOf[task]!]!,
      errorName: 'DataCloneError',
      errorMessage: `the value returned by task(s) ${wanted.map((t) => `"${batch.keys[t]}"`).join(', ')} cannot be cloned back from the worker ${boundary} (${err.message}); return plain data, typed arrays or other structured-cloneable values`,
    });
  }
  return new WorkerLostError(
    `a worker ${boundary} died while running task(s) ${shown}: ${deathCause(err)}; the pool replaced it, so the scheduler stays usable`,
    { key: keys[0] },
  );
}
