/**
 * Main module of one child process of scripts/measure-local-bound.ts: opens one variant of
 * one workload once (`sync`, `threads`, `bare`: plain worker threads running bare-thread.ts,
 * each doing an equal share of the work, or, for tree-reduce only, `routed`: the same
 * threads given one task at a time by main, every value back through main by transfer, as
 * an engine does, with no engine code), then answers each 'run' message with one verified
 * sample (wall, the process's CPU over all its threads, its minor page faults) and exits on
 * 'stop'. One process per variant: malloc's thresholds and arenas are per process, and sync
 * run beside thread pools in one process page-faults about twice as much as it does alone.
 *
 *   node dist/scripts/local-bound-process.js --workload tree-reduce|matmul --size S
 *     --variant sync|threads|bare|routed [--workers 2]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { createScheduler, type Graph } from '../schedulers/index.js';
import type { Ref, Task, ValueNode } from '../schedulers/types.js';
import { getWorkload, type SizeName } from '../workloads/index.js';
import { treeReduceWorkload } from '../workloads/tree-reduce/index.js';
import type { Order, ProductArgs } from './bare-thread.js';

const VARIANTS = ['sync', 'threads', 'bare', 'routed'] as const;
export type Variant = (typeof VARIANTS)[number];

/** One sample, as the child sends it (`outsideCpuMs` is filled in by the parent). */
export interface Sample {
  wallMs: number;
  cpuMs: number;
  faults: number;
  outsideCpuMs: number;
}


/** Minor page faults of this process so far. */
function minorFaults(): number {
  // Fields after the command name: state is field 3, minflt field 10.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

async function sample(run: () => Promise<unknown>): Promise<Sample> {
  const f0 = minorFaults();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000, faults: minorFaults() - f0, outsideCpuMs: 0 };
}

