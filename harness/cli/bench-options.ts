/**
 * `schedlab bench` options → a validated plan, or a `UsageError`.
 *
 * Everything the user typed is checked here, before any file is written: names are
 * matched against what exists (and the valid ones listed on a mismatch), numbers are
 * checked, the workload file is loaded and its shape checked, and the output directory is
 * probed last. A `UsageError` is printed as one line and exits with code 2.
 */
import { spawnSync } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import { resolve } from 'node:path';
import { parseRedisUrl } from '../../schedulers/bullmq/connection.js';
import { SCHEDULER_NAMES, type SchedulerName } from '../../schedulers/types.js';
import { SIZE_NAMES, type SizeName, type Workload } from '../../workloads/types.js';
import type { MeasureSettings } from '../measure/cell.js';
import { PRESETS, defaultWorkerCounts, planMatrix, type BenchPlan, type Preset, type PresetName } from '../runner/plan.js';

/** Bad command-line input: printed as one line, exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The options as commander hands them over (strings, unparsed). */
export interface RawBenchOptions {
  preset: string;
  workloads?: string;
  workloadFile?: string;
  size?: string;
  schedulers?: string;
  workers?: string;
  outDir: string;
  jsonDir?: string;
  budget?: string;
  minSamples?: string;
  maxSamples?: string;
  runTimeout?: string;
  maxLivePools?: string;
  /** Print the plan and stop: no directory is created, nothing is written. */
  dryRun?: boolean;
  /** A Redis for the bullmq scheduler (its pools start their workers against it). */
  redis?: string;
}

/** Where workloads come from (workloads/index.ts), passed in so the catalog is imported only when needed. */
export interface WorkloadSource {
  catalog: Workload[];
  loadWorkloadFile(path: string): Promise<Workload>;
}

export async function resolveBenchPlan(raw: RawBenchOptions, source: WorkloadSource): Promise<BenchPlan> {
  const preset = pickPreset(raw.preset);
  const settings = measureSettings(preset, raw);
  const workloads = await pickWorkloads(raw, source);
  const sizes = raw.size ? pickNames('--size', raw.size, SIZE_NAMES) : preset.sizes;
  for (const workload of workloads) {
    for (const size of sizes) {
      const params = (workload.sizes as Partial<Record<SizeName, unknown>>)[size];
      if (typeof params !== 'object' || params === null) {
        throw new UsageError(`workload "${workload.name}" defines no parameters for size "${size}"; give its sizes.${size} or pick another --size`);
      }
    }
  }
  const noBullmq = bullmqUnavailable(raw);
  const schedulers = raw.schedulers ? pickNames('--schedulers', raw.schedulers, SCHEDULER_NAMES) : SCHEDULER_NAMES.filter((n) => n !== 'bullmq' || !noBullmq);
  if (noBullmq && schedulers.includes('bullmq')) throw new UsageError(`--schedulers bullmq: ${noBullmq}`);
  const workerCounts = raw.workers ? parsePositiveIntegers('--workers', raw.workers) : defaultWorkerCounts(os.availableParallelism());
  const jsonDir = raw.jsonDir ? await checkReadableDir('--json-dir', raw.jsonDir) : undefined;
  const pools = planMatrix({ workloads, sizes, schedulers: schedulers as SchedulerName[], workerCounts });
  const maxLivePools = raw.maxLivePools === undefined ? undefined : parsePositiveIntegers('--max-live-pools', raw.maxLivePools, true)[0]!;
  // Last: the only check that creates anything (and a dry run creates nothing).
  const outDir = raw.dryRun ? resolve(raw.outDir) : await prepareOutDir(raw.outDir);
  const workloadFile = raw.workloadFile ? resolve(raw.workloadFile) : undefined;
  return {
    preset,
    settings,
    pools,
    outDir,
    workloadOptions: { jsonDir },
    ...(workloadFile ? { workloadFile } : {}),
    ...(maxLivePools !== undefined ? { maxLivePools } : {}),
  };
}

/**
 * Why the bullmq scheduler cannot run, as the one line that says how to enable it; undefined
 * when it can (a valid `--redis` URL, or `redis-server` installed for its embedded Redis).
 */
export function bullmqUnavailable(raw: Pick<RawBenchOptions, 'redis'>): string | undefined {
  if (raw.redis !== undefined) {
    try {
      parseRedisUrl(raw.redis, { option: '--redis' });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    return undefined;
  }
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0) return undefined;
  return 'bullmq needs Redis: install redis-server (apt-get install redis-server) or pass --redis redis://host:6379';
}

