/**
 * `advise(graph, keys, options)`: which scheduler and worker count to use for this graph on
 * this machine, predicted rather than measured. Exported as `schedlab/advise` (the library
 * entry `schedlab` may not import the harness).
 *
 * 1. Profile: the graph runs on the main thread (as on sync; twice when the first run is
 *    under 2 s, keeping the warm run), recording each task's
 *    duration and each value's size and kind (harness/calibrate/profile.ts).
 * 2. Calibration: this environment's calibration file (runs/ by default, or the one given);
 *    with none, a quick calibration is run first and the caller is told.
 * 3. Predict: the simulator replays the profiled graph on every calibrated pool
 *    (model/predict.ts); the pick is the simplest pool whose interval reaches the fastest's predicted time.
 * 4. Explain: the pick against the fastest other pool, in the costs that separate them.
 */
import { formatBytes, formatSeconds, formatSpeedup } from '../../common/format.js';
import { poolLabel, type PoolId } from '../../common/cells.js';
import { breakdown, pickOf, predictAll, type Prediction } from '../../model/predict.js';
import { summarize, type ProfileSummary } from '../../model/profile.js';
import type { Graph, Key } from '../../schedulers/types.js';
import { calibrate, currentFingerprint, findCalibration, loadCalibrationFor, profileWarm, type LoadedCalibration } from '../calibrate/index.js';
import type { CalibrationFile } from '../../model/calibration.js';

export interface AdviseOptions {
  /** A calibration file to use instead of this environment's one in `dir`. */
  calibrationFile?: string;
  /** Where calibration files live (default `runs`). */
  dir?: string;
  /** Use a calibration file from another environment (flagged in `warnings`). */
  acceptOtherEnvironment?: boolean;
  /** With no calibration for this environment, run a quick one (default true); false: throw. */
  calibrateIfMissing?: boolean;
  /** Progress lines (the quick calibration's included). Default: none. */
  note?: (message: string) => void;
}

export interface Advice {
  recommended: PoolId;
  /** Every calibrated pool, simplest first. */
  predictions: Prediction[];
  profile: ProfileSummary & { profileSeconds: number };
  /** The calibration file used. */
  calibration: string;
  /** True when no calibration existed and a quick one was run for this call. */
  calibratedNow: boolean;
  /** Why the recommendation, one reason a line. */
  why: string[];
  warnings: string[];
  /** Values of `keys` from the profiling run (so the caller can check them). */
  values: unknown[];
}

export async function advise(graph: Graph, keys: Key[], options: AdviseOptions = {}): Promise<Advice> {
  const note = options.note ?? (() => undefined);
  const run = await profileWarm(graph, keys);
  const { loaded, calibratedNow } = await calibrationFor(options, note);
  const predictions = predictAll(run.graph, loaded.calibration);
  const chosen = pickOf(predictions);
  if (!chosen) throw new Error(`calibration ${loaded.file} holds no calibrated pool; run \`schedlab calibrate --force\``);
  const profile = { ...summarize(run.graph), profileSeconds: run.seconds };
  return {
    recommended: { scheduler: chosen.pick.scheduler, workers: chosen.pick.workers },
    predictions,
    profile,
    calibration: loaded.file,
    calibratedNow,
    why: explain(chosen.pick, predictions, run.graph, loaded.calibration, profile),
    warnings: loaded.warning ? [loaded.warning] : [],
    values: run.values,
  };
}

async function calibrationFor(options: AdviseOptions, note: (m: string) => void): Promise<{ loaded: LoadedCalibration; calibratedNow: boolean }> {
  const here = await currentFingerprint();
  if (options.calibrationFile) return { loaded: await loadCalibrationFor(options.calibrationFile, here, options.acceptOtherEnvironment), calibratedNow: false };
  const dir = options.dir ?? 'runs';
  const found = await findCalibration(dir, here);
  if (found) return { loaded: found, calibratedNow: false };
  if (options.calibrateIfMissing === false) throw new Error(`no calibration for this environment in ${dir}/; run \`schedlab calibrate\` first`);
  note(`no calibration for this environment in ${dir}/: running a quick one first (about 3 minutes on 2 cores)`);
  const outcome = await calibrate({ dir, sweep: 'quick', note });
  return { loaded: outcome, calibratedNow: true };
}

function explain(pick: Prediction, predictions: Prediction[], graph: Parameters<typeof summarize>[0], calibration: CalibrationFile, profile: ProfileSummary): string[] {
  const why: string[] = [];
  why.push(
    `${profile.tasks} tasks, mean ${formatSeconds(profile.meanTaskSeconds)}, ${formatSeconds(profile.totalTaskSeconds)} of work on a critical path of ${formatSeconds(profile.criticalPathSeconds)} (at most ${profile.averageParallelism.toFixed(1)} tasks at once on average), ${formatBytes(profile.bytesPerTask)} per task, mostly ${profile.dominantKind} values`,
  );
  const fastest = predictions.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const rival = fastest !== pick ? fastest : predictions.filter((p) => p.scheduler !== pick.scheduler).sort((a, b) => a.seconds - b.seconds)[0];
  if (fastest !== pick) why.push(`${poolLabel(fastest)} is predicted faster (${formatSeconds(fastest.seconds)}) but within the interval of ${poolLabel(pick)} (${formatSeconds(pick.low)}–${formatSeconds(pick.high)}), and ${pick.scheduler} is simpler`);
  for (const p of [pick, rival]) {
    if (!p) continue;
    const pool = calibration.pools.find((c) => c.scheduler === p.scheduler && c.workers === p.workers)!;
    const b = breakdown(graph, pool);
    why.push(
      `${poolLabel(p)}: ${formatSeconds(p.seconds)} (${formatSeconds(p.low)}–${formatSeconds(p.high)}): compute ${formatSeconds(b.computeSeconds)}, per-task costs ${formatSeconds(b.taskSeconds)}, data ${formatSeconds(b.byteSeconds)}, fixed ${formatSeconds(b.getSeconds)}${p.speedup !== null && p.scheduler !== 'sync' ? `; ${formatSpeedup(p.speedup)} vs sync` : ''}`,
    );
  }
  return why;
}
