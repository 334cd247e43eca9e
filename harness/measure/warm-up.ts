/**
 * Warming a pool up before timing it. A fresh pool, and a graph new to a pool, run their
 * first gets several times slower than later ones (compiling the engine's paths and the ops,
 * growing the heaps): sync took 44 ms for 4,000 empty tasks at first and 5 ms after a dozen
 * gets; tiny-tasks quick on threads×2 in the bench took 90, 64, 85, 47, 32, 32 ms and then
 * 16-25 ms. The calibration, `advise --verify` and the bench all warm up the same way: runs
 * repeated until a time budget has passed, within a minimum and a maximum count, so a long
 * graph is run once and a short one until its times settle.
 */

/** How many warm-up runs: at least `min`, then on until `seconds` have passed since the first began, at most `max`. */
export interface WarmUpLimits {
  min: number;
  max: number;
  seconds: number;
  /** Aborted: no further run starts. */
  interrupt?: AbortSignal;
}

/** Run `run` as `limits` allow, one at a time; returns how many runs were made. */
export async function repeatRuns(run: () => Promise<unknown>, limits: WarmUpLimits): Promise<number> {
  const until = performance.now() + limits.seconds * 1000;
  let n = 0;
  for (; n < limits.max && (n < limits.min || performance.now() < until); n++) {
    if (limits.interrupt?.aborted) break;
    await run();
  }
  return n;
}
