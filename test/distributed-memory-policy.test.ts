// A distributed worker's memory decisions (worker/memory-policy.ts), pure: figures in, decision
// out, no worker, no gRPC. Limit 1000 bytes throughout, so the thresholds read as bytes.
import { describe, expect, it } from 'vitest';
import {
  checkDue,
  managedBytes,
  maySend,
  memoryDecision,
  overTerminate,
  spillGoal,
  spillPlan,
  type MemoryView,
  type ThreadCopy,
} from '../dist/schedulers/distributed/worker/memory-policy.js';

const limit = 1000;
/** A view of values in memory (least recently used first, [id, bytes]) and the threads' copies. */
function view(inMemory: Array<[string, number]>, copies: ThreadCopy[] = [], rss = 0): MemoryView {
  return { limit, rss, storeBytes: inMemory.reduce((sum, [, bytes]) => sum + bytes, 0), copies, leastRecentlyUsed: inMemory };
}
const copy = (id: string, bytes: number, copies = 1, spilled = false): ThreadCopy => ({ id, bytes, copies, spilled });

describe('managed memory', () => {
  it("counts the store's bytes in memory and every thread's copy", () => {
    expect(managedBytes(view([['a', 100], ['b', 50]], [copy('a', 100, 2), copy('c', 30, 1, true)]))).toBe(100 + 50 + 200 + 30);
    expect(managedBytes(view([]))).toBe(0);
  });
});

describe('spilling', () => {
  it('spills nothing at or below 60 % of the limit', () => {
    expect(spillPlan(view([['a', 300], ['b', 300]]))).toEqual([]);
  });

  it('spills least recently used values first, only down to 60 %', () => {
    expect(spillPlan(view([['old', 200], ['mid', 200], ['new', 300]]))).toEqual(['old']);
    expect(spillPlan(view([['old', 200], ['mid', 200], ['new', 500]]))).toEqual(['old', 'mid']);
  });

  it("counts a value's thread copies as freed with it", () => {
    // 700 managed: spilling `old` frees its 100 and its thread's 100 -> 500.
    expect(spillPlan(view([['old', 100], ['new', 500]], [copy('old', 100)]))).toEqual(['old']);
  });

  it("drops threads' copies of values already on disk once the memory ones are spilled", () => {
    const plan = spillPlan(view([['a', 300]], [copy('in-use', 200, 1, false), copy('disk', 300, 1, true), copy('more', 100, 1, true)]));
    // 300 + 200 + 300 + 100 = 900: spilling `a` reaches the goal (600), no copy is dropped.
    expect(plan).toEqual(['a']);
    // 100 + 200 + 300 + 200 = 800: `a`, then the copy of a value on disk (not the one of a value in memory).
    expect(spillPlan(view([['a', 100]], [copy('in-memory-elsewhere', 200), copy('disk', 300, 1, true), copy('more', 200, 1, true)]))).toEqual(['a', 'disk']);
  });

  it('spills down to 30 % while RSS is past the 70 % guard (unmanaged memory is high)', () => {
    expect(spillGoal(limit, 700)).toBe(600);
    expect(spillGoal(limit, 701)).toBe(300);
    const values: Array<[string, number]> = [['a', 100], ['b', 100], ['c', 100], ['d', 100], ['e', 100]];
    expect(spillPlan(view(values, [], 600))).toEqual([]);
    expect(spillPlan(view(values, [], 800))).toEqual(['a', 'b']);
  });

  it('reads the least recently used values only as far as it spills', () => {
    const read: string[] = [];
    function* lru(): Generator<[string, number]> {
      for (const id of ['a', 'b', 'c', 'd']) {
        read.push(id);
        yield [id, 250];
      }
    }
    expect(spillPlan({ limit, rss: 0, storeBytes: 1000, copies: [], leastRecentlyUsed: lru() })).toEqual(['a', 'b']);
    expect(read).toEqual(['a', 'b', 'c']);
  });
});

describe('pausing and collecting', () => {
  it('pauses past 80 % of the limit in managed memory, whatever RSS says', () => {
    expect(memoryDecision({ limit, managed: 800, rss: 900, msSinceCollect: 0 }).pause).toBe(false);
    expect(memoryDecision({ limit, managed: 801, rss: 801, msSinceCollect: 0 }).pause).toBe(true);
  });

  it('collects garbage when RSS is 30 % of the limit above managed memory, at most every 50 ms', () => {
    expect(memoryDecision({ limit, managed: 100, rss: 400, msSinceCollect: 1000 }).collect).toBe(false);
    expect(memoryDecision({ limit, managed: 100, rss: 401, msSinceCollect: 1000 }).collect).toBe(true);
    expect(memoryDecision({ limit, managed: 100, rss: 900, msSinceCollect: 20 }).collect).toBe(false);
  });
});

describe('sending tasks to a thread (reading back)', () => {
  it('sends freely below half the target, and nothing while paused', () => {
    expect(maySend(limit, 300, false, { sent: 10, sentBytes: 500 }, 400)).toBe(true);
    expect(maySend(undefined, 1e12, false, { sent: 10, sentBytes: 500 }, 400)).toBe(true);
    expect(maySend(limit, 0, true, { sent: 0, sentBytes: 0 }, 0)).toBe(false);
  });

  it('under pressure sends a couple of tasks at a time within a read-back budget of 5 % of the limit, and always one to an idle thread', () => {
    expect(maySend(limit, 301, false, { sent: 1, sentBytes: 20 }, 30)).toBe(true);
    expect(maySend(limit, 301, false, { sent: 1, sentBytes: 20 }, 31)).toBe(false);
    expect(maySend(limit, 301, false, { sent: 2, sentBytes: 0 }, 0)).toBe(false);
    expect(maySend(limit, 301, false, { sent: 0, sentBytes: 0 }, 900)).toBe(true);
  });
});

describe('when to look and when to restart', () => {
  it('checks again after 1 % of the limit (at most 4 MiB) was stored, and the nanny restarts past 95 % in RSS', () => {
    expect(checkDue(10, limit)).toBe(false);
    expect(checkDue(11, limit)).toBe(true);
    expect(checkDue(4 << 20, 2 ** 40)).toBe(false);
    expect(checkDue((4 << 20) + 1, 2 ** 40)).toBe(true);
    expect(overTerminate(950, limit)).toBe(false);
    expect(overTerminate(951, limit)).toBe(true);
  });
});
