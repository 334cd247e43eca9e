/**
 * One `get` of the `bullmq` scheduler as a local-engine executor: the engine keeps the graph
 * and hands batches to `submit`, which turns each into a BullMQ job. Values never come back
 * to the engine while the graph runs: a worker stores each wanted value in Redis and the
 * engine keeps a `StoredValue` (the value's Redis key) in its place, passes such keys to
 * later jobs, and calls `release` the moment no pending task needs one, which deletes the
 * key. Graph literals are stored once per run, the first time a job needs them.
 *
 * Life of a run: `start` sets the run's marker key; `resolve` reads the requested values
 * back; `end` deletes the marker and every key still alive (on success, failure or abort),
 * and on failure or abort publishes a cancel so workers stop the run's jobs. Bytes are
 * counted as they cross a connection to Redis: what the engine writes (job data, literals) as
 * `bytesToWorkers`, what it reads back as `bytesFromWorkers`, and what workers read and
 * write (inputs, outputs) as `bytesBetweenWorkers`.
 */
import { deserialize, serialize } from 'node:v8';
import { WorkerLostError } from '../errors.js';
import type { LocalExecutor, SubmitContext } from '../local/engine.js';
import { poolFailure } from '../local/pool-failure.js';
import type { BatchResult, NamedBatchRequest } from '../local/protocol.js';
import type { Key, TransferStats } from '../types.js';
import { JOB_ATTEMPTS, JobFailure, type BatchQueue } from './batch-queue.js';
import { CANCEL_CHANNEL, runKeys, type BatchBody, type BatchJobData, type BatchJobResult } from './protocol.js';

/** Largest batch in one job (the engine sizes batches below this by measured task time). */
const MAX_BATCH_TASKS = 1024;

/** A value that lives in Redis under `key` (what the engine holds instead of the value). */
export class StoredValue {
  constructor(readonly key: string) {}
}

/** Names the op threads that answered, across the runs of one scheduler (`tag` = index). */
export class ThreadNames {
  readonly #tags = new Map<string, number>();
  readonly #names: string[] = [];
  tag(name: string): number {
    let tag = this.#tags.get(name);
    if (tag === undefined) this.#tags.set(name, (tag = this.#names.push(name) - 1));
    return tag;
  }
  name(tag: number): string {
    return this.#names[tag] ?? `unknown-${tag}`;
  }
}

export class BullmqRun implements LocalExecutor {
  readonly maxBatchTasks = MAX_BATCH_TASKS;
  readonly inline = false;
  readonly sizeOf = undefined;
  readonly #queue: BatchQueue;
  readonly #runId: string;
  readonly #keys: ReturnType<typeof runKeys>;
  readonly #stats: TransferStats;
  readonly #names: ThreadNames;
  /** Keys this run created that still exist (or may be written by a job in flight). */
  readonly #live = new Set<string>();
  readonly #literals = new Map<Key, Promise<StoredValue>>();
  readonly #jobs = new Set<string>();
  /** Jobs in flight reading each key: the engine may release a value as soon as it hands it to its last batch. */
  readonly #readers = new Map<string, number>();
  /** Released keys still read by a job in flight: deleted when the last such job settles. */
  readonly #released = new Set<string>();
  #nextValue = 0;
  #nextJob = 0;

  constructor(readonly slots: number, queue: BatchQueue, runId: string, stats: TransferStats, names: ThreadNames) {
    this.#queue = queue;
    this.#runId = runId;
    this.#keys = runKeys(runId);
    this.#stats = stats;
    this.#names = names;
  }

  async start(): Promise<void> {
    await this.#queue.data.set(this.#keys.marker, '1');
  }

  workerName(tag: number): string {
    return this.#names.name(tag);
  }

