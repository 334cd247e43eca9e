/**
 * `calibrate`: measure this machine's cost model for every scheduler that can start here
 * and every worker count (1, 2, 4, … up to the available parallelism; sync with 1), fit
 * each pool (model/fit.ts), profile the catalog workloads at quick and small (again when
 * other processes crowded a profile, as the sweep measures its runs), and write
 * the calibration file next to the run files. A scheduler that cannot start is skipped
 * with a line saying why. An existing file for this environment is reused unless `force`.
 *
 * Pools run one after another in this process, each started, swept and closed before the
 * next, so they never compete with each other for the cores. They run in reverse order, the
 * simplest last, and are written in the usual order. The local pools' per-task costs are
 * paid on this process's main thread, and a young process pays more: swept first, as it
 * was, sync fitted 1.54 µs a task on average (9 calibrations, 1.0-2.0), and 1.03 µs swept
 * after the others (5 calibrations, 0.77-1.24); threads×1, swept first, 1.8-2.6 µs, after
 * sync 1.2-1.9, after bullmq 1.2-1.3. Sync's inflated cost put it above threads×1 in about
 * half of the calibrations, and the map then picked threads×1 for tiny-tasks, where the
 * bench measures threads×1 1.2-2.6 times slower. The remote pools (bullmq, distributed)
 * go first: their costs are mostly in their own processes.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { poolLabel, type PoolId } from '../../common/cells.js';
import { formatDuration, formatMicros, formatPercent, formatSeconds } from '../../common/format.js';
import { CALIBRATION_SCHEMA_VERSION, fingerprintOf, type CalibrationFile, type CatalogProfile, type Fingerprint, type PoolCosts } from '../../model/calibration.js';
import { fitPool } from '../../model/fit.js';
import { createScheduler } from '../../schedulers/index.js';
import { SCHEDULER_NAMES, type SchedulerName } from '../../schedulers/types.js';
import type { SizeName, Workload } from '../../workloads/types.js';
import { captureEnvironment } from '../measure/environment.js';
import { CROWDED_CORES, OutsideLoadMeter, leastCrowded } from '../measure/outside-load.js';
import { defaultWorkerCounts } from '../runner/plan.js';
import { profileWarm } from './profile.js';
import { calibrationPath, findCalibration, writeCalibration, type LoadedCalibration } from './store.js';
import { measureSpinRate, sweepPool, type SweepKind } from './sweep.js';

export { findCalibration, loadCalibrationFor, readCalibration, calibrationPath, type LoadedCalibration } from './store.js';
export { profileGraph, profileWarm } from './profile.js';

/** A pool gets this long to start before it is skipped. */
const POOL_START_TIMEOUT_MS = 90_000;
/** Catalog sizes profiled for the report's map and model check. */
export const CATALOG_SIZES: SizeName[] = ['quick', 'small'];

export interface CalibrateOptions {
  /** Where run files live (default runs/). */
  dir: string;
  sweep: SweepKind;
  schedulers?: readonly SchedulerName[];
  workers?: readonly number[];
  /** Catalog workloads to profile (none: skip). */
  catalog?: readonly Workload[];
  /** Measure again even when a file for this environment exists. */
  force?: boolean;
  note: (message: string) => void;
  interrupt?: AbortSignal;
}

export interface CalibrateOutcome extends LoadedCalibration {
  reused: boolean;
}

export async function currentFingerprint(): Promise<Fingerprint> {
  return fingerprintOf(await captureEnvironment());
}

