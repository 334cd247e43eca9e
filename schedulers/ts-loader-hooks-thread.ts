/**
 * Node module-customization hooks that let `import()` load TypeScript op modules through
 * ts-node. `ensureTsLoader()` (ts-loader.ts) registers this file with `module.register`; Node
 * runs it on its loader thread and routes every `resolve`/`load` of the registering thread here.
 *
 * Why a wrapper instead of registering `ts-node/esm` directly: `ts-node/esm` reads its options
 * from `TS_NODE_*` environment variables, which would leak into every child process and into
 * the user's environment. Here the options arrive through `initialize(data)` instead:
 * transpile-only (no type check: ~10x faster start-up, type errors are the build's job) and
 * ESM output for `.ts`/`.mts` wherever the file lives (see `moduleTypes` below).
 */
import { createRequire } from 'node:module';
import type { NodeLoaderHooksAPI2, Service } from 'ts-node';

const require = createRequire(import.meta.url);
const tsNode = require('ts-node') as typeof import('ts-node');

/** Options `ensureTsLoader()` passes through `module.register(..., { data })`. */
export interface TsLoaderHookData {
  /** Directory where ts-node looks for a tsconfig.json (default: the process's cwd). */
  cwd?: string;
}

// Node >= 16.12 always gets the resolve/load flavour of ts-node's hooks.
type Hooks = NodeLoaderHooksAPI2;
let hooks: Hooks | undefined;

function createHooks(data: TsLoaderHookData | undefined): Hooks {
  const service: Service = tsNode.register({
    cwd: data?.cwd,
    transpileOnly: true,
    // Op and workload modules are ES modules by contract (they call `opRef(import.meta.url, ...)`),
    // so `.ts` is emitted and loaded as ESM even outside a `"type": "module"` package (as Node's
    // syntax detection does for `.js`); `.cts` stays CommonJS. Absolute globs match any folder.
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler', sourceMap: true },
    moduleTypes: { '/**/*.ts': 'esm', '/**/*.mts': 'esm', '/**/*.cts': 'cjs' },
  });
  return tsNode.createEsmHooks(service) as Hooks;
}

/** Called once by Node when the hooks are registered. */
export function initialize(data: TsLoaderHookData | undefined): void {
  hooks = createHooks(data);
}

export function resolve(...args: Parameters<Hooks['resolve']>): ReturnType<Hooks['resolve']> {
  hooks ??= createHooks(undefined);
  return hooks.resolve(...args);
}

export function load(...args: Parameters<Hooks['load']>): ReturnType<Hooks['load']> {
  hooks ??= createHooks(undefined);
  return hooks.load(...args);
}
