/**
 * `schedlab calibrate` and `schedlab advise`: option parsing and the one-screen output of
 * the cost model (harness/calibrate) and the advisor (harness/advise). Progress and notes
 * go to stderr, so `advise --json` prints nothing but the JSON on stdout.
 */
import Table from 'cli-table3';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { poolLabel } from '../../common/cells.js';
import { formatSeconds, formatSpeedup } from '../../common/format.js';
import type { CalibrationFile } from '../../model/calibration.js';
import { SCHEDULER_NAMES, type SchedulerName } from '../../schedulers/types.js';
import { SIZE_NAMES, type SizeName } from '../../workloads/types.js';
import { advise, type Advice } from '../advise/index.js';
import { candidates, verifyPredictions, type Verified } from '../advise/verify.js';
import { calibrate } from '../calibrate/index.js';
import { parsePositiveIntegers, pickNames, UsageError } from './bench-options.js';

const note = (message: string): void => void process.stderr.write(`${message}\n`);

export interface RawCalibrateOptions {
  full?: boolean;
  schedulers?: string;
  workers?: string;
  outDir: string;
  force?: boolean;
  catalog: boolean;
}

export async function calibrateCommand(opts: RawCalibrateOptions): Promise<void> {
  const schedulers = opts.schedulers ? pickNames('--schedulers', opts.schedulers, SCHEDULER_NAMES) : undefined;
  const workers = opts.workers ? parsePositiveIntegers('--workers', opts.workers) : undefined;
  const catalog = opts.catalog ? (await import('../../workloads/index.js')).catalog : [];
  const controller = new AbortController();
  const onSignal = (): void => {
    note('interrupted: stopping the current pool (nothing is written)');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  try {
    const outcome = await calibrate({ dir: resolve(opts.outDir), sweep: opts.full ? 'full' : 'quick', schedulers: schedulers as SchedulerName[] | undefined, workers, catalog, force: opts.force, note, interrupt: controller.signal });
    console.log(renderMetgTable(outcome.calibration));
    console.log(`calibration: ${outcome.file}${outcome.reused ? ' (reused)' : ''}`);
  } finally {
    process.off('SIGINT', onSignal);
  }
}

/** The METG table, one row per pool, with the fitted costs beside it. */
export function renderMetgTable(calibration: CalibrationFile): string {
  const table = new Table({ head: ['pool', 'METG (50 %)', 'start-up', 'per get', 'per task', 'efficiency', 'data path'], style: { head: [], border: [] } });
  for (const p of calibration.pools) {
    const metg = p.metg.seconds === null ? 'not reached' : `${p.metg.bound === 'at-most' ? '≤ ' : ''}${formatSeconds(p.metg.seconds)}`;
    table.push([poolLabel(p), metg, formatSeconds(p.startupSeconds.value), interval(p.getSeconds), interval(p.taskSeconds), `${(p.efficiency.value * 100).toFixed(0)} % (${(p.efficiency.low * 100).toFixed(0)}–${(p.efficiency.high * 100).toFixed(0)})`, p.dataPath]);
  }
  const skipped = calibration.skipped.map((s) => `  ${s.scheduler}${s.workers ? `×${s.workers}` : ''}: skipped: ${s.reason}`);
  return [table.toString(), ...skipped].join('\n');
}

function interval(e: { value: number; low: number; high: number }): string {
  return `${formatSeconds(e.value)} (${formatSeconds(e.low)}–${formatSeconds(e.high)})`;
}

export interface RawAdviseOptions {
  workloadFile?: string;
  size: string;
  json?: boolean;
  verify?: boolean;
  calibration?: string;
  acceptOtherEnvironment?: boolean;
  runsDir: string;
}

export async function adviseCommand(opts: RawAdviseOptions): Promise<void> {
  if (!opts.workloadFile) throw new UsageError('advise needs --workload-file <path>: a module exporting the Workload shape (see `schedlab list` for the catalog\'s)');
  if (!(SIZE_NAMES as readonly string[]).includes(opts.size)) throw new UsageError(`--size: unknown size "${opts.size}"; valid sizes: ${SIZE_NAMES.join(', ')}`);
  const { loadWorkloadFile } = await import('../../workloads/index.js');
  let workload;
  try {
    workload = await loadWorkloadFile(opts.workloadFile);
  } catch (err) {
    throw new UsageError(`--workload-file ${opts.workloadFile}: ${(err as Error).message}`);
  }
  const size = opts.size as SizeName;
  const params = workload.sizes[size];
  const tmpDir = await mkdtemp(join(os.tmpdir(), 'schedlab-advise-'));
  try {
    const built = await workload.build(params, { tmpDir, options: {} });
    try {
      const advice = await advise(built.graph, built.keys, {
        calibrationFile: opts.calibration,
        dir: resolve(opts.runsDir),
        acceptOtherEnvironment: opts.acceptOtherEnvironment,
        note,
      });
      await workload.verify(advice.values, params, built);
      const verified = opts.verify
        ? await verifyPredictions(built.graph, built.keys, candidates(advice.recommended, advice.predictions), (v) => workload.verify(v, params, built), note)
        : undefined;
      for (const w of advice.warnings) note(`warning: ${w}`);
      if (opts.json) console.log(JSON.stringify(adviceJson(advice, workload.name, size, verified), null, 2));
      else console.log(renderAdvice(advice, `${workload.name}/${size}`, verified));
    } finally {
      await built.dispose?.();
    }
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

/** The `--json` document (documented in the README). */
export function adviceJson(advice: Advice, workload: string, size: string, verified: Verified[] | undefined) {
  return {
    workload,
    size,
    recommended: advice.recommended,
    predictions: advice.predictions.map((p) => ({ scheduler: p.scheduler, workers: p.workers, seconds: p.seconds, low: p.low, high: p.high, speedup: p.speedup, startupSeconds: p.startupSeconds })),
    profile: advice.profile,
    calibration: advice.calibration,
    calibratedNow: advice.calibratedNow,
    why: advice.why,
    warnings: advice.warnings,
    ...(verified ? { verified } : {}),
  };
}

function renderAdvice(advice: Advice, name: string, verified: Verified[] | undefined): string {
  const table = new Table({ head: ['pool', 'predicted', 'interval', 'speedup vs sync', 'start-up'], style: { head: [], border: [] } });
  for (const p of advice.predictions) {
    const mark = p.scheduler === advice.recommended.scheduler && p.workers === advice.recommended.workers ? ' ←' : '';
    table.push([`${poolLabel(p)}${mark}`, formatSeconds(p.seconds), `${formatSeconds(p.low)} – ${formatSeconds(p.high)}`, p.speedup === null ? '-' : formatSpeedup(p.speedup), formatSeconds(p.startupSeconds)]);
  }
  const lines = [`${name}: use ${poolLabel(advice.recommended)}`, ...advice.why.map((w) => `  - ${w}`), table.toString()];
  if (verified) {
    const check = new Table({ head: ['verified pool', 'predicted', 'measured (median)', 'measured / predicted', 'inside interval'], style: { head: [], border: [] } });
    for (const v of verified) {
      check.push([
        poolLabel(v),
        `${formatSeconds(v.predicted)} (${formatSeconds(v.low)} – ${formatSeconds(v.high)})`,
        v.measured === null ? `failed: ${v.error}` : `${formatSeconds(v.measured)} (${v.samples.length} runs)`,
        v.measured === null ? '-' : (v.measured / v.predicted).toFixed(2),
        v.measured === null ? '-' : v.measured >= v.low && v.measured <= v.high ? 'yes' : 'no',
      ]);
    }
    lines.push(check.toString());
  }
  lines.push(`calibration: ${advice.calibration}${advice.calibratedNow ? ' (quick calibration run just now)' : ''}`);
  return lines.join('\n');
}
