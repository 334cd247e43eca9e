/**
 * Wraps an executor and its pool into the public `Scheduler` interface: `get` runs the one
 * engine, `stats` reports the cumulative counters the engine adds to, `close` stops the pool
 * once. The three local schedulers are this plus their executor.
 */
import { SchedulerClosedError } from '../errors.js';
import type { Graph, Key, Scheduler, TransferStats } from '../types.js';
import { runGraph, type EngineOptions, type LocalExecutor } from './engine.js';

/** What a local scheduler is made of. */
export interface LocalSchedulerParts {
  name: 'sync' | 'threads' | 'processes';
  executor: LocalExecutor;
  workers: number;
  startupSeconds: number;
  /** Stop the pool (every thread/process). Called at most once. */
  stop: () => Promise<void>;
}

/** A `Scheduler` running the local engine on `parts.executor`. */
export function localScheduler(parts: LocalSchedulerParts): Scheduler {
  const stats: TransferStats = { tasks: 0, bytesToWorkers: 0, bytesFromWorkers: 0, bytesBetweenWorkers: 0 };
  let closing: Promise<void> | undefined;
  return {
    name: parts.name,
    workers: parts.workers,
    startupSeconds: parts.startupSeconds,
    ...(parts.executor.seals ? { sealsResults: true } : {}),
    async get(graph: Graph, keys: Key[], options?: EngineOptions): Promise<unknown[]> {
      if (closing) throw new SchedulerClosedError(parts.name);
      try {
        return await runGraph(graph, keys, parts.executor, stats, options);
      } catch (err) {
        // Closing the pool under a running get fails its batches; say why instead of "worker lost".
        if (closing) throw new SchedulerClosedError(parts.name);
        throw err;
      }
    },
    stats: () => ({ ...stats }),
    close(): Promise<void> {
      closing ??= parts.stop();
      return closing;
    },
  };
}
