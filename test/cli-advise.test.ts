// `schedlab calibrate` (a tiny calibration: sync only, no catalog) and `schedlab advise`:
// the --json schema, and a calibration file from another environment refused or flagged.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseCalibration } from '../dist/model/calibration.js';
import { runCli } from './cli-helpers.js';

const WORKLOAD = fileURLToPath(new URL('./fixtures/ts-workload/workload.ts', import.meta.url));

const adviceSchema = z.object({
  workload: z.literal('ts-fixture'),
  size: z.literal('quick'),
  recommended: z.object({ scheduler: z.string(), workers: z.number().int().positive() }),
  predictions: z
    .array(
      z.object({
        scheduler: z.string(),
        workers: z.number().int().positive(),
        seconds: z.number().positive(),
        low: z.number().nonnegative(),
        high: z.number().positive(),
        speedup: z.number().nullable(),
        startupSeconds: z.number().nonnegative(),
      }),
    )
    .min(1),
  profile: z.object({ tasks: z.literal(7), criticalPathSeconds: z.number().nonnegative(), maxWidth: z.number(), bytesPerTask: z.number(), dominantKind: z.string() }).passthrough(),
  calibration: z.string(),
  calibratedNow: z.boolean(),
  why: z.array(z.string()).min(1),
  warnings: z.array(z.string()),
});

let dir: string;
let calibrationFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'schedlab-advise-'));
  const run = await runCli(['calibrate', '--schedulers', 'sync', '--no-catalog', '--out-dir', dir], { timeoutMs: 170_000 });
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).toMatch(/\[1\/1\] sync: \d+ runs/); // progress shown
  expect(run.stdout).toMatch(/METG/);
  const files = (await readdir(dir)).filter((f) => /^calibration-[0-9a-f]{8}\.json$/.test(f));
  expect(files).toHaveLength(1);
  calibrationFile = join(dir, files[0]!);
}, 180_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('schedlab calibrate', () => {
  it('writes a versioned calibration file with the environment, and reuses it while the environment matches', async () => {
    const calibration = parseCalibration(JSON.parse(await readFile(calibrationFile, 'utf8')), calibrationFile);
    expect(calibration.pools.map((p) => `${p.scheduler}×${p.workers}`)).toEqual(['sync×1']);
    expect(calibration.pools[0]!.dataPath).toBe('inline');
    expect(calibration.fingerprint.hostname).toBe(os.hostname());
    const again = await runCli(['calibrate', '--schedulers', 'sync', '--no-catalog', '--out-dir', dir], { timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/reusing/);
  }, 90_000);

  it('sweeps the simplest pool last (this process warm by then) and writes the pools in the usual order', async () => {
    const other = await mkdtemp(join(os.tmpdir(), 'schedlab-calibrate-order-'));
    try {
      const run = await runCli(['calibrate', '--schedulers', 'sync,threads', '--workers', '1', '--no-catalog', '--out-dir', other], { timeoutMs: 170_000 });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/\[1\/2\] threads×1: \d+ runs[\s\S]*\[2\/2\] sync: \d+ runs/);
      const [file] = (await readdir(other)).filter((f) => f.startsWith('calibration-'));
      const calibration = parseCalibration(JSON.parse(await readFile(join(other, file!), 'utf8')), file!);
      expect(calibration.pools.map((p) => `${p.scheduler}×${p.workers}`)).toEqual(['sync×1', 'threads×1']);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('schedlab advise', () => {
  it('--json prints the documented document and nothing else on stdout', async () => {
    const run = await runCli(['advise', '--workload-file', WORKLOAD, '--json', '--runs-dir', dir], { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const advice = adviceSchema.parse(JSON.parse(run.stdout));
    expect(advice.recommended).toEqual({ scheduler: 'sync', workers: 1 });
    expect(advice.calibration).toBe(calibrationFile);
    expect(advice.calibratedNow).toBe(false);
    for (const p of advice.predictions) expect(p.low <= p.seconds && p.seconds <= p.high).toBe(true);
  }, 90_000);

  it('refuses a calibration file from another machine, naming what differs; accepts it flagged when asked', async () => {
    const foreign = JSON.parse(await readFile(calibrationFile, 'utf8'));
    foreign.fingerprint.hostname = 'some-other-host';
    foreign.fingerprint.cpuModel = 'Another CPU';
    const file = join(dir, 'foreign.json');
    await writeFile(file, JSON.stringify(foreign));
    const refused = await runCli(['advise', '--workload-file', WORKLOAD, '--calibration', file], { timeoutMs: 60_000 });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/another environment \(hostname some-other-host vs .* here; cpuModel Another CPU vs/);
    expect(refused.stdout).toBe('');
    const flagged = await runCli(['advise', '--workload-file', WORKLOAD, '--calibration', file, '--accept-other-environment', '--json'], { timeoutMs: 60_000 });
    expect(flagged.code, flagged.stderr).toBe(0);
    expect(adviceSchema.parse(JSON.parse(flagged.stdout)).warnings.join(' ')).toMatch(/another environment/);
  }, 90_000);

  it('bad input: no --workload-file, unknown size, not a calibration file', async () => {
    const none = await runCli(['advise'], { timeoutMs: 30_000 });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/advise needs --workload-file/);
    const size = await runCli(['advise', '--workload-file', WORKLOAD, '--size', 'huge'], { timeoutMs: 30_000 });
    expect(size.code).toBe(2);
    expect(size.stderr).toMatch(/--size: unknown size "huge"/);
    const notCal = join(dir, 'not-calibration.json');
    await writeFile(notCal, '{"schemaVersion": 1}');
    const bad = await runCli(['advise', '--workload-file', WORKLOAD, '--calibration', notCal], { timeoutMs: 30_000 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a schedlab calibration file/);
  }, 90_000);
});
