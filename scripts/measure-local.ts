/**
 * Before/after figures of issue 12 for the local schedulers, in one run: the same graphs on
 * two builds of schedlab (this one and `--before DIR`, e.g. a build of the branch's parent
 * commit), runs interleaved build by build so machine load hits both alike.
 *
 *   node dist/scripts/measure-local.js [--before DIR] [--runs 7] [--scenarios fine,fresh,tree,matmul]
 *     [--schedulers sync,threads,processes] [--workers 2] [--fan-out-copy]
 *
 * Scenarios: `fine` (6,000 pure-JS tasks of ~40 µs plus a 16-way reduction), `fresh` (10,000
 * trivial tasks in a tree reduction, a new graph with new keys for every get, planning
 * included), `tree` (tree-reduce quick: 16 Float64Arrays of 16 MB summed pairwise), `fanout`
 * (one 16 MB array read by 8 tasks; with `--fan-out-copy` also measured with the engine's
 * `fanOut: 'copy'` instead of promoting it to shared memory once), `matmul` (matmul small:
 * n 2000, b 256). Per build and scheduler: median wall ms, median CPU ms of the
 * main thread alone (/proc/thread-self/schedstat: robust to a busy machine, and the figure
 * that bounds fine-grained scaling), bytes copied per run, and ratios (sync / scheduler, after
 * / before). Every answer is checked. `measureLocal` returns the rows as plain data.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { GraphBuilder, opRef, type Graph, type Key, type Scheduler, type SchedulerName } from '../schedulers/index.js';
import type { EngineOptions } from '../schedulers/local/engine.js';
import { leafValue } from '../workloads/tree-reduce/ops.js';
import { multiply } from '../workloads/matmul/kernel.js';
import { wasmMultiply } from '../workloads/matmul/wasm-kernel.js';
import { matmul } from '../workloads/matmul/index.js';
import { treeReduceWorkload } from '../workloads/tree-reduce/index.js';
import { calibrateSpin, fineGrainedGraph } from './fine-grained.js';
import { treeReductionGraph } from './measure-overhead.js';

/** A build of schedlab to measure: a label and its `createScheduler`. */
export interface Build {
  label: string;
  createScheduler: (name: SchedulerName, options: { workers: number }) => Promise<Scheduler>;
}

/** One graph to run: built fresh per run when `fresh`, checked after every run. */
interface Scenario {
  name: string;
  tasks: number;
  make: (run: number) => { graph: Graph; keys: string[] };
  check: (results: unknown[]) => void;
}

/** One (scenario, build, scheduler) result. */
export interface LocalRow {
  scenario: string;
  build: string;
  scheduler: SchedulerName;
  workers: number;
  tasks: number;
  wallMs: number;
  mainCpuMs: number;
  bytesCopied: number;
}

