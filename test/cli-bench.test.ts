// `schedlab bench` end to end: the real binary on tiny cells of a user workload file.
import { execFileSync } from 'node:child_process';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResultsFile } from '../dist/results/io.js';
import { FIXTURES, runCli } from './cli-helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'schedlab-cli-bench-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TINY = ['--budget', '0.2', '--max-samples', '5'];

/** The checkout's commit, or null when the tests do not run in a git checkout. */
function headCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: new URL('..', import.meta.url), encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

describe('schedlab bench', () => {
  it('measures every cell, verifies, writes a complete results file and the report, with plain progress lines', async () => {
    const out = join(dir, 'ok');
    const run = await runCli([
      'bench',
      '--workload-file', join(FIXTURES, 'sum-squares.workload.mjs'),
      '--schedulers', 'sync,threads,processes',
      '--workers', '2',
      '--out-dir', out,
      ...TINY,
    ]);
    expect(run.code, run.stderr).toBe(0);

    // Not a TTY: one plain line per cell, no carriage returns or escape codes.
    expect(run.stderr).not.toMatch(/[\r\x1b]/);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('['));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\[1\/3\] sum-squares\/quick on sync: ok: median .+ \(\d+ samples?\) \| elapsed \d+s, ETA \d+s$/);
    expect(lines[1]).toMatch(/^\[2\/3\] sum-squares\/quick on threads×2: ok/);
    expect(lines[2]).toMatch(/^\[3\/3\] sum-squares\/quick on processes×2: ok/);

    // Summary table, then the paths.
    expect(run.stdout).toMatch(/│ sum-squares │ quick │ \S+/);
    const resultsPath = /^results: (.+\.json)$/m.exec(run.stdout)?.[1];
    const reportPath = /^report: (.+\.html)$/m.exec(run.stdout)?.[1];
    expect(resultsPath).toBeDefined();
    expect(reportPath).toBeDefined();
    await access(reportPath!);

    const results = await readResultsFile(resultsPath!);
    expect(results.status).toBe('complete');
    expect(results.finishedAt).not.toBeNull();
    expect(results.plannedCells).toBe(3);
    expect(results.runId).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/);
    expect(results.environment.command).toContain('bench');
    expect(results.environment.cores).toBe(os.cpus().length);
    expect(results.environment.packages.tinybench).toMatch(/^6\./);
    expect(results.environment.gitCommit).toBe(headCommit());
    expect(results.cells.map((c) => [c.scheduler, c.workers, c.status, c.verified])).toEqual([
      ['sync', 1, 'ok', true],
      ['threads', 2, 'ok', true],
      ['processes', 2, 'ok', true],
    ]);
    // The three cells raced: each took at least the minimum of 3 samples (unless it was far
    // slower than the leader after its first), exactly one led, and the reference probe ran at
    // the start, in the race and at the end.
    expect(results.settings).toEqual({ budgetSeconds: 0.2, minSamples: 3, maxSamples: 5, runTimeoutSeconds: 120 });
    expect(results.cells.filter((c) => c.raceEnd === 'leader')).toHaveLength(1);
    expect(results.reference!.points.map((p) => p.group)).toEqual(expect.arrayContaining([null, 'sum-squares/quick']));
    expect(results.reference!.points.length).toBeGreaterThanOrEqual(3);
    for (const cell of results.cells) {
      expect(cell.params).toEqual({ n: 20000, chunks: 8 });
      expect(cell.samples.length).toBeGreaterThanOrEqual(cell.raceEnd === 'far-slower' ? 1 : 3);
      expect(cell.samples.length).toBeLessThanOrEqual(5);
      expect(['leader', 'slower', 'far-slower', 'within-noise', 'off-pair', 'budget']).toContain(cell.raceEnd);
      if (process.platform === 'linux') {
        // The sample windows (run + verify + IPC) cover the timed runs.
        expect(cell.noise!.windowSeconds).toBeGreaterThanOrEqual(cell.samples.reduce((a, b) => a + b, 0));
        expect(cell.noise!.outsideCpuSeconds).toBeGreaterThanOrEqual(0);
      }
      expect(cell.stats!.min).toBeLessThanOrEqual(cell.stats!.median);
      expect(cell.speedup).toBeGreaterThan(0);
      expect(cell.efficiency).toBeCloseTo(cell.speedup! / cell.workers);
      expect(cell.tasks).toBe(9); // 8 chunks + 1 sum
      expect(cell.perTaskOverheadUs).not.toBeNull();
      expect(cell.peakMemoryBytes).toBeGreaterThan(10e6);
      expect(cell.cpuSeconds).toBeGreaterThan(0);
      expect(cell.taskStream!.totalTasks).toBe(9);
      expect(cell.taskStream!.spans.map((s) => s.key).sort()).toEqual([...Array.from({ length: 8 }, (_, i) => `part-${i}`), 'total'].sort());
    }
    const [sync, threads, processes] = results.cells;
    expect(sync!.speedup).toBe(1);
    expect(threads!.startupSeconds).toBeGreaterThan(0);
    expect(processes!.startupSeconds).toBeGreaterThan(0);
    // Values cross a boundary for threads and processes, not for sync.
    expect(threads!.bytes.fromWorkers).toBeGreaterThan(0);
    expect(processes!.bytes.toWorkers).toBeGreaterThan(0);
    // Worker processes are part of the measured tree: more memory than the main process alone.
    expect(processes!.peakMemoryBytes).toBeGreaterThan(sync!.peakMemoryBytes);
  });

  it('with --max-live-pools below the pools, alternates rounds between groups of pools and still measures every cell', async () => {
    const out = join(dir, 'alternating');
    const run = await runCli([
      'bench', '--workload-file', join(FIXTURES, 'sum-squares.workload.mjs'), '--size', 'quick,small',
      '--schedulers', 'sync,threads,processes', '--workers', '2', '--max-live-pools', '2', '--out-dir', out, '--no-report', ...TINY,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const results = await readResultsFile(join(out, (await readdir(out)).find((f) => f.endsWith('.json'))!));
    expect(results.status).toBe('complete');
    expect(results.cells.map((c) => `${c.size} ${c.scheduler} ${c.status}`)).toEqual([
      'quick sync ok', 'quick threads ok', 'quick processes ok', 'small sync ok', 'small threads ok', 'small processes ok',
    ]);
    for (const cell of results.cells) {
      // Cells resumed in a fresh process after a swap keep every sample taken before it.
      expect(cell.samples.length).toBeGreaterThanOrEqual(cell.raceEnd === 'far-slower' ? 1 : 3);
      expect(cell.stats!.median).toBeGreaterThan(0);
      expect(cell.tasks).toBe(cell.size === 'quick' ? 9 : 17); // chunks + 1 sum
    }
    // No pool process died in the swaps.
    expect(run.stderr).not.toMatch(/died/);
  });

  it('reports a wrong answer as unverified, never as a time, and exits 3 when no cell verified', async () => {
    const out = join(dir, 'wrong');
    const run = await runCli(['bench', '--workload-file', join(FIXTURES, 'wrong-answer.workload.mjs'), '--schedulers', 'sync', '--out-dir', out, '--no-report', ...TINY]);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/^schedlab: no cell verified; exit code 3$/m);
    expect(run.stderr).toMatch(/\[1\/1\] wrong-answer\/quick on sync: UNVERIFIED: wrong-answer: wrong answer: expected/);
    expect(run.stdout).toMatch(/none verified/);
    expect(run.stdout).not.toMatch(/^report:/m);
    const [cell] = (await readResultsFile(join(out, (await readdir(out))[0]!))).cells;
    expect(cell).toMatchObject({ status: 'unverified', verified: false, samples: [], stats: null, speedup: null });
    expect(cell!.error!.code).toBe('VERIFY_FAILED');
  });

  it('records failures with their reason and goes on: build error, task error, run timeout (then restarts the pool); exits 3', async () => {
    const out = join(dir, 'failures');
    const failing = await runCli(['bench', '--workload-file', join(FIXTURES, 'failing.workload.mjs'), '--size', 'quick,small',
      '--schedulers', 'threads', '--workers', '1', '--out-dir', out, '--no-report', ...TINY]);
    expect(failing.code, failing.stderr).toBe(3);
    expect(failing.stderr).toMatch(/^schedlab: no cell verified; exit code 3$/m);
    expect(failing.stderr).toMatch(/\[1\/2\] failing\/quick on threads×1: FAILED: could not build failing\/quick: input data missing/);
    expect(failing.stderr).toMatch(/\[2\/2\] failing\/small on threads×1: FAILED: task "boom" .* kaboom/);
    expect(failing.stderr).not.toMatch(/restarting/); // a failed task leaves the pool usable
    expect(failing.stdout).toMatch(/Cells without a verified time:\n {2}failing\/quick on threads×1: failed: could not build/);

    const slow = await runCli(['bench', '--workload-file', join(FIXTURES, 'sleepy.workload.mjs'), '--size', 'small,quick',
      '--schedulers', 'threads', '--workers', '1', '--out-dir', out, '--no-report', '--run-timeout', '0.5', ...TINY]);
    expect(slow.code, slow.stderr).toBe(3); // one cell of two failed
    expect(slow.stderr).toMatch(/^schedlab: 1 of 2 cells failed or did not verify; exit code 3$/m);
    expect(slow.stderr).toMatch(/\[1\/2\] sleepy\/small on threads×1: FAILED: one run took longer than 0.5 s and was abandoned/);
    expect(slow.stderr).toMatch(/restarting threads×1/);
    expect(slow.stderr).toMatch(/\[2\/2\] sleepy\/quick on threads×1: ok/);
  });

  it('a crash (SIGKILL) mid-run leaves a valid results file marked partial with the finished cells', async () => {
    const out = join(dir, 'crashed');
    let killed = false;
    const run = await runCli(
      ['bench', '--workload-file', join(FIXTURES, 'sleepy.workload.mjs'), '--size', 'quick,small', '--schedulers', 'sync',
        '--out-dir', out, '--no-report', ...TINY],
      {
        onStderr: (soFar, child) => {
          if (!killed && soFar.includes('[1/2]')) {
            killed = true;
            child.kill('SIGKILL');
          }
        },
      },
    );
    expect(run.signal).toBe('SIGKILL');
    const files = (await readdir(out)).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const results = await readResultsFile(join(out, files[0]!));
    expect(results).toMatchObject({ status: 'partial', finishedAt: null, plannedCells: 2 });
    expect(results.cells.map((c) => `${c.size} ${c.status}`)).toEqual(['quick ok']);
  });

  it('on Ctrl-C stops the workers, keeps the finished cells in a partial results file and exits 130', async () => {
    const out = join(dir, 'interrupted');
    let sentAt = 0;
    let pid = 0;
    const run = await runCli(
      // Cell 1 (size quick) is instant; cell 2 (size small) runs 40 s per sample: Ctrl-C lands in it.
      ['bench', '--workload-file', join(FIXTURES, 'sleepy.workload.mjs'), '--size', 'quick,small', '--schedulers', 'processes',
        '--workers', '1', '--out-dir', out, '--no-report', ...TINY],
      {
        detached: true,
        onStderr: (soFar, child) => {
          if (!sentAt && soFar.includes('[1/2]')) {
            sentAt = Date.now();
            pid = child.pid!;
            // As a terminal does: SIGINT to the whole process group, worker processes included.
            setTimeout(() => process.kill(-pid, 'SIGINT'), 500);
          }
        },
      },
    );
    expect(sentAt).toBeGreaterThan(0);
    expect(run.code, run.stderr).toBe(130);
    // The running sample was abandoned, not waited for (a sample alone takes 40 s; the bound leaves room for a loaded machine).
    expect(Date.now() - sentAt).toBeLessThan(20_000);
    // No process of the run's group is left (the worker processes are gone).
    expect(() => process.kill(-pid, 0)).toThrow(/ESRCH/);
    expect(run.stderr).toMatch(/interrupted: stopping workers/);
    expect(run.stdout).toMatch(/results: .+ \(partial run\)/);
    const files = (await readdir(out)).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const results = await readResultsFile(join(out, files[0]!));
    expect(results.status).toBe('partial');
    expect(results.finishedAt).not.toBeNull();
    expect(results.plannedCells).toBe(2);
    expect(results.cells.map((c) => `${c.size} ${c.status}`)).toEqual(['quick ok']);
  });
});
