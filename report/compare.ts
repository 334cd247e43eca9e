/**
 * Is one set of timing samples faster than another, beyond noise?
 *
 * Both the recommendation (winner against runner-up) and the baseline comparison (this run
 * against an earlier one) ask the same question of raw samples, so they share this one
 * test: a percentile bootstrap of the ratio of medians, median(candidate) / median(reference),
 * with a 95 % confidence interval. When the interval excludes 1 the difference is beyond
 * noise; otherwise the two are "within noise". The medians match what the harness reports,
 * and the bootstrap makes no normality assumption (timings are skewed by GC pauses).
 *
 * The resampling uses a fixed-seed generator so the same results file always renders the
 * same report. With fewer than MIN_SAMPLES samples on either side the interval means
 * nothing, so the verdict is 'untested' rather than a guess.
 */
import { median, quantileSorted, sampleWithReplacement } from 'simple-statistics';
import { mulberry32 } from '../common/random.js';

/** Fewer samples than this on either side: no test, verdict 'untested'. */
export const MIN_SAMPLES = 3;
/** Bootstrap resamples of every comparison (stated in the report). */
export const RESAMPLES = 2000;
/** Level of the interval of a verdict within one run (stated in the report). */
export const CONFIDENCE = 0.95;
const SEED = 0x5eed;

/** The test as the report states it. */
export function testDescription(level = CONFIDENCE): string {
  return `percentile bootstrap of the ratio of medians, ${RESAMPLES} resamples, ${Math.round(level * 100)} % interval, at least ${MIN_SAMPLES} samples per side`;
}

export interface Comparison {
  /** median(candidate) / median(reference): below 1 means the candidate is faster. */
  ratio: number;
  /** Bootstrap interval of `ratio` (95 % unless asked otherwise); null when there were too few samples to test. */
  ci: [number, number] | null;
  /** faster / slower: the interval excludes 1. noise: it contains 1. untested: too few samples. */
  verdict: 'faster' | 'slower' | 'noise' | 'untested';
  /** Sample counts: [reference, candidate]. */
  n: [number, number];
}

/** Compare a candidate's timing samples with a reference's (both in seconds). */
export function compareSamples(reference: readonly number[], candidate: readonly number[], level = CONFIDENCE): Comparison {
  return compareCorrected(reference, candidate, null, level);
}

/**
 * The same test with each side divided by its own machine reference (the probe's medians of
 * each run, results/schema.ts `reference`): the ratio of medians over the ratio of the probes'
 * medians, the probes resampled too, so a machine that drifted between two runs is not read as
 * a change and the probe's own spread widens the interval.
 */
export function compareCorrected(
  reference: readonly number[],
  candidate: readonly number[],
  probes: { reference: readonly number[]; candidate: readonly number[] } | null,
  level = CONFIDENCE,
): Comparison {
  const n: [number, number] = [reference.length, candidate.length];
  const drift = probes ? median([...probes.candidate]) / median([...probes.reference]) : 1;
  const ratio = median([...candidate]) / median([...reference]) / drift;
  if (reference.length < MIN_SAMPLES || candidate.length < MIN_SAMPLES) {
    return { ratio, ci: null, verdict: 'untested', n };
  }
  const random = mulberry32(SEED);
  const resampledMedian = (xs: readonly number[]): number => median(sampleWithReplacement([...xs], xs.length, random));
  const ratios: number[] = [];
  for (let i = 0; i < RESAMPLES; i++) {
    const r = resampledMedian(reference);
    const c = resampledMedian(candidate);
    const d = probes ? resampledMedian(probes.candidate) / resampledMedian(probes.reference) : 1;
    ratios.push(c / r / d);
  }
  ratios.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  const ci: [number, number] = [quantileSorted(ratios, tail), quantileSorted(ratios, 1 - tail)];
  const verdict = ci[1] < 1 ? 'faster' : ci[0] > 1 ? 'slower' : 'noise';
  return { ratio, ci, verdict, n };
}
