/**
 * How large the local engine's next batch grows: pure arithmetic over what was measured so
 * far (no clock, no pool), so every rule below is unit-tested on its own.
 *
 * What it learns, from each finished batch:
 * - the mean time of a task of each op (the op's own time where the task ran plus its share
 *   of the runner's time between tasks), as a moving average per op: a batch mixing 40 µs
 *   leaves with 1 µs sums is costed per task, not by one blended mean. Means are learnt
 *   afresh by each run: an op's time depends on its arguments (`busy(ms)`), and a mean
 *   carried over from cheap calls would pack a whole graph of slow ones into one batch that
 *   no abort or event can interrupt;
 * - for pools, the round trip of a batch: what a submission costs beyond its tasks' time
 *   (encoding, the message both ways, decoding, main reading the answer), as the turnaround
 *   seen on main minus the span the tasks took where they ran. A batch submitted while every
 *   worker already had one may have waited behind it, so its sample is only an upper bound.
 *
 * The rule for pools: a batch takes ready units, highest priority first, until their
 * estimated time covers `ROUND_TRIPS` round trips (below that the pool spends more time
 * passing batches than running them, and main's per-batch work dominates: the floor), but
 * never more than `TARGET_BATCH_MS` (on an oversubscribed machine a round trip includes the
 * wait for a core and was measured at 3-12 ms: a floor that follows it made 40 µs tasks go
 * out in a few coarse batches and a starved thread held up the end of the run); above
 * the floor it grows toward `TARGET_BATCH_MS` only while it holds less than a
 * `1 / (slots * BALANCE_PIECES)` share of the ready units (Python's Pool.map chunk rule:
 * task times are uneven, and a mean learnt from cheap tasks must not turn into a static
 * split of the whole graph between the workers). The floor wins over balance: splitting
 * work that does not cover a round trip only adds round trips (it was the shrinking batches
 * of a draining ready set: ~60 batches for 1,500 tasks of 1 µs).
 * Inline (sync) batches have no round trip: they aim at `INLINE_BATCH_MS`, to amortise the
 * engine's per-submission work while keeping values consumed inside a batch short-lived.
 *
 * Before anything was measured a batch holds one unit. The round trip (a property of the
 * pool, not of the ops) is kept for the life of the scheduler (`SizerMemory`).
 */

/** Batches should cover this many measured round trips of the pool. */
export const ROUND_TRIPS = 2;
/** Above the floor, batches grow toward this duration (amortises the per-submission cost further). */
export const TARGET_BATCH_MS = 4;
/** Inline batches aim at this duration. */
export const INLINE_BATCH_MS = 0.25;
/** Above the floor, each worker's share of the ready units is cut into at least this many batches. */
export const BALANCE_PIECES = 4;
/** Round trip assumed until one was measured (a postMessage both ways with a small batch). */
export const DEFAULT_ROUND_TRIP_MS = 0.1;
/** Weight of a new sample in the moving averages. */
const NEW_SAMPLE_WEIGHT = 0.3;

/** What an executor's sizing depends on. */
export interface SizerPolicy {
  /** Workers (batches running at once). */
  slots: number;
  /** Upper bound on the tasks of one batch. */
  maxBatchTasks: number;
  /** True when batches run on the calling thread (no round trip). */
  inline: boolean;
}

/** What a scheduler's sizing remembers between `get`s. */
export class SizerMemory {
  /** Measured round trip of a batch, ms. */
  roundTripMs: number | undefined;
}

/** The tasks of the plan, as the sizer needs them (a subset of local/plan.ts's `Plan`). */
export interface SizedPlan {
  /** The plan's distinct ops (only their number matters here). */
  ops: readonly string[];
  /** Entry e's tasks are `taskStart[e] .. taskStart[e + 1] - 1`. */
  taskStart: Int32Array;
  /** Op of each task (index into `ops`). */
  taskOp: Int32Array;
}

/** One batch being formed: `accept` says whether one more ready unit may join. */
export interface BatchBudget {
  accept(entry: number, unitsTaken: number): boolean;
}

/** Sizes the batches of one run, learning into (and starting from) a scheduler's `SizerMemory`. */
export class BatchSizer {
  readonly #policy: SizerPolicy;
  readonly #memory: SizerMemory;
  readonly #plan: SizedPlan;
  /** Mean ms per task of each of the plan's ops (NaN: not measured yet). */
  readonly #opMs: Float64Array;
  /** Mean ms per task over every op (the cost of an op not measured yet, once another was). */
  #meanMs = Number.NaN;
  // Per-batch scratch (one batch forms at a time).
  #floorMs = 0;
  #targetMs = 0;
  #balanceUnits = 0;
  #tasks = 0;
  #ms = 0;
  readonly #budget: BatchBudget = { accept: (e, n) => this.#accept(e, n) };

  constructor(policy: SizerPolicy, memory: SizerMemory, plan: SizedPlan) {
    this.#policy = policy;
    this.#memory = memory;
    this.#plan = plan;
    this.#opMs = new Float64Array(plan.ops.length).fill(Number.NaN);
  }

