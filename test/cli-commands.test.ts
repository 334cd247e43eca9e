// `schedlab` commands other than a full bench: bad input (exit 2, one line, nothing written),
// --help, list, report, and the scheduler/worker wiring.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
    ['zero live pools', ['--workload-file', sumSquares, '--max-live-pools', '0'], /--max-live-pools: "0" is not a positive integer/],
    ['unknown option', ['--frobnicate'], /unknown option '--frobnicate'/],
    // A real process, not vitest: vite would transform the .ts itself. The error crosses from Node's
    // loader thread as an object with no prototype; its text is the TypeScript diagnostic.
    ['TypeScript syntax error in the workload file', ['--workload-file', join(FIXTURES, '../bad-workloads/syntax-error.ts')],
      /syntax-error\.ts failed to load: \S*syntax-error\.ts\(2,77\): error TS1005: ',' expected\./],
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

  it('a workload file outside any project that has schedlab installed: says to install it there', async () => {
    const file = join(dir, 'outside.workload.mjs');
    await writeFile(file, "import { opRef } from 'schedlab';\nexport default {};\n");
    const run = await runCli(['bench', '--workload-file', file, '--dry-run']);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/Cannot find package 'schedlab' .*; a workload file imports schedlab from its own project: run `npm install <schedlab checkout or tarball>` there/);
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

describe('one error format and exit code on every command', () => {
  // [command line, exit code, message]: every error is one line "schedlab: ..." on stderr,
  // commander's own included; bad input exits 2, a failure of the run itself exits 1.
  const cases: Array<[string[], number, RegExp]> = [
    [['frobnicate'], 2, /unknown command 'frobnicate' \(see `schedlab --help`\)/],
    [['bench', '--frobnicate'], 2, /unknown option '--frobnicate' \(see `schedlab bench --help`\)/],
    [['bench', '--schedulers', 'fast'], 2, /--schedulers: unknown name "fast"/],
    [['list', 'extra'], 2, /too many arguments for 'list'/],
    [['report'], 2, /missing required argument 'results' \(see `schedlab report --help`\)/],
    [['report', 'x.json', '--format', 'pdf'], 2, /option '--format <format>' argument 'pdf' is invalid/],
    [['scheduler', '--port', 'x'], 2, /--port: "x" is not a whole number/],
    [['worker'], 2, /missing required argument 'address' \(see `schedlab worker --help`\)/],
    [['worker', 'nonsense'], 2, /<address>: "nonsense" is not host:port/],
    [['worker', '127.0.0.1:99999'], 2, /<address>: "127\.0\.0\.1:99999" is not host:port with a port 1\.\.65535/],
    [['worker', '127.0.0.1:1', '--reconnect-timeout', '0'], 1, /gave up on the scheduler at 127\.0\.0\.1:1 .*could not open the connection to the scheduler at 127\.0\.0\.1:1: .*ECONNREFUSED 127\.0\.0\.1:1\)?\s*$/],
  ];
  for (const [args, code, message] of cases) {
    it(`schedlab ${args.join(' ')}`, async () => {
      const run = await runCli(args, { cwd: dir, timeoutMs: 20_000 });
      expect(run.code, run.stderr).toBe(code);
      expect(run.stderr.trimEnd().split('\n'), run.stderr).toEqual([expect.stringMatching(/^schedlab: \S/)]);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    });
  }

  it('--help lists the exit codes', async () => {
    const run = await runCli(['--help']);
    expect(run.stdout).toMatch(/^Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*bad input.*\n {2}3 .*failed or did not verify/m);
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
      expect.stringMatching(/^preset quick: 6 cells in 3 pools; the cells of each workload and size race for 8 s of samples \(3 per cell, then up to 20 each for the pair the verdict rests on\)/),
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

    const json = await runCli(['list', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const listed = JSON.parse(json.stdout) as { workloads: Array<{ name: string; sizes: Record<string, unknown> }>; schedulers: string[]; presets: Array<{ name: string; default: boolean }> };
    expect(listed.workloads.map((w) => w.name)).toEqual(expect.arrayContaining(['matmul', 'json-files', 'tiny-tasks']));
    expect(Object.keys(listed.workloads[0]!.sizes)).toEqual(['quick', 'small', 'medium', 'large']);
    expect(listed.schedulers.slice(0, 4)).toEqual(['sync', 'threads', 'processes', 'distributed']);
    expect(listed.presets.filter((p) => p.default).map((p) => p.name)).toEqual(['quick']);
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

  it('report says when it replaces a report, prints the changes beyond noise against a baseline, and exports CSV', async () => {
    const results = join(dir, 'fixture-run.json');
    await writeFile(results, await readFile(new URL('./fixtures/results/complete.json', import.meta.url)));
    const baseline = fileURLToPath(new URL('./fixtures/results/baseline.json', import.meta.url));
    const first = await runCli(['report', results]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toMatch(/replaced/);
    const second = await runCli(['report', results, '--baseline', baseline]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`^note: replaced the existing ${results.replace(/\.json$/, '.html').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    const lines = second.stdout.trimEnd().split('\n');
    // The fixture's baseline injects two changes (threads matmul 1.35× slower, processes tiny-tasks
    // 0.7×); the other 23 cells are drawn from the same distributions in both files. At 95 % with
    // no noise floor tree-reduce/small on threads×2 (−1.4 %) was flagged too; at 99 % with the
    // 5 % floor only the two real changes are.
    expect(lines[0]).toMatch(/^against baseline .*baseline\.json: 2 of 25 common cells changed beyond noise$/);
    expect(lines[1]).toBe('  (not corrected for machine drift: the baseline has no reference probe (a results file of schema version 1))');
    expect(lines.slice(2, 4)).toEqual([
      expect.stringMatching(/^ {2}improved: matmul\/quick on threads×2 -32\.2 % in median time \(99 % CI -3\d\.\d % to -2\d\.\d %\)$/),
      expect.stringMatching(/^ {2}regressed: tiny-tasks\/quick on processes×2 \+42\.8 %/),
    ]);
    expect(lines.slice(4, 6)).toEqual(['picks changed in 1 row:', '  tree-reduce/quick: threads×2 (beyond-noise) → sync (within-noise)']);
    expect(lines[6]).toMatch(/^report: .*fixture-run\.html$/);

    const csv = await runCli(['report', results, '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const [header, ...rows] = csv.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^workload,size,params,scheduler,workers,status,verified,samples,median_s,/);
    const cells = JSON.parse(await readFile(results, 'utf8')).cells as unknown[];
    expect(rows).toHaveLength(cells.length);
    expect(rows[0]).toMatch(/^matmul,quick,n=256;block=64,sync,1,ok,true,7,0\.058461,/);
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
      worker = spawn(process.execPath, [CLI, 'worker', address, '--name', 'w1'], { stdio: ['ignore', 'ignore', 'pipe'] });
      // --name w1 is shown as w1 (it was "w1-w1": the scheduler's counter glued to the name).
      await Promise.all([waitForLine(scheduler, /worker w1 joined/), waitForLine(worker, /registered with \S+ as w1;/)]);
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

