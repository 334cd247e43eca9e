/**
 * Main side of the pool executors (threads, processes): turns what a pool rejects a batch
 * with into the right schedlab error, naming the key and the cause. Op errors never arrive
 * here (the worker reports them in the batch result); what does is a value that cannot be
 * cloned across the boundary, an abort, or a worker that died under the batch.
 */
import { AbortedError, SchedlabError, TaskError, WorkerLostError } from '../errors.js';
import { taskDependencies } from '../graph.js';
import { RESULT_NOT_CLONEABLE_EXIT_CODE, type BatchRequest } from './protocol.js';

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

/** The first task of the batch that refers to `key` (or the first task when none does). */
function consumerOf(batch: BatchRequest, key: string): { key: string; op: string } {
  const task = batch.tasks.find((t) => taskDependencies({ op: batch.ops[t.op]!, args: t.args }).includes(key)) ?? batch.tasks[0]!;
  return { key: task.key, op: batch.ops[task.op]! };
}

/** Map a pool's rejection of `batch` to a TaskError, AbortedError or WorkerLostError. */
export function poolFailure(raw: unknown, batch: BatchRequest, boundary: 'thread' | 'process', signal: AbortSignal | undefined): SchedlabError {
  if (raw instanceof SchedlabError) return raw;
  const err = raw instanceof Error ? raw : new Error(String(raw));
  if (signal?.aborted) return new AbortedError(undefined, { cause: signal.reason });
  const keys = batch.tasks.map((t) => t.key);
  const shown = keys.slice(0, 5).map((k) => `"${k}"`).join(', ') + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');
  if (isCloneFailure(err)) {
    // Locate the culprit (error path only): an input value, a literal inside args, or a result.
    const badInput = batch.inputKeys.findIndex((_, i) => !canClone(batch.inputValues[i]));
    if (badInput >= 0) {
      const inputKey = batch.inputKeys[badInput]!;
      const task = consumerOf(batch, inputKey);
      return new TaskError({
        key: task.key,
        op: task.op,
        errorName: 'DataCloneError',
        errorMessage: `its argument "${inputKey}" cannot be cloned to send to a worker ${boundary} (${err.message}); pass plain data, typed arrays or other structured-cloneable values`,
      });
    }
    const badArgs = batch.tasks.find((t) => !canClone(t.args));
    if (badArgs) {
      return new TaskError({
        key: badArgs.key,
        op: batch.ops[badArgs.op]!,
        errorName: 'DataCloneError',
        errorMessage: `its arguments cannot be cloned to send to a worker ${boundary} (${err.message}); pass plain data, typed arrays or other structured-cloneable values`,
      });
    }
    const task = batch.tasks.find((t) => batch.want.includes(t.key)) ?? batch.tasks[batch.tasks.length - 1]!;
    return new TaskError({
      key: task.key,
      op: batch.ops[task.op]!,
      errorName: 'DataCloneError',
      errorMessage: `the value returned by task(s) ${batch.want.map((k) => `"${k}"`).join(', ')} cannot be cloned back from the worker ${boundary} (${err.message}); return plain data, typed arrays or other structured-cloneable values`,
    });
  }
  return new WorkerLostError(
    `a worker ${boundary} died while running task(s) ${shown}: ${deathCause(err)}; the pool replaced it, so the scheduler stays usable`,
    { key: keys[0] },
  );
}
