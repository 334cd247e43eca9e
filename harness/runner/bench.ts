/**
 * The bench runner: races the cells of each workload and size, and keeps the results file current.
 *
 * Every pool (scheduler × workers) runs in a process of its own (pool-client.ts forks
 * pool-process.ts), and all of them stay alive for the whole run: they are started at the
 * beginning, one per core at a time, and closed at the end, so start-up is paid (and stored)
 * once per pool. With `--max-live-pools` below the number of pools, at most that many are
 * alive: a round serves the live pools' cells first, then closes the least recently used
 * pools (preferably those whose cell is decided) and starts the others, so rounds alternate
 * between groups of pools; a resumed cell is warmed up again in its new process and its parts
 * are merged (measure/metrics.ts `mergeCellParts`). Then, for each (workload, size) in plan order:
 *   1. every pool prepares its cell (builds the workload, warms up), one per core at a time;
 *   2. the cells race (race.ts): this process hands out one sample at a time, interleaved,
 *      to the cells still undecided against the leader, until each is decided or the
 *      workload's budget is spent. Only one sample runs on the machine at any moment, and a
 *      drift of the shared machine hits every competitor alike;
 *   3. around each sample, the CPU that processes outside this run used, and VM steal, are read
 *      from /proc (measure/outside-load.ts) and summed per cell; a sample they crowded is
 *      forgotten and taken again (MAX_RETAKES);
 *   4. the cells are finished and recorded together, in plan order.
 * The reference probe (measure/reference-probe.ts) is timed here at the start, before each
 * race, between rounds (at most once a second) and at the end; its points are stored so a
 * baseline comparison can correct for the machine's drift.
 *
 * The results file is rewritten atomically with `status: 'partial'` after every race, so a
 * crash or Ctrl-C keeps every finished race; the last write says `complete`. A pool whose
 * process dies fails its cell in the current race and every later one, with the reason.
 */
import { access } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { writeResultsFileAtomic } from '../../results/io.js';
import { RESULTS_SCHEMA_VERSION, type Cell, type CellNoise, type ResultsFile } from '../../results/schema.js';
import { InterruptedError, failedCell, type CellIdentity } from '../measure/cell.js';
import { captureEnvironment } from '../measure/environment.js';
import { mergeCellParts, withSpeedups } from '../measure/metrics.js';
import { OutsideLoadMeter, crowded, outsideUseBetween } from '../measure/outside-load.js';
import { PROBE_NAME, measureProbe } from '../measure/reference-probe.js';
import { groupKey, poolLabel, type PoolId } from '../../common/cells.js';
import { cellLabel, countCells, type BenchPlan, type CellSpec } from './plan.js';
import { LivePools, inBatches } from './live-pools.js';
import type { PoolReply, PoolRequest } from './pool-protocol.js';
import { nextStep, recordFailure, recordSample, startRace } from './race.js';
import type { DashboardState } from '../../schedulers/dashboard/state.js';

/** What the runner reports as races start and cells finish (the CLI draws it: cli/progress.ts). */
export interface ProgressReporter {
  /** A race of `count` cells, numbered from `first`, begins. */
  raceStarted(first: number, count: number, label: string): void;
  cellFinished(index: number, label: string, cell: Cell): void;
  /** A message that must stay visible (a pool that could not start...). */
  note(message: string): void;
  /** Clear the live line and say how many cells ran in how long. */
  stop(): void;
}

/**
 * A sample other processes crowded (measure/outside-load.ts `crowded`: a quarter of a core
 * beyond what the pool leaves idle) is forgotten and taken again, at most this many times in
 * a row; the next is kept whatever the load, so a busy machine slows the bench by 3x at most.
 * One such sample decided races: with another job beside it, sync took 261 ms for tiny-tasks
 * (23 ms alone), and `far-slower` stopped it after that one sample.
 */
const MAX_RETAKES = 2;

/** A failed warm-up or sample waits this long for a Ctrl-C that may be on its way (unlessInterrupted). */
const INTERRUPT_GRACE_MS = 250;
/** The reference probe runs between rounds at most this often. */
const PROBE_INTERVAL_MS = 1000;

