/**
 * The engine side's connection to one Redis: a BullMQ `Queue` to add batch jobs, one
 * `QueueEvents` reader that settles each job's promise from the queue's event stream, and a
 * plain ioredis connection for values. Every command fails fast when Redis is unreachable
 * (no offline queue), and losing the connection rejects every job still waiting with a
 * `ConnectionError`, so a `get` never hangs on a Redis that went away; ioredis reconnects in
 * the background, so the next `get` works once Redis is back.
 *
 * A job is settled by its `completed` event (the return value) or its final `failed` event
 * (BullMQ emits it once the job's attempts are used up). Events are read from the stream's
 * last entry at start-up, so none of this queue's jobs can be missed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { ConnectionError, WorkerLostError } from '../errors.js';
import type { RedisTarget } from './connection.js';
import { QUEUE_NAME, WORKER_NAME_PREFIX, type BatchJobData, type BatchJobResult } from './protocol.js';

/** Attempts of a job before its failure fails the `get` (a lost op thread or worker costs one). */
export const JOB_ATTEMPTS = 3;
/** How often a running `get` checks that some worker serves the queue, and how many empty checks fail it. */
const WORKER_CHECK_MS = 2_000;
const EMPTY_CHECKS_BEFORE_FAILING = 5;
/** How often `ready` looks at a reconnecting connection. */
const RECONNECT_POLL_MS = 50;

/** A job's final failure, as BullMQ reports it. */
export class JobFailure extends Error {
  constructor(readonly jobId: string, readonly reason: string) {
    super(reason);
  }
}

interface PendingJob {
  resolve: (result: BatchJobResult) => void;
  reject: (err: Error) => void;
}

export class BatchQueue {
  readonly data: Redis;
  readonly #queue: Queue;
  readonly #events: QueueEvents;
  readonly #pending = new Map<string, PendingJob>();
  readonly #target: RedisTarget;
  #lastError: Error | undefined;
  #watch: NodeJS.Timeout | undefined;
  #emptyChecks = 0;

  /** The Queue's own connection (jobs are added on it). */
  readonly #queueClient: { status: string };

