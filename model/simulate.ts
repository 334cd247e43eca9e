/**
 * The discrete-event simulator: replays a profiled graph under the engine's scheduling with
 * a pool's calibrated costs and returns the predicted time of one `get`.
 *
 * The machine it simulates:
 * - one **main** thread, a serial resource: it pays the get's fixed cost first, then for
 *   every task it hands out the per-task cost plus the bytes of the inputs it sends, and for
 *   every value that comes back the bytes of that value;
 * - `workers` identical **workers**, each running one task at a time, compute slowed by the
 *   pool's parallel efficiency; a worker that reads a value held by another worker pays the
 *   between-workers byte cost (peer-to-peer pools);
 * - scheduling as the engine does it: ready tasks go out in priority order (the node order
 *   of the profile), one per free worker, as soon as the main thread is free.
 *
 * `inline` pools (sync) have no boundary: the main thread is the worker, so the time is the
 * get's cost plus every task's duration and per-task cost, in order.
 *
 * Data paths (how values travel) are the three `DataPath`s: `via-main` brings every value
 * that another task or the caller needs back to the main process and sends it again;
 * `peer-to-peer` leaves it on its worker, sends it worker to worker, and brings only the
 * requested values back at the end. Literal values start on the main thread.
 *
 * Not modelled (the model check shows what they cost): batching of small tasks (its saving
 * is inside the calibrated per-task cost), fusing of linear chains, memory pressure.
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
}

const KINDS: readonly ValueKind[] = ['plain', 'shared', 'object'];
const MAIN = -1;

/** Predicted seconds of one `get` of `graph` on a pool with `costs`. */
export function simulate(graph: ProfiledGraph, costs: SimulationCosts): number {
  if (costs.dataPath === 'inline') return simulateInline(graph, costs);
  return simulatePool(graph, costs);
}

function simulateInline(g: ProfiledGraph, c: SimulationCosts): number {
  let t = c.getSeconds;
  for (let i = 0; i < g.seconds.length; i++) if (!g.literal[i]) t += c.taskSeconds + g.seconds[i]! / c.efficiency;
  return t;
}

function byteCost(c: SimulationCosts, g: ProfiledGraph, node: number, direction: Direction): number {
  return g.bytes[node]! * c.byteSeconds[KINDS[g.kinds[node]!]!][direction];
}

function simulatePool(g: ProfiledGraph, c: SimulationCosts): number {
  const n = g.seconds.length;
  const workers = Math.max(1, c.workers);
  const viaMain = c.dataPath === 'via-main';
  const requested = new Uint8Array(n);
  for (const o of g.outputs) requested[o] = 1;
  const dependents: number[][] = Array.from({ length: n }, () => []);
  const waiting = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    waiting[i] = g.deps[i]!.length;
    for (const d of g.deps[i]!) dependents[d]!.push(i);
  }
  /** Where each finished value is: MAIN or a worker index. */
  const location = new Int32Array(n).fill(MAIN);
  /** When each value can be read. */
  const availableAt = new Float64Array(n);
  const ready = new FlatQueue<number>();
  const running = new FlatQueue<number>(); // node, by end time
  const workerOf = new Int32Array(n).fill(MAIN);
  const freeWorkers: number[] = [];
  for (let w = workers - 1; w >= 0; w--) freeWorkers.push(w);

  let main = c.getSeconds;
  let lastEnd = main;
  const release = (node: number): void => {
    for (const j of dependents[node]!) if (--waiting[j] === 0) ready.push(j, j);
  };
  for (let i = 0; i < n; i++) if (!g.literal[i] && waiting[i] === 0) ready.push(i, i);
  for (let i = 0; i < n; i++) if (g.literal[i]) release(i); // literals are on the main thread from the start

  const dispatch = (): void => {
    while (freeWorkers.length > 0 && ready.length > 0) {
      const node = ready.pop()!;
      let sendCost = c.taskSeconds;
      let readAt = 0;
      for (const d of g.deps[node]!) {
        readAt = Math.max(readAt, availableAt[d]!);
        if (location[d] === MAIN) sendCost += byteCost(c, g, d, 'toWorkers');
      }
      const worker = pickWorker(g, node, location, freeWorkers);
      main = Math.max(main, readAt) + sendCost;
      let between = 0;
      for (const d of g.deps[node]!) if (location[d] !== MAIN && location[d] !== worker) between += byteCost(c, g, d, 'betweenWorkers');
      const end = main + between + g.seconds[node]! / c.efficiency;
      workerOf[node] = worker;
      running.push(node, end);
    }
  };

  dispatch();
  while (running.length > 0) {
    const end = running.peekValue()!;
    const node = running.pop()!;
    freeWorkers.push(workerOf[node]!);
    lastEnd = Math.max(lastEnd, end);
    main = Math.max(main, end);
    if (viaMain) {
      if (dependents[node]!.length > 0 || requested[node]) main += byteCost(c, g, node, 'fromWorkers');
      location[node] = MAIN;
      availableAt[node] = main;
    } else {
      location[node] = workerOf[node]!;
      availableAt[node] = end;
    }
    release(node);
    dispatch();
  }
  let finish = Math.max(main, lastEnd);
  if (!viaMain) for (const o of g.outputs) if (!g.literal[o]) finish += byteCost(c, g, o, 'fromWorkers');
  return finish;
}

/** Peer-to-peer: the free worker that already holds the most input bytes (fewest to move); otherwise the last freed. */
function pickWorker(g: ProfiledGraph, node: number, location: Int32Array, free: number[]): number {
  let best = free.length - 1;
  let bestBytes = 0;
  for (let f = 0; f < free.length; f++) {
    let held = 0;
    for (const d of g.deps[node]!) if (location[d] === free[f]) held += g.bytes[d]!;
    if (held > bestBytes) {
      bestBytes = held;
      best = f;
    }
  }
  const [worker] = free.splice(best, 1);
  return worker!;
}
