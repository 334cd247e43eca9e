/**
 * The discrete-event simulator: replays a profiled graph under the engine's scheduling with
 * a pool's calibrated costs and returns the predicted time of one `get`.
 *
 * The machine it simulates:
 * - one **main** thread, a serial resource: it pays the get's fixed cost first, then for
 *   every task it hands out the per-task cost plus the bytes of the inputs it sends, and for
 *   every value that comes back the bytes of that value;
 * - `workers` identical **workers**, each running one task at a time, compute slowed by the
 *   pool's parallel efficiency at that task's duration (`efficiencyAt`); a worker that reads
 *   a value held by another worker pays the between-workers byte cost (peer-to-peer pools);
 * - scheduling as the engine does it: ready tasks go out in priority order (the node order
 *   of the profile), one per free worker, as soon as the main thread is free.
 *
 * `inline` pools (sync) have no boundary: the main thread is the worker, so the time is the
 * get's cost plus every task's duration and per-task cost, in order.
 *
 * Data paths (how values travel) are the three `DataPath`s: `via-main` brings every value
 * that another task or the caller needs back to the main process (`fromWorkers`) and sends
 * it on to the task that reads it (`betweenWorkers`: from one worker to another, through
 * main; a pool that moves a value by transfer to its last consumer has that cost near 0);
 * `peer-to-peer` leaves it on its worker, sends it worker to worker (`betweenWorkers`; the
 * reader keeps a copy, so a second task there reads it free), and brings only the requested
 * values back at the end; `via-store` has every value written to a store by the worker that
 * made it (`fromWorkers`) and fetched from there by every task that reads it and by the
 * caller (`betweenWorkers`). Literal values start on the main thread and are sent to the
 * workers that read them (`toWorkers`): on every read via main, once otherwise.
 *
 * The **store** is a serial resource too (BullMQ's Redis serves one command at a time): its
 * writes and fetches queue on it in the order they are asked for, a fetch when its task is
 * handed out, a write when its task's compute ends (the worker stays busy until its write is
 * done). So the fit, which prices a byte as wall time per byte of a run's whole traffic, and
 * the simulator agree: with the fetches on each worker in parallel instead, two workers moved
 * twice the bytes per second the fit had measured, and bullmq×2 was predicted 2.2× faster
 * than bullmq×1 on tree-reduce where it ran 1.4× faster.
 *
 * A value's bytes are weighted by its profiled `byteWeights` (how much a byte of it costs
 * to move against the calibration's values of its kind; for a long string, times the pool's
 * `stringWeight`); a value under `SMALL_VALUE_BYTES`
 * costs nothing beyond the per-task cost. The simulator also tallies the
 * (weighted) bytes it charges, by kind and direction (`tally`): the fit
 * regresses measured times on exactly these, so fitted costs and the simulator that uses
 * them count bytes the same way, whatever a pool's own byte counters count.
 *
 * **Cores.** The main thread (and a store's server) runs on the machine's cores too. On a pool
 * with as many workers as cores (threads×2 on 2 cores), whatever main does while every worker
 * computes takes a core from them: the workers' busy time in the bench was 1.2-1.8x the
 * profile's on json, shuffle, tree-reduce and matmul at ×2, against 1.0-1.2x at ×1 and on
 * mandelbrot (whose main thread is idle). The calibration's compute runs cannot show it: their
 * tasks move nothing, and what main spends per task is already in their efficiency curve.
 * Given the machine's `cores`, a pool with more busy threads than cores (workers + main) has
 * its compute stretched, processor-sharing style, by 1 + (the share of the get main and the
 * store spend moving bytes) × (workers + 1 − cores) / workers, found by replaying the graph
 * again with the stretch (twice: the share moves with the makespan).
 *
 * Not modelled (the model check shows what they cost): batching of small tasks (its saving
 * is inside the calibrated per-task cost, its round trips in the efficiency curve), fusing
 * of linear chains, memory pressure.
 */
