// Progress output: a live rewritten line on a TTY, plain lines otherwise; and the summary table.
import { describe, expect, it } from 'vitest';
import { formatDuration, formatSeconds } from '../dist/common/format.js';
import { cellOutcome, createProgress } from '../dist/harness/cli/progress.js';
import { groupCells } from '../dist/report/cells.js';
import { recommend } from '../dist/report/recommend.js';
import { renderSummary } from '../dist/harness/cli/summary.js';
import { withSpeedups } from '../dist/harness/measure/metrics.js';
import type { Cell } from '../dist/results/schema.js';

function fakeStream(isTTY: boolean, columns = 200) {
  const stream = { isTTY, columns, text: '', write(chunk: string) { stream.text += chunk; return true; }, on() {}, removeListener() {} };
  return stream;
}

function cell(scheduler: Cell['scheduler'], workers: number, median: number | null, error?: string): Cell {
  return {
    workload: 'matmul', size: 'quick', params: {}, scheduler, workers,
    status: median === null ? 'failed' : 'ok',
    ...(error ? { error: { name: 'WorkerLostError', message: error } } : {}),
    verified: median !== null,
    samples: median === null ? [] : [median, median],
    stats: median === null ? null : { median, mean: median, min: median, max: median, sd: 0, rme: 1.25 },
    speedup: null, efficiency: null, tasks: 4, perTaskOverheadUs: null,
    bytes: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 },
    peakMemoryBytes: 0, cpuSeconds: null, startupSeconds: 0, taskStream: null,
  };
}

describe('progress', () => {
  it('writes one plain line per finished cell when not a TTY', () => {
    const stream = fakeStream(false);
    const progress = createProgress(2, stream as unknown as NodeJS.WriteStream);
    progress.raceStarted(0, 2, 'matmul/quick');
    progress.cellFinished(0, 'matmul/quick on sync', cell('sync', 1, 0.25));
    progress.cellFinished(1, 'matmul/quick on processes×2', cell('processes', 2, null, 'worker 1 exited with code 9'));
    progress.stop();
    expect(stream.text.split('\n')).toEqual([
      expect.stringMatching(/^\[1\/2\] matmul\/quick on sync: ok: median 250 ms ±1\.3% \(2 samples\) \| elapsed 0s, ETA 0s$/),
      expect.stringMatching(/^\[2\/2\] matmul\/quick on processes×2: FAILED: worker 1 exited with code 9 \| elapsed 0s, ETA 0s$/),
      '2 of 2 cells in 0s',
      '',
    ]);
  });

  it('redraws one line in place on a TTY (cli-progress), cut to the terminal width, with notes and failures above it', () => {
    const stream = fakeStream(true, 40);
    const progress = createProgress(3, stream as unknown as NodeJS.WriteStream);
    progress.note('schedlab bench: 3 cells');
    progress.raceStarted(0, 2, 'json-files/quick');
    progress.cellFinished(0, 'json-files/quick on threads×2', cell('threads', 2, null, 'lost'));
    progress.raceStarted(2, 1, 'mandelbrot/quick');
    progress.stop();
    // Strip cursor movement and line clearing: what is left is what was drawn, frame by frame.
    const frames = stream.text.split(/\x1b\[\d*G/).map((f) => f.replace(/\x1b\[[\d?]*[A-Za-z]/g, '')).filter(Boolean);
    expect(frames).toEqual([
      'schedlab bench: 3 cells\n',
      'cell 1 of 3 [----------------] racing …',
      '[1/3] json-files/quick on threads×2: FAILED: lost\n',
      'cell 1 of 3 [=====-----------] racing …',
      'cell 3 of 3 [=====-----------] racing …',
      '1 of 3 cells in 0s\n',
    ]);
    for (const frame of frames.filter((f) => f.startsWith('cell '))) expect(frame.length).toBeLessThanOrEqual(39);
  });

  it('formats durations and times', () => {
    expect(formatDuration(65.4)).toBe('1m05s');
    expect(formatDuration(9.6)).toBe('10s');
    expect(formatSeconds(0.000_05)).toBe('50 µs');
    expect(formatSeconds(0.005)).toBe('5 ms');
    expect(formatSeconds(2.5)).toBe('2.5 s');
    expect(cellOutcome(cell('sync', 1, 1))).toBe('ok: median 1 s ±1.3% (2 samples)');
  });
});

describe('summary table', () => {
  it("names the report's pick per workload with its speedup, runner-up, margin and verdict, and lists failures", () => {
    const spread = (c: Cell, xs: number[]): Cell => ({ ...c, samples: xs, stats: { ...c.stats!, median: xs[Math.floor(xs.length / 2)]! } });
    const cells = withSpeedups([
      spread(cell('sync', 1, 0.4), [0.39, 0.4, 0.41]),
      spread(cell('threads', 2, 0.1), [0.099, 0.1, 0.101]),
      cell('processes', 2, null, 'worker lost'),
    ]);
    const text = renderSummary(cells);
    expect(text).toMatch(/│ matmul +│ quick +│ threads×2 +│ 100 ms +│ 4\.00× +│ sync +│ \+300 % slower +│ beyond-noise +│ 3–3 +│ 1 of 3 +│/);
    expect(text).toMatch(/Cells without a verified time:\n {2}matmul\/quick on processes×2: failed: worker lost/);
  });

  it('names the same pick as the report when the fastest median is within noise of a simpler pool', () => {
    const spread = (c: Cell, xs: number[]): Cell => ({ ...c, samples: xs, stats: { ...c.stats!, median: [...xs].sort()[Math.floor(xs.length / 2)]! } });
    const cells = withSpeedups([spread(cell('sync', 1, 0.4), [0.36, 0.4, 0.44, 0.38, 0.42]), spread(cell('threads', 2, 0.39), [0.35, 0.39, 0.43, 0.37, 0.41])]);
    const [row] = recommend(groupCells(cells));
    expect(row!.pick!.scheduler).toBe('sync'); // threads×2 has the faster median
    expect(renderSummary(cells)).toMatch(/│ matmul +│ quick +│ sync +│ 400 ms +│ 1\.00× +│ threads×2 +│ -2\.5 %, within noise +│ within-noise +│ 5–5 +│ 0 of 2 +│/);
  });
});