export async function calibrate(options: CalibrateOptions): Promise<CalibrateOutcome> {
  const environment = await captureEnvironment();
  const fingerprint = fingerprintOf(environment);
  if (!options.force) {
    const existing = await findCalibration(options.dir, fingerprint);
    if (existing && (options.sweep === 'quick' || existing.calibration.sweep === 'full')) {
      options.note(`calibration: reusing ${existing.file} (same environment, ${existing.calibration.sweep} sweep of ${existing.calibration.createdAt}; --force to measure again)`);
      return { ...existing, reused: true };
    }
  }
  const started = performance.now();
  const pools = plannedPools(options);
  options.note(`calibration: ${options.sweep} sweep of ${pools.length} pools (${pools.map(poolLabel).join(', ')}) on ${environment.cpuModel}, ${environment.availableParallelism} cores`);
  const spinRate = measureSpinRate();
  const fitted: PoolCosts[] = [];
  const skipped: CalibrationFile['skipped'] = [];
  for (const [i, pool] of [...pools].reverse().entries()) {
    if (options.interrupt?.aborted) break;
    const label = `[${i + 1}/${pools.length}] ${poolLabel(pool)}`;
    const t0 = performance.now();
    const result = await calibratePool(pool, options, spinRate, label);
    if ('reason' in result) {
      skipped.push({ scheduler: pool.scheduler, workers: pool.workers, reason: result.reason });
      options.note(`${label}: skipped: ${result.reason}`);
      continue;
    }
    fitted.push(result);
    const metg = result.metg.seconds === null ? 'not reached' : `${result.metg.bound === 'at-most' ? '≤ ' : ''}${formatSeconds(result.metg.seconds)}`;
    options.note(
      `${label}: ${result.observations} runs in ${formatDuration((performance.now() - t0) / 1000)}: get ${formatMicros(result.getSeconds.value * 1e6)}, task ${formatMicros(result.taskSeconds.value * 1e6)}, efficiency ${(result.efficiency.value * 100).toFixed(0)} %, METG ${metg}${result.stringWeight ? `, text ×${result.stringWeight.value.toFixed(1)} its weight` : ''}${
        result.outsideLoad ? `, outside load ${formatPercent(result.outsideLoad)} of a core` : ''
      }`,
    );
  }
  const noisy = fitted.filter((p) => (p.outsideLoad ?? 0) >= CROWDED_CORES);
  if (noisy.length) {
    options.note(
      `warning: other processes used a quarter of a core or more while ${noisy.map(poolLabel).join(', ')} ${noisy.length === 1 ? 'was' : 'were'} measured, even after measuring again; those costs are likely too high. Run \`schedlab calibrate --force\` on a quieter machine.`,
    );
  }
  if (options.interrupt?.aborted) throw new Error('calibration interrupted: nothing written');
  const planned = (p: { scheduler: string; workers: number | null }): number => pools.findIndex((q) => q.scheduler === p.scheduler && q.workers === p.workers);
  fitted.sort((a, b) => planned(a) - planned(b));
  skipped.sort((a, b) => planned(a) - planned(b));
  if (fitted.length === 0) throw new Error(`no scheduler could be calibrated (${skipped.map((s) => `${s.scheduler}: ${s.reason}`).join('; ')})`);
  const catalog = await profileCatalog(options);
  const calibration: CalibrationFile = {
    schemaVersion: CALIBRATION_SCHEMA_VERSION,
    kind: 'schedlab-calibration',
    createdAt: new Date().toISOString(),
    sweep: options.sweep,
    durationSeconds: (performance.now() - started) / 1000,
    fingerprint,
    environment: environment as unknown as Record<string, unknown>,
    pools: fitted,
    skipped,
    catalog,
  };
  await mkdir(options.dir, { recursive: true });
  const file = calibrationPath(options.dir, fingerprint);
  await writeCalibration(file, calibration);
  options.note(`calibration: ${fitted.length} pools in ${formatDuration(calibration.durationSeconds)}, written to ${file}`);
  return { file, calibration, reused: false };
}

function plannedPools(options: CalibrateOptions): PoolId[] {
  const counts = options.workers ?? defaultWorkerCounts(os.availableParallelism());
  const pools: PoolId[] = [];
  for (const scheduler of options.schedulers ?? SCHEDULER_NAMES) {
    if (scheduler === 'sync') pools.push({ scheduler, workers: 1 });
    else for (const workers of counts) pools.push({ scheduler, workers });
  }
  return pools;
}

async function calibratePool(pool: PoolId, options: CalibrateOptions, spinRate: number, label: string): Promise<PoolCosts | { reason: string }> {
  let scheduler;
  const starting = createScheduler(pool.scheduler, { workers: pool.workers });
  try {
    scheduler = await withTimeout(starting, POOL_START_TIMEOUT_MS, `did not start within ${POOL_START_TIMEOUT_MS / 1000} s`);
  } catch (err) {
    starting.then((late) => late.close()).catch(() => undefined); // one that starts after the timeout is stopped
    return { reason: `cannot start (${(err as Error).message})` };
  }
  try {
    options.note(`${label}: started in ${formatSeconds(scheduler.startupSeconds)}, sweeping…`);
    const runs = await sweepPool(scheduler, pool.workers, {
      sweep: options.sweep,
      spinRate,
      runTimeoutSeconds: 60,
      note: options.note,
      interrupt: options.interrupt,
    });
    return fitPool({ scheduler: pool.scheduler, workers: pool.workers, startupSeconds: scheduler.startupSeconds, runs, seals: scheduler.sealsResults === true, cores: os.availableParallelism() });
  } catch (err) {
    return { reason: `calibration failed (${(err as Error).message})` };
  } finally {
    await scheduler.close().catch(() => undefined);
  }
}

/** A catalog profile other processes crowded (a sync run's one thread) is taken again, up to this many times in all; the quietest is kept. */
const PROFILE_ATTEMPTS = 3;

async function profileCatalog(options: CalibrateOptions): Promise<CatalogProfile[]> {
  const out: CatalogProfile[] = [];
  const meter = new OutsideLoadMeter();
  for (const workload of options.catalog ?? []) {
    for (const size of CATALOG_SIZES) {
      if (options.interrupt?.aborted) return out;
      const tmpDir = await mkdtemp(join(os.tmpdir(), 'schedlab-calibrate-'));
      const params = workload.sizes[size];
      try {
        const built = await workload.build(params, { tmpDir, options: {} });
        try {
          const { value: run } = await leastCrowded(() => profileWarm(built.graph, built.keys), { meter, pool: { scheduler: 'sync', workers: 1 }, cores: os.availableParallelism(), attempts: PROFILE_ATTEMPTS });
          await workload.verify(run.values, params, built);
          out.push({ workload: workload.name, size, params, graph: run.graph });
          options.note(`profiled ${workload.name}/${size}: ${run.graph.seconds.length} nodes in ${formatSeconds(run.seconds)}`);
        } finally {
          await built.dispose?.();
        }
      } catch (err) {
        options.note(`profiled ${workload.name}/${size}: left out (${(err as Error).message})`);
      } finally {
        await rm(tmpDir, { recursive: true, force: true });
      }
    }
  }
  return out;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