  private constructor(target: RedisTarget, data: Redis, queue: Queue, events: QueueEvents, queueClient: { status: string }) {
    this.#queueClient = queueClient;
    this.#target = target;
    this.data = data;
    this.#queue = queue;
    this.#events = events;
    data.on('error', (err: Error) => (this.#lastError = err));
    data.on('close', () => this.failAll(this.#lost()));
    queue.on('error', (err: Error) => (this.#lastError = err));
    events.on('error', (err: Error) => (this.#lastError = err));
    events.on('completed', ({ jobId, returnvalue }) => this.#settle(jobId)?.resolve(returnvalue as unknown as BatchJobResult));
    events.on('failed', ({ jobId, failedReason }) => this.#settle(jobId)?.reject(new JobFailure(jobId, failedReason)));
  }

  /** Connect (within `connectTimeoutMs`) and start reading the queue's events. */
  static async open(target: RedisTarget, connectTimeoutMs: number): Promise<BatchQueue> {
    const options = { ...target.options, connectTimeout: connectTimeoutMs };
    const data = new Redis({ ...options, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    let refusal: Error | undefined;
    data.on('error', (err: Error) => (refusal ??= err)); // the cause behind connect's "Connection is closed"
    try {
      await withTimeout(data.connect(), connectTimeoutMs, `Redis at ${target.shown} did not answer within ${connectTimeoutMs} ms`);
      const queue = new Queue(QUEUE_NAME, { connection: { ...options, enableOfflineQueue: false } });
      const last = (await data.xrevrange(`bull:${QUEUE_NAME}:events`, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
      const events = new QueueEvents(QUEUE_NAME, { connection: { ...options, maxRetriesPerRequest: null }, lastEventId: last, autorun: false });
      void events.run().catch(() => {});
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
      return new BatchQueue(target, data, queue, events, await queue.client);
    } catch (err) {
      data.disconnect();
      const why = refusal && !(err as Error).message.includes(refusal.message) ? `${refusal.message} (${(err as Error).message})` : (err as Error).message;
      throw new ConnectionError(`cannot use Redis at ${target.shown}: ${why}`, target.shown, { cause: err });
    }
  }

  /** Wait (briefly) for connections that are reconnecting; a clear error if Redis stays away. */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.data.status !== 'ready' || this.#queueClient.status !== 'ready') {
      if (performance.now() > deadline) {
        const why = this.#lastError ? ` (${this.#lastError.message})` : '';
        throw new ConnectionError(`Redis at ${this.#target.shown} is unreachable${why}; start it (or fix the URL) and retry`, this.#target.shown);
      }
      await sleep(RECONNECT_POLL_MS);
    }
  }

  /** Op threads serving the queue now: the sum of the workers' concurrency (from their BullMQ names). */
  async workerSlots(): Promise<number> {
    const names = new Set((await this.#queue.getWorkers()).map((w) => String(w.rawname ?? '')));
    let slots = 0;
    for (const name of names) {
      const match = new RegExp(`:w:${WORKER_NAME_PREFIX}(\\d+)-`).exec(name);
      slots += match ? Number(match[1]) : 1;
    }
    return slots;
  }

  /** Add a job and resolve with its return value (rejects with `JobFailure` or `ConnectionError`). */
  run(jobId: string, data: BatchJobData): Promise<BatchJobResult> {
    const settled = new Promise<BatchJobResult>((resolve, reject) => this.#pending.set(jobId, { resolve, reject }));
    this.#startWatch();
    this.#queue.add('batch', data, { jobId, attempts: JOB_ATTEMPTS, removeOnComplete: true, removeOnFail: true }).catch((err: Error) => {
      this.#settle(jobId)?.reject(this.data.status === 'ready' ? err : this.#lost(err));
    });
    return settled;
  }

  /** Stop waiting for these jobs (their get ended). */
  forget(jobIds: Iterable<string>): void {
    for (const id of jobIds) this.#pending.delete(id);
  }

  /** Reject every waiting job. */
  failAll(err: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(err);
  }

  async close(): Promise<void> {
    clearInterval(this.#watch);
    this.failAll(new ConnectionError('the scheduler was closed', this.#target.shown));
    await Promise.allSettled([this.#events.close(), this.#queue.close()]);
    this.data.disconnect();
  }

  #settle(jobId: string): PendingJob | undefined {
    const pending = this.#pending.get(jobId);
    this.#pending.delete(jobId);
    return pending;
  }

  #lost(cause?: Error): ConnectionError {
    const why = cause ?? this.#lastError;
    return new ConnectionError(
      `lost the connection to Redis at ${this.#target.shown}${why ? ` (${why.message})` : ''}; the get was abandoned (values kept only in Redis are gone if it restarted); retry once Redis is back`,
      this.#target.shown,
      { cause: why },
    );
  }

  /** While jobs wait, fail them if no worker serves the queue for a while (nobody would ever run them). */
  #startWatch(): void {
    if (this.#watch) return;
    this.#emptyChecks = 0;
    this.#watch = setInterval(() => {
      if (this.#pending.size === 0) {
        clearInterval(this.#watch);
        this.#watch = undefined;
        return;
      }
      this.workerSlots().then(
        (slots) => {
          this.#emptyChecks = slots > 0 ? 0 : this.#emptyChecks + 1;
          if (this.#emptyChecks >= EMPTY_CHECKS_BEFORE_FAILING) {
            this.failAll(new WorkerLostError(`no BullMQ worker has served the queue "${QUEUE_NAME}" on ${this.#target.shown} for ${(WORKER_CHECK_MS * EMPTY_CHECKS_BEFORE_FAILING) / 1000} s; start one with \`schedlab bullmq-worker ${this.#target.shown}\``));
          }
        },
        () => {},
      );
    }, WORKER_CHECK_MS);
    this.#watch.unref();
  }
}

/** `promise`, or a rejection with `message` after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}
