/**
 * The pool processes of a bench run (harness/runner/bench.ts), by index in the plan.
 *
 * Normally every pool is started at the beginning, one per core at a time, and stays alive for
 * the whole run. With `maxLivePools` below the number of pools, at most that many are alive:
 * `bring` closes the least recently used pool (preferably one whose cell in the current race is
 * decided, after the runner has kept what that cell measured) to start the one needed next.
 * A pool whose process could not load the workloads keeps the reason, so its cells fail with it.
 */
import { poolLabel } from '../../common/cells.js';
import { InterruptedError } from '../measure/cell.js';
import { applyBatch } from './dashboard-relay.js';
import type { BenchPlan } from './plan.js';
import { PoolClient } from './pool-client.js';
import type { DashboardState } from '../../schedulers/dashboard/state.js';

/** What the pools tell the run: notes, and `--dashboard` events. */
export interface PoolEvents {
  note(message: string): void;
  dashboard?: DashboardState;
}

/** Run `task` over `items`, at most `limit` at a time; results in order. */
export async function inBatches<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

/**
 * The run's pool processes. Normally all are alive for the whole run; with `maxLivePools`
 * below the number of pools, at most that many are, the least recently used one (preferably
 * one whose cell in the current race is decided) closed to make room for the next.
 */
export class LivePools {
  /** Live clients by pool index, least recently used first. */
  private readonly live = new Map<number, PoolClient>();
  /** Why a pool's process could not run at all, by pool index (unset: it started or never ran). */
  private readonly startErrors = new Map<number, string>();
  readonly max: number;

  constructor(
    private readonly plan: BenchPlan,
    private readonly events: PoolEvents,
    private readonly cores: number,
  ) {
    this.max = Math.max(1, Math.min(plan.maxLivePools ?? Infinity, plan.pools.length));
  }

  isLive(pool: number): boolean {
    return this.live.has(pool);
  }

  /** The live client of a pool (every request goes to a pool brought in first). */
  client(pool: number): PoolClient {
    const client = this.live.get(pool);
    if (!client) throw new Error(`${poolLabel(this.plan.pools[pool]!.pool)} is not alive (a runner bug: it must be brought in first)`);
    return client;
  }

  startError(pool: number): string | undefined {
    return this.startErrors.get(pool);
  }

  /** Start the first pools (all of them unless capped), one per core at a time. */
  async startFirst(): Promise<void> {
    const first = this.plan.pools.slice(0, this.max).map((_, i) => i);
    await inBatches(first, this.cores, (pool) => this.start(pool));
  }

  /** The pool's client, started (after closing others to make room) if it is not alive. */
  async bring(pool: number, evict: (pool: number) => Promise<void>, decided: (pool: number) => boolean): Promise<PoolClient> {
    const client = this.live.get(pool);
    if (client) {
      this.live.delete(pool); // re-insert: most recently used
      this.live.set(pool, client);
      return client;
    }
    while (this.live.size >= this.max) {
      const candidates = [...this.live.keys()];
      const victim = candidates.find(decided) ?? candidates[0]!;
      await evict(victim);
      const gone = this.live.get(victim)!;
      this.live.delete(victim);
      await gone.close();
    }
    await this.start(pool);
    return this.live.get(pool)!;
  }

  private async start(pool: number): Promise<void> {
    const { plan, events } = this;
    const board = events.dashboard;
    const client = new PoolClient(plan.pools[pool]!.pool, {
      note: (message) => events.note(message),
      ...(board ? { dashboard: (batch) => applyBatch(board, batch) } : {}),
    });
    this.live.set(pool, client);
    const job = {
      pool: client.pool,
      settings: plan.settings,
      workloadOptions: plan.workloadOptions,
      ...(plan.workloadFile ? { workloadFile: plan.workloadFile } : {}),
      ...(board ? { dashboard: true } : {}),
    };
    // A process that cannot load the workloads fails its cells at prepare, with the reason.
    try {
      await client.start(job);
      this.startErrors.delete(pool);
    } catch (err) {
      if (!(err instanceof InterruptedError)) this.startErrors.set(pool, `${poolLabel(client.pool)} could not run: ${(err as Error).message}`);
    }
  }

  interruptAll(): void {
    for (const client of this.live.values()) client.interrupt();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.live.values()].map((c) => c.close()));
    this.live.clear();
  }
}

