/**
 * The ONE list of schedulers the conformance suite (and the workload verification tests)
 * run against. Each entry says how to create it for a test; add a scheduler here and every
 * conformance test runs on it.
 */
import { spawnSync } from 'node:child_process';
import type { SchedulerName, SchedulerOptions } from '../../dist/schedulers/index.js';

export interface ConformanceTarget {
  name: SchedulerName;
  options: SchedulerOptions;
  /** Values cross a boundary by structured clone (uncloneable arguments must fail). */
  clones: boolean;
  /** SharedArrayBuffer memory reaches the ops without a copy (an op's writes are seen by the caller). */
  sharesMemory: boolean;
  /** Large typed arrays a worker returns come back by transfer, not copied (threads: local/movable.ts). */
  movesResults?: boolean;
  /** Ops run in workers that can die and be replaced (an op's `process.exit` kills a worker, not the test). */
  hasWorkers: boolean;
}

/** True when `redis-server` is on PATH (the bullmq scheduler's embedded default needs it). */
export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedisServer) console.warn('skipping the bullmq scheduler: redis-server is not installed (Debian: apt-get install redis-server)');

export const conformanceSchedulers: ConformanceTarget[] = [
  { name: 'sync', options: {}, clones: false, sharesMemory: true, movesResults: false, hasWorkers: false },
  { name: 'threads', options: { workers: 2 }, clones: true, sharesMemory: true, movesResults: true, hasWorkers: true },
  { name: 'processes', options: { workers: 2 }, clones: true, sharesMemory: false, movesResults: false, hasWorkers: true },
  { name: 'distributed', options: { workers: 2 }, clones: true, sharesMemory: false, movesResults: false, hasWorkers: true },
  // An embedded redis-server and 2 worker processes (CI installs redis-server; without it the suite says why and skips).
  ...(hasRedisServer ? [{ name: 'bullmq' as const, options: { workers: 2 }, clones: true, sharesMemory: false, movesResults: false, hasWorkers: true }] : []),
];