export interface BenchOutcome {
  path: string;
  results: ResultsFile;
  interrupted: boolean;
}

export interface RunContext {
  progress: ProgressReporter;
  /** Aborted on Ctrl-C: the current race is dropped, the pools closed, what finished is saved. */
  interrupt: AbortSignal;
  argv?: string[];
  /** `--dashboard`: shows the cell being sampled and its pool's events. */
  dashboard?: DashboardState;
}

/** A sortable, file-name-safe id: the start time in UTC, e.g. `2026-11-27T14-03-12-345Z`. */
function newRunId(now: Date): string {
  return now.toISOString().replace(/[:.]/g, '-');
}

/** The run id and results path; a second run started in the same millisecond gets a suffix. */
async function freeRunPath(outDir: string, startedAt: Date): Promise<{ runId: string; path: string }> {
  const base = newRunId(startedAt);
  for (let n = 0; ; n++) {
    const runId = n === 0 ? base : `${base}-${n}`;
    const path = join(outDir, `${runId}.json`);
    try {
      await access(path);
    } catch {
      return { runId, path };
    }
  }
}

/** One (workload, size) and its cells, one per pool, in plan order. */
interface RaceGroup {
  label: string;
  first: number;
  cells: Array<{ spec: CellSpec; pool: number }>;
}

/** The plan's cells grouped by (workload, size), in the order the plan lists them. */
export function raceGroups(plan: Pick<BenchPlan, 'pools'>): RaceGroup[] {
  const groups = new Map<string, RaceGroup>();
  plan.pools.forEach((poolPlan, pool) => {
    for (const spec of poolPlan.cells) {
      const key = groupKey({ workload: spec.workload.name, size: spec.size });
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { label: `${spec.workload.name}/${spec.size}`, first: 0, cells: [] }));
      group.cells.push({ spec, pool });
    }
  });
  let first = 0;
  for (const group of groups.values()) {
    group.first = first;
    first += group.cells.length;
  }
  return [...groups.values()];
}

export async function runBench(plan: BenchPlan, ctx: RunContext): Promise<BenchOutcome> {
  const startedAt = new Date();
  const { runId, path } = await freeRunPath(plan.outDir, startedAt);
  const results: ResultsFile = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: null,
    status: 'partial',
    preset: plan.preset.name,
    plannedCells: countCells(plan.pools),
    environment: await captureEnvironment(ctx.argv),
    cells: [],
    settings: { ...plan.settings },
    reference: { name: PROBE_NAME, points: [] },
  };
  await writeResultsFileAtomic(path, results);
  const probe = async (group: string | null): Promise<void> => {
    results.reference!.points.push({ group, ...(await measureProbe()) });
  };

  const cores = Math.max(1, os.availableParallelism());
  const pools = new LivePools(plan, { note: (message) => ctx.progress.note(message), ...(ctx.dashboard ? { dashboard: ctx.dashboard } : {}) }, cores);
  const onInterrupt = (): void => pools.interruptAll();
  ctx.interrupt.addEventListener('abort', onInterrupt, { once: true });
  try {
    await probe(null);
    await pools.startFirst();
    const runner = new RaceRunner(plan, pools, new OutsideLoadMeter(), ctx, probe, results.plannedCells, cores);
    for (const group of raceGroups(plan)) {
      if (ctx.interrupt.aborted) break;
      const cells = await runner.race(group);
      if (cells === null) break; // interrupted: the race is not a result
      results.cells = withSpeedups([...results.cells, ...cells]);
      await writeResultsFileAtomic(path, results);
      const recorded = results.cells.slice(-cells.length); // with their speedups
      recorded.forEach((cell, i) => ctx.progress.cellFinished(group.first + i, cellLabel(group.cells[i]!.spec), cell));
    }
    if (!ctx.interrupt.aborted) await probe(null);
  } finally {
    ctx.interrupt.removeEventListener('abort', onInterrupt);
    if (ctx.interrupt.aborted) onInterrupt();
    await pools.closeAll();
  }

  const interrupted = ctx.interrupt.aborted;
  results.finishedAt = new Date().toISOString();
  results.status = !interrupted && results.cells.length === results.plannedCells ? 'complete' : 'partial';
  await writeResultsFileAtomic(path, results);
  return { path, results, interrupted };
}

