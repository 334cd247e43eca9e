/**
 * The runner's side of one pool process: forks harness/runner/pool-process.ts, sends it one
 * request at a time (pool-protocol.ts) and resolves each with its reply.
 *
 * A process that dies fails the request in flight and every later one with `PoolDiedError`
 * naming the pool and how it ended; the runner turns that into failed cells. Notes and
 * dashboard batches from the process are passed on as they come.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { poolLabel, type PoolId } from '../../common/cells.js';
import { InterruptedError } from '../measure/cell.js';
import type { DashboardBatch } from './dashboard-relay.js';
import type { FromPool, PoolJob, PoolReply, PoolRequest, ToPool } from './pool-protocol.js';

const POOL_PROCESS = new URL('./pool-process.js', import.meta.url);
/** After `close` (or an interrupt), a pool process gets this long to exit before it is killed. */
const POOL_EXIT_TIMEOUT_MS = 10_000;

/** The pool's process ended (crash, kill) before answering. */
export class PoolDiedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolDiedError';
  }
}

export interface PoolClientEvents {
  note(message: string): void;
  dashboard?(batch: DashboardBatch): void;
}

export class PoolClient {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: PoolReply) => void; reject: (e: Error) => void }>();
  private died: string | null = null;
  private readonly exited: Promise<void>;

  constructor(
    readonly pool: PoolId,
    events: PoolClientEvents,
  ) {
    this.child = fork(POOL_PROCESS, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.child.on('message', (message: FromPool) => {
      if (message.type === 'note') events.note(message.message);
      else if (message.type === 'dashboard') events.dashboard?.(message.batch);
      else {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.type === 'reply') waiter?.resolve(message.value);
        else waiter?.reject(message.interrupted ? new InterruptedError() : new Error(message.message));
      }
    });
    this.exited = new Promise((resolve) => {
      const end = (how: string): void => {
        this.died ??= `the process running ${poolLabel(pool)} died (${how})`;
        for (const waiter of this.pending.values()) waiter.reject(new PoolDiedError(this.died));
        this.pending.clear();
        resolve();
      };
      this.child.on('error', (err) => end(`could not start the pool process: ${err.message}`));
      this.child.on('exit', (code, signal) => end(signal ? `signal ${signal}` : `exit code ${code}`));
    });
  }

  /** Why the process is gone, or null while it runs. */
  get deadReason(): string | null {
    return this.died;
  }

  request(request: PoolRequest): Promise<PoolReply> {
    if (this.died) return Promise.reject(new PoolDiedError(this.died));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type: 'request', id, request });
    });
  }

  start(job: PoolJob): Promise<PoolReply> {
    return this.request({ type: 'start', job });
  }

  /** Drop the run in flight (Ctrl-C). */
  interrupt(): void {
    this.send({ type: 'interrupt' });
  }

  /** Ask the process to close its pool and exit; kill it if it has not within the timeout. */
  async close(): Promise<void> {
    if (!this.died) {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), POOL_EXIT_TIMEOUT_MS);
      this.request({ type: 'close' }).catch(() => {});
      await this.exited;
      clearTimeout(timer);
    }
  }

  private send(message: ToPool): void {
    if (this.child.connected) this.child.send(message, (err) => void err); // a child that just exited cannot receive: fine
  }
}