  /** The round trip the floor is computed from (measured, or the default). */
  get roundTripMs(): number {
    return this.#memory.roundTripMs ?? DEFAULT_ROUND_TRIP_MS;
  }

  /** Estimated ms of entry e's tasks; NaN when one of its ops was never measured and nothing else was either. */
  unitMs(e: number): number {
    const { taskStart, taskOp } = this.#plan;
    let ms = 0;
    for (let t = taskStart[e]!; t < taskStart[e + 1]!; t++) {
      const m = this.#opMs[taskOp[t]!]!;
      ms += Number.isNaN(m) ? this.#meanMs : m;
    }
    return ms;
  }

  /**
   * Start a batch whose first unit is `first`, with `ready` units ready besides it; the
   * returned budget is asked about each further unit, in the order they are taken.
   */
  begin(first: number, ready: number): BatchBudget {
    const p = this.#policy;
    this.#tasks = this.#plan.taskStart[first + 1]! - this.#plan.taskStart[first]!;
    this.#ms = this.unitMs(first);
    if (p.inline) {
      this.#floorMs = 0;
      this.#targetMs = INLINE_BATCH_MS;
      this.#balanceUnits = Number.POSITIVE_INFINITY;
    } else {
      this.#floorMs = Math.min(ROUND_TRIPS * this.roundTripMs, TARGET_BATCH_MS);
      this.#targetMs = TARGET_BATCH_MS;
      this.#balanceUnits = Math.ceil((ready + 1) / (p.slots * BALANCE_PIECES));
    }
    return this.#budget;
  }

  #accept(e: number, taken: number): boolean {
    const p = this.#policy;
    if (p.maxBatchTasks <= 1 || Number.isNaN(this.#ms)) return false;
    const ms = this.unitMs(e);
    if (Number.isNaN(ms)) return false;
    const tasks = this.#plan.taskStart[e + 1]! - this.#plan.taskStart[e]!;
    if (this.#tasks + tasks > p.maxBatchTasks) return false;
    if (this.#ms >= this.#floorMs && (this.#ms >= this.#targetMs || taken >= this.#balanceUnits)) return false;
    this.#tasks += tasks;
    this.#ms += ms;
    return true;
  }

  /**
   * Learn from a batch that ran where per-task times were taken: `times` holds start and end
   * of each task that ran (`[s0, e0, s1, e1, ...]`, ms), `opOf` the op index of each task.
   * The runner's time between tasks is shared out evenly among them.
   */
  learnTimes(opOf: ArrayLike<number>, times: ArrayLike<number>): void {
    const ran = times.length >> 1;
    if (ran === 0) return;
    let own = 0;
    for (let t = 0; t < ran; t++) own += times[2 * t + 1]! - times[2 * t]!;
    const between = Math.max(0, times[2 * ran - 1]! - times[0]! - own) / ran;
    const sums = new Map<number, { ms: number; n: number }>();
    for (let t = 0; t < ran; t++) {
      const o = opOf[t]!;
      const s = sums.get(o);
      const ms = times[2 * t + 1]! - times[2 * t]! + between;
      if (s) {
        s.ms += ms;
        s.n++;
      } else sums.set(o, { ms, n: 1 });
    }
    for (const [o, s] of sums) this.#learnOp(o, s.ms / s.n);
    this.#learnMean((own + between * ran) / ran);
  }

  /** Learn from a batch of `count` tasks timed only as a whole (`ms`, inline runs nobody listens to). */
  learnElapsed(opOf: ArrayLike<number>, count: number, ms: number): void {
    if (count === 0) return;
    const per = ms / count;
    let last = -1;
    for (let t = 0; t < count; t++) {
      const o = opOf[t]!;
      if (o === last) continue;
      last = o;
      this.#learnOp(o, per);
    }
    this.#learnMean(per);
  }

  /**
   * Learn a batch's round trip: `turnaroundMs` from submission to main reading its result,
   * `spanMs` from its first task's start to its last task's end where it ran. `queued`: it
   * was submitted while every worker had a batch, so it may have waited (an upper bound:
   * it can only lower the estimate).
   */
  learnRoundTrip(turnaroundMs: number, spanMs: number, queued: boolean): void {
    const sample = Math.max(0, turnaroundMs - spanMs);
    const m = this.#memory;
    if (m.roundTripMs === undefined) {
      if (!queued) m.roundTripMs = sample;
    } else if (!queued || sample < m.roundTripMs) m.roundTripMs += NEW_SAMPLE_WEIGHT * (sample - m.roundTripMs);
  }

  #learnOp(o: number, ms: number): void {
    const old = this.#opMs[o]!;
    const next = Number.isNaN(old) ? ms : old + NEW_SAMPLE_WEIGHT * (ms - old);
    this.#opMs[o] = next;
  }

  #learnMean(ms: number): void {
    this.#meanMs = Number.isNaN(this.#meanMs) ? ms : this.#meanMs + NEW_SAMPLE_WEIGHT * (ms - this.#meanMs);
  }
}
