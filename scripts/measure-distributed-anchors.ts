/**
 * The distributed scheduler's anchors (issue 14), everything in the same run, interleaved
 * (run after `npm run build`):
 *   node dist/scripts/measure-distributed-anchors.js [--runs 3] [--sizes quick,small]
 *     [--workloads matmul,shuffle,tree-reduce|none] [--commands shape,independent,trivial]
 *     [--before DIR] [--no-dask] [--tasks 10000]
 *
 * Pools, all started once and kept up: processes×2, distributed×1, distributed×2, threads×2
 * (only for the independent-task case), Dask distributed (LocalCluster, 2 worker processes of
 * 1 thread: scripts/dask-anchors.py on /usr/bin/python3, Debian's python3-dask and
 * python3-distributed; never a project dependency) and, with `--before DIR`, distributed×1
 * and ×2 of the build in DIR (a checkout built with `npx tsc -p .`, e.g. main in a worktree).
 * After a warm-up of each command on each pool (the bench's rule: at least 1 get, on until
 * 0.5 s has passed, at most 10), each round times, on every pool in turn (`--commands` picks
 * which of the three, e.g. `--commands trivial` for the per-task cost alone; `--workloads none`
 * runs no catalog workload):
 *   - the catalog's matmul, shuffle and tree-reduce at each size (verified; bytes between workers);
 *   - 8 independent ~35 ms busy-wait tasks feeding one sum, with which worker ran each task
 *     (from the events' `worker` field; Dask: get_worker() inside the task);
 *   - per-task cost: `--tasks` trivial tasks (a tree reduction) with a fresh graph (new keys)
 *     per get.
 * Prints medians per cell and the ratios the issue's goals are stated in, and the summed task
 * phases (waiting, transfer, deserialize, compute, report) of one matmul run, when the
 * scheduler reports them.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createScheduler as createCurrent, opRef, type Graph, type Scheduler, type SchedulerEvent, type SchedulerName } from '../schedulers/index.js';
import { getWorkload, type SizeName } from '../workloads/index.js';
import { repeatRuns } from '../harness/measure/warm-up.js';
import { treeReductionGraph } from './measure-overhead.js';

const USAGE =
  'usage: node dist/scripts/measure-distributed-anchors.js [--runs 3] [--sizes quick,small] [--workloads matmul,shuffle,tree-reduce|none] ' +
  '[--commands shape,independent,trivial] [--before DIR] [--no-dask] [--tasks 10000]';
/** Strict: an unknown option (or --help) prints the usage instead of starting a run of several minutes. */
const { values: args } = (() => {
  try {
    return parseArgs({
      options: {
        runs: { type: 'string', default: '3' },
        sizes: { type: 'string', default: 'quick,small' },
        workloads: { type: 'string', default: 'matmul,shuffle,tree-reduce' },
        commands: { type: 'string', default: 'shape,independent,trivial' },
        tasks: { type: 'string', default: '10000' },
        before: { type: 'string' },
        'no-dask': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** The bench's warm-up rule (harness/measure/cell.ts): a pool reaches its steady state after about 6 gets of 10,000 trivial tasks, not 1. */
const WARM_UP = { min: 1, max: 10, seconds: 0.5 } as const;

type Create = (name: SchedulerName, options: { workers: number }) => Promise<Scheduler>;

interface Pool {
  label: string;
  run(command: Command): Promise<Sample>;
  close(): Promise<void>;
}
type Command =
  | { kind: 'shape'; workload: string; size: SizeName }
  | { kind: 'independent'; n: number; ms: number }
  | { kind: 'trivial'; tasks: number };
interface Sample {
  seconds: number;
  /** Worker of each independent task. */
  workers?: string[];
  bytesBetween?: number;
  /** Summed task phases (seconds) of the run, when reported. */
  phases?: Record<string, number>;
}

const SPIN_OPS = new URL('./spin-ops.js', import.meta.url).href;

function independentGraph(n: number, ms: number): Graph {
  const graph: Graph = {};
  for (let i = 0; i < n; i++) graph[`part-${i}`] = { op: opRef(SPIN_OPS, 'busyWait'), args: [ms, i] };
  graph.total = { op: opRef(SPIN_OPS, 'sum'), args: Array.from({ length: n }, (_, i) => ({ $ref: `part-${i}` })) };
  return graph;
}

/** Sums each phase of the task-end events that carry them (issue 14's `phases`). */
function sumPhases(events: SchedulerEvent[]): Record<string, number> | undefined {
  let any = false;
  const total: Record<string, number> = {};
  for (const e of events) {
    const phases = (e as { phases?: Record<string, number> }).phases;
    if (e.type !== 'task-end' || !phases) continue;
    any = true;
    for (const [name, ms] of Object.entries(phases)) if (name !== 'transferAt') total[name] = (total[name] ?? 0) + ms / 1000;
  }
  return any ? total : undefined;
}

let counter = 0;
async function schedlabPool(label: string, create: Create, name: SchedulerName, workers: number): Promise<Pool> {
  const scheduler = await create(name, { workers });
  const built = new Map<string, Awaited<ReturnType<ReturnType<typeof getWorkload>['build']>>>();
  return {
    label,
    async run(command) {
      if (command.kind === 'independent') {
        const events: SchedulerEvent[] = [];
        const t = performance.now();
        const [total] = await scheduler.get(independentGraph(command.n, command.ms), ['total'], { onEvent: (e) => events.push(e) });
        const seconds = (performance.now() - t) / 1000;
        if (total !== (command.n * (command.n - 1)) / 2) throw new Error(`${label}: wrong total ${total}`);
        const workers = events.flatMap((e) => (e.type === 'task-end' && e.key.startsWith('part-') ? [e.worker] : []));
        return { seconds, workers };
      }
      if (command.kind === 'trivial') {
        const { graph, key } = treeReductionGraph(Math.ceil(command.tasks / 2), `f${counter++}-`);
        const t = performance.now();
        await scheduler.get(graph, [key]);
        return { seconds: (performance.now() - t) / 1000 };
      }
      const workload = getWorkload(command.workload);
      const params = workload.sizes[command.size];
      const id = `${command.workload}/${command.size}`;
      if (!built.has(id)) built.set(id, await workload.build(params, { tmpDir: '/tmp', options: {} }));
      const b = built.get(id)!;
      const events: SchedulerEvent[] = [];
      const before = scheduler.stats();
      const t = performance.now();
      const results = await scheduler.get(b.graph, b.keys, { onEvent: (e) => events.push(e) });
      const seconds = (performance.now() - t) / 1000;
      await workload.verify(results, params, b);
      return { seconds, bytesBetween: scheduler.stats().bytesBetweenWorkers - before.bytesBetweenWorkers, phases: sumPhases(events) };
    },
    async close() {
      for (const b of built.values()) await b.dispose?.();
      await scheduler.close();
    },
  };
}

async function daskPool(workers: number): Promise<Pool> {
  const script = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../scripts/dask-anchors.py');
  const child: ChildProcessWithoutNullStreams = spawn('/usr/bin/python3', [script, '--workers', String(workers)], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr.resume(); // Dask's log lines
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await lines.next();
    if (done) throw new Error('dask-anchors.py exited (is python3-distributed installed?)');
    const answer = JSON.parse(value as string) as Record<string, unknown>;
    if (answer.error) throw new Error(`dask: ${answer.error}`);
    return answer;
  };
  const ready = await next();
  console.log(`dask ${ready.dask}: LocalCluster of ${workers} worker processes, 1 thread each`);
  return {
    label: `dask distributed×${workers}`,
    async run(command) {
      const line = command.kind === 'shape' ? `shape ${command.workload} ${command.size}` : command.kind === 'independent' ? `independent ${command.n} ${command.ms}` : `trivial ${command.tasks}`;
      child.stdin.write(`${line}\n`);
      const answer = await next();
      return { seconds: answer.seconds as number, workers: answer.workers as string[] | undefined };
    },
    async close() {
      child.stdin.end('quit\n');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function main(): Promise<void> {
  const runs = Number(args.runs);
  const sizes = args.sizes!.split(',') as SizeName[];
  const workloadList = args.workloads!;
  const workloads = workloadList === 'none' ? [] : workloadList.split(',');
  const kinds = new Set(args.commands!.split(','));
  for (const kind of kinds) if (!['shape', 'independent', 'trivial'].includes(kind)) throw new Error(`--commands: unknown command "${kind}"; valid: shape, independent, trivial`);
  const tasks = Number(args.tasks);
  const beforeDir = args.before ? resolve(args.before) : undefined;
  const pools: Pool[] = [];
  try {
    pools.push(await schedlabPool('processes×2', createCurrent, 'processes', 2));
    pools.push(await schedlabPool('threads×2', createCurrent, 'threads', 2));
    pools.push(await schedlabPool('distributed×1', createCurrent, 'distributed', 1));
    pools.push(await schedlabPool('distributed×2', createCurrent, 'distributed', 2));
    if (beforeDir) {
      const before = (await import(pathToFileURL(`${beforeDir}/dist/schedulers/index.js`).href)) as { createScheduler: Create };
      pools.push(await schedlabPool('before distributed×1', before.createScheduler, 'distributed', 1));
      pools.push(await schedlabPool('before distributed×2', before.createScheduler, 'distributed', 2));
    }
    if (!args['no-dask']) pools.push(await daskPool(2));

    const commands: Array<{ id: string; command: Command; pools: Pool[] }> = [];
    const notThreads = pools.filter((p) => p.label !== 'threads×2');
    if (kinds.has('shape')) for (const size of sizes) for (const workload of workloads) commands.push({ id: `${workload} ${size}`, command: { kind: 'shape', workload, size }, pools: notThreads });
    if (kinds.has('independent')) commands.push({ id: '8 independent 35 ms tasks', command: { kind: 'independent', n: 8, ms: 35 }, pools: pools.filter((p) => !p.label.endsWith('×1')) });
    if (kinds.has('trivial')) commands.push({ id: `${tasks} trivial tasks, fresh graph`, command: { kind: 'trivial', tasks }, pools: pools.filter((p) => !p.label.endsWith('×1') && p.label !== 'threads×2') });

    const samples = new Map<string, Sample[]>();
    const key = (id: string, pool: Pool): string => `${id}|${pool.label}`;
    // Warm-up, untimed: each command on each pool as the bench warms a cell.
    for (const { command, pools: on } of commands) for (const pool of on) await repeatRuns(() => pool.run(command), WARM_UP);
    for (let r = 0; r < runs; r++) {
      for (const { id, command, pools: on } of commands) {
        for (const pool of on) {
          const sample = await pool.run(command);
          const list = samples.get(key(id, pool)) ?? [];
          list.push(sample);
          samples.set(key(id, pool), list);
        }
      }
      console.log(`round ${r + 1}/${runs} done (load ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`);
    }

    const med = (id: string, label: string): number => median((samples.get(`${id}|${label}`) ?? []).map((s) => s.seconds));
    console.log(`\nmedians of ${runs} interleaved rounds (s); ratios are same-run:`);
    for (const { id, command, pools: on } of commands) {
      if (command.kind !== 'shape') continue;
      const cells = on.map((p) => {
        const list = samples.get(key(id, p))!;
        const between = list[list.length - 1]!.bytesBetween;
        return `${p.label} ${fmt(med(id, p.label))}${between ? ` (${(between / 1e6).toFixed(0)} MB between)` : ''}`;
      });
      const d2 = med(id, 'distributed×2');
      const ratios = [
        `×2/×1 ${fmt(d2 / med(id, 'distributed×1'))}`,
        `×2/processes ${fmt(d2 / med(id, 'processes×2'))}`,
        args['no-dask'] ? '' : `dask/×2 ${fmt(med(id, 'dask distributed×2') / d2)}`,
        beforeDir ? `×2 after/before ${fmt(d2 / med(id, 'before distributed×2'))}, ×1 after/before ${fmt(med(id, 'distributed×1') / med(id, 'before distributed×1'))}` : '',
      ].filter(Boolean);
      console.log(`${id.padEnd(18)} ${cells.join(' | ')}\n${''.padEnd(18)} ${ratios.join(', ')}`);
    }
    for (const { id, command, pools: on } of commands) {
      if (command.kind === 'independent') {
        console.log(`\n${id} (+ a sum), 2 workers: makespan median, tasks per worker in each round`);
        for (const p of on) {
          const list = samples.get(key(id, p))!;
          const split = list.map((s) => {
            const counts = new Map<string, number>();
            for (const w of s.workers ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
            return [...counts.values()].sort((a, b) => b - a).join('/');
          });
          console.log(`  ${p.label.padEnd(22)} ${fmt(med(id, p.label) * 1000, 0)} ms  split ${split.join(', ')}  (first round: ${(list[0]!.workers ?? []).join(' ')})`);
        }
        console.log(`  distributed×2 / threads×2: ${fmt(med(id, 'distributed×2') / med(id, 'threads×2'))}`);
      }
      if (command.kind === 'trivial') {
        console.log(`\n${id}: µs per task (median)`);
        for (const p of on) console.log(`  ${p.label.padEnd(22)} ${fmt((med(id, p.label) * 1e6) / tasks, 1)}`);
      }
    }
    for (const size of sizes) {
      const list = samples.get(`matmul ${size}|distributed×2`);
      const phases = list?.map((s) => s.phases).filter(Boolean) as Array<Record<string, number>> | undefined;
      if (!phases?.length) continue;
      const names = Object.keys(phases[0]!);
      console.log(`\nphases of matmul ${size} on distributed×2 (seconds summed over tasks, median of rounds): ${names.map((n) => `${n} ${fmt(median(phases.map((p) => p[n] ?? 0)))}`).join(', ')}`);
    }
  } finally {
    for (const pool of pools) await pool.close();
  }
}

await main();
