/**
 * Where one distributed run's time goes (issue 14), run after `npm run build`:
 *   node dist/scripts/measure-distributed-profile.js [--workload matmul] [--size quick] [--workers 1,2]
 *     [--runs 3] [--warmup 2] [--before DIR]
 *
 * For each worker count (and, with `--before DIR`, the build in DIR too, interleaved), a local
 * cluster runs the catalog workload `--warmup` times untimed, then `--runs` times with events;
 * the median run (by wall time) is broken down: per worker, how much of the wall time its
 * executor thread spent deserializing inputs and computing ("busy"), the idle time before its
 * first task, between tasks and after its last one; the task phases summed (waiting,
 * transfer, deserialize, compute, report); per op, count and mean compute; and the wall
 * time from the get to the first task start and from the last task end to the get's return.
 * Every pool also prints the CPU time of each run's processes (medians over the runs, from
 * /proc: the client, the scheduler, the workers' main threads and their other threads, i.e.
 * the executor threads and V8's and libuv's helpers). On a machine shared with other work
 * the wall times swing; the CPU a run costs moves much less, and on 2 cores it bounds ×2's
 * wall time from below (total / 2).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { createScheduler as createCurrent, type Scheduler, type SchedulerEvent, type SchedulerName } from '../schedulers/index.js';
import { getWorkload, type SizeName } from '../workloads/index.js';
import { now } from '../common/clock.js';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;
/** CPU ms of `pid`: its main thread and all its other threads. */
function processCpu(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
    if (Number(tid) === pid) main += ms;
    else others += ms;
  }
  return { main, others };
}
interface CpuSample {
  client: number;
  scheduler: number;
  workerMain: number;
  workerOthers: number;
}
/** CPU ms so far of the client (this process) and of `scheduler`'s local cluster. */
function clusterCpu(scheduler: Scheduler): CpuSample {
  const cluster = (scheduler as { cluster?: { schedulerPid: number; workerPids(): number[] } }).cluster;
  const usage = process.cpuUsage();
  const sample: CpuSample = { client: (usage.user + usage.system) / 1000, scheduler: 0, workerMain: 0, workerOthers: 0 };
  if (!cluster) return sample;
  sample.scheduler = Object.values(processCpu(cluster.schedulerPid)).reduce((a, b) => a + b, 0);
  for (const pid of cluster.workerPids()) {
    const { main, others } = processCpu(pid);
    sample.workerMain += main;
    sample.workerOthers += others;
  }
  return sample;
}
const minus = (a: CpuSample, b: CpuSample): CpuSample => ({ client: a.client - b.client, scheduler: a.scheduler - b.scheduler, workerMain: a.workerMain - b.workerMain, workerOthers: a.workerOthers - b.workerOthers });
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
type Create = (name: SchedulerName, options: { workers: number }) => Promise<Scheduler>;
type End = Extract<SchedulerEvent, { type: 'task-end' }>;
interface Run {
  wall: number;
  /** Bytes moved between workers in this run. */
  between: number;
  cpu: CpuSample;
  began: number;
  returned: number;
  ends: End[];
}

const ms = (x: number): string => `${x.toFixed(0)}`;

