#!/usr/bin/env node
/**
 * `schedlab`: the command line. Commands: bench, list, report, calibrate, advise, scheduler, worker, bullmq-worker.
 *
 * This file only wires commander to the modules that do the work; each command imports
 * what it needs lazily, so `schedlab report` works even when a scheduler module is
 * broken, and a missing optional part (the report renderer, the distributed scheduler) is
 * one clear line, not a stack trace.
 *
 * Every command fails the same way: one line on stderr, `schedlab: <what was wrong and what
 * to do>`, commander's own errors included, and an exit code from EXIT_CODES (printed by
 * `--help` and listed in the README), so a CI job can tell bad input from failed cells.
 */
import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ResultsFileError } from '../../results/schema.js';
import { SCHEDULER_NAMES } from '../../schedulers/types.js';
import { SIZE_NAMES } from '../../workloads/types.js';
import { UsageError, bullmqUnavailable, resolveBenchPlan, type RawBenchOptions, type WorkloadSource } from './bench-options.js';
import { runBench } from '../runner/bench.js';
import { schedlabVersion } from '../measure/environment.js';
import { countCells, describePlan, PRESETS } from '../runner/plan.js';
import { createProgress } from './progress.js';
import { resolveRunFile, RUNS_DIR } from './run-files.js';
import { renderSummary } from './summary.js';
import type { RawAdviseOptions, RawCalibrateOptions } from './model-commands.js';
import type { ReportModel } from '../../report/index.js';
import { cellName } from '../../common/cells.js';
import { formatChange } from '../../common/format.js';
import { BASELINE_LEVEL, pickChangeText } from '../../report/baseline.js';

const EXIT_UNEXPECTED = 1;
const EXIT_USAGE = 2;
const EXIT_CELLS_FAILED = 3;
/** Set by `schedlab worker` (distributed/commands.ts) when an executor thread crashed. */
const EXIT_WORKER_CRASHED = 70;
const EXIT_INTERRUPTED = 130;

const EXIT_CODES: Array<[number, string]> = [
  [0, 'success (bench: every cell ran and verified its answer)'],
  [EXIT_UNEXPECTED, 'an unexpected error, such as a scheduler that cannot be reached (SCHEDLAB_DEBUG=1 prints the stack)'],
  [EXIT_USAGE, 'bad input: an option, argument or file was wrong; nothing was run or written'],
  [EXIT_CELLS_FAILED, 'bench: some cells failed or did not verify, or none verified (results and report are still written)'],
  [EXIT_WORKER_CRASHED, 'worker: its executor threads kept crashing (its nanny starts it again)'],
  [EXIT_INTERRUPTED, 'interrupted by Ctrl-C (bench: the finished cells are saved and the run is marked partial)'],
];

/** Print one error line, the same for every command. */
function printError(message: string): void {
  console.error(`schedlab: ${message.replace(/\s*\n\s*/g, ' ').trim()}`);
}

