/**
 * "What the Dask guide claims, checked here."
 *
 * Each claim of the seed guide (choosing-schedulers.rst) that means something on Node.js is
 * tested against this run's cells, and the single figure that decides it is shown. The
 * deciding case is the most demanding one the run contains (the cell pair that moved the
 * most data, the workload with the cheapest tasks), so a claim is not confirmed on a case
 * where it could not have failed. A claim with no cells to decide it is "not measured", and
 * so is a data-movement claim whose heaviest case moved less than DECIDING_BYTES (a custom
 * workload that moves 1 kB cannot show a transfer cost either way). The report shows only
 * the claims this run decides (`decidedClaims`) and lists the rest apart, with why.
 * The guide's GIL claim is Python-only; it is checked too, since users coming from Dask
 * expect it, and on this runtime it should fail.
 */
import { compareSamples } from './compare.js';
import { bytesThroughMain, totalBytes, type CellGroup, type UsableCell } from './cells.js';
import { poolLabel } from '../common/cells.js';
import { formatBytes, formatMicros, formatPercent, formatSeconds, formatSpeedup } from '../common/format.js';
import type { Recommendation } from './recommend.js';

/** Data-movement claims need a case that moved at least this much through the main process. */
export const DECIDING_BYTES = 1_000_000;

export type ClaimVerdict = 'confirmed' | 'partly confirmed' | 'not confirmed' | 'not measured';

export interface ClaimCheck {
  id: string;
  /** The guide's words. */
  claim: string;
  verdict: ClaimVerdict;
  /** The figure that decides the verdict (or why nothing could). */
  figure: string;
}

export function checkClaims(groups: readonly CellGroup[], recommendations: readonly Recommendation[]): ClaimCheck[] {
  return [
    threadsShareData(groups),
    processesRoundTrip(groups),
    syncForTinyTasks(groups, recommendations),
    distributedLocality(groups),
    gilLimitsThreads(groups),
    jobQueueAsScheduler(groups),
  ];
}

/** The claims this run holds a case to decide (shown with their verdict), and the others (listed with why not). */
export function decidedClaims(claims: readonly ClaimCheck[]): { decided: ClaimCheck[]; undecided: ClaimCheck[] } {
  return { decided: claims.filter((c) => c.verdict !== 'not measured'), undecided: claims.filter((c) => c.verdict === 'not measured') };
}

/** Why a data-movement claim cannot be decided from `moved` bytes at most, or undefined when it can. */
function tooLittleData(moved: number, what: string): string | undefined {
  if (moved >= DECIDING_BYTES) return undefined;
  return `the most data ${what} was ${formatBytes(moved)}, too little for a transfer cost to show (a deciding case moves ${formatBytes(DECIDING_BYTES)} or more)`;
}

/** Usable cells of two schedulers with the same workload, size and workers. */
function pairs(groups: readonly CellGroup[], a: UsableCell['scheduler'], b: UsableCell['scheduler']): Array<[UsableCell, UsableCell]> {
  const out: Array<[UsableCell, UsableCell]> = [];
  for (const g of groups) {
    for (const x of g.usable.filter((c) => c.scheduler === a)) {
      const y = g.usable.find((c) => c.scheduler === b && c.workers === x.workers);
      if (y) out.push([x, y]);
    }
  }
  return out;
}

function where(cell: UsableCell): string {
  return `${cell.workload}/${cell.size}, ${cell.workers} worker${cell.workers === 1 ? '' : 's'}`;
}

function maxBy<T>(items: readonly T[], score: (t: T) => number): T | undefined {
  return items.reduce<T | undefined>((best, t) => (best === undefined || score(t) > score(best) ? t : best), undefined);
}

