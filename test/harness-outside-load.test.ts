// Crowding: when other processes took enough of the machine that a measurement is taken again
// (the bench's samples, the calibration's runs and catalog profiles).
import { describe, expect, it } from 'vitest';
import { crowded, leastCrowded, poolThreads } from '../dist/harness/measure/outside-load.js';

describe('outside load', () => {
  it('counts a sample as crowded when others took a quarter of a core beyond what its pool leaves idle', () => {
    const use = (cores: number) => ({ outsideCpuSeconds: cores * 2, stealSeconds: 0 }); // over a 2 s window
    const sync = { scheduler: 'sync' as const, workers: 1 };
    const threads2 = { scheduler: 'threads' as const, workers: 2 };
    expect(poolThreads(sync)).toBe(1);
    expect(poolThreads(threads2)).toBe(3);
    // 2 cores: nothing is idle (twice the threads counted as the pool's), so a quarter of a core crowds.
    expect(crowded(use(0.25), 2, 2, sync)).toBe(true);
    expect(crowded(use(0.2), 2, 2, sync)).toBe(false);
    expect(crowded(use(0.25), 2, 2, threads2)).toBe(true);
    // 64 cores: a 2-worker pool leaves 58 idle.
    expect(crowded(use(58), 2, 64, threads2)).toBe(false);
    expect(crowded(use(58.25), 2, 64, threads2)).toBe(true);
    expect(crowded(use(0.25), 2, 64, { scheduler: 'processes', workers: 32 })).toBe(true);
  });

  it('measures again while others crowd the measurement, and keeps the quietest attempt', async () => {
    // A meter whose counters say others kept 2 cores, then 1, then none busy during each 50 ms attempt.
    const scripted = (shares: number[]) => {
      let reads = 0;
      return {
        snapshot: () => {
          const attempt = reads >> 1;
          const end = reads++ % 2 === 1;
          return { busySeconds: end ? shares[attempt]! * 0.05 : 0, stealSeconds: 0, tree: new Map<number, number>() };
        },
      };
    };
    const sync = { scheduler: 'sync' as const, workers: 1 };
    let runs = 0;
    const measure = async () => {
      await new Promise((r) => setTimeout(r, 50));
      return ++runs;
    };
    const kept = await leastCrowded(measure, { meter: scripted([2, 1, 0]) as never, pool: sync, cores: 2, attempts: 3 });
    expect(kept).toEqual({ value: 3, outsideShare: 0 });
    // Crowded every time: three attempts, the least crowded kept.
    runs = 0;
    const least = await leastCrowded(measure, { meter: scripted([2, 1, 1.5]) as never, pool: sync, cores: 2, attempts: 3 });
    expect(least.value).toBe(2);
    expect(least.outsideShare).toBeGreaterThan(0.5);
    // Without /proc nothing is known: measured once.
    runs = 0;
    expect(await leastCrowded(measure, { meter: { snapshot: () => null } as never, pool: sync, cores: 2, attempts: 3 })).toEqual({ value: 1, outsideShare: 0 });
  });
});
