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
 *
 * ts-node and typescript are optional peer dependencies of schedlab: only `.ts` workloads and
 * ops need them, so an app that uses `.js` ops does not install 23 MB of compiler. When they
 * are missing, `ensureTsLoader()` throws one line naming what to install.
 *
 * Errors thrown while loading a module on the loader thread (a TypeScript syntax error)
 * reach the importing thread as an object with no prototype that only knows how to inspect
 * itself; `importErrorText` turns any import failure into its one readable line.
 */
import { createRequire, register } from 'node:module';
import { inspect } from 'node:util';
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
  for (const name of ['ts-node', 'typescript']) {
    try {
      createRequire(import.meta.url).resolve(name);
    } catch {
      registered = false;
      throw new Error(
        `loading TypeScript modules needs the optional peer dependencies ts-node and typescript (${name} is not installed): ` +
          'run `npm install --save-dev ts-node typescript`, or compile the module to JavaScript and point at the .js file',
      );
    }
  }
  const data: TsLoaderHookData = { cwd: process.cwd() };
  register('./ts-loader-hooks-thread.js', { parentURL: import.meta.url, data });
}

/**
 * One line for a failed `import()`: the message of an Error (after its name unless plain `Error`), else what the value says
 * when inspected (a TypeScript diagnostic such as `syntax.ts(4,2): error TS1005: ',' expected.`).
 */
export function importErrorText(err: unknown): string {
  const text = err instanceof Error ? (err.name === 'Error' ? err.message : `${err.name}: ${err.message}`) : typeof err === 'string' ? err : inspect(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
