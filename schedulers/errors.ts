/**
 * Error classes of schedlab. Every error has a stable `code` and a message that names what
 * was wrong (the key, the op, the option) and what to do about it.
 */
import type { Key } from './types.js';

/** Base class: every schedlab error has a machine-readable `code`. */
export class SchedlabError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Why a graph was rejected before anything ran. */
export type GraphErrorCode = 'CYCLE' | 'MISSING_KEY' | 'BAD_NODE' | 'UNKNOWN_OP';

/** The graph is invalid: a cycle, a `$ref` to a missing key, a malformed node, or an op that cannot be imported. */
export class GraphError extends SchedlabError {
  declare readonly code: GraphErrorCode;
  /** The keys involved (the cycle, the referring and missing keys, the bad node). */
  readonly keys: Key[];
  constructor(code: GraphErrorCode, message: string, keys: Key[], options?: { cause?: unknown }) {
    super(code, message, options);
    this.keys = keys;
  }
}

/** A task's op threw (or rejected). Carries the original error's name, message and the worker-side stack. */
export class TaskError extends SchedlabError {
  readonly key: Key;
  readonly op: string;
  /** Name of the original error (e.g. `TypeError`, `DataCloneError`). */
  readonly errorName: string;
  /** Message of the original error. */
  readonly errorMessage: string;
  /** Stack trace as it was where the op ran (worker thread, child process, remote worker). */
  readonly remoteStack: string | undefined;
  constructor(init: { key: Key; op: string; errorName: string; errorMessage: string; remoteStack?: string; worker?: string }) {
    super(
      'TASK_FAILED',
      `task "${init.key}" (op ${init.op}) failed${init.worker ? ` on worker ${init.worker}` : ''}: ${init.errorName}: ${init.errorMessage}`,
    );
    this.key = init.key;
    this.op = init.op;
    this.errorName = init.errorName;
    this.errorMessage = init.errorMessage;
    this.remoteStack = init.remoteStack;
    if (init.remoteStack) this.stack = `${this.name}: ${this.message}\n--- worker-side stack ---\n${init.remoteStack}`;
  }
}

/** A worker thread or process died (exit, crash, lost heartbeat) while running the named task. */
export class WorkerLostError extends SchedlabError {
  readonly key: Key | undefined;
  readonly worker: string | undefined;
  constructor(message: string, init: { key?: Key; worker?: string } = {}) {
    super('WORKER_LOST', message);
    this.key = init.key;
    this.worker = init.worker;
  }
}

/** `get` was aborted through its `AbortSignal`. */
export class AbortedError extends SchedlabError {
  constructor(message = 'the computation was aborted by its AbortSignal', options?: { cause?: unknown }) {
    super('ABORTED', message, options);
  }
}

/** An option passed to `createScheduler`/`compute` is invalid (names the option and the valid values). */
export class OptionError extends SchedlabError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('BAD_OPTION', message);
    this.option = option;
  }
}

/** The scheduler was closed; create a new one. */
export class SchedulerClosedError extends SchedlabError {
  constructor(name: string) {
    super('CLOSED', `the ${name} scheduler is closed; create a new one with createScheduler('${name}')`);
  }
}

/** distributed: cannot reach the scheduler, or it went away. */
export class ConnectionError extends SchedlabError {
  readonly address: string | undefined;
  constructor(message: string, address?: string, options?: { cause?: unknown }) {
    super('CONNECTION', message, options);
    this.address = address;
  }
}

/** distributed: the token or certificate was refused. */
export class AuthError extends SchedlabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AUTH', message, options);
  }
}

/** distributed: no worker was connected to the scheduler for the no-worker timeout while tasks waited for one. */
export class NoWorkersError extends SchedlabError {
  readonly address: string | undefined;
  constructor(message: string, address?: string) {
    super('NO_WORKERS', message);
    this.address = address;
  }
}
