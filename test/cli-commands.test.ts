// `schedlab` commands other than a full bench: bad input (exit 2, one line, nothing written),
// --help, list, report, and the scheduler/worker wiring.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, FIXTURES, runCli } from './cli-helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'schedlab-cli-commands-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bad input: one line on stderr, exit code 2, nothing written', () => {
  const sumSquares = join(FIXTURES, 'sum-squares.workload.mjs');
  const cases: Array<[string, string[], RegExp]> = [
    ['unknown workload', ['--workloads', 'matmul,nope'], /--workloads: unknown name "nope"; valid values: .*matmul.*tiny-tasks/],
    ['unknown scheduler', ['--schedulers', 'sync,fast'], /--schedulers: unknown name "fast"; valid values: sync, threads, processes, distributed/],
    ['unknown size', ['--workload-file', sumSquares, '--size', 'huge'], /--size: unknown name "huge"; valid values: quick, small, medium, large/],
    ['zero workers', ['--workload-file', sumSquares, '--workers', '1,0'], /--workers: "0" is not a positive integer/],
    ['non-numeric workers', ['--workload-file', sumSquares, '--workers', 'two'], /--workers: "two" is not a positive integer/],
    ['unknown preset', ['--workload-file', sumSquares, '--preset', 'huge'], /unknown preset "huge"; valid presets: quick, full/],
    ['workload file without the workload shape', ['--workload-file', join(FIXTURES, 'bad-shape.workload.mjs')], /bad-shape\.workload\.mjs/],
    ['missing workload file', ['--workload-file', join(FIXTURES, 'missing.mjs')], /missing\.mjs/],
    ['unreadable --json-dir', ['--workloads', 'json-files', '--json-dir', join(FIXTURES, 'no-such-dir')], /--json-dir .*no-such-dir: cannot read that directory \(ENOENT\)/],
    ['non-numeric budget', ['--workload-file', sumSquares, '--budget', 'soon'], /--budget: "soon" is not a positive number of seconds/],
    ['unknown option', ['--frobnicate'], /unknown option '--frobnicate'/],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const out = join(dir, `bad-${name.replace(/\W+/g, '-')}`);
      const run = await runCli(['bench', ...args, '--out-dir', out]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trimEnd().split('\n'), run.stderr).toHaveLength(1);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
      await expect(readdir(out)).rejects.toThrow(/ENOENT/); // not even the directory
    });
  }

  it('unwritable output directory', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const run = await runCli(['bench', '--workload-file', sumSquares, '--out-dir', join(file, 'results')]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^schedlab: --out-dir .*a-file\/results: cannot write results there \(ENOTDIR\)/);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('report of a missing or foreign file', async () => {
    const missing = await runCli(['report', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.json: cannot read: no such file/);
    const foreign = join(dir, 'foreign.json');
    await writeFile(foreign, '{"a": 1}');
    const bad = await runCli(['report', foreign]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/foreign\.json: not a schedlab results file/);
  });
});

describe('commands', () => {
  it('every command has --help', async () => {
    for (const command of ['bench', 'list', 'report', 'scheduler', 'worker']) {
      const run = await runCli([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: schedlab ${command}`));
    }
  });

  it('bench --dry-run prints the matrix and writes nothing', async () => {
    const out = join(dir, 'dry');
    const run = await runCli(['bench', '--dry-run', '--workload-file', join(FIXTURES, 'sum-squares.workload.mjs'),
      '--schedulers', 'sync,threads', '--workers', '1,2', '--size', 'quick,small', '--out-dir', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      expect.stringMatching(/^preset quick: 6 cells in 3 pools; 2 s of samples per cell \(3 to 40 samples\)/),
      '  sync: sum-squares/quick, sum-squares/small',
      '  threads×1: sum-squares/quick, sum-squares/small',
      '  threads×2: sum-squares/quick, sum-squares/small',
      '',
    ]);
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  });

  it('list prints the catalog with sizes, the schedulers and the presets', async () => {
    const run = await runCli(['list']);
    expect(run.code, run.stderr).toBe(0);
    for (const name of ['matmul', 'json-files', 'tiny-tasks']) expect(run.stdout).toMatch(new RegExp(`^  ${name}$`, 'm'));
    expect(run.stdout).toMatch(/^ {4}quick: \{/m);
    expect(run.stdout).toMatch(/Schedulers \(--schedulers\): sync, threads, processes, distributed/);
    expect(run.stdout).toMatch(/quick \(default\): every workload at size "quick"/);
  });

  it('report renders a bench results file as Markdown and as HTML', async () => {
    const out = join(dir, 'for-report');
    const bench = await runCli(['bench', '--workload-file', join(FIXTURES, 'sum-squares.workload.mjs'), '--schedulers', 'sync',
      '--out-dir', out, '--no-report', '--budget', '0.1', '--max-samples', '3']);
    expect(bench.code, bench.stderr).toBe(0);
    const results = /^results: (.+)$/m.exec(bench.stdout)![1]!;
    const md = await runCli(['report', results, '--format', 'md']);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toMatch(/sum-squares/);
    const html = join(out, 'custom.html');
    const rendered = await runCli(['report', results, '-o', html]);
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(rendered.stdout.trim()).toBe(`report: ${html}`);
    expect(await readdir(out)).toContain('custom.html');
  });

  it('bench writes to runs/ by default, and a results/ path of an earlier version still finds the run', async () => {
    const cwd = join(dir, 'project');
    await mkdir(cwd);
    const bench = await runCli(['bench', '--workload-file', join(FIXTURES, 'sum-squares.workload.mjs'), '--schedulers', 'sync',
      '--no-report', '--budget', '0.1', '--max-samples', '3'], { cwd });
    expect(bench.code, bench.stderr).toBe(0);
    const results = /^results: (.+)$/m.exec(bench.stdout)![1]!;
    expect(results).toMatch(new RegExp(`^${cwd}/runs/[^/]+\\.json$`));
    const legacy = join('results', basename(results));
    const md = await runCli(['report', legacy, '--format', 'md'], { cwd });
    expect(md.code, md.stderr).toBe(0);
    expect(md.stderr).toContain(`note: ${legacy} is not there; reading ${join('runs', basename(results))}`);
    expect(md.stdout).toMatch(/sum-squares/);
  });

  it('scheduler and worker start, connect, and stop on Ctrl-C', async () => {
    const scheduler = spawn(process.execPath, [CLI, 'scheduler', '--port', '0', '--dashboard-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let worker: ReturnType<typeof spawn> | undefined;
    try {
      const address = await waitForLine(scheduler, /listening on (\S+)/);
      worker = spawn(process.execPath, [CLI, 'worker', address, '--name', 'cli-test'], { stdio: ['ignore', 'ignore', 'pipe'] });
      await Promise.all([waitForLine(scheduler, /worker .*joined/), waitForLine(worker, /registered with/)]);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the worker installs its signal handlers once registered
      worker.kill('SIGINT');
      expect(await exitCode(worker)).toBe(0);
      scheduler.kill('SIGINT');
      expect(await exitCode(scheduler)).toBe(0);
    } finally {
      worker?.kill('SIGKILL');
      scheduler.kill('SIGKILL');
    }
  });
});

function waitForLine(child: ReturnType<typeof spawn>, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in 20 s:\n${text}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      const match = pattern.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] ?? match[0]);
      }
    });
  });
}

function exitCode(child: ReturnType<typeof spawn>): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

