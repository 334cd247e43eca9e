// The warm-up rule the calibration, `advise --verify` and the bench share (harness/measure/warm-up.ts).
import { describe, expect, it } from 'vitest';
import { repeatRuns } from '../dist/harness/measure/warm-up.js';

describe('warm-up runs', { timeout: 10_000 }, () => {
  const counter = () => {
    let n = 0;
    return { run: async () => void n++, count: () => n };
  };

  it('makes the minimum once the time is up, and at most the maximum while it is not', async () => {
    const a = counter();
    expect(await repeatRuns(a.run, { min: 2, max: 10, seconds: 0 })).toBe(2);
    expect(a.count()).toBe(2);
    const b = counter();
    expect(await repeatRuns(b.run, { min: 1, max: 4, seconds: 60 })).toBe(4);
    expect(b.count()).toBe(4);
    const c = counter();
    expect(await repeatRuns(c.run, { min: 0, max: 9, seconds: -1 })).toBe(0);
  });

  it('starts no run once interrupted, and lets a failing run throw', async () => {
    const stop = new AbortController();
    let n = 0;
    const made = await repeatRuns(
      async () => {
        if (++n === 3) stop.abort();
      },
      { min: 10, max: 10, seconds: 60, interrupt: stop.signal },
    );
    expect(made).toBe(3);
    await expect(repeatRuns(async () => Promise.reject(new Error('task failed')), { min: 1, max: 5, seconds: 60 })).rejects.toThrow('task failed');
  });
});
