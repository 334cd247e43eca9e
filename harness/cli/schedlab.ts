#!/usr/bin/env node
/**
 * `schedlab`: the command line. Commands: bench, list, report, calibrate, advise, scheduler, worker.
 *
 * This file only wires commander to the modules that do the work; each command imports
 * what it needs lazily, so `schedlab report` works even when a scheduler module is
 * broken, and a missing optional part (the report renderer, the distributed scheduler) is
 * one clear line, not a stack trace.
 *
 * Exit codes: 0 success; 1 an unexpected error; 2 bad input (one line on stderr, nothing
 * written); 130 interrupted by Ctrl-C (finished cells saved, run marked partial).
 */
import { Command, CommanderError, Option } from 'commander';
import { ResultsFileError } from '../../results/schema.js';
import { SCHEDULER_NAMES } from '../../schedulers/types.js';
import { SIZE_NAMES } from '../../workloads/types.js';
import { UsageError, resolveBenchPlan, type RawBenchOptions, type WorkloadSource } from './bench-options.js';
import { runBench } from '../runner/bench.js';
import { schedlabVersion } from '../measure/environment.js';
import { countCells, describePlan, PRESETS } from '../runner/plan.js';
import { createProgress } from './progress.js';
import { resolveRunFile, RUNS_DIR } from './run-files.js';
import { renderSummary } from './summary.js';
import type { RawAdviseOptions, RawCalibrateOptions } from './model-commands.js';

const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

function buildProgram(): Command {
  const program = new Command('schedlab')
    .description('Run task graphs on sync, threads, processes or a gRPC cluster, and benchmark which one to pick.')
    .version(schedlabVersion())
    .exitOverride();

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
    .option('--budget <seconds>', "seconds of timed samples per cell (default: the preset's)")
    .option('--min-samples <n>', "samples per cell when a run fits the budget (default: the preset's)")
    .option('--max-samples <n>', "cap on samples of very fast cells (default: the preset's)")
    .option('--run-timeout <seconds>', "fail a cell whose single run takes longer (default: the preset's)")
    .option('--dry-run', 'print the matrix (pools and cells) and stop, without running or writing anything')
    .option('--no-report', 'do not render the HTML report after the run')
    .option('--dashboard [port]', 'serve the live dashboard while benchmarking: the cell being measured (port default 8787, 0 = any free one)')
    .action(benchCommand);

  program
    .command('list')
    .description('list the workload catalog (with sizes), the schedulers and the presets')
    .action(listCommand);

  program
    .command('report')
    .description('render a results file as a self-contained HTML (or Markdown) report')
    .argument('<results>', 'results file written by `schedlab bench`')
    .option('--baseline <file>', 'an earlier results file to compare against')
    .option('-o, --output <file>', 'where to write the report (default: next to the results file; Markdown goes to stdout)')
    .addOption(new Option('--format <format>', 'report format').choices(['html', 'md']).default('html'))
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
    .option('--no-dashboard', 'serve no dashboard');
  addSecurityOptions(scheduler).action(async (opts: RawSecurityOptions & { host: string; port: string; dashboardPort: string; dashboard: boolean }) => {
    const { runSchedulerCommand } = await importDistributedCommands();
    const { dashboard, dashboardPort, ...rest } = opts;
    const running = await runSchedulerCommand({
      ...rest,
      port: wholeNumber('--port', opts.port),
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
    .option('--advertise-host <host>', 'the host other workers and clients should dial to reach this worker');
  addSecurityOptions(worker).action(
    async (address: string, opts: RawSecurityOptions & { nthreads: string; name?: string; listenHost?: string; advertiseHost?: string }) => {
      const { runWorkerCommand } = await importDistributedCommands();
      const running = await runWorkerCommand(address, { ...opts, nthreads: wholeNumber('--nthreads', opts.nthreads) });
      await running.closed;
    },
  );

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
  if (outcome.interrupted) process.exitCode = EXIT_INTERRUPTED;
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

async function reportCommand(input: string, opts: { baseline?: string; output?: string; format: 'html' | 'md' }): Promise<void> {
  const { renderReport } = await importReport();
  const [current, baseline] = [input, opts.baseline].map((path) => (path === undefined ? undefined : resolveRunFile(path)));
  for (const resolved of [current, baseline]) if (resolved?.note) console.error(`note: ${resolved.note}`);
  const rendered = await renderReport({ input: current!.path, baseline: baseline?.path, output: opts.output, format: opts.format });
  for (const warning of rendered.warnings) console.error(`warning: ${warning}`);
  if (rendered.outputPath) console.log(`report: ${rendered.outputPath}`);
  else if (rendered.text !== undefined) process.stdout.write(rendered.text);
}

async function listCommand(): Promise<void> {
  const { catalog } = await loadWorkloadSource();
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
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
  }
  // Everything is closed by now; do not let a stray handle (a lingering socket) hold the process.
  setTimeout(() => process.exit(), 3000).unref();
}

/** Print the error as one line (commander has already printed its own) and choose the exit code. */
function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version "fail" with code 0; every other commander error is bad input.
    return err.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  // UsageError, ResultsFileError, a bad calibration file and the library's OptionError (code BAD_OPTION) are all bad input.
  const code = (err as { code?: unknown }).code;
  if (err instanceof UsageError || err instanceof ResultsFileError || code === 'BAD_OPTION' || code === 'BAD_CALIBRATION_FILE') {
    console.error(`schedlab: ${(err as Error).message.replace(/\s*\n\s*/g, ' ')}`); // one line, even for a multi-line cause
    return EXIT_USAGE;
  }
  console.error(`schedlab: error: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.SCHEDLAB_DEBUG && err instanceof Error) console.error(err.stack);
  return 1;
}

await main(process.argv);