function threadsShareData(groups: readonly CellGroup[]): ClaimCheck {
  const claim = 'Threads share data in the same memory space without transfer costs.';
  const withData = pairs(groups, 'threads', 'processes').filter(([, p]) => bytesThroughMain(p) > 0);
  if (withData.length === 0) {
    return { id: 'threads-share', claim, verdict: 'not measured', figure: 'no workload ran on both threads and processes with data to move' };
  }
  const little = tooLittleData(Math.max(...withData.map(([, p]) => bytesThroughMain(p))), 'a workload on both threads and processes moved through the main process');
  if (little) return { id: 'threads-share', claim, verdict: 'not measured', figure: little };
  // On Node.js only SharedArrayBuffer memory is shared between threads; every other value is
  // copied by structured clone. Decide on the heaviest case of each kind the run contains.
  const share = ([t, p]: [UsableCell, UsableCell]): number => totalBytes(t) / totalBytes(p);
  const describe = ([t, p]: [UsableCell, UsableCell]): string =>
    `${where(t)}: threads moved ${formatBytes(totalBytes(t))}, processes ${formatBytes(totalBytes(p))} (${formatPercent(share([t, p]))})`;
  const shared = maxBy(withData.filter((x) => share(x) <= 0.1), ([, p]) => bytesThroughMain(p));
  const copied = maxBy(withData.filter((x) => share(x) > 0.1), ([, p]) => bytesThroughMain(p));
  if (shared && copied) {
    return {
      id: 'threads-share',
      claim,
      verdict: 'partly confirmed',
      figure: `${describe(shared)}; but ${describe(copied)}: only SharedArrayBuffer data is shared, other values are copied by structured clone`,
    };
  }
  return shared
    ? { id: 'threads-share', claim, verdict: 'confirmed', figure: describe(shared) }
    : { id: 'threads-share', claim, verdict: 'not confirmed', figure: `${describe(copied!)}: values outside SharedArrayBuffer are copied by structured clone` };
}

function processesRoundTrip(groups: readonly CellGroup[]): ClaimCheck {
  const claim = 'The multiprocessing scheduler brings intermediate values back to the main process before sending them out again.';
  const cell = maxBy(
    groups.flatMap((g) => g.usable.filter((c) => c.scheduler === 'processes')),
    (c) => c.bytes.fromWorkers,
  );
  if (!cell || cell.bytes.fromWorkers === 0) {
    return { id: 'processes-round-trip', claim, verdict: 'not measured', figure: 'no processes cell returned data' };
  }
  const little = tooLittleData(cell.bytes.fromWorkers, 'a processes cell brought back');
  if (little) return { id: 'processes-round-trip', claim, verdict: 'not measured', figure: little };
  const figure = `${where(cell)}: ${formatBytes(cell.bytes.fromWorkers)} came back to the main process, ${formatBytes(cell.bytes.toWorkers)} went out, ${formatBytes(cell.bytes.betweenWorkers)} between workers`;
  const roundTrip = cell.bytes.betweenWorkers === 0 && cell.bytes.toWorkers > 0;
  return { id: 'processes-round-trip', claim, verdict: roundTrip ? 'confirmed' : 'not confirmed', figure };
}