/** Races one (workload, size) after another on the run's pools. */
class RaceRunner {
  private lastSampled: PoolId | null = null;

  constructor(
    private readonly plan: BenchPlan,
    private readonly pools: LivePools,
    private readonly meter: OutsideLoadMeter,
    private readonly ctx: RunContext,
    private readonly probe: (group: string | null) => Promise<void>,
    private readonly plannedCells: number,
    private readonly cores: number,
  ) {}

  /** The race's cells in plan order, or null when interrupted. */
  async race(group: RaceGroup): Promise<Cell[] | null> {
    const { ctx, pools } = this;
    ctx.progress.raceStarted(group.first, group.cells.length, group.label);
    const outcome: Array<Cell | null> = group.cells.map(() => null);
    const noise: Array<CellNoise | null> = group.cells.map(() => null);
    /** Crowded samples taken again: in a row (at most MAX_RETAKES), and in all. */
    const retakes = group.cells.map(() => 0);
    const retaken = group.cells.map(() => 0);
    /** Parts of cells measured in pool processes that were closed since (alternating pools). */
    const parts: Cell[][] = group.cells.map(() => []);
    /** Whether the cell is prepared in its pool's live process. */
    const prepared = group.cells.map(() => false);
    const race = startRace(group.cells.map((c) => c.spec.pool), this.plan.settings);
    const cellOf = (pool: number): number => group.cells.findIndex((c) => c.pool === pool);
    const prepare = async (i: number): Promise<void> => {
      const { spec, pool } = group.cells[i]!;
      this.showOnDashboard(group.first + i, spec); // its warm-up is the first thing the board shows
      const reply = await this.ask(pool, spec, { type: 'prepare', workload: spec.workload.name, size: spec.size });
      if (reply === null) prepared[i] = true;
      else {
        await this.unlessInterrupted();
        outcome[i] = reply as Cell;
        recordFailure(race, i);
      }
    };
    /** Before a pool is closed to make room: keep what its cell measured so far. */
    const evict = async (pool: number): Promise<void> => {
      const i = cellOf(pool);
      if (i < 0 || !prepared[i]) return;
      prepared[i] = false;
      if (race.cells[i]!.samples.length > parts[i]!.reduce((n, p) => n + p.samples.length, 0)) {
        parts[i]!.push((await this.ask(pool, group.cells[i]!.spec, { type: 'finish', raceEnd: 'budget' })) as Cell);
      }
    };
    const decided = (pool: number): boolean => {
      const i = cellOf(pool);
      return i < 0 || race.cells[i]!.end !== null;
    };
    try {
      await inBatches(
        group.cells.flatMap((c, i) => (pools.isLive(c.pool) ? [i] : [])),
        this.cores,
        prepare,
      );
      await this.meter.relist(); // the pools' workers exist now
      await this.probe(group.label);
      const start = performance.now();
      let lastProbe = start;
      let round = race.rounds;
      for (;;) {
        const step = nextStep(race, (performance.now() - start) / 1000, (i) => pools.isLive(group.cells[i]!.pool));
        if (step.kind === 'done') break;
        if (race.rounds !== round) {
          round = race.rounds;
          if (performance.now() - lastProbe >= PROBE_INTERVAL_MS) {
            await this.probe(group.label);
            lastProbe = performance.now();
          }
        }
        const { spec, pool } = group.cells[step.cell]!;
        if (!pools.isLive(pool)) {
          await pools.bring(pool, evict, decided);
          await this.meter.relist();
        }
        if (!prepared[step.cell]) {
          await prepare(step.cell);
          if (!prepared[step.cell]) continue; // it failed: recorded
        }
        this.showOnDashboard(group.first + step.cell, spec);
        const before = this.meter.snapshot();
        const windowStart = performance.now();
        const reply = await this.ask(pool, spec, { type: 'sample' });
        const window = (performance.now() - windowStart) / 1000;
        const after = this.meter.snapshot();
        if (typeof reply === 'number') {
          const use = before && after ? outsideUseBetween(before, after) : null;
          if (use && retakes[step.cell]! < MAX_RETAKES && crowded(use, window, this.cores, spec.pool)) {
            const discarded = await this.ask(pool, spec, { type: 'discard' });
            if (discarded === null) {
              retakes[step.cell]!++;
              retaken[step.cell]!++;
              continue;
            }
            await this.unlessInterrupted();
            outcome[step.cell] = discarded as Cell;
            prepared[step.cell] = false;
            recordFailure(race, step.cell);
            continue;
          }
          retakes[step.cell] = 0;
          recordSample(race, step.cell, reply);
          if (use) noise[step.cell] = addNoise(noise[step.cell], window, use);
          continue;
        }
        await this.unlessInterrupted();
        outcome[step.cell] = reply as Cell;
        prepared[step.cell] = false;
        recordFailure(race, step.cell);
      }
      for (const [i, { spec, pool }] of group.cells.entries()) {
        if (outcome[i]) continue;
        const own = parts[i]!;
        if (prepared[i] && pools.isLive(pool)) own.push((await this.ask(pool, spec, { type: 'finish', raceEnd: 'budget' })) as Cell);
        prepared[i] = false;
        const measuredNoise = noise[i] ?? null;
        outcome[i] = { ...mergeCellParts(own), raceEnd: race.cells[i]!.end ?? 'budget', noise: measuredNoise && retaken[i] ? { ...measuredNoise, retakenSamples: retaken[i]! } : measuredNoise };
      }
      return outcome as Cell[];
    } catch (err) {
      if (err instanceof InterruptedError || ctx.interrupt.aborted) return null;
      throw err;
    }
  }