function buildProgram(): Command {
  const program = new Command('schedlab')
    .description('Run task graphs on sync, threads, processes or a gRPC cluster, and benchmark which one to pick.')
    .version(schedlabVersion())
    .exitOverride()
    // Commander's own errors are printed by exitCodeFor, in the same one-line format as ours.
    .configureOutput({ outputError: () => {} })
    .addHelpText('after', `\nExit codes:\n${EXIT_CODES.map(([code, what]) => `  ${String(code).padEnd(4)} ${what}`).join('\n')}\nErrors are one line on stderr: "schedlab: <what was wrong and what to do>".`);

  program
    .command('bench')
    .description('benchmark workloads × sizes × schedulers × worker counts; write runs/<run-id>.json and its HTML report')
    .addOption(
      new Option('--preset <name>', Object.values(PRESETS).map((p) => `${p.name}: ${p.description}`).join('; ')).default('quick'),
    )
    .option('--workloads <names>', 'comma-separated catalog workloads (default: all; see `schedlab list`)')
    .option('--workload-file <path>', 'benchmark your own workload module (.js/.mjs/.ts exporting the Workload shape)')
    .option('--size <names>', `comma-separated sizes: ${SIZE_NAMES.join(', ')} (default: the preset's)`)
    .option('--schedulers <names>', `comma-separated: ${SCHEDULER_NAMES.join(', ')} (default: all)`)
    .option('--workers <counts>', 'comma-separated worker counts (default: 1, 2, 4, … up to the available parallelism; sync always runs with 1)')
    .option('--out-dir <dir>', 'where the results file and the report go', RUNS_DIR)
    .option('--json-dir <dir>', 'a directory of your own JSON files for the json workloads')
    .option('--budget <seconds>', "seconds of samples per workload and size, shared by its racing cells; the pair the verdict rests on may go on to twice this (default: the preset's)")
    .option('--min-samples <n>', "samples every cell gets, whatever the budget; 3 or more for tested verdicts (default: the preset's)")
    .option('--max-samples <n>', "samples of each side after which the pair the verdict rests on, still within noise, stops (default: the preset's)")
    .option('--run-timeout <seconds>', "fail a cell whose single run takes longer (default: the preset's)")
    .option('--max-live-pools <n>', 'at most this many pool processes alive at once (default: all); with fewer, the rounds of a race alternate between groups of pools, each swap starting pools and warming up again')
    .option('--redis <url>', 'run the bullmq pools on this Redis (redis://[:password@]host:port) instead of an embedded redis-server')
    .option('--dry-run', 'print the matrix (pools and cells) and stop, without running or writing anything')
    .option('--no-report', 'do not render the HTML report after the run')
    .option('--dashboard [port]', 'serve the live dashboard while benchmarking: the cell being measured (port default 8787, 0 = any free one)')
    .action(benchCommand);

  program
    .command('list')
    .description('list the workload catalog (with sizes), the schedulers and the presets')
    .option('--json', 'print them as one JSON object: { workloads: [{ name, description, sizes }], schedulers, presets }')
    .action(listCommand);

  program
    .command('report')
    .description('render a results file as a self-contained HTML (or Markdown) report')
    .argument('<results>', 'results file written by `schedlab bench`')
    .option('--baseline <file>', 'an earlier results file to compare against')
    .option('-o, --output <file>', 'where to write the report (default: next to the results file; md and csv go to stdout)')
    .addOption(
      new Option('--format <format>', 'html: the report page; md: the report as Markdown; csv: one row per cell (times in seconds); json: the verdicts per workload and size (see README)')
        .choices(['html', 'md', 'csv', 'json'])
        .default('html'),
    )
    .action(reportCommand);

  program
    .command('calibrate')
    .description("measure this machine's cost model for every scheduler and worker count (about 3 minutes on 2 cores); write runs/calibration-<id>.json")
    .option('--full', 'the full sweep (more durations and sizes, longer runs) instead of the quick one')
    .option('--schedulers <names>', `comma-separated: ${SCHEDULER_NAMES.join(', ')} (default: all that start here)`)
    .option('--workers <counts>', 'comma-separated worker counts (default: 1, 2, 4, … up to the available parallelism)')
    .option('--out-dir <dir>', 'where the calibration file goes (next to the run files)', RUNS_DIR)
    .option('--force', 'measure again even if this environment already has a calibration')
    .option('--no-catalog', 'do not profile the catalog workloads (the report then has no points on the decision map)')
    .action(async (opts: RawCalibrateOptions) => (await import('./model-commands.js')).calibrateCommand(opts));

  program
    .command('advise')
    .description('profile your workload once on sync and predict, from the calibration, which scheduler and worker count to use')
    .option('--workload-file <path>', 'your workload module (.js/.mjs/.ts exporting the Workload shape)')
    .option('--size <name>', `size to build: ${SIZE_NAMES.join(', ')}`, 'quick')
    .option('--json', 'print the advice as JSON (see README)')
    .option('--verify', 'also run the top candidates for real and print predicted against measured')
    .option('--calibration <file>', "a calibration file (default: this environment's in --runs-dir; a quick calibration runs when there is none)")
    .option('--accept-other-environment', 'use a calibration file measured elsewhere (predictions are flagged)')
    .option('--runs-dir <dir>', 'where calibration files live', RUNS_DIR)
    .action(async (opts: RawAdviseOptions) => (await import('./model-commands.js')).adviseCommand(opts));

  const scheduler = program
    .command('scheduler')
    .description('start a distributed scheduler that workers and clients connect to (runs until Ctrl-C)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8786')
    .option('--dashboard-port <port>', 'port of the live dashboard (0 picks a free one)', '8787')
    .option('--no-dashboard', 'serve no dashboard')
    .option('--worker-wait-timeout <ms>', 'fail a run that waited this long while no worker was connected', '60000');
  addSecurityOptions(scheduler).action(async (opts: RawSecurityOptions & { host: string; port: string; dashboardPort: string; dashboard: boolean; workerWaitTimeout: string }) => {
    const { runSchedulerCommand } = await importDistributedCommands();
    const { dashboard, dashboardPort, workerWaitTimeout, ...rest } = opts;
    const running = await runSchedulerCommand({
      ...rest,
      port: wholeNumber('--port', opts.port),
      noWorkerTimeoutMs: wholeNumber('--worker-wait-timeout', workerWaitTimeout),
      dashboardPort: dashboard ? wholeNumber('--dashboard-port', dashboardPort) : false,
    });
    await running.closed;
  });

  const worker = program
    .command('worker')
    .description('start a distributed worker connected to a scheduler (runs until Ctrl-C)')
    .argument('<address>', 'the scheduler, host:port')
    .option('--nthreads <n>', 'ops this worker runs at once', '1')
    .option('--name <name>', 'worker name shown in logs and task streams')
    .option('--listen-host <host>', 'where this worker serves its results to peers')
    .option('--advertise-host <host>', 'the host other workers and clients should dial to reach this worker')
    .option('--reconnect-timeout <ms>', 'keep trying to reach the scheduler this long (at start and after losing it), then exit 1', '60000')
    .option('--memory-limit <size>', "bytes, 4GB, 512MiB, a fraction of this machine's memory (0.5), auto (memory × nthreads / cores) or none; values spill to disk past 60 %, no new task past 80 %, the nanny restarts the worker past 95 %", 'auto')
    .option('--no-nanny', 'run the worker in this process, without the supervising process that restarts it when it dies');
  addSecurityOptions(worker).action(
    async (
      address: string,
      opts: RawSecurityOptions & { nthreads: string; name?: string; listenHost?: string; advertiseHost?: string; reconnectTimeout: string; nanny: boolean; memoryLimit: string },
    ) => {
      checkHostPort('<address>', address);
      const nthreads = wholeNumber('--nthreads', opts.nthreads);
      const reconnectTimeoutMs = wholeNumber('--reconnect-timeout', opts.reconnectTimeout);
      const { runWorkerCommand, workerMemoryLimit } = await importDistributedCommands();
      const memoryLimit = workerMemoryLimit(opts.memoryLimit, nthreads);
      if (opts.nanny) {
        // The same command without the nanny, in a child process that the nanny restarts when it dies.
        const { runNanny } = await import('../../schedulers/distributed/nanny.js');
        process.exitCode = await runNanny([process.argv[1]!, ...process.argv.slice(2), '--no-nanny'], { memoryLimit });
        return;
      }
      const { closeWhenNannyGoes } = await import('../../schedulers/distributed/nanny.js');
      let running: Awaited<ReturnType<typeof runWorkerCommand>> | undefined;
      // Under a nanny: stop when it goes away (before registering there is nothing to close); stop watching once stopped.
      const stopWatching = closeWhenNannyGoes(() => (running ? void running.close() : process.exit(0)));
      const { nanny: _nanny, reconnectTimeout: _timeout, ...rest } = opts;
      try {
        running = await runWorkerCommand(address, { ...rest, nthreads, reconnectTimeoutMs });
        await running.closed;
      } finally {
        stopWatching();
      }
    },
  );

  program
    .command('bullmq-worker')
    .description('start a BullMQ worker that runs schedlab batches from a Redis (runs until Ctrl-C)')
    .argument('<redis-url>', 'redis://[user:password@]host:port[/db], or rediss://… for TLS')
    .option('--concurrency <n>', 'ops this worker runs at once (one op thread each)', '1')
    .option('--stalled-interval <ms>', "BullMQ's stalled-job check interval", '30000')
    .option('--lock-duration <ms>', "BullMQ's job lock: a killed worker's job is retried after it expires", '30000')
    .option('--tls-ca <file>', 'rediss://: PEM CA that signed the Redis certificate')
    .option('--tls-cert <file>', 'rediss://: PEM client certificate (with --tls-key)')
    .option('--tls-key <file>', 'rediss://: PEM client private key')
    .option('--insecure', 'allow a non-loopback Redis without a password or TLS')
    .action(async (url: string, opts: { concurrency: string; stalledInterval: string; lockDuration: string; tlsCa?: string; tlsCert?: string; tlsKey?: string; insecure?: boolean }) => {
      const { runBullmqWorkerCommand } = await import('../../schedulers/bullmq/commands.js');
      const running = await runBullmqWorkerCommand(url, {
        ...opts,
        concurrency: wholeNumber('--concurrency', opts.concurrency),
        stalledIntervalMs: wholeNumber('--stalled-interval', opts.stalledInterval),
        lockDurationMs: wholeNumber('--lock-duration', opts.lockDuration),
      });
      await running.closed;
    });

  return program;
}