function syncForTinyTasks(groups: readonly CellGroup[], recommendations: readonly Recommendation[]): ClaimCheck {
  const claim = 'The single-threaded scheduler is the tool for tiny tasks, profiling and debugging (debugging is not timed here).';
  const candidates = groups
    .map((g) => ({ g, sync: g.usable.find((c) => c.scheduler === 'sync') }))
    .filter((x): x is { g: CellGroup; sync: UsableCell } => x.sync !== undefined && x.sync.tasks >= 100 && x.g.usable.some((c) => c.scheduler !== 'sync'));
  const tiniest = candidates.reduce<(typeof candidates)[number] | undefined>(
    (best, x) => (!best || x.sync.stats.median / x.sync.tasks < best.sync.stats.median / best.sync.tasks ? x : best),
    undefined,
  );
  if (!tiniest) {
    return { id: 'sync-tiny-tasks', claim, verdict: 'not measured', figure: 'no workload with 100+ tasks ran on sync and a parallel scheduler' };
  }
  const { g, sync } = tiniest;
  const parallel = g.usable.filter((c) => c.scheduler !== 'sync').reduce((best, c) => (c.stats.median < best.stats.median ? c : best));
  const row = recommendations.find((r) => r.workload === g.workload && r.sizes.includes(g.size));
  const perTask = formatMicros((sync.stats.median / sync.tasks) * 1e6);
  const verdict = compareSamples(sync.samples, parallel.samples).verdict;
  const noise = verdict === 'noise' ? ' (within noise)' : verdict === 'untested' ? ' (too few samples to test)' : '';
  const figure = `${g.workload}/${g.size} (${sync.tasks} tasks, ${perTask} each on sync): sync ${formatSeconds(sync.stats.median)} vs best parallel ${poolLabel(parallel)} ${formatSeconds(parallel.stats.median)}${noise}`;
  return { id: 'sync-tiny-tasks', claim, verdict: row?.pick?.scheduler === 'sync' ? 'confirmed' : 'not confirmed', figure };
}

function distributedLocality(groups: readonly CellGroup[]): ClaimCheck {
  const claim = 'The distributed scheduler tracks where data lives and avoids costly interprocess communication for complex graphs.';
  const pair = maxBy(pairs(groups, 'distributed', 'processes'), ([, p]) => bytesThroughMain(p));
  if (!pair || bytesThroughMain(pair[1]) === 0) {
    return { id: 'distributed-locality', claim, verdict: 'not measured', figure: 'no workload with data to move ran on both distributed and processes' };
  }
  const little = tooLittleData(bytesThroughMain(pair[1]), 'a workload on both distributed and processes moved through the main process');
  if (little) return { id: 'distributed-locality', claim, verdict: 'not measured', figure: little };
  const [d, p] = pair;
  const figure = `${where(d)}: distributed moved ${formatBytes(bytesThroughMain(d))} through the client and ${formatBytes(d.bytes.betweenWorkers)} worker to worker; processes moved ${formatBytes(bytesThroughMain(p))} through the main process; time ${formatSeconds(d.stats.median)} vs ${formatSeconds(p.stats.median)}`;
  return { id: 'distributed-locality', claim, verdict: bytesThroughMain(d) < 0.5 * bytesThroughMain(p) ? 'confirmed' : 'not confirmed', figure };
}

function gilLimitsThreads(groups: readonly CellGroup[]): ClaimCheck {
  const claim = 'Pure-language code like JSON parsing does not parallelise under threads (a Python GIL limit; Node has no GIL).';
  const json = groups.filter((g) => /json/i.test(g.workload));
  const best = maxBy(
    json.flatMap((g) => {
      const sync = g.usable.find((c) => c.scheduler === 'sync' && c.workers === 1);
      return sync ? g.usable.filter((c) => c.scheduler === 'threads' && c.workers > 1).map((t) => ({ t, sync })) : [];
    }),
    ({ t, sync }) => sync.stats.median / t.stats.median,
  );
  if (!best) {
    return { id: 'gil-threads', claim, verdict: 'not measured', figure: 'no JSON workload ran on sync and on threads with 2+ workers' };
  }
  const { t, sync } = best;
  const speedup = sync.stats.median / t.stats.median;
  const faster = compareSamples(sync.samples, t.samples).verdict === 'faster';
  const figure = `${where(t)}: threads ${formatSpeedup(speedup)} against sync`;
  if (faster) return { id: 'gil-threads', claim, verdict: 'not confirmed', figure };
  if (!groups.some(scaledBeyondNoise)) {
    return {
      id: 'gil-threads',
      claim,
      verdict: 'not measured',
      figure: `${figure}, but no cell with 2+ workers beat sync in this run, so a runtime limit cannot be told from a busy machine`,
    };
  }
  // Threads not beating sync shows a threads limit (what the GIL is) only if processes, with
  // the same workers on the same workload, did beat threads beyond noise; otherwise the run
  // cannot tell a runtime limit from a busy machine or a workload too small to split.
  const procs = groups
    .find((g) => g.workload === t.workload && g.size === t.size)
    ?.usable.find((c) => c.scheduler === 'processes' && c.workers === t.workers);
  if (!procs || compareSamples(t.samples, procs.samples).verdict !== 'faster') {
    const versus = procs ? `, and ${poolLabel(procs)} (${formatSpeedup(sync.stats.median / procs.stats.median)}) did not beat threads beyond noise` : ', and processes did not run it';
    return { id: 'gil-threads', claim, verdict: 'not measured', figure: `${figure}${versus}: this run cannot tell a threads limit from noise` };
  }
  return { id: 'gil-threads', claim, verdict: 'confirmed', figure: `${figure}, ${poolLabel(procs)} ${formatSpeedup(sync.stats.median / procs.stats.median)}` };
}

