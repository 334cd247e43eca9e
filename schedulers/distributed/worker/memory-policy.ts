/**
 * A distributed worker's memory decisions under its memory limit, as Dask's worker memory
 * manager, pure: plain figures in (the limit, RSS, the values held and the executor threads'
 * live copies of them), a decision out. `worker.ts` reads the figures and carries it out
 * (spilling with `value-store.ts`, telling the threads what to drop, pausing, collecting);
 * the nanny asks `overTerminate`.
 *
 *   managed memory = bytes of the values the store holds in memory + bytes of the live copies
 *                    the executor threads keep (a thread keeps each input it was sent, and its
 *                    own results, for later tasks)
 *   above 60 % of the limit (target)  values go to disk, least recently used first (with their
 *                                     threads' copies), until managed memory is at the target
 *   above 70 % of the limit in RSS    (the guard: unmanaged memory is high) down to 30 %, and
 *                                     threads drop their copies of values already on disk
 *   above 80 % (pause)                the worker starts no new task until it is below again
 *   above 95 % in RSS (terminate)     the nanny restarts the worker (nanny.ts)
 *
 * The thresholds are on managed bytes, not RSS: RSS lags (GC) and includes what no spill can
 * free, so deciding on it alone spills everything at the first spike and reads it all back.
 * RSS guards: it lowers the spill target, and when it is far above managed memory (values
 * dropped, not collected yet) the worker collects garbage, at most every 50 ms.
 *
 * Reading back. A spilled value is read back only when a task that needs it is sent to a
 * thread (or a peer fetches it), and is not put back in the store. Past half the target
 * ("pressure") a thread is sent only a couple of tasks at a time, with a budget for the stored
 * inputs sent along, so values come back from disk as the thread gets to the tasks that need
 * them rather than all at once; a thread with nothing to do always gets its next task.
 */

export const MEMORY_TARGET = 0.6;
export const MEMORY_GUARD_RSS = 0.7;
export const MEMORY_GUARD_TARGET = 0.3;
export const MEMORY_PAUSE = 0.8;
export const MEMORY_TERMINATE = 0.95;
/** Managed memory past this share of the limit: tasks go to threads a couple at a time. */
export const MEMORY_PRESSURE = MEMORY_TARGET / 2;
export const MAX_SENT_UNDER_PRESSURE = 2;
/** Stored input bytes sent to one thread and not answered yet, as a share of the limit, under pressure. */
export const READ_BACK_BUDGET = 0.05;
/** Garbage collections on demand at most this often. */
export const COLLECT_EVERY_MS = 50;

/** A value some executor threads keep live copies of. */
export interface ThreadCopy {
  id: string;
  /** Its size (0 if the store no longer holds it). */
  bytes: number;
  /** How many threads keep a copy. */
  copies: number;
  /** The store has it on disk only. */
  spilled: boolean;
}

/** What the worker holds, for a spill decision. */
export interface MemoryView {
  limit: number;
  rss: number;
  /** Bytes of the values the store holds in memory. */
  storeBytes: number;
  copies: readonly ThreadCopy[];
  /** The store's values in memory as [id, bytes], least recently used first: read only as far as a spill needs. */
  leastRecentlyUsed: Iterable<readonly [string, number]>;
}

/** Managed bytes: the values in the store's memory and every thread's copy. */
export function managedBytes(view: Pick<MemoryView, 'storeBytes' | 'copies'>): number {
  let bytes = view.storeBytes;
  for (const copy of view.copies) bytes += copy.bytes * copy.copies;
  return bytes;
}

/** The spill target in bytes: 60 % of the limit, or 30 % while RSS is past the 70 % guard. */
export function spillGoal(limit: number, rss: number): number {
  return (rss > MEMORY_GUARD_RSS * limit ? MEMORY_GUARD_TARGET : MEMORY_TARGET) * limit;
}

/**
 * The ids to spill (and whose threads' copies to drop), in order, to bring managed memory to
 * the goal: least recently used values in memory first (each frees its bytes and its threads'
 * copies), then threads' copies of values already on disk. Empty at or below the goal.
 */
export function spillPlan(view: MemoryView): string[] {
  const goal = spillGoal(view.limit, view.rss);
  let managed = managedBytes(view);
  const victims: string[] = [];
  if (managed <= goal) return victims;
  const copies = new Map(view.copies.map((copy) => [copy.id, copy.copies]));
  for (const [id, bytes] of view.leastRecentlyUsed) {
    if (managed <= goal) return victims;
    victims.push(id);
    managed -= bytes * (1 + (copies.get(id) ?? 0));
  }
  for (const copy of view.copies) {
    if (managed <= goal) return victims;
    if (!copy.spilled) continue;
    victims.push(copy.id);
    managed -= copy.bytes * copy.copies;
  }
  return victims;
}

/** After spilling: the worker's managed bytes and RSS, and how long since it last collected garbage. */
export interface MemoryStatus {
  limit: number;
  managed: number;
  rss: number;
  msSinceCollect: number;
}

export interface MemoryDecision {
  /** Start no new task (past 80 % of the limit in managed memory). */
  pause: boolean;
  /** Collect garbage now, here and in the threads (RSS far above managed memory). */
  collect: boolean;
}

export function memoryDecision(status: MemoryStatus): MemoryDecision {
  const { limit, managed, rss } = status;
  return {
    pause: managed > MEMORY_PAUSE * limit,
    collect: rss > managed + MEMORY_GUARD_TARGET * limit && status.msSinceCollect > COLLECT_EVERY_MS,
  };
}

/** One thread's tasks sent and not answered yet, and the stored input bytes sent with them. */
export interface ThreadLoad {
  sent: number;
  sentBytes: number;
}

/**
 * May the next queued task (whose stored inputs weigh `cost` bytes, read back from disk if
 * spilled) go to a thread with `load`, given managed memory now (`managed`, counting what was
 * sent since the last check)? No while paused; under pressure only within the read-back budget.
 */
export function maySend(limit: number | undefined, managed: number, paused: boolean, load: ThreadLoad, cost: number): boolean {
  if (paused) return false;
  if (limit === undefined || managed <= MEMORY_PRESSURE * limit || load.sent === 0) return true;
  return load.sent < MAX_SENT_UNDER_PRESSURE && load.sentBytes + cost <= READ_BACK_BUDGET * limit;
}

/** Bytes stored since the last check after which memory is checked again (values arrived). */
export function checkDue(storedSinceCheck: number, limit: number): boolean {
  return storedSinceCheck > Math.min(limit / 100, 4 << 20);
}

/** Past 95 % of the limit in RSS: the nanny restarts the worker. */
export function overTerminate(rss: number, limit: number): boolean {
  return rss > MEMORY_TERMINATE * limit;
}