interface RawSecurityOptions {
  token?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsServerName?: string;
  insecure?: boolean;
}

/** TLS and token flags of `scheduler` and `worker`; the distributed commands read and check the files. */
function addSecurityOptions(command: Command): Command {
  return command
    .option('--token <token>', 'shared secret that clients and workers must present')
    .option('--tls-cert <file>', 'PEM certificate of this side (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of this side')
    .option('--tls-ca <file>', 'PEM CA that verifies the peer (on the scheduler: require client certificates)')
    .option('--tls-server-name <name>', 'host name expected in the server certificate, when it differs from the address')
    .option('--insecure', 'allow plaintext without a token on a non-loopback address');
}

/** "8786" → 8786; the distributed commands check the range. */
function wholeNumber(option: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${option}: "${value}" is not a whole number`);
  return Number(value);
}

/** "127.0.0.1:8786" or "[::1]:8786"; anything else is bad input, caught before dialling. */
function checkHostPort(what: string, value: string): void {
  const port = /^(?:\[[^\]]+\]|[^:\s]+):(\d+)$/.exec(value)?.[1];
  if (port === undefined || Number(port) < 1 || Number(port) > 65535) {
    throw new UsageError(`${what}: "${value}" is not host:port with a port 1..65535 (e.g. 127.0.0.1:8786)`);
  }
}

async function importDistributedCommands() {
  try {
    return await import('../../schedulers/distributed/commands.js');
  } catch (err) {
    throw new Error(`the distributed scheduler is not available in this build (${(err as Error).message})`);
  }
}

async function loadWorkloadSource(): Promise<WorkloadSource> {
  try {
    const { catalog, loadWorkloadFile } = await import('../../workloads/index.js');
    return { catalog, loadWorkloadFile };
  } catch (err) {
    throw new Error(`the workload catalog failed to load (${(err as Error).message})`);
  }
}

async function benchCommand(opts: RawBenchOptions & { report: boolean; dashboard?: boolean | string }): Promise<void> {
  const plan = await resolveBenchPlan(opts, await loadWorkloadSource());
  const noBullmq = opts.schedulers ? undefined : bullmqUnavailable(opts);
  if (noBullmq) console.error(`note: ${noBullmq}`);
  // Pool processes are forked with this environment; the bullmq pools read it (runner/pool.ts).
  if (opts.redis) process.env.SCHEDLAB_BENCH_REDIS = opts.redis;
  const total = countCells(plan.pools);
  if (opts.dryRun) {
    console.log(describePlan(plan));
    return;
  }
  const progress = createProgress(total);
  progress.note(`schedlab bench: preset ${plan.preset.name}, ${total} cells in ${plan.pools.length} pools`);
  if (!plan.pools.some((p) => p.pool.scheduler === 'sync')) {
    progress.note('note: sync is not in --schedulers, so there is no baseline: speedup and efficiency stay empty');
  }

  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED); // second Ctrl-C: leave now
    progress.note('interrupted: stopping workers and saving the finished cells (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dashboard = opts.dashboard === undefined ? undefined : await startBenchDashboard(opts.dashboard);
  if (dashboard) progress.note(`schedlab dashboard: ${dashboard.server.url}`);
  let outcome;
  try {
    outcome = await runBench(plan, { progress, interrupt: controller.signal, argv: process.argv, dashboard: dashboard?.state });
  } finally {
    await dashboard?.server.close();
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  console.log(renderSummary(outcome.results.cells));
  console.log(`results: ${outcome.path}${outcome.results.status === 'partial' ? ' (partial run)' : ''}`);
  if (opts.report) await renderHtmlNextTo(outcome.path);
  const cells = outcome.results.cells;
  const unverified = cells.filter((c) => c.status !== 'ok').length;
  if (outcome.interrupted) process.exitCode = EXIT_INTERRUPTED;
  else if (unverified > 0 || cells.length === 0) {
    printError(`${unverified === cells.length ? 'no cell verified' : `${unverified} of ${cells.length} cells failed or did not verify`}; exit code ${EXIT_CELLS_FAILED}`);
    process.exitCode = EXIT_CELLS_FAILED;
  }
}

async function startBenchDashboard(port: boolean | string) {
  const { DashboardState } = await import('../../schedulers/dashboard/state.js');
  const { startDashboard } = await import('../../schedulers/dashboard/server.js');
  const state = new DashboardState('bench');
  const server = await startDashboard(state, { port: typeof port === 'string' ? wholeNumber('--dashboard', port) : undefined });
  return { state, server };
}

async function importReport() {
  try {
    return await import('../../report/index.js');
  } catch (err) {
    throw new Error(`the report renderer is not available in this build (${(err as Error).message})`);
  }
}

/** After a bench: the HTML report beside the results file (the renderer's default path). A failure here does not fail the run. */
async function renderHtmlNextTo(resultsPath: string): Promise<void> {
  try {
    const { renderReport } = await importReport();
    const rendered = await renderReport({ input: resultsPath, format: 'html' });
    for (const warning of rendered.warnings) console.error(`report warning: ${warning}`);
    console.log(`report: ${rendered.outputPath}`);
  } catch (err) {
    console.log(`report: not rendered: ${(err as Error).message} (retry with \`schedlab report ${resultsPath}\`)`);
  }
}