import FlatQueue from 'flatqueue';
import type { DataPath, Direction, ValueKind } from './calibration.js';
import type { ProfiledGraph } from './profile.js';

/** Point values of a pool's costs: what one simulation uses. */
export interface SimulationCosts {
  workers: number;
  dataPath: DataPath;
  getSeconds: number;
  taskSeconds: number;
  /** Seconds per byte, indexed [kind index][direction]. */
  byteSeconds: Record<ValueKind, Record<Direction, number>>;
  efficiency: number;
  /** Efficiency by task duration (ascending durations), read by `efficiencyAt`; without it `efficiency` applies to every task. */
  efficiencyCurve?: readonly EfficiencyPoint[];
  /** Factor on the byte weight of the profile's long strings (`ProfiledGraph.strings`); absent: 1. */
  stringWeight?: number;
  /** Via main: a result no caller reads, with one consumer, goes to it unread, its memory moved (`sealed`). */
  seals?: boolean;
  /** Cores of the machine: main's work takes one from workers that fill them (see the top of this file); absent: not modelled. */
  cores?: number;
}

/**
 * Via main, on a pool that seals (threads: schedulers/threads/sealed-values.ts): a result the
 * caller does not read and exactly one task consumes comes back sealed in a port that main
 * hands on unread with the consumer's batch, its memory moved, not copied: it costs nothing
 * beyond the tasks' per-task costs, on its way back (`fromWorkers`) or on to its consumer
 * (`betweenWorkers`). Priced through main, the 30 intermediate 16 MB arrays of tree-reduce
 * quick cost threads×2 about 250 ms of main's time, more than the whole run measured (219 ms).
 * No calibration run has such values (the stages runs' values have two readers), so the fit
 * is the same either way.
 */
export function sealed(g: ProfiledGraph, c: Pick<SimulationCosts, 'seals'>, node: number, consumers: number, requested: boolean): boolean {
  return c.seals === true && !requested && consumers === 1 && !g.literal[node];
}

export interface EfficiencyPoint {
  taskSeconds: number;
  efficiency: number;
}

/**
 * The efficiency a task of `seconds` runs at: interpolated on log(duration) between the
 * curve's points, the nearest end's beyond them (a 0 s task, an empty one, takes the first).
 */
export function efficiencyAt(c: Pick<SimulationCosts, 'efficiency' | 'efficiencyCurve'>, seconds: number): number {
  const curve = c.efficiencyCurve;
  if (!curve || curve.length === 0) return c.efficiency;
  if (seconds <= curve[0]!.taskSeconds) return curve[0]!.efficiency;
  const last = curve[curve.length - 1]!;
  if (seconds >= last.taskSeconds) return last.efficiency;
  let i = 1;
  while (curve[i]!.taskSeconds < seconds) i++;
  const a = curve[i - 1]!;
  const b = curve[i]!;
  const f = Math.log(seconds / a.taskSeconds) / Math.log(b.taskSeconds / a.taskSeconds);
  return a.efficiency + f * (b.efficiency - a.efficiency);
}

const KINDS: readonly ValueKind[] = ['plain', 'shared', 'object'];

/** Bytes charged in one simulated get, by kind and direction. */
export type ByteTally = Record<ValueKind, Record<Direction, number>>;

export function emptyTally(): ByteTally {
  return { plain: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 }, shared: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 }, object: { toWorkers: 0, fromWorkers: 0, betweenWorkers: 0 } };
}

/** Predicted seconds of one `get` of `graph` on a pool with `costs`; the bytes it charged are added to `tally` when given. */
export function simulate(graph: ProfiledGraph, costs: SimulationCosts, tally?: ByteTally): number {
  if (costs.dataPath === 'inline') return simulateInline(graph, costs);
  return simulatePool(graph, costs, tally);
}

function simulateInline(g: ProfiledGraph, c: SimulationCosts): number {
  let t = c.getSeconds;
  for (let i = 0; i < g.seconds.length; i++) if (!g.literal[i]) t += c.taskSeconds + g.seconds[i]! / efficiencyAt(c, g.seconds[i]!);
  return t;
}

