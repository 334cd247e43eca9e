/**
 * METG, Task Bench's "minimum effective task granularity": the smallest task duration at
 * which a scheduler on W workers still reaches 50 % efficiency, where efficiency is the
 * tasks' own work divided by W × wall time. Graph: the fine-grained one (N independent
 * pure-JS `spin` tasks of the given duration plus a 16-way reduction), a fresh graph with new
 * keys per run; duration calibrated on this thread (the work a task does is what one
 * thread needs for it alone, measured, not assumed).
 *
 *   node dist/scripts/measure-metg.js [--schedulers threads,processes] [--workers 2]
 *     [--durations 2,5,10,20,50,100,200] [--tasks 3000] [--runs 3] [--json] [--before DIR]
 *
 * `--before DIR` measures another build of schedlab too (e.g. main's, in DIR/dist), its runs
 * interleaved with this build's so machine load hits both alike.
 *
 * `measureMetg` returns plain data (one point per scheduler, workers and duration, and the
 * interpolated METG per scheduler and workers), so calibration code can reuse it. Wall time
 * is what efficiency needs: on a busy machine the figures are pessimistic.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createScheduler, type SchedulerName } from '../schedulers/index.js';
import { calibrateSpin, fineGrainedGraph } from './fine-grained.js';
import { loadBuild, median, threadCpuMs, type Build } from './measure-local.js';
import { spin } from './spin-ops.js';

export interface MetgOptions {
  schedulers: SchedulerName[];
  workers: number[];
  /** Task durations to try, in µs. */
  durationsUs: number[];
  /** Spin tasks per graph (the reduction adds ~tasks/15). */
  tasks: number;
  runs: number;
  /** The schedlab builds to measure, runs interleaved (default: this one, labelled `after`). */
  builds?: Build[];
}

/** One measured point. */
export interface MetgPoint {
  build: string;
  scheduler: SchedulerName;
  workers: number;
  /** Nominal task duration (µs) and the measured one-thread time of a task's op (µs). */
  durationUs: number;
  measuredUs: number;
  wallMs: number;
  /** Work (tasks × measured duration) / (workers × wall). */
  efficiency: number;
  /** Main-thread CPU per task (µs): the engine's own cost. */
  mainCpuUsPerTask: number;
}

export interface MetgResult {
  points: MetgPoint[];
  /** Per build, scheduler and workers: the interpolated duration (µs) at 50 % efficiency; null when no duration tried reached it, 0 when even the smallest did. */
  metg: Array<{ build: string; scheduler: SchedulerName; workers: number; metgUs: number | null }>;
}

/** Time of one `spin(iterations)` call on this thread, µs (median of repetitions). */
function opTimeUs(iterations: number): number {
  const reps = Math.max(50, Math.ceil(20_000 / Math.max(iterations / 100, 1)));
  const samples: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) spin(iterations, i);
    samples.push(((performance.now() - t0) * 1000) / reps);
  }
  return median(samples);
}

/** Smallest duration where efficiency crosses 0.5, interpolated on log(duration) between the points around it. */
export function interpolateMetg(points: Array<{ durationUs: number; efficiency: number }>): number | null {
  const sorted = [...points].sort((a, b) => a.durationUs - b.durationUs);
  if (sorted.length === 0) return null;
  if (sorted[0]!.efficiency >= 0.5) return 0;
  for (let i = 1; i < sorted.length; i++) {
    const lo = sorted[i - 1]!;
    const hi = sorted[i]!;
    if (hi.efficiency < 0.5) continue;
    const f = (0.5 - lo.efficiency) / (hi.efficiency - lo.efficiency);
    return Math.exp(Math.log(lo.durationUs) + f * (Math.log(hi.durationUs) - Math.log(lo.durationUs)));
  }
  return null;
}