async function reportCommand(input: string, opts: { baseline?: string; output?: string; format: 'html' | 'md' | 'csv' | 'json' }): Promise<void> {
  const { renderReport, defaultHtmlPath } = await importReport();
  const [current, baseline] = [input, opts.baseline].map((path) => (path === undefined ? undefined : resolveRunFile(path)));
  for (const resolved of [current, baseline]) if (resolved?.note) console.error(`note: ${resolved.note}`);
  const target = opts.output ?? (opts.format === 'html' ? defaultHtmlPath(current!.path) : undefined);
  const replacing = target !== undefined && existsSync(target);
  const rendered = await renderReport({ input: current!.path, baseline: baseline?.path, output: opts.output, format: opts.format });
  for (const warning of rendered.warnings) console.error(`warning: ${warning}`);
  if (replacing) console.error(`note: replaced the existing ${target}`);
  // The baseline's verdicts belong on the terminal too; on stderr when stdout carries the document.
  const say = rendered.outputPath ? console.log : console.error;
  if (rendered.baseline) for (const line of baselineLines(rendered.baseline)) say(line);
  if (rendered.outputPath) console.log(`report: ${rendered.outputPath}`);
  else if (rendered.text !== undefined) process.stdout.write(rendered.text);
}

/** The cells that changed beyond noise against the baseline, as the report lists them. */
function baselineLines(b: NonNullable<ReportModel['baseline']>): string[] {
  if (b.changes.length === 0) return []; // the report's warning already says there is nothing in common
  const beyondNoise = b.changes.filter((c) => c.verdict === 'improved' || c.verdict === 'regressed');
  const head = `against baseline ${b.baselineFile}: ${beyondNoise.length ? `${beyondNoise.length} of ${b.changes.length} common cells changed beyond noise` : `no change beyond noise in ${b.changes.length} common cells`}`;
  const drift = b.driftCorrected
    ? `  (corrected for machine drift: the reference probe ran ${formatChange(b.runDrift! - 1)} in this run; noise floor ${formatChange(b.noiseFloor).replace('+', '')})`
    : `  (${b.driftNote})`;
  return [
    head,
    drift,
    ...beyondNoise.map(
      (c) => `  ${c.verdict}: ${cellName(c.current)} ${formatChange(c.change)} in median time${c.ci ? ` (${Math.round(BASELINE_LEVEL * 100)} % CI ${formatChange(c.ci[0])} to ${formatChange(c.ci[1])})` : ''}`,
    ),
    ...(b.pickChanges.length ? [`picks changed in ${b.pickChanges.length} row${b.pickChanges.length === 1 ? '' : 's'}:`, ...b.pickChanges.map((p) => `  ${pickChangeText(p)}`)] : []),
  ];
}