  submit(batch: NamedBatchRequest, { signal }: SubmitContext): Promise<BatchResult> {
    // Readers are counted before the engine's next step: it may release an input the moment it is handed over.
    const read = batch.inputValues.filter((v): v is StoredValue => v instanceof StoredValue).map((v) => v.key);
    for (const key of read) this.#readers.set(key, (this.#readers.get(key) ?? 0) + 1);
    return this.#submit(batch)
      .catch((err: unknown) => {
        throw err instanceof JobFailure ? this.#failure(err, batch) : poolFailure(err, batch, 'thread', signal);
      })
      .finally(() => {
        for (const key of read) {
          const left = this.#readers.get(key)! - 1;
          if (left > 0) this.#readers.set(key, left);
          else {
            this.#readers.delete(key);
            if (this.#released.delete(key)) this.#delete(key);
          }
        }
      });
  }

  /** The engine no longer needs `value` (of graph key `key`): delete it from Redis. */
  release(key: Key, value: unknown): void {
    setImmediate(() => this.#release(key, value));
  }

  #release(key: Key, value: unknown): void {
    const stored = value instanceof StoredValue ? value : undefined;
    const literal = stored ? undefined : this.#literals.get(key);
    if (literal) {
      this.#literals.delete(key);
      void literal.then((s) => this.#delete(s.key), () => {});
    } else if (stored) this.#delete(stored.key);
  }

  /** The values of the requested keys: stored ones read back from Redis. */
  async resolve(values: unknown[]): Promise<unknown[]> {
    const stored = values.filter((v): v is StoredValue => v instanceof StoredValue);
    if (stored.length === 0) return values;
    const bytes = await this.#queue.data.mgetBuffer(...stored.map((s) => s.key));
    const read = new Map<StoredValue, unknown>();
    stored.forEach((s, i) => {
      const b = bytes[i];
      if (!b) throw new WorkerLostError(`the value stored under ${s.key} is gone from Redis (was it restarted or flushed?)`);
      this.#stats.bytesFromWorkers += b.length;
      read.set(s, deserialize(b));
    });
    return values.map((v) => (v instanceof StoredValue ? read.get(v) : v));
  }

  /** Delete the run's marker and every key it still has; on failure, stop its running jobs. Never throws. */
  async end(failed: boolean): Promise<void> {
    this.#queue.forget(this.#jobs);
    const keys = [this.#keys.marker, ...this.#live];
    this.#live.clear();
    const data = this.#queue.data;
    if (data.status !== 'ready') return; // Redis is gone: so are the keys (no persistence), or they wait for `close`
    await Promise.allSettled([data.del(...keys), failed ? data.publish(CANCEL_CHANNEL, this.#keys.marker) : undefined]);
  }

  async #submit(batch: NamedBatchRequest): Promise<BatchResult> {
    const inputs = await Promise.all(batch.inputKeys.map((key, i) => this.#inputKey(key, batch.inputValues[i])));
    const { inputValues: _values, ...rest } = batch;
    const body: BatchBody = rest;
    const outputs = Array.from(batch.want, () => this.#keys.value(this.#nextValue++));
    for (const o of outputs) this.#live.add(o);
    const data: BatchJobData = { run: this.#keys.marker, body: serialize(body).toString('base64'), inputs, outputs };
    this.#stats.bytesToWorkers += Buffer.byteLength(JSON.stringify(data));
    const jobId = `${this.#runId}-${this.#nextJob++}`;
    this.#jobs.add(jobId);
    const result: BatchJobResult = await this.#queue.run(jobId, data).finally(() => this.#jobs.delete(jobId));
    if (result.skipped) throw new WorkerLostError(`Redis lost this get's data while it ran (was it restarted or flushed?); retry`);
    this.#stats.bytesBetweenWorkers += result.bytesIn + result.bytesOut;
    return {
      workerTag: this.#names.tag(result.worker),
      values: result.failed ? [] : outputs.map((key) => new StoredValue(key)),
      times: result.times,
      failed: result.failed,
    };
  }

  /** The Redis key of an input: a stored value's own, or a literal's, stored on first use. */
  #inputKey(key: Key, value: unknown): Promise<string> | string {
    if (value instanceof StoredValue) return value.key;
    let stored = this.#literals.get(key);
    if (!stored) {
      const bytes = serialize(value); // throws DataCloneError for what cannot be stored (poolFailure names it)
      const redisKey = this.#keys.value(this.#nextValue++);
      this.#live.add(redisKey);
      this.#stats.bytesToWorkers += bytes.length;
      stored = this.#queue.data.set(redisKey, bytes).then(() => new StoredValue(redisKey));
      this.#literals.set(key, stored);
    }
    return stored.then((s) => s.key);
  }

  #delete(key: string): void {
    if (this.#readers.has(key)) {
      this.#released.add(key);
      return;
    }
    if (!this.#live.delete(key)) return;
    this.#queue.data.del(key).catch(() => this.#live.add(key)); // retried by `end`
  }

  #failure(err: JobFailure, batch: NamedBatchRequest): WorkerLostError {
    const keys = batch.keys.map((k) => `"${k}"`);
    const shown = keys.slice(0, 5).join(', ') + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');
    return new WorkerLostError(`the BullMQ job ${err.jobId} running task(s) ${shown} failed (BullMQ gives a job ${JOB_ATTEMPTS} attempts): ${err.reason}`, { key: batch.keys[0]! });
  }
}