/** Microseconds per task: the measured overhead when there is one, else the median over the tasks. */
function perTaskMicros(cell: UsableCell): number {
  return cell.perTaskOverheadUs ?? (cell.stats.median / Math.max(cell.tasks, 1)) * 1e6;
}

/**
 * Not from the Dask guide but from what Node teams do: run the work on the job queue they
 * already have. Decided on the pair (same workload, size, workers) that moved the most data
 * on distributed, and on the pair with the most tasks; "about what it costs" = within 1.5x.
 */
function jobQueueAsScheduler(groups: readonly CellGroup[]): ClaimCheck {
  const id = 'job-queue';
  const claim = "An existing job queue (BullMQ on Redis) runs a graph for about what schedlab's distributed scheduler costs, in data moved and per task.";
  const all = pairs(groups, 'bullmq', 'distributed');
  if (all.length === 0) return { id, claim, verdict: 'not measured', figure: 'no workload ran on both bullmq and distributed' };
  const heavy = maxBy(all, ([, d]) => totalBytes(d))!;
  const undecidable = tooLittleData(Math.max(totalBytes(heavy[0]), totalBytes(heavy[1])), 'a workload moved on bullmq or distributed');
  if (undecidable) return { id, claim, verdict: 'not measured', figure: undecidable };
  const many = maxBy(all, ([b]) => b.tasks)!;
  const bytesRatio = totalBytes(heavy[0]) / Math.max(totalBytes(heavy[1]), 1);
  const taskRatio = perTaskMicros(many[0]) / Math.max(perTaskMicros(many[1]), 1e-3);
  const data = `${where(heavy[0])}: BullMQ moved ${formatBytes(totalBytes(heavy[0]))} through Redis (every value written by one worker and read by the next), distributed ${formatBytes(totalBytes(heavy[1]))} (${formatBytes(heavy[1].bytes.betweenWorkers)} worker to worker), time ${formatSeconds(heavy[0].stats.median)} vs ${formatSeconds(heavy[1].stats.median)}`;
  const cost = `${where(many[0])} (${many[0].tasks} tasks): ${formatMicros(perTaskMicros(many[0]))} per task on bullmq vs ${formatMicros(perTaskMicros(many[1]))} on distributed`;
  const close = [bytesRatio <= 1.5, taskRatio <= 1.5].filter(Boolean).length;
  const verdict: ClaimVerdict = close === 2 ? 'confirmed' : close === 1 ? 'partly confirmed' : 'not confirmed';
  return { id, claim, verdict, figure: `${data}; ${cost}` };
}

/** Some cell with 2+ workers beat sync of its group beyond noise: parallelism showed in this run. */
function scaledBeyondNoise(group: CellGroup): boolean {
  const sync = group.usable.find((c) => c.scheduler === 'sync' && c.workers === 1);
  return sync !== undefined && group.usable.some((c) => c.workers > 1 && compareSamples(sync.samples, c.samples).verdict === 'faster');
}
