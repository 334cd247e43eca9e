// Results files: schema round-trip, clear errors on bad files, and atomic writes that
// survive a SIGKILL in the middle of writing.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResultsFile, writeResultsFileAtomic } from '../dist/results/io.js';
import { RESULTS_SCHEMA_VERSION, type ResultsFile } from '../dist/results/schema.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'schedlab-io-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sampleResults(): ResultsFile {
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId: '2026-11-27T14-00-00-000Z',
    startedAt: '2026-11-27T14:00:00.000Z',
    finishedAt: '2026-11-27T14:03:00.000Z',
    status: 'complete',
    preset: 'quick',
    plannedCells: 2,
    environment: {
      cpuModel: 'Test CPU',
      cores: 2,
      availableParallelism: 2,
      totalMemoryBytes: 8e9,
      os: { platform: 'linux', release: '6.1', arch: 'x64' },
      node: '20.20.2',
      v8: '11.3',
      packages: { schedlab: '0.1.0', tinybench: '6.2.5' },
      gitCommit: null,
      hostname: 'box',
      command: ['node', 'schedlab', 'bench'],
    },
    cells: [
      {
        workload: 'sum-squares',
        size: 'quick',
        params: { n: 100, chunks: 4, exact: true, label: 'x' },
        scheduler: 'threads',
        workers: 2,
        status: 'ok',
        verified: true,
        samples: [0.01, 0.012, 0.011],
        stats: { median: 0.011, mean: 0.011, min: 0.01, max: 0.012, sd: 0.001, rme: 8.1 },
        speedup: 1.8,
        efficiency: 0.9,
        tasks: 5,
        perTaskOverheadUs: 120.5,
        bytes: { toWorkers: 100, fromWorkers: 40, betweenWorkers: 0 },
        peakMemoryBytes: 123456789,
        cpuSeconds: 0.02,
        startupSeconds: 0.05,
        taskStream: { totalTasks: 5, truncated: false, spans: [{ key: 'part-0', worker: 't1', start: 0.001, end: 0.004 }] },
        raceEnd: 'leader',
        noise: { windowSeconds: 0.04, outsideCpuSeconds: 0.01, stealSeconds: 0 },
      },
      {
        workload: 'sum-squares',
        size: 'quick',
        params: { n: 100, chunks: 4, exact: true, label: 'x' },
        scheduler: 'distributed',
        workers: 2,
        status: 'failed',
        error: { name: 'ConnectionError', message: 'could not start distributed×2: no cluster', code: 'CONNECTION' },
        verified: false,
        samples: [],
        stats: null,
        speedup: null,
        efficiency: null,
        tasks: 0,
        perTaskOverheadUs: null,
        bytes: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 },
        peakMemoryBytes: 0,
        cpuSeconds: null,
        startupSeconds: 0,
        taskStream: null,
        raceEnd: 'failed',
        noise: null,
      },
    ],
    settings: { budgetSeconds: 8, minSamples: 3, maxSamples: 20, runTimeoutSeconds: 120 },
    reference: { name: 'probe-1', points: [{ group: null, median: 0.0005, samples: 80 }] },
  };
}

describe('results file round-trip', () => {
  it('reads back exactly what was written', async () => {
    const path = join(dir, 'round-trip.json');
    const data = sampleResults();
    await writeResultsFileAtomic(path, data);
    expect(await readResultsFile(path)).toEqual(data);
  });

  it('reads a version-1 file (before racing): the fields version 2 added are null', async () => {
    const path = join(dir, 'version-1.json');
    const { settings: _s, reference: _r, ...v1 } = sampleResults();
    const old = { ...v1, schemaVersion: 1, cells: v1.cells.map(({ raceEnd: _e, noise: _n, ...c }) => c) };
    await writeFile(path, JSON.stringify(old));
    const read = await readResultsFile(path);
    expect(read.schemaVersion).toBe(1);
    expect(read.settings).toBeNull();
    expect(read.reference).toBeNull();
    expect(read.cells.map((c) => [c.raceEnd, c.noise])).toEqual([[null, null], [null, null]]);
    // No temp file left behind.
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to write data the reader would reject, leaving the old file', async () => {
    const path = join(dir, 'refuse.json');
    await writeResultsFileAtomic(path, sampleResults());
    const bad = { ...sampleResults(), cells: [{ ...sampleResults().cells[0]!, workers: 0 }] };
    await expect(writeResultsFileAtomic(path, bad)).rejects.toThrow(/cells\.0\.workers/);
    expect((await readResultsFile(path)).cells[0]!.workers).toBe(2);
  });

  it('names the file and the problem for missing, truncated, foreign and future files', async () => {
    await expect(readResultsFile(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: cannot read: no such file/);

    const full = JSON.stringify(sampleResults());
    await writeFile(join(dir, 'cut.json'), full.slice(0, full.length / 2));
    await expect(readResultsFile(join(dir, 'cut.json'))).rejects.toThrow(/cut\.json: not valid JSON/);

    await writeFile(join(dir, 'foreign.json'), '{"hello": 1}');
    await expect(readResultsFile(join(dir, 'foreign.json'))).rejects.toThrow(/not a schedlab results file/);

    await writeFile(join(dir, 'future.json'), JSON.stringify({ ...sampleResults(), schemaVersion: RESULTS_SCHEMA_VERSION + 1 }));
    await expect(readResultsFile(join(dir, 'future.json'))).rejects.toThrow(/newer than this schedlab understands/);
  });
});

describe('atomic write', () => {
  it('keeps the previous complete file when the writer is SIGKILLed mid-write', async () => {
    const ioUrl = new URL('../dist/results/io.js', import.meta.url).href;
    const script = new URL('./fixtures/harness/write-loop.mjs', import.meta.url);
    let killedMidWrite = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      const sub = await mkdtemp(join(dir, 'kill-'));
      const target = join(sub, 'run.json');
      const child = spawn(process.execPath, [script.pathname, ioUrl, target, '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      try {
        // Wait until a first generation is on disk, then kill while the next one's temp file is being written.
        const deadline = Date.now() + 30_000;
        while (!out.includes('wrote 0') && Date.now() < deadline) await sleep(5);
        expect(out).toContain('wrote 0');
        await sleep(attempt * 37); // vary where in the write the kill lands
        while (Date.now() < deadline) {
          if ((await readdir(sub)).some((f) => f.endsWith('.tmp'))) break;
          await sleep(1);
        }
        child.kill('SIGKILL');
        await exited;
      } finally {
        child.kill('SIGKILL');
      }
      const leftovers = (await readdir(sub)).filter((f) => f.endsWith('.tmp'));
      if (leftovers.length > 0) killedMidWrite++;
      const written = [...out.matchAll(/wrote (\d+)/g)].map((m) => Number(m[1]));
      const last = Math.max(...written);
      const results = await readResultsFile(target); // throws on a truncated or invalid file
      // The file is the last completed generation (or the next, if the kill fell between rename and print).
      expect([`generation-${last}`, `generation-${last + 1}`]).toContain(results.runId);
      expect(JSON.parse(await readFile(target, 'utf8')).cells.length).toBe(results.plannedCells);
    }
    // At least one kill really interrupted a write (its temp file was left half-written).
    expect(killedMidWrite).toBeGreaterThan(0);
  }, 60_000);
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

