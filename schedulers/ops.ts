/**
 * Loading ops and packing their errors: the part of schedlab that every place ops run
 * shares (the sync engine on the main thread, a threads or processes pool entry, a
 * distributed executor thread). It imports no pool and no engine, so every kind of worker
 * can load it.
 *
 * Ops are named `"<module>#<export>"` and imported once per thread/process, then cached by
 * op string (a Map lookup per task afterwards). TypeScript op modules (.ts/.mts/.cts) get
 * the ts-node hooks registered first (`ensureTsLoader`). On the main side, `checkOpSet`
 * imports each op of a graph once before anything runs, so a missing op is a GraphError
 * UNKNOWN_OP naming the keys, not a task failure halfway through.
 */
import { GraphError } from './errors.js';
import { parseOp } from './graph.js';
import { ensureTsLoader, importErrorText, isTypeScriptModule } from './ts-loader.js';
import type { Graph, PackedError } from './types.js';

/** An op: any function, sync or async. */
export type OpFunction = (...args: unknown[]) => unknown;

const loaded = new Map<string, OpFunction>();
const loading = new Map<string, Promise<OpFunction>>();

/** The op if it was already imported in this thread/process (no await needed). */
export function loadedOp(op: string): OpFunction | undefined {
  return loaded.get(op);
}

/** Import the module of `op` (once) and return its export; throws if either is missing or not a function. */
export function loadOp(op: string): Promise<OpFunction> {
  const hit = loaded.get(op);
  if (hit) return Promise.resolve(hit);
  let pending = loading.get(op);
  if (!pending) {
    pending = importOp(op).finally(() => loading.delete(op));
    loading.set(op, pending);
  }
  return pending;
}

async function importOp(op: string): Promise<OpFunction> {
  const { module, exportName } = parseOp(op);
  if (isTypeScriptModule(module)) ensureTsLoader();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(module)) as Record<string, unknown>;
  } catch (err) {
    const hint = module.startsWith('.') ? ' (relative paths resolve against schedlab itself: build the op with opRef(import.meta.url, name) or an absolute file: URL)' : '';
    throw new Error(`cannot import module "${module}" of op "${op}": ${importErrorText(err)}${hint}`, { cause: err });
  }
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    const exported = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new Error(
      `module "${module}" has no exported function "${exportName}"` +
        (exported.length ? ` (it exports: ${exported.slice(0, 20).join(', ')})` : ''),
    );
  }
  loaded.set(op, fn as OpFunction);
  return fn as OpFunction;
}

/**
 * Import every op of `ops` not yet loaded (the engine collects them while planning); throw
 * GraphError UNKNOWN_OP naming the op, the cause and the keys that use it. `graph` is read
 * only to name keys on failure.
 */
export async function checkOpSet(ops: Iterable<string>, graph: Graph): Promise<void> {
  const missing: Array<Promise<unknown>> = [];
  for (const op of ops) {
    if (loaded.has(op)) continue;
    missing.push(
      loadOp(op).catch((err: unknown) => {
        const keys = Object.keys(graph).filter((k) => (graph[k] as { op?: string }).op === op);
        const shown = keys.slice(0, 5).map((k) => `"${k}"`).join(', ') + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');
        throw new GraphError('UNKNOWN_OP', `op "${op}" of task(s) ${shown} cannot be loaded: ${(err as Error).message}`, keys, { cause: err });
      }),
    );
  }
  if (missing.length > 0) await Promise.all(missing);
}

/** Pack any thrown value into plain data that survives structured clone, IPC and JSON. */
export function packError(err: unknown): PackedError {
  if (err instanceof Error) {
    const packed: PackedError = { name: err.name, message: err.message };
    if (err.stack !== undefined) packed.stack = err.stack;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') packed.code = code;
    return packed;
  }
  let message: string;
  try {
    message = typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
  } catch {
    message = String(err);
  }
  return { name: 'NonErrorThrown', message: `a non-Error value was thrown: ${message}` };
}
