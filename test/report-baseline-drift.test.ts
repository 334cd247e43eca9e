// Baselines that tell drift from change, on synthetic runs: the machine is 15 % slower in the
// second run (cells and probe alike); an A/A comparison must flag at most 2 of 49 cells, and a
// real 20 % slowdown of one scheduler (14 cells) must still be flagged in at least 12.
import { describe, expect, it } from 'vitest';
import { compareWithBaseline } from '../dist/report/baseline.js';
import { syntheticRun } from './synthetic-runs.js';

const flagged = (b: ReturnType<typeof compareWithBaseline>) => b.changes.filter((c) => c.verdict === 'improved' || c.verdict === 'regressed');

describe('baseline drift correction', () => {
  it('A/A on a machine that drifted 15 %: at most 2 of 49 flagged with the probe, many without', () => {
    for (const seeds of [[1, 2], [3, 4], [5, 6]]) {
      const a = syntheticRun({ seed: seeds[0]! });
      const b = syntheticRun({ seed: seeds[1]!, drift: 1.15 });
      const corrected = compareWithBaseline(b, a, 'a.json');
      expect(corrected.changes).toHaveLength(49);
      expect(corrected.driftCorrected).toBe(true);
      expect(corrected.runDrift!).toBeGreaterThan(1.1);
      expect(flagged(corrected).length, flagged(corrected).map((c) => `${c.key} ${c.change}`).join('\n')).toBeLessThanOrEqual(2);
      // The same runs without their probes: drift reads as change.
      const raw = compareWithBaseline({ ...b, reference: null }, { ...a, reference: null }, 'a.json');
      expect(raw.driftCorrected).toBe(false);
      expect(raw.driftNote).toMatch(/not corrected for machine drift/);
      expect(flagged(raw).length).toBeGreaterThan(20);
    }
  }, 60_000);

  it('A/A on a steady machine flags at most 2 of 49', () => {
    const b = compareWithBaseline(syntheticRun({ seed: 8 }), syntheticRun({ seed: 7 }), 'a.json');
    expect(flagged(b).length).toBeLessThanOrEqual(2);
  }, 60_000);

  it('flags a real 20 % slowdown of threads (14 cells) in at least 12, through the drift', () => {
    for (const seeds of [[11, 12], [13, 14]]) {
      const a = syntheticRun({ seed: seeds[0]! });
      const b = syntheticRun({ seed: seeds[1]!, drift: 1.15, slowdown: { scheduler: 'threads', factor: 1.2 } });
      const changes = compareWithBaseline(b, a, 'a.json').changes;
      const threads = changes.filter((c) => c.current.scheduler === 'threads');
      expect(threads).toHaveLength(14);
      expect(threads.filter((c) => c.verdict === 'regressed').length).toBeGreaterThanOrEqual(12);
      for (const c of threads) expect(c.change).toBeGreaterThan(0.1);
      expect(changes.filter((c) => c.current.scheduler !== 'threads' && c.verdict !== 'within noise').length).toBeLessThanOrEqual(2);
    }
  }, 60_000);
});