  /**
   * Before a failed warm-up or sample is recorded: Ctrl-C in a terminal signals the whole
   * process group, so worker processes may die (failing the cell) a moment before our own
   * handler runs. Throws InterruptedError if a Ctrl-C came within the grace: such a cell is
   * not a result.
   */
  private async unlessInterrupted(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, INTERRUPT_GRACE_MS));
    if (this.ctx.interrupt.aborted) throw new InterruptedError();
  }

  /** A request to the cell's pool; a pool that died or could not run answers with the failed cell. */
  private async ask(pool: number, spec: CellSpec, request: PoolRequest): Promise<PoolReply> {
    const startError = this.pools.startError(pool);
    if (startError) return { ...failedCell(identityOf(spec), new Error(startError)), peakMemoryBytes: 0 };
    try {
      return await this.pools.client(pool).request(request);
    } catch (err) {
      if (err instanceof InterruptedError || this.ctx.interrupt.aborted) throw new InterruptedError();
      return { ...failedCell(identityOf(spec), err), peakMemoryBytes: 0 };
    }
  }

  /** `--dashboard`: the cell being sampled; the workers shown are its pool's. */
  private showOnDashboard(index: number, spec: CellSpec): void {
    const board = this.ctx.dashboard;
    if (!board) return;
    if (!this.lastSampled || this.lastSampled.scheduler !== spec.pool.scheduler || this.lastSampled.workers !== spec.pool.workers) {
      board.forgetWorkers();
      this.lastSampled = spec.pool;
    }
    board.title = `bench: cell ${index + 1}/${this.plannedCells}, ${cellLabel(spec)}`;
  }
}

function addNoise(sum: CellNoise | null, windowSeconds: number, use: { outsideCpuSeconds: number; stealSeconds: number }): CellNoise {
  return {
    windowSeconds: (sum?.windowSeconds ?? 0) + windowSeconds,
    outsideCpuSeconds: (sum?.outsideCpuSeconds ?? 0) + use.outsideCpuSeconds,
    stealSeconds: (sum?.stealSeconds ?? 0) + use.stealSeconds,
  };
}

function identityOf(spec: CellSpec): CellIdentity {
  return {
    workload: spec.workload.name,
    size: spec.size,
    params: spec.workload.sizes[spec.size],
    scheduler: spec.pool.scheduler,
    workers: spec.pool.workers,
    startupSeconds: 0,
  };
}

