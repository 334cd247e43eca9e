/**
 * Pool start-up: pools spawn workers in the background, so "started" is only known once
 * every worker has answered. Sends rounds of concurrent pings until `workers` distinct
 * workers replied, and names them in that order (thread-0, thread-1, ...).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkerNames } from './worker-names.js';

const START_TIMEOUT_MS = 60_000;

/** Resolve once `workers` distinct workers answered `ping()` (which resolves to the worker's tag). */
export async function waitForWorkers(workers: number, ping: () => Promise<number>, names: WorkerNames): Promise<void> {
  const seen = new Set<number>();
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    const tags = await Promise.all(Array.from({ length: workers }, ping));
    for (const tag of tags) {
      if (!seen.has(tag)) names.name(tag);
      seen.add(tag);
    }
    if (seen.size >= workers) return;
    if (performance.now() > deadline) throw new Error(`only ${seen.size} of ${workers} workers answered within ${START_TIMEOUT_MS / 1000} s of start-up`);
    await sleep(2);
  }
}
