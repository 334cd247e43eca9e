/**
 * Worker-thread entry (runs INSIDE the watcher thread): records the peak resident memory
 * of the whole process. It exists because the sync scheduler runs tasks on the main thread,
 * which then cannot sample anything until the run ends; this thread keeps sampling.
 * `process.memoryUsage.rss()` is process-wide, so a worker thread sees the main thread's
 * memory and every other thread's. The peak, in KiB, is kept in shared memory with
 * Atomics; the main side reads and resets it (harness/measure/main-rss.ts).
 */
import { workerData } from 'node:worker_threads';

const { peakKiB, intervalMs } = workerData as { peakKiB: Int32Array; intervalMs: number };

setInterval(() => {
  const kib = Math.round(process.memoryUsage.rss() / 1024);
  let seen = Atomics.load(peakKiB, 0);
  while (kib > seen) {
    const previous = Atomics.compareExchange(peakKiB, 0, seen, kib);
    if (previous === seen) break;
    seen = previous;
  }
}, intervalMs);
