/**
 * What bounds a local workload on threads against sync on this machine, in one run: rounds
 * of sync, threads×W and a bare baseline, interleaved so load hits all alike, each in its
 * own child process (local-bound-process.ts).
 * The bare baseline is the same ops on W plain worker threads with no scheduler, each doing
 * an equal share:
 * - tree-reduce (quick by default): each thread builds its share of the leaves and reduces
 *   its subtree (perfect locality, nothing through main), then one thread adds the
 *   subtrees' sums, moved to it by transfer; `routed` gives the same threads one task at a
 *   time from main.
 * - matmul (small by default): each thread multiplies and sums every W-th output block, its
 *   inputs shared memory.
 * No scheduler on W threads does less work: sync/bare is what the machine allows at that
 * moment (its free cores, its allocator), the ceiling of sync/threads, and threads/bare is
 * what the engine and the pool cost on top.
 *
 *   node dist/scripts/measure-local-bound.js [--workload tree-reduce|matmul] [--size S] [--runs 9] [--workers 2]
 *
 * Per variant: median wall ms, median CPU ms of the whole process (every thread), median
 * minor page faults of the process (fresh pages each new array costs), and the outside CPU:
 * the machine's busy time not spent by the measured child during its samples, in cores
 * (from /proc/stat; 1.0 means another program kept one core busy, leaving W threads less
 * than W cores).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fork, type ChildProcess } from 'node:child_process';
import { parseProcStat } from '../harness/measure/outside-load.js';
import { getWorkload, type SizeName } from '../workloads/index.js';
import { median } from './measure-local.js';
import type { Sample, Variant } from './local-bound-process.js';

/** The workloads with a bare variant, and the variants each has (`routed` is tree-reduce's). */
const BOUND_VARIANTS: Readonly<Record<string, readonly Variant[]>> = { 'tree-reduce': ['sync', 'threads', 'bare', 'routed'], matmul: ['sync', 'threads', 'bare'] };

/** Machine busy seconds so far (all cores), from /proc/stat; NaN when absent. */
function machineBusySeconds(): number {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'))?.busySeconds ?? Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** One sample from a child, with the outside CPU measured around it here (the machine's busy time not spent by the child). */
function askChild(child: ChildProcess): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const b0 = machineBusySeconds();
    child.once('exit', (code) => reject(new Error(`measure child exited with ${code}`)));
    child.once('message', (s: Sample) => {
      child.removeAllListeners('exit');
      resolve({ ...s, outsideCpuMs: Math.max(0, (machineBusySeconds() - b0) * 1000 - s.cpuMs) });
    });
    child.send('run');
  });
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({ options: { workload: { type: 'string', default: 'tree-reduce' }, size: { type: 'string' }, runs: { type: 'string', default: '9' }, workers: { type: 'string', default: '2' } } });
  const workers = Number(args.workers);
  const runs = Number(args.runs);
  const workload = args.workload!;
  const VARIANTS = BOUND_VARIANTS[workload];
  if (!VARIANTS) throw new Error(`--workload must be one of ${Object.keys(BOUND_VARIANTS).join(', ')}, got ${workload}`);
  const size = args.size ?? (workload === 'matmul' ? 'small' : 'quick');
  const children = VARIANTS.map((v) => fork(new URL('./local-bound-process.js', import.meta.url), ['--workload', workload, '--size', size, '--variant', v, '--workers', String(workers)]));
  await Promise.all(children.map((c) => new Promise((resolve) => c.once('message', resolve))));
  const samples = VARIANTS.map(() => [] as Sample[]);
  try {
    for (let r = -1; r < runs; r++) {
      for (let v = 0; v < VARIANTS.length; v++) {
        const s = await askChild(children[v]!);
        if (r >= 0) samples[v]!.push(s);
      }
    }
  } finally {
    for (const c of children) c.send('stop');
  }
  const names = VARIANTS.map((v) => (v === 'sync' ? v : v === 'threads' ? `threads x${workers}` : v === 'bare' ? `bare threads x${workers}` : `routed x${workers}`));
  console.log(`${workload} ${size} ${JSON.stringify(getWorkload(workload).sizes[size as SizeName])}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${availableParallelism()} cores; median of ${runs} rounds after 1 warm-up, variants interleaved, one process each`);
  console.log('variant             wall ms  process CPU ms  minor faults  outside CPU (cores)  sync/x');
  const syncWall = median(samples[0]!.map((s) => s.wallMs));
  names.forEach((name, i) => {
    const x = samples[i]!;
    const wall = median(x.map((s) => s.wallMs));
    const outsideCores = median(x.map((s) => s.outsideCpuMs / s.wallMs));
    console.log(
      `${name.padEnd(18)} ${wall.toFixed(0).padStart(8)} ${median(x.map((s) => s.cpuMs)).toFixed(0).padStart(15)} ${median(x.map((s) => s.faults)).toFixed(0).padStart(13)} ${outsideCores.toFixed(2).padStart(20)} ${(syncWall / wall).toFixed(2).padStart(7)}`,
    );
  });
  // Per-round ratios (the variants of a round ran back to back, so they saw the same machine).
  const perRound = (v: string): number[] => samples[0]!.map((s, r) => s.wallMs / samples[VARIANTS.indexOf(v as never)]!.map((x) => x.wallMs)[r]!);
  const roundRatios = (xs: number[]): string => `median ${median(xs).toFixed(2)} (rounds ${xs.map((x) => x.toFixed(2)).join(' ')})`;
  console.log(`per round: sync/threads ${roundRatios(perRound('threads'))}; sync/bare ${roundRatios(perRound('bare'))}; threads reaches ${(100 * median(perRound('threads').map((x, r) => x / perRound('bare')[r]!))).toFixed(0)} % of bare's speed (median of rounds)`);
  console.log(`load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