/**
 * Values smaller than this cross for free here: their cost is in the per-task cost, which the
 * calibration fits on tasks that each return a number. Charging their bytes too counted them
 * twice (tiny-tasks on threads×2: 3.3 ms of its 19.4 ms predicted, for 11,431 results of 8 bytes).
 */
export const SMALL_VALUE_BYTES = 1024;

/** The bytes of node `i` that cost something to move: weighted (a long string's weight times the pool's `stringWeight`), 0 for a small value. */
export function chargedSize(g: ProfiledGraph, i: number, stringWeight = 1): number {
  const bytes = g.bytes[i]!;
  return bytes < SMALL_VALUE_BYTES ? 0 : bytes * (g.byteWeights?.[i] ?? 1) * (g.strings?.[i] ? stringWeight : 1);
}

/** Replays after the first that find the compute stretch of an oversubscribed machine, at most … */
const STRETCH_PASSES = 2;
/** … stopping once the stretch moves by less than this (relative): a replay would change the makespan by less. */
const STRETCH_TOLERANCE = 1e-3;

function simulatePool(g: ProfiledGraph, c: SimulationCosts, tally: ByteTally | undefined): number {
  const workers = Math.max(1, c.workers);
  const over = c.cores ? workers + 1 - c.cores : 0;
  let run = replay(g, c, tally, 1);
  let stretch = 1;
  for (let pass = 0; over > 0 && run.busy > 0 && pass < STRETCH_PASSES; pass++) {
    const next = 1 + (Math.min(1, run.busy / run.finish) * over) / workers;
    if (Math.abs(next - stretch) < STRETCH_TOLERANCE * stretch) break; // the decision map's many byte-light cells stop here
    stretch = next;
    run = replay(g, c, undefined, stretch);
  }
  return run.finish;
}