/** A child process's side: open `variant` once, then answer each 'run' message with one verified sample. */
async function serveVariant(workload: string, size: SizeName, variant: Variant, workers: number): Promise<void> {
  const spec = getWorkload(workload);
  const params = spec.sizes[size];
  if (!params) throw new Error(`--size: ${workload} has no size "${size}" (choose from ${Object.keys(spec.sizes).join(', ')})`);
  const built = spec.build(params as never, { tmpDir: '', options: {} }) as { graph: Graph; keys: string[] };
  const scheduler = variant === 'sync' || variant === 'threads' ? await createScheduler(variant, variant === 'sync' ? {} : { workers }) : undefined;
  const bare = variant === 'bare' || variant === 'routed' ? Array.from({ length: workers }, () => new Worker(new URL('./bare-thread.js', import.meta.url))) : [];
  const ask = <T>(w: Worker, order: Order, transfer: ArrayBuffer[] = []): Promise<T> =>
    new Promise((resolve, reject) => {
      const fail = (err: Error): void => reject(err);
      w.once('error', fail);
      w.once('message', (out: T) => {
        w.off('error', fail);
        resolve(out);
      });
      w.postMessage(order, transfer);
    });
  const bareTree = async (): Promise<unknown[]> => {
    // Equal shares of the leaves (16 leaves over 2 or 4 threads keep the workload's tree shape).
    const { leaves, length } = params as typeof treeReduceWorkload.sizes.quick;
    const share = leaves / workers;
    let parts = await Promise.all(bare.map((w, i) => ask<Float64Array>(w, { leaves: [i * share, (i + 1) * share], length })));
    while (parts.length > 1) {
      const next: Promise<Float64Array>[] = [];
      for (let i = 0; i < parts.length; i += 2) next.push(ask(bare[i / 2]!, { add: [parts[i]!, parts[i + 1]!] }, [parts[i]!.buffer as ArrayBuffer, parts[i + 1]!.buffer as ArrayBuffer]));
      parts = await Promise.all(next);
    }
    return [parts[0]!];
  };
  // matmul: output block `o` (keys C-i-j, in order) goes to thread o mod workers, with the
  // argument lists of its products read off the graph (input blocks are shared memory).
  const matmulBlocks = (): ProductArgs[][] =>
    built.keys.map((key) => {
      const refs = (built.graph[key] as Task).args[0] as Ref[];
      return refs.map((ref) => {
        const [a, b, ...dims] = (built.graph[ref.$ref] as Task).args as [Ref, Ref, number, number, number];
        const input = (r: Ref): Float64Array => (built.graph[r.$ref] as ValueNode).value as Float64Array;
        return [input(a), input(b), ...dims] as ProductArgs;
      });
    });
  const blocks = workload === 'matmul' ? matmulBlocks() : [];
  const bareMatmul = async (): Promise<unknown[]> => {
    const shares = await Promise.all(bare.map((w, t) => ask<Float64Array[]>(w, { blocks: blocks.filter((_, o) => o % workers === t) })));
    return blocks.map((_, o) => shares[o % workers]![Math.floor(o / workers)]);
  };
  const routedRun = (): Promise<unknown[]> => {
    const { leaves, length } = params as typeof treeReduceWorkload.sizes.quick;
    // Task ids: leaves 0 .. leaves - 1, then each level's adds of adjacent pairs; `inputs[id]` of an add.
    const inputs: Array<[number, number]> = [];
    const consumer: number[] = [];
    let level = Array.from({ length: leaves }, (_, i) => i);
    let next = leaves;
    while (level.length > 1) {
      const up: number[] = [];
      for (let i = 0; i < level.length; i += 2) {
        inputs[next] = [level[i]!, level[i + 1]!];
        consumer[level[i]!] = consumer[level[i + 1]!] = next;
        up.push(next++);
      }
      level = up;
    }
    const root = next - 1;
    const values = new Map<number, Float64Array>();
    // Ready tasks, adds first (they free two arrays), then leaves in order: the engine's depth-first spirit.
    const readyAdds: number[] = [];
    let nextLeaf = 0;
    const idle = [...bare];
    return new Promise((resolve, reject) => {
      const pump = (): void => {
        while (idle.length > 0 && (readyAdds.length > 0 || nextLeaf < leaves)) {
          const w = idle.pop()!;
          const id = readyAdds.length > 0 ? readyAdds.shift()! : nextLeaf++;
          let order: Order;
          const transfer: ArrayBuffer[] = [];
          if (id < leaves) order = { leaves: [id, id + 1], length };
          else {
            const [a, b] = inputs[id]!;
            const x = values.get(a)!;
            const y = values.get(b)!;
            values.delete(a);
            values.delete(b);
            order = { add: [x, y] };
            transfer.push(x.buffer as ArrayBuffer, y.buffer as ArrayBuffer);
          }
          ask<Float64Array>(w, order, transfer).then((out) => {
            idle.push(w);
            if (id === root) return resolve([out]);
            values.set(id, out);
            const c = consumer[id]!;
            const [a, b] = inputs[c]!;
            if (values.has(a) && values.has(b)) readyAdds.push(c);
            pump();
          }, reject);
        }
      };
      pump();
    });
  };
  process.on('message', (message: string) => {
    if (message === 'stop') {
      void Promise.all([scheduler?.close(), ...bare.map((w) => w.terminate())]).then(() => process.exit(0));
      return;
    }
    let results: unknown[] = [];
    const run = scheduler ? () => scheduler.get(built.graph, built.keys) : variant === 'routed' ? routedRun : workload === 'matmul' ? bareMatmul : bareTree;
    void sample(async () => (results = await run())).then(
      (s) => {
        spec.verify(results, params as never, built as never);
        process.send!(s);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
  process.send!('ready');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values: args } = parseArgs({ options: { workload: { type: 'string', default: 'tree-reduce' }, size: { type: 'string', default: 'quick' }, variant: { type: 'string' }, workers: { type: 'string', default: '2' } } });
  if (args.workload !== 'tree-reduce' && args.workload !== 'matmul') throw new Error(`--workload must be tree-reduce or matmul, got ${args.workload}`);
  if (!VARIANTS.includes(args.variant as Variant) || (args.variant === 'routed' && args.workload !== 'tree-reduce')) {
    throw new Error(`--variant must be one of ${VARIANTS.join(', ')} (routed: tree-reduce only), got ${String(args.variant)}`);
  }
  await serveVariant(args.workload!, args.size as SizeName, args.variant as Variant, Number(args.workers));
}
