/**
 * The report's job-queue claim (bullmq against distributed): decided on the pair that moved
 * the most data and on the pair with the most tasks, with both figures shown.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkClaims } from '../dist/report/claims.js';
import { groupCells } from '../dist/report/cells.js';
import type { Cell } from '../dist/results/schema.js';

const complete = JSON.parse(readFileSync(new URL('./fixtures/results/complete.json', import.meta.url), 'utf8')) as { cells: Cell[] };

/** The fixture's cells plus a bullmq copy of each distributed cell, its bytes and per-task cost scaled. */
function withBullmq(bytesFactor: number, taskFactor: number): Cell[] {
  const copies = complete.cells
    .filter((c) => c.scheduler === 'distributed')
    .map((c) => ({
      ...c,
      scheduler: 'bullmq' as const,
      perTaskOverheadUs: c.perTaskOverheadUs === null ? null : c.perTaskOverheadUs * taskFactor,
      bytes: { toWorkers: c.bytes.toWorkers * bytesFactor, fromWorkers: c.bytes.fromWorkers * bytesFactor, betweenWorkers: c.bytes.betweenWorkers * bytesFactor },
    }));
  return [...complete.cells, ...copies];
}

function claim(cells: Cell[]) {
  return checkClaims(groupCells(cells), []).find((c) => c.id === 'job-queue')!;
}

describe('claim: an existing job queue (BullMQ on Redis) against distributed', () => {
  it('is not measured without bullmq cells', () => {
    expect(claim(complete.cells).verdict).toBe('not measured');
  });

  it('is not confirmed when BullMQ moves more data and costs more per task, with both deciding figures', () => {
    const c = claim(withBullmq(3, 4));
    expect(c.verdict).toBe('not confirmed');
    expect(c.figure).toMatch(/^matmul\/small, 2 workers: BullMQ moved 39\.4 MB through Redis .* distributed 13\.1 MB/);
    expect(c.figure).toContain('tiny-tasks/quick, 2 workers (5000 tasks): 147 µs per task on bullmq vs 36.7 µs on distributed');
  });

  it('is partly confirmed when only one of the two is within 1.5x, and confirmed when both are', () => {
    expect(claim(withBullmq(1.2, 4)).verdict).toBe('partly confirmed');
    expect(claim(withBullmq(1, 1)).verdict).toBe('confirmed');
  });

  it('is not measured when no pair moved enough data for a transfer cost to show, and says so', () => {
    const c = claim(withBullmq(0.01, 1).map((cell) => (cell.scheduler === 'distributed' ? { ...cell, bytes: { toWorkers: 1000, fromWorkers: 1000, betweenWorkers: 0 } } : cell)));
    expect(c.verdict).toBe('not measured');
    expect(c.figure).toMatch(/too little for a transfer cost to show/);
  });
});
