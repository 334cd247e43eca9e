/**
 * What bounds tree-reduce (quick) on threads against sync on this machine, in one run:
 * rounds of sync, threads×W and a bare baseline, interleaved so load hits all three alike,
 * each in its own child process (tree-bound-process.ts).
 * The bare baseline is the same ops and the same tree on W plain worker threads with no
 * scheduler: each thread builds its share of the leaves and reduces its subtree (perfect
 * locality, nothing through main), then one thread adds the subtrees' sums, moved to it by
 * transfer. No scheduler on W threads does less work: bare/sync is what the machine allows
 * at that moment (its free cores, its allocator), and threads/bare is what the engine and
 * the pool cost on top.
 *
 *   node dist/scripts/measure-tree-bound.js [--runs 9] [--workers 2]
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
import { treeReduceWorkload } from '../workloads/tree-reduce/index.js';
import { median } from './measure-local.js';
import type { Sample, Variant } from './tree-bound-process.js';

const VARIANTS: readonly Variant[] = ['sync', 'threads', 'bare', 'routed'];

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
  const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '9' }, workers: { type: 'string', default: '2' } } });
  const workers = Number(args.workers);
  const runs = Number(args.runs);
  const params = treeReduceWorkload.sizes.quick;
  const children = VARIANTS.map((v) => fork(new URL('./tree-bound-process.js', import.meta.url), ['--variant', v, '--workers', String(workers)]));
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
  const names = ['sync', `threads x${workers}`, `bare threads x${workers}`, `routed x${workers}`];
  console.log(`tree-reduce quick (${params.leaves} leaves of ${params.length} doubles); load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${availableParallelism()} cores; median of ${runs} rounds after 1 warm-up, variants interleaved, one process each`);
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
  console.log(`load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