export async function measureMetg(options: MetgOptions): Promise<MetgResult> {
  const perUs = calibrateSpin();
  const graphs = options.durationsUs.map((d) => {
    const iterations = Math.max(1, Math.round(d * perUs));
    return { durationUs: d, iterations, measuredUs: opTimeUs(iterations), expected: fineGrainedGraph(options.tasks, iterations, 'x').expected };
  });
  const builds = options.builds ?? [{ label: 'after', createScheduler }];
  const points: MetgPoint[] = [];
  for (const scheduler of options.schedulers) {
    for (const workers of scheduler === 'sync' ? [1] : options.workers) {
      const opened = await Promise.all(builds.map((b) => b.createScheduler(scheduler, { workers })));
      try {
        for (const g of graphs) {
          const samples = builds.map(() => ({ walls: [] as number[], cpus: [] as number[] }));
          let taskCount = 0;
          for (let run = -1; run < options.runs; run++) {
            for (let b = 0; b < builds.length; b++) {
              // New keys for every get (each build its own), as users build graphs.
              const built = fineGrainedGraph(options.tasks, g.iterations, `m${run + 1}-${b}`);
              taskCount = built.taskCount;
              const c0 = threadCpuMs();
              const t0 = performance.now();
              const [v] = await opened[b]!.get(built.graph, [built.key]);
              const wall = performance.now() - t0;
              const cpu = threadCpuMs() - c0;
              if (v !== g.expected) throw new Error(`${builds[b]!.label} ${scheduler}: got ${String(v)}, expected ${g.expected}`);
              if (run < 0) continue;
              samples[b]!.walls.push(wall);
              samples[b]!.cpus.push(cpu);
            }
          }
          builds.forEach((build, b) => {
            const wallMs = median(samples[b]!.walls);
            points.push({
              build: build.label,
              scheduler,
              workers,
              durationUs: g.durationUs,
              measuredUs: g.measuredUs,
              wallMs,
              efficiency: (options.tasks * g.measuredUs) / 1000 / (workers * wallMs),
              mainCpuUsPerTask: (median(samples[b]!.cpus) * 1000) / taskCount,
            });
          });
        }
      } finally {
        await Promise.all(opened.map((s) => s.close()));
      }
    }
  }
  const metg: MetgResult['metg'] = [];
  for (const build of builds) {
    for (const scheduler of options.schedulers) {
      for (const workers of scheduler === 'sync' ? [1] : options.workers) {
        const mine = points.filter((p) => p.build === build.label && p.scheduler === scheduler && p.workers === workers);
        metg.push({ build: build.label, scheduler, workers, metgUs: interpolateMetg(mine) });
      }
    }
  }
  return { points, metg };
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      schedulers: { type: 'string', default: 'threads,processes' },
      workers: { type: 'string', default: '2' },
      durations: { type: 'string', default: '2,5,10,20,50,100,200' },
      tasks: { type: 'string', default: '3000' },
      runs: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      before: { type: 'string' },
    },
  });
  const builds: Build[] = [];
  if (args.before) builds.push(await loadBuild('before', args.before));
  builds.push({ label: 'after', createScheduler });
  const result = await measureMetg({
    schedulers: args.schedulers!.split(',') as SchedulerName[],
    workers: args.workers!.split(',').map(Number),
    durationsUs: args.durations!.split(',').map(Number),
    tasks: Number(args.tasks),
    runs: Number(args.runs),
    builds,
  });
  if (args.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${availableParallelism()} cores; ${args.tasks} tasks + 16-way reduction, fresh graph per run, median of ${args.runs}${builds.length > 1 ? ', builds interleaved' : ''}`);
  console.log('build   scheduler   workers  task us (measured)  wall ms  efficiency  main CPU us/task');
  for (const p of result.points) {
    console.log(
      `${p.build.padEnd(7)} ${p.scheduler.padEnd(11)} ${String(p.workers).padStart(7)} ${String(p.durationUs).padStart(8)} (${p.measuredUs.toFixed(1).padStart(6)}) ${p.wallMs.toFixed(0).padStart(8)} ${(100 * p.efficiency).toFixed(0).padStart(10)} % ${p.mainCpuUsPerTask.toFixed(2).padStart(16)}`,
    );
  }
  console.log('\nMETG (50 % efficiency):');
  for (const m of result.metg) {
    const shown = m.metgUs === null ? `> ${Math.max(...args.durations!.split(',').map(Number))} us` : m.metgUs === 0 ? `<= ${Math.min(...args.durations!.split(',').map(Number))} us` : `${m.metgUs.toFixed(1)} us`;
    console.log(`  ${m.build.padEnd(7)} ${m.scheduler} x${m.workers}: ${shown}`);
  }
  console.log(`load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
