/**
 * Peak resident memory of this process (all its threads), even while the main thread is
 * busy running sync tasks: a small watcher thread (harness/measure/rss-watcher-thread.ts) samples
 * every few milliseconds into shared memory. One watcher serves the whole run; it is
 * unref'd, so it never keeps the process alive, and `stopMainRssWatch` ends it.
 */
import { Worker } from 'node:worker_threads';

const WATCH_INTERVAL_MS = 20;

let watcher: { worker: Worker; peakKiB: Int32Array } | undefined;

/** The highest RSS of this process since the previous call (or since the watch began), bytes. */
export function takeMainRssPeak(): number {
  if (!watcher) {
    const peakKiB = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(new URL('./rss-watcher-thread.js', import.meta.url), {
      workerData: { peakKiB, intervalMs: WATCH_INTERVAL_MS },
    });
    worker.unref();
    watcher = { worker, peakKiB };
  }
  const now = process.memoryUsage.rss();
  return Math.max(now, Atomics.exchange(watcher.peakKiB, 0, 0) * 1024);
}

/** End the watcher thread (at the end of a run). */
export async function stopMainRssWatch(): Promise<void> {
  const current = watcher;
  watcher = undefined;
  await current?.worker.terminate();
}