/** One replay, each task's compute times `stretch`: the get's predicted seconds, and the seconds main and the store spent moving bytes. */
function replay(g: ProfiledGraph, c: SimulationCosts, tally: ByteTally | undefined, stretch: number): { finish: number; busy: number } {
  const byteCost = (node: number, direction: Direction): number => {
    const kind = KINDS[g.kinds[node]!]!;
    const bytes = chargedSize(g, node, c.stringWeight);
    if (tally) tally[kind][direction] += bytes;
    return bytes * c.byteSeconds[kind][direction];
  };
  const n = g.seconds.length;
  const workers = Math.max(1, c.workers);
  let busy = 0;
  const viaMain = c.dataPath === 'via-main';
  const viaStore = c.dataPath === 'via-store';
  const requested = new Uint8Array(n);
  for (const o of g.outputs) requested[o] = 1;
  const dependents: number[][] = Array.from({ length: n }, () => []);
  const waiting = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    waiting[i] = g.deps[i]!.length;
    for (const d of g.deps[i]!) dependents[d]!.push(i);
  }
  /** Peer-to-peer: the workers holding each value (none: a literal still only on main). */
  const holders: number[][] = Array.from({ length: n }, () => []);
  /** When each value can be read. */
  const availableAt = new Float64Array(n);
  const ready = new FlatQueue<number>();
  const running = new FlatQueue<number>(); // node, by end time
  const workerOf = new Int32Array(n).fill(-1);
  const freeWorkers: number[] = [];
  for (let w = workers - 1; w >= 0; w--) freeWorkers.push(w);

  let main = c.getSeconds;
  let lastEnd = main;
  /** Via a store: when the store is next free, and the write each running task still owes it (seconds; 0: none, or written). */
  let store = 0;
  const owedWrite = new Float64Array(n);
  const release = (node: number): void => {
    for (const j of dependents[node]!) if (--waiting[j] === 0) ready.push(j, j);
  };
  for (let i = 0; i < n; i++) if (!g.literal[i] && waiting[i] === 0) ready.push(i, i);
  for (let i = 0; i < n; i++) if (g.literal[i]) release(i); // literals are on the main thread from the start

  const dispatch = (): void => {
    while (freeWorkers.length > 0 && ready.length > 0) {
      const node = ready.pop()!;
      const worker = viaMain || viaStore ? freeWorkers.pop()! : pickWorker(g, node, holders, freeWorkers);
      let sendCost = c.taskSeconds;
      let readAt = 0;
      let between = 0;
      for (const d of g.deps[node]!) {
        readAt = Math.max(readAt, availableAt[d]!);
        if (viaMain) {
          // Every input is sent from main: a literal (toWorkers) or a result that came back
          // (betweenWorkers); a sealed one is handed on unread, its memory moved, not copied.
          if (!sealed(g, c, d, dependents[d]!.length, requested[d] === 1)) sendCost += byteCost(d, g.literal[d] ? 'toWorkers' : 'betweenWorkers');
          continue;
        }
        if (viaStore) {
          // Via a store: a literal goes up from main once; every read fetches from the store.
          if (g.literal[d] && holders[d]!.length === 0) {
            sendCost += byteCost(d, 'toWorkers');
            holders[d]!.push(worker);
          }
          between += byteCost(d, 'betweenWorkers');
          continue;
        }
        // Peer-to-peer: an input this worker holds costs nothing; a literal goes up from main
        // once; anything else comes from a worker that holds it, and this worker keeps a copy.
        if (holders[d]!.includes(worker)) continue;
        if (holders[d]!.length === 0) sendCost += byteCost(d, 'toWorkers');
        else between += byteCost(d, 'betweenWorkers');
        holders[d]!.push(worker);
      }
      main = Math.max(main, readAt) + sendCost;
      busy += sendCost - c.taskSeconds;
      let start = main;
      if (viaStore) {
        busy += between;
        if (between > 0) start = store = Math.max(store, main) + between;
        owedWrite[node] = dependents[node]!.length > 0 || requested[node] ? byteCost(node, 'fromWorkers') : 0;
      } else start += between;
      workerOf[node] = worker;
      running.push(node, start + (g.seconds[node]! * stretch) / efficiencyAt(c, g.seconds[node]!));
    }
  };

  dispatch();
  while (running.length > 0) {
    const end = running.peekValue()!;
    const node = running.pop()!;
    if (owedWrite[node]! > 0) {
      // Its compute is done: the write queues on the store, and the worker waits for it.
      store = Math.max(store, end) + owedWrite[node]!;
      busy += owedWrite[node]!;
      owedWrite[node] = 0;
      running.push(node, store);
      continue;
    }
    freeWorkers.push(workerOf[node]!);
    lastEnd = Math.max(lastEnd, end);
    main = Math.max(main, end);
    if (viaMain) {
      if ((dependents[node]!.length > 0 || requested[node]) && !sealed(g, c, node, dependents[node]!.length, requested[node] === 1)) {
        const back = byteCost(node, 'fromWorkers');
        main += back;
        busy += back;
      }
      availableAt[node] = main;
    } else {
      holders[node]!.push(workerOf[node]!);
      availableAt[node] = end;
    }
    release(node);
    dispatch();
  }
  let finish = Math.max(main, lastEnd, store);
  if (!viaMain) for (const o of g.outputs) if (!g.literal[o]) finish += byteCost(o, viaStore ? 'betweenWorkers' : 'fromWorkers');
  return { finish, busy };
}

/** Peer-to-peer: the free worker that already holds the most input bytes (fewest to move); otherwise the last freed. */
function pickWorker(g: ProfiledGraph, node: number, holders: readonly number[][], free: number[]): number {
  let best = free.length - 1;
  let bestBytes = 0;
  for (let f = 0; f < free.length; f++) {
    let held = 0;
    for (const d of g.deps[node]!) if (holders[d]!.includes(free[f]!)) held += g.bytes[d]!;
    if (held > bestBytes) {
      bestBytes = held;
      best = f;
    }
  }
  const [worker] = free.splice(best, 1);
  return worker!;
}