/** CPU time of the calling thread in ms (Linux; NaN elsewhere). */
export function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function scenarios(names: string[]): Scenario[] {
  const out: Scenario[] = [];
  for (const name of names) {
    if (name === 'fine') {
      const iterations = Math.round(40 * calibrateSpin());
      const cache = new Map<number, ReturnType<typeof fineGrainedGraph>>();
      const get = (run: number): ReturnType<typeof fineGrainedGraph> => {
        let g = cache.get(run);
        if (!g) cache.set(run, (g = fineGrainedGraph(6000, iterations, `fine${run}`)));
        return g;
      };
      out.push({
        name,
        tasks: get(0).taskCount,
        make: (run) => ({ graph: get(run % 2).graph, keys: [get(run % 2).key] }),
        check: (r) => {
          if (r[0] !== get(0).expected) throw new Error(`fine: got ${String(r[0])}, expected ${get(0).expected}`);
        },
      });
    } else if (name === 'fresh') {
      const expected = (5000 * 5001) / 2;
      out.push({
        name,
        tasks: treeReductionGraph().tasks,
        make: (run) => {
          const { graph, key } = treeReductionGraph(5000, `f${run}-`);
          return { graph, keys: [key] };
        },
        check: (r) => {
          if (r[0] !== expected) throw new Error(`fresh: got ${String(r[0])}, expected ${expected}`);
        },
      });
    } else if (name === 'tree') {
      const params = treeReduceWorkload.sizes.quick;
      const built = treeReduceWorkload.build(params, { tmpDir: '', options: {} }) as { graph: Graph; keys: string[] };
      out.push({ name, tasks: Object.keys(built.graph).length, make: () => built, check: (r) => void treeReduceWorkload.verify(r, params, built as never) });
    } else if (name === 'fanout') {
      // One 16 MB array read by 8 tasks in different batches (plus 8 arrays read once), summed pairwise.
      const length = 2_000_000;
      const leaf = new URL('../workloads/tree-reduce/ops.js', import.meta.url).href;
      const b = new GraphBuilder();
      const shared = b.task('shared', opRef(leaf, 'makeLeaf'), [0, length]);
      let level = Array.from({ length: 8 }, (_, i) => b.task(`d${i}`, opRef(leaf, 'addArrays'), [shared, b.task(`m${i}`, opRef(leaf, 'makeLeaf'), [i + 1, length])]));
      for (let depth = 0; level.length > 1; depth++) {
        const next = [];
        for (let i = 0; i < level.length; i += 2) next.push(b.task(`s${depth}-${i}`, opRef(leaf, 'addArrays'), [level[i]!, level[i + 1]!]));
        level = next;
      }
      const built = { graph: b.graph, keys: [level[0]!.$ref] };
      const expected = (i: number): number => {
        let v = 8 * leafValue(0, i);
        for (let k = 1; k <= 8; k++) v += leafValue(k, i);
        return v;
      };
      out.push({
        name,
        tasks: Object.keys(built.graph).length,
        make: () => built,
        check: (r) => {
          const x = r[0] as Float64Array;
          for (const i of [0, 1, 12345, length - 1]) if (x[i] !== expected(i)) throw new Error(`fanout: element ${i} is ${x[i]}, expected ${expected(i)}`);
        },
      });
    } else if (name === 'matmul') {
      const params = matmul.sizes.small;
      const built = matmul.build(params, { tmpDir: '', options: {} }) as { graph: Graph; keys: string[] };
      out.push({ name, tasks: Object.keys(built.graph).length, make: () => built, check: (r) => void matmul.verify(r, params, built as never) });
    } else throw new Error(`unknown scenario "${name}" (choose from fine, fresh, tree, fanout, matmul)`);
  }
  return out;
}

/** Run every scenario on every build and scheduler, `runs` times after one warm-up, interleaved. */
export async function measureLocal(builds: Build[], options: { scenarios: string[]; schedulers: SchedulerName[]; workers: number; runs: number }): Promise<LocalRow[]> {
  const rows: LocalRow[] = [];
  for (const scenario of scenarios(options.scenarios)) {
    for (const scheduler of options.schedulers) {
      const opened = await Promise.all(builds.map((b) => b.createScheduler(scheduler, { workers: options.workers })));
      try {
        const samples = builds.map(() => ({ wall: [] as number[], cpu: [] as number[], bytes: [] as number[] }));
        for (let run = -1; run < options.runs; run++) {
          for (let b = 0; b < builds.length; b++) {
            const s = opened[b]!;
            // Each build gets its own fresh graph (new keys) when the scenario builds one per run.
            const { graph, keys } = scenario.make(2 * (run + 1) + b);
            const before = s.stats();
            const c0 = threadCpuMs();
            const t0 = performance.now();
            const results = await s.get(graph, keys);
            const wall = performance.now() - t0;
            const cpu = threadCpuMs() - c0;
            const after = s.stats();
            scenario.check(results);
            if (run < 0) continue;
            samples[b]!.wall.push(wall);
            samples[b]!.cpu.push(cpu);
            samples[b]!.bytes.push(after.bytesToWorkers - before.bytesToWorkers + after.bytesFromWorkers - before.bytesFromWorkers);
          }
        }
        builds.forEach((b, i) => {
          const x = samples[i]!;
          rows.push({
            scenario: scenario.name,
            build: b.label,
            scheduler,
            workers: scheduler === 'sync' ? 1 : options.workers,
            tasks: scenario.tasks,
            wallMs: median(x.wall),
            mainCpuMs: median(x.cpu),
            bytesCopied: median(x.bytes),
          });
        });
      } finally {
        await Promise.all(opened.map((s) => s.close()));
      }
    }
  }
  return rows;
}

/** Rows as a table with ratios: sync/scheduler within a build, after/before per scheduler. */
export function formatRows(rows: LocalRow[]): string {
  const lines = ['scenario  build    scheduler  wall ms  main-CPU ms  us/task wall  us/task CPU   MB copied  sync/x  x after/before'];
  for (const r of rows) {
    const sync = rows.find((s) => s.scenario === r.scenario && s.build === r.build && s.scheduler === 'sync');
    const first = rows.find((s) => s.scenario === r.scenario && s.scheduler === r.scheduler);
    const cells = [
      r.scenario.padEnd(8),
      r.build.padEnd(8),
      `${r.scheduler}${r.scheduler === 'sync' ? '' : `x${r.workers}`}`.padEnd(10),
      r.wallMs.toFixed(0).padStart(7),
      r.mainCpuMs.toFixed(0).padStart(12),
      ((r.wallMs * 1000) / r.tasks).toFixed(2).padStart(13),
      ((r.mainCpuMs * 1000) / r.tasks).toFixed(2).padStart(12),
      (r.bytesCopied / 1e6).toFixed(1).padStart(11),
      (sync ? sync.wallMs / r.wallMs : Number.NaN).toFixed(2).padStart(7),
      first && first !== r ? (r.wallMs / first.wallMs).toFixed(2).padStart(15) : ''.padStart(15),
    ];
    lines.push(cells.join(' '));
  }
  return lines.join('\n');
}

