/**
 * A BullMQ worker of the `bullmq` scheduler (`schedlab bullmq-worker URL`, and each process
 * of the embedded cluster): a BullMQ `Worker` on the batch queue whose processor runs on the
 * worker's main thread and does only I/O (read the inputs' bytes from Redis, store the
 * outputs' bytes), while the ops run in a piscina pool of `concurrency` op threads
 * (op-thread.ts).
 *
 * Why our own threads rather than BullMQ's sandboxed processors: a schedlab abort must stop
 * a running op at once (a sandboxed job only gets a cooperative cancel message, which a busy
 * op never reads), and piscina terminates the thread on an AbortSignal; the op threads also
 * reuse the batch runner every local scheduler uses. Threads rather than child processes:
 * they start in milliseconds, cost less memory, and die with the worker on kill -9 (nothing
 * is orphaned); an op's crash or `process.exit` still ends only its thread.
 *
 * Jobs: a job whose run has ended (its marker key is gone) is skipped; a cancel published
 * for a run aborts its running jobs; a lost op thread fails the attempt (BullMQ retries it,
 * up to the job's attempts); a worker killed mid-job leaves the job's lock to expire, and
 * BullMQ's stalled-job check in any live worker puts it back in the queue.
 */
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import { Piscina } from 'piscina';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { OpThreadResult, OpThreadTask } from './op-thread.js';
import { CANCEL_CHANNEL, QUEUE_NAME, WORKER_NAME_PREFIX, type BatchJobData, type BatchJobResult } from './protocol.js';

export interface BullmqWorkerOptions {
  /** ioredis options of the Redis to serve (connection.ts). */
  redis: RedisOptions;
  /** Jobs (and op threads) at once. Default 1. */
  concurrency?: number;
  /** BullMQ's stalled-job check interval (ms). Default BullMQ's 30 000. */
  stalledIntervalMs?: number;
  /** BullMQ's job lock duration (ms): a killed worker's job is taken back after this. Default BullMQ's 30 000. */
  lockDurationMs?: number;
  /** Progress lines (connection errors). Default: stderr. */
  log?: (line: string) => void;
}

export interface RunningBullmqWorker {
  readonly name: string;
  /** Resolves once BullMQ's connection is up and the worker waits for jobs; rejects if Redis refuses the credentials. */
  readonly ready: Promise<void>;
  /** The last connection error, if any (for a message when Redis stays unreachable). */
  lastError(): string | undefined;
  /** Stop taking jobs, abort running ones, stop the threads and connections. Idempotent. */
  close(): Promise<void>;
}

/** Stores the outputs only while the run's marker exists: KEYS = [marker, ...outputs], ARGV = bytes. */
const STORE_OUTPUTS = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i - 1]) end
return 1`;

type DataConnection = Redis & { storeOutputs(keyCount: number, ...args: Array<string | Buffer>): Promise<number> };

export function startBullmqWorker(options: BullmqWorkerOptions): RunningBullmqWorker {
  const concurrency = options.concurrency ?? 1;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const name = `${WORKER_NAME_PREFIX}${concurrency}-${hostname()}-${process.pid}`;
  const pool = new Piscina<OpThreadTask, OpThreadResult>({
    filename: new URL('./op-thread.js', import.meta.url).href,
    minThreads: concurrency,
    maxThreads: concurrency,
    idleTimeout: 2 ** 31 - 1,
  });
  const data = new Redis({ ...options.redis, maxRetriesPerRequest: 1, lazyConnect: false }) as DataConnection;
  data.defineCommand('storeOutputs', { lua: STORE_OUTPUTS });
  const subscriber = new Redis({ ...options.redis, maxRetriesPerRequest: null });
  /** Abort controllers of running jobs, by run marker. */
  const running = new Map<string, Set<AbortController>>();
  let lastError = '';
  let refused: (err: Error) => void = () => {};
  const credentialsRefused = new Promise<never>((_, reject) => (refused = reject));
  credentialsRefused.catch(() => {});
  const onError = (err: Error): void => {
    // Reconnecting is ioredis' and BullMQ's job; say each new cause once.
    if (err.message !== lastError) log(`bullmq-worker ${name}: ${err.message}`);
    lastError = err.message;
    if (/WRONGPASS|NOAUTH|NOPERM/.test(err.message)) refused(err);
  };
  data.on('error', onError);
  subscriber.on('error', onError);
  void subscriber.subscribe(CANCEL_CHANNEL).catch(onError);
  subscriber.on('message', (_channel: string, run: string) => {
    for (const controller of running.get(run) ?? []) controller.abort();
  });

  async function processBatch(job: Job<BatchJobData, BatchJobResult>): Promise<BatchJobResult> {
    const { run, body, inputs, outputs } = job.data;
    const fetched = await data.mgetBuffer(run, ...inputs);
    if (fetched[0] === null) return { worker: name, times: [], bytesIn: 0, bytesOut: 0, skipped: true };
    let bytesIn = 0;
    const inputBytes: Uint8Array[] = [];
    for (let i = 1; i < fetched.length; i++) {
      const bytes = fetched[i];
      if (bytes === null || bytes === undefined) throw new UnrecoverableError(`input value ${inputs[i - 1]} is missing from Redis (was Redis restarted or flushed?)`);
      bytesIn += bytes.length;
      inputBytes.push(new Uint8Array(bytes)); // its own memory: ioredis may hand out slices of a shared buffer
    }
    const controller = new AbortController();
    let controllers = running.get(run);
    if (!controllers) running.set(run, (controllers = new Set()));
    controllers.add(controller);
    let result: OpThreadResult;
    try {
      result = await pool.run({ body: Buffer.from(body, 'base64'), inputs: inputBytes }, { name: 'run', signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) throw new UnrecoverableError('cancelled: its get ended');
      throw new Error(`the op thread died: ${(err as Error).message}`);
    } finally {
      controllers.delete(controller);
      if (controllers.size === 0) running.delete(run);
    }
    let bytesOut = 0;
    for (const o of result.outputs) bytesOut += o.length;
    const answer: BatchJobResult = { worker: result.worker, times: result.times, bytesIn, bytesOut };
    if (result.failed) answer.failed = { index: result.failed.index, error: result.failed.error };
    if (result.outputs.length > 0) {
      // Structured clone turned the thread's Buffers into plain Uint8Arrays; ioredis sends only Buffers as bytes.
      const bytes = result.outputs.map((o) => Buffer.from(o.buffer, o.byteOffset, o.byteLength));
      const stored = await data.storeOutputs(1 + outputs.length, run, ...outputs, ...bytes);
      if (stored === 0) answer.skipped = true;
    }
    return answer;
  }

  const worker = new Worker<BatchJobData, BatchJobResult>(QUEUE_NAME, processBatch, {
    connection: { ...options.redis, maxRetriesPerRequest: null },
    name,
    concurrency,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    lockDuration: options.lockDurationMs ?? 30_000,
    maxStalledCount: 2,
    autorun: true,
  });
  worker.on('error', onError);
  let closing: Promise<void> | undefined;
  return {
    name,
    ready: Promise.race([worker.waitUntilReady().then(() => undefined), credentialsRefused]),
    lastError: () => lastError || undefined,
    close() {
      closing ??= (async () => {
        for (const controllers of running.values()) for (const c of controllers) c.abort();
        await worker.close(true).catch(() => {});
        await pool.destroy().catch(() => {});
        data.disconnect();
        subscriber.disconnect();
      })();
      return closing;
    },
  };
}