async function listCommand(opts: { json?: boolean }): Promise<void> {
  const { catalog } = await loadWorkloadSource();
  if (opts.json) {
    const workloads = catalog.map(({ name, description, sizes }) => ({ name, description, sizes }));
    const presets = Object.values(PRESETS).map(({ name, description }) => ({ name, description, default: name === 'quick' }));
    console.log(JSON.stringify({ workloads, schedulers: SCHEDULER_NAMES, presets }, null, 2));
    return;
  }
  const lines = ['Workloads (schedlab bench --workloads a,b):'];
  for (const workload of catalog) {
    lines.push('', `  ${workload.name}`, ...wrap(workload.description, 88, '    '));
    for (const size of SIZE_NAMES) lines.push(`    ${size}: ${JSON.stringify(workload.sizes[size])}`);
  }
  lines.push('', `Schedulers (--schedulers): ${SCHEDULER_NAMES.join(', ')}`, '', 'Presets (--preset):');
  for (const preset of Object.values(PRESETS)) {
    lines.push(...wrap(`${preset.name}${preset.name === 'quick' ? ' (default)' : ''}: ${preset.description}`, 88, '  '));
  }
  console.log(lines.join('\n'));
}

/** Break `text` into lines of at most `width` characters (words kept whole), each prefixed by `indent`. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(indent + line);
  return lines;
}

async function main(argv: string[]): Promise<void> {
  // `schedlab list | head` closes stdout early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const command = program.commands.find((c) => argv.slice(2).includes(c.name()))?.name();
    process.exitCode = exitCodeFor(err, command);
  }
  // Everything is closed by now; do not let a stray handle (a lingering socket) hold the process.
  setTimeout(() => process.exit(), 3000).unref();
}

/** Print the error as one line and choose the exit code. */
function exitCodeFor(err: unknown, command: string | undefined): number {
  if (err instanceof CommanderError) {
    // --help and --version "fail" with code 0; help shown for a missing command is already on screen.
    if (err.exitCode === 0) return 0;
    if (err.code !== 'commander.help') {
      printError(`${err.message.replace(/^error: /, '')} (see \`schedlab ${command ? `${command} ` : ''}--help\`)`);
    }
    return EXIT_USAGE;
  }
  // UsageError, ResultsFileError, a bad calibration file and the library's OptionError (code BAD_OPTION) are all bad input.
  const code = (err as { code?: unknown }).code;
  if (err instanceof UsageError || err instanceof ResultsFileError || code === 'BAD_OPTION' || code === 'BAD_CALIBRATION_FILE') {
    printError((err as Error).message);
    return EXIT_USAGE;
  }
  printError(err instanceof Error ? err.message : String(err));
  if (process.env.SCHEDLAB_DEBUG && err instanceof Error) console.error(err.stack);
  return EXIT_UNEXPECTED;
}

await main(process.argv);