function pickPreset(name: string): Preset {
  if (!(name in PRESETS)) {
    throw new UsageError(`unknown preset "${name}"; valid presets: ${Object.keys(PRESETS).join(', ')}`);
  }
  return PRESETS[name as PresetName];
}

function measureSettings(preset: Preset, raw: RawBenchOptions): MeasureSettings {
  const budgetSeconds = raw.budget === undefined ? preset.budgetSeconds : parsePositiveNumber('--budget', raw.budget);
  const minSamples = raw.minSamples === undefined ? preset.minSamples : parsePositiveIntegers('--min-samples', raw.minSamples, true)[0]!;
  const maxSamples = raw.maxSamples === undefined ? Math.max(preset.maxSamples, minSamples) : parsePositiveIntegers('--max-samples', raw.maxSamples, true)[0]!;
  if (maxSamples < minSamples) {
    throw new UsageError(`--max-samples ${maxSamples} is below --min-samples ${minSamples}; raise --max-samples`);
  }
  const runTimeoutSeconds = raw.runTimeout === undefined ? preset.runTimeoutSeconds : parsePositiveNumber('--run-timeout', raw.runTimeout);
  return { budgetSeconds, minSamples, maxSamples, runTimeoutSeconds };
}

async function pickWorkloads(raw: RawBenchOptions, source: WorkloadSource): Promise<Workload[]> {
  const picked: Workload[] = [];
  if (raw.workloads || !raw.workloadFile) {
    const names = source.catalog.map((w) => w.name);
    const chosen = raw.workloads ? pickNames('--workloads', raw.workloads, names) : names;
    picked.push(...chosen.map((name) => source.catalog.find((w) => w.name === name)!));
  }
  if (raw.workloadFile) {
    let workload: Workload;
    try {
      workload = await source.loadWorkloadFile(resolve(raw.workloadFile));
    } catch (err) {
      const message = (err as Error).message;
      throw new UsageError(message.includes(raw.workloadFile) ? message : `--workload-file ${raw.workloadFile}: ${message}`);
    }
    if (picked.some((w) => w.name === workload.name)) {
      throw new UsageError(`--workload-file ${raw.workloadFile}: its name "${workload.name}" is already a catalog workload; rename it`);
    }
    picked.push(workload);
  }
  if (picked.length === 0) throw new UsageError('no workloads to run: the catalog is empty; pass --workload-file');
  return picked;
}

/** Split "a,b" and check each against `valid`; the error lists the valid names. */
export function pickNames<T extends string>(option: string, value: string, valid: readonly T[]): T[] {
  const names = splitList(value);
  if (names.length === 0) throw new UsageError(`${option} is empty; valid values: ${valid.join(', ')}`);
  for (const name of names) {
    if (!valid.includes(name as T)) {
      throw new UsageError(`${option}: unknown name "${name}"; valid values: ${valid.join(', ')}`);
    }
  }
  return [...new Set(names)] as T[];
}

/** "1,2,4" → [1, 2, 4]; anything but positive integers is a UsageError. */
export function parsePositiveIntegers(option: string, value: string, single = false): number[] {
  const parts = splitList(value);
  if (parts.length === 0 || (single && parts.length > 1)) {
    throw new UsageError(`${option} needs ${single ? 'one positive integer' : 'positive integers separated by commas (e.g. 1,2,4)'}, got "${value}"`);
  }
  return parts.map((part) => {
    if (!/^\d+$/.test(part) || Number(part) < 1 || !Number.isSafeInteger(Number(part))) {
      throw new UsageError(`${option}: "${part}" is not a positive integer${single ? '' : ' (use e.g. 1,2,4)'}`);
    }
    return Number(part);
  });
}

function parsePositiveNumber(option: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${option}: "${value}" is not a positive number of seconds`);
  }
  return n;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

async function checkReadableDir(option: string, dir: string): Promise<string> {
  const path = resolve(dir);
  try {
    if (!(await stat(path)).isDirectory()) throw new Error('not a directory');
    await access(path, constants.R_OK);
  } catch (err) {
    throw new UsageError(`${option} ${dir}: cannot read that directory (${errorReason(err)})`);
  }
  return path;
}

/** Create the output directory if needed and check that a file can be written in it. */
async function prepareOutDir(dir: string): Promise<string> {
  const path = resolve(dir);
  try {
    await mkdir(path, { recursive: true });
    await access(path, constants.W_OK);
  } catch (err) {
    throw new UsageError(`--out-dir ${dir}: cannot write results there (${errorReason(err)}); pick a writable directory`);
  }
  return path;
}

function errorReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}
