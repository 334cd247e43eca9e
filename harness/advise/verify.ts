/**
 * `advise --verify`: run the top candidates for real and set their measured times against
 * the predictions. Candidates: the recommended pool and the pools predicted fastest (up to
 * `count` in all). Each pool is started, warmed up (a short graph with up to ten gets, within
 * a second), timed over a few gets (the median is kept; start-up excluded, as in the
 * predictions), checked, and closed.
 */
import { poolLabel, type PoolId } from '../../common/cells.js';
import type { Prediction } from '../../model/predict.js';
import { createScheduler } from '../../schedulers/index.js';
import type { Graph, Key, Scheduler } from '../../schedulers/types.js';
import { median } from 'simple-statistics';
import { repeatRuns } from '../measure/warm-up.js';

/** Warm-up gets before timing: at most this many, while under WARM_UP_SECONDS in all. */
const WARM_UP_GETS = 10;
const WARM_UP_SECONDS = 1;

export interface Verified extends PoolId {
  predicted: number;
  low: number;
  high: number;
  /** Median of the timed gets, seconds; null when the pool failed (see `error`). */
  measured: number | null;
  samples: number[];
  error?: string;
}

export function candidates(recommended: PoolId, predictions: readonly Prediction[], count = 3): Prediction[] {
  const byTime = [...predictions].sort((a, b) => a.seconds - b.seconds);
  const pick = predictions.find((p) => p.scheduler === recommended.scheduler && p.workers === recommended.workers);
  const out = pick ? [pick] : [];
  for (const p of byTime) if (out.length < count && !out.includes(p)) out.push(p);
  return out;
}

export async function verifyPredictions(
  graph: Graph,
  keys: Key[],
  chosen: readonly Prediction[],
  check: (values: unknown[]) => Promise<void> | void,
  note: (message: string) => void,
): Promise<Verified[]> {
  const out: Verified[] = [];
  for (const p of chosen) {
    const base = { scheduler: p.scheduler, workers: p.workers, predicted: p.seconds, low: p.low, high: p.high };
    note(`verify: running ${poolLabel(p)}…`);
    let scheduler: Scheduler | undefined;
    try {
      const pool = await createScheduler(p.scheduler, { workers: p.workers });
      scheduler = pool; // closed in finally, whatever happens next
      // Warmed up as the calibration warms its pools: a new pool runs its first gets of
      // many small tasks several times slower (tiny-tasks quick on sync: 40.8 ms after one
      // warm-up get, 15-19 ms in the bench), so short graphs get up to WARM_UP_GETS.
      const w0 = performance.now();
      await check(await pool.get(graph, keys));
      const first = (performance.now() - w0) / 1000;
      await repeatRuns(() => pool.get(graph, keys), { min: 0, max: WARM_UP_GETS - 1, seconds: WARM_UP_SECONDS - first });
      const reps = first > 2 ? 1 : 3;
      const samples: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        const values = await pool.get(graph, keys);
        samples.push((performance.now() - t0) / 1000);
        await check(values);
      }
      out.push({ ...base, measured: median(samples), samples });
    } catch (err) {
      out.push({ ...base, measured: null, samples: [], error: (err as Error).message });
    } finally {
      await scheduler?.close().catch(() => undefined);
    }
  }
  return out;
}