function breakdown(label: string, run: Run): void {
  const { ends, began, returned, wall, between } = run;
  const byWorker = new Map<string, End[]>();
  for (const e of ends) byWorker.set(e.worker, [...(byWorker.get(e.worker) ?? []), e]);
  const firstStart = Math.min(...ends.map((e) => e.start));
  const lastEnd = Math.max(...ends.map((e) => e.end));
  console.log(`\n${label}: wall ${ms(wall)} ms, ${(between / 1e6).toFixed(0)} MB between workers; get -> first task start ${ms(firstStart - began)} ms; last task end -> get returned ${ms(returned - lastEnd)} ms`);
  for (const [worker, list] of [...byWorker].sort()) {
    list.sort((a, b) => a.start - b.start);
    let busy = 0;
    let gaps = 0;
    let maxGap = 0;
    let cursor = list[0]!.start;
    for (const e of list) {
      busy += e.end - e.start;
      // With one thread per worker the starts are sequential; overlaps (several threads) count no gap.
      if (e.start > cursor) {
        gaps += e.start - cursor;
        maxGap = Math.max(maxGap, e.start - cursor);
      }
      cursor = Math.max(cursor, e.end);
    }
    const phases = { waiting: 0, transfer: 0, deserialize: 0, compute: 0, report: 0 };
    for (const e of list) for (const k of Object.keys(phases) as Array<keyof typeof phases>) phases[k] += e.phases?.[k] ?? 0;
    console.log(
      `  ${worker}: ${list.length} tasks, busy ${ms(busy)} ms (${((100 * busy) / wall).toFixed(0)} % of wall); idle before first ${ms(list[0]!.start - began)}, ` +
        `between ${ms(gaps)} (max gap ${ms(maxGap)}), after last ${ms(returned - cursor)}; phases: ${Object.entries(phases).map(([k, v]) => `${k} ${ms(v)}`).join(', ')}`,
    );
  }
  const byOp = new Map<string, number[]>();
  for (const e of ends) {
    const op = e.key.replace(/-\d+/g, '');
    byOp.set(op, [...(byOp.get(op) ?? []), e.phases?.compute ?? e.end - e.start]);
  }
  console.log(`  ops: ${[...byOp].map(([op, xs]) => `${op} ×${xs.length} compute mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)} ms`).join('; ')}`);
}

async function main(): Promise<void> {
  const workloadName = flag('workload', 'matmul');
  const size = flag('size', 'quick') as SizeName;
  const counts = flag('workers', '1,2').split(',').map(Number);
  const runs = Number(flag('runs', '3'));
  const warmup = Number(flag('warmup', '2'));
  const beforeDir = process.argv.includes('--before') ? resolve(flag('before', '')) : undefined;
  const workload = getWorkload(workloadName);
  const params = workload.sizes[size];
  const built = await workload.build(params, { tmpDir: '/tmp', options: {} });
  const builds: Array<[string, Create]> = [['', createCurrent]];
  if (beforeDir) builds.push(['before ', ((await import(pathToFileURL(`${beforeDir}/dist/schedulers/index.js`).href)) as { createScheduler: Create }).createScheduler]);
  const pools: Array<{ label: string; scheduler: Scheduler; runs: Run[] }> = [];
  try {
    for (const [prefix, create] of builds) for (const workers of counts) pools.push({ label: `${prefix}distributed×${workers}`, scheduler: await create('distributed', { workers }), runs: [] });
    for (const pool of pools) for (let w = 0; w < warmup; w++) await pool.scheduler.get(built.graph, built.keys);
    for (let r = 0; r < runs; r++) {
      for (const pool of pools) {
        const ends: End[] = [];
        const before = pool.scheduler.stats().bytesBetweenWorkers;
        const cpuBefore = clusterCpu(pool.scheduler);
        const began = now();
        const results = await pool.scheduler.get(built.graph, built.keys, { onEvent: (e) => e.type === 'task-end' && ends.push(e) });
        const returned = now();
        const cpu = minus(clusterCpu(pool.scheduler), cpuBefore);
        await workload.verify(results, params, built);
        pool.runs.push({ wall: returned - began, between: pool.scheduler.stats().bytesBetweenWorkers - before, cpu, began, returned, ends });
      }
    }
    console.log(`${workloadName} ${size}, ${warmup} warm-up, ${runs} runs interleaved; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    for (const pool of pools) {
      const sorted = [...pool.runs].sort((a, b) => a.wall - b.wall);
      const cpu = (k: keyof CpuSample): number => median(pool.runs.map((r) => r.cpu[k]));
      const total = median(pool.runs.map((r) => r.cpu.client + r.cpu.scheduler + r.cpu.workerMain + r.cpu.workerOthers));
      console.log(
        `${pool.label}: walls ${pool.runs.map((r) => ms(r.wall)).join(', ')} ms (median ${ms(median(pool.runs.map((r) => r.wall)))}); ` +
          `CPU ms per run (medians): total ${ms(total)} = client ${ms(cpu('client'))}, scheduler ${ms(cpu('scheduler'))}, workers' main threads ${ms(cpu('workerMain'))}, their other threads ${ms(cpu('workerOthers'))}`,
      );
      breakdown(`${pool.label} (median run)`, sorted[sorted.length >> 1]!);
    }
  } finally {
    for (const pool of pools) await pool.scheduler.close();
    await built.dispose?.();
  }
}

await main();
