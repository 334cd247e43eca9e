/**
 * Entry of a worker process of the bullmq embedded cluster (local-cluster.ts): starts a
 * BullMQ worker with the options in SCHEDLAB_BULLMQ_WORKER, prints `ready` once it waits
 * for jobs, and exits when told to (SIGTERM) or when its stdin closes (the parent is gone).
 */
import { parseRedisUrl } from './connection.js';
import type { WorkerProcessOptions } from './local-cluster.js';
import { startBullmqWorker } from './worker.js';

const options = JSON.parse(process.env.SCHEDLAB_BULLMQ_WORKER ?? '{}') as WorkerProcessOptions;
const worker = startBullmqWorker({
  redis: parseRedisUrl(options.url, { tls: options.tls, insecure: options.insecure }).options,
  concurrency: options.concurrency,
  stalledIntervalMs: options.stalledIntervalMs,
  lockDurationMs: options.lockDurationMs,
});
const stop = (): void => void worker.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdin.on('end', stop).resume();
await worker.ready;
process.stdout.write('ready\n');
