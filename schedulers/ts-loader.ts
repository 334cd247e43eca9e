/**
 * `ensureTsLoader()`: make `import()` of `.ts`/`.mts`/`.cts` modules work in this thread or
 * process, using ts-node (the owner's choice of TypeScript loader) in transpile-only mode.
 *
 * It is called lazily, where a TypeScript module is about to be imported: by `loadOp` inside
 * every worker thread and child process (so pools need no `--loader` flag and no special
 * `execArgv`), and by `loadWorkloadFile` on the main thread. Node's `module.register` installs
 * the hooks for the calling thread; worker threads do not inherit them on Node 20, so each
 * thread registers once (a module-level flag makes repeated calls free).
 *
 * If the process was already started with a TypeScript loader (`--loader ts-node/esm`,
 * `--import tsx`...), registering again would only add a second transpile pass, so it is
 * skipped when `.ts` files already load (detected from `process.execArgv`).
 */
import { register } from 'node:module';
import type { TsLoaderHookData } from './ts-loader-hooks-thread.js';

let registered = false;

/** File name extensions that need the TypeScript loader. */
export const TS_EXTENSIONS: readonly string[] = ['.ts', '.mts', '.cts'];

/** True when `specifier` (path or URL, possibly with `#export`) names a TypeScript module. */
export function isTypeScriptModule(specifier: string): boolean {
  const path = specifier.split(/[?#]/, 1)[0]!;
  return TS_EXTENSIONS.some((ext) => path.endsWith(ext));
}

function startedWithTsLoader(): boolean {
  return process.execArgv.some((arg) => /(^|[=/\s])(ts-node|tsx|@swc-node\/register|esbuild-register)([/\s]|$)/.test(arg));
}

/** Register ts-node's ESM hooks in the current thread/process (idempotent, synchronous). */
export function ensureTsLoader(): void {
  if (registered) return;
  registered = true;
  if (startedWithTsLoader()) return;
  if (typeof register !== 'function') {
    throw new Error(
      `loading TypeScript modules needs node:module register() (Node >= 20.6); this is Node ${process.versions.node}: ` +
        'upgrade Node, or compile the module to JavaScript and point at the .js file',
    );
  }
  const data: TsLoaderHookData = { cwd: process.cwd() };
  register('./ts-loader-hooks-thread.js', { parentURL: import.meta.url, data });
}