/** The build in `dir` (a schedlab checkout with its dist/ built). */
export async function loadBuild(label: string, dir: string): Promise<Build> {
  const mod = (await import(pathToFileURL(resolve(dir, 'dist/schedulers/index.js')).href)) as Build;
  return { label, createScheduler: mod.createScheduler };
}

/** `build` with engine options added to every get (e.g. `{ fanOut: 'copy' }`). */
function withGetOptions(build: Build, label: string, extra: EngineOptions): Build {
  return {
    label,
    createScheduler: async (name, options) => {
      const s = await build.createScheduler(name, options);
      return { ...s, stats: () => s.stats(), close: () => s.close(), get: (graph: Graph, keys: Key[], o?: EngineOptions) => s.get(graph, keys, { ...o, ...extra } as EngineOptions) };
    },
  };
}

/**
 * matmul small's kernel time alone: the same 512 block products through the fastest kernel
 * into preallocated memory, on this thread (median of `runs`, wall and CPU ms): what sync's
 * time is compared with.
 */
export function matmulKernelMs(runs: number): { wallMs: number; cpuMs: number } {
  const { n, b } = matmul.sizes.small;
  const kernel = wasmMultiply ?? multiply;
  const nb = Math.ceil(n / b);
  const size = (i: number): number => Math.min(b, n - i * b);
  const blocks = Array.from({ length: nb }, (_, i) => Float64Array.from({ length: size(i) * b }, (_, x) => ((x * 7919) % 1000) / 1000 - 0.5));
  const c = new Float64Array(b * b);
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = -1; r < runs; r++) {
    const c0 = threadCpuMs();
    const t0 = performance.now();
    for (let i = 0; i < nb; i++) {
      for (let j = 0; j < nb; j++) {
        for (let k = 0; k < nb; k++) kernel(c, blocks[i]!.subarray(0, size(i) * size(k)), blocks[k]!.subarray(0, size(k) * size(j)), size(i), size(k), size(j));
      }
    }
    if (r < 0) continue;
    walls.push(performance.now() - t0);
    cpus.push(threadCpuMs() - c0);
  }
  return { wallMs: median(walls), cpuMs: median(cpus) };
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      before: { type: 'string' },
      runs: { type: 'string', default: '7' },
      scenarios: { type: 'string', default: 'fine,fresh,tree,matmul' },
      schedulers: { type: 'string', default: 'sync,threads,processes' },
      workers: { type: 'string', default: '2' },
      'fan-out-copy': { type: 'boolean', default: false },
    },
  });
  const builds: Build[] = [];
  if (args.before) builds.push(await loadBuild('before', args.before));
  const after = await loadBuild('after', new URL('../..', import.meta.url).pathname);
  builds.push(after);
  // fanOut 'copy' against the default 'share': how a value read by several batches should cross.
  if (args['fan-out-copy']) builds.push(withGetOptions(after, 'copy', { fanOut: 'copy' }));
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${availableParallelism()} cores; median of ${args.runs} runs after 1 warm-up, builds interleaved`);
  const rows = await measureLocal(builds, {
    scenarios: args.scenarios!.split(','),
    schedulers: args.schedulers!.split(',') as SchedulerName[],
    workers: Number(args.workers),
    runs: Number(args.runs),
  });
  console.log(formatRows(rows));
  console.log(`load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (args.scenarios!.split(',').includes('matmul')) {
    const k = matmulKernelMs(Number(args.runs));
    const syncRows = rows.filter((r) => r.scenario === 'matmul' && r.scheduler === 'sync');
    console.log(`matmul kernel alone (512 block products, preallocated): wall ${k.wallMs.toFixed(0)} ms, CPU ${k.cpuMs.toFixed(0)} ms; ` +
      syncRows.map((r) => `sync ${r.build} / kernel: wall ${(r.wallMs / k.wallMs).toFixed(2)}, CPU ${(r.mainCpuMs / k.cpuMs).toFixed(2)}`).join('; '));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
