/**
 * `loadWorkloadFile(path)`: import a user's workload module (JS or TS) and check that it has
 * the Workload shape, with an error naming the file and the member that is missing or wrong.
 * TypeScript files go through ts-node (`ensureTsLoader`), as their op modules will in workers.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureTsLoader, importErrorText, isTypeScriptModule } from '../schedulers/ts-loader.js';
import { SIZE_NAMES, type Workload } from './types.js';

const SHAPE_HINT =
  'a workload module default-exports (or exports as `workload`) { name, description, sizes: { quick, small, medium, large }, build(params, ctx), verify(results, params, built) }';

function shapeProblem(w: Record<string, unknown>): string | undefined {
  if (typeof w.name !== 'string' || w.name.trim() === '') return `member "name" must be a non-empty string, got ${describe(w.name)}`;
  if (typeof w.description !== 'string') return `member "description" must be a string (one paragraph), got ${describe(w.description)}`;
  if (typeof w.build !== 'function') return `member "build" must be a function (params, ctx) => { graph, keys }, got ${describe(w.build)}`;
  if (typeof w.verify !== 'function') return `member "verify" must be a function (results, params, built) => void, got ${describe(w.verify)}`;
  const sizes = w.sizes as Record<string, unknown> | undefined;
  if (sizes === null || typeof sizes !== 'object') return `member "sizes" must be an object with ${SIZE_NAMES.join(', ')}, got ${describe(sizes)}`;
  for (const size of SIZE_NAMES) {
    const params = sizes[size];
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      return `member "sizes.${size}" must be an object of parameters, got ${describe(params)}`;
    }
    for (const [key, value] of Object.entries(params)) {
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        return `parameter "sizes.${size}.${key}" must be a string, number or boolean (it is stored in results files), got ${describe(value)}`;
      }
    }
  }
  return undefined;
}

function describe(x: unknown): string {
  if (x === undefined) return 'nothing (missing)';
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'string' ? `"${x}"` : typeof x;
}

/**
 * `import 'schedlab'` resolves from the workload file's own folder upwards, not from the
 * schedlab that runs it: a file outside the checkout needs schedlab installed in its project.
 */
function missingSelfHint(err: unknown): string {
  if (!/Cannot find package 'schedlab'/.test((err as Error)?.message ?? '')) return '';
  return (
    '; a workload file imports schedlab from its own project: run `npm install <schedlab checkout or tarball>` there ' +
    'and start the bench with `npx schedlab bench` (README: "Use schedlab in your project")'
  );
}

/** Import the workload module at `path` (relative to the cwd) and check its shape. */
export async function loadWorkloadFile(path: string): Promise<Workload> {
  const file = resolve(path);
  if (!existsSync(file)) throw new Error(`workload file ${file} does not exist (from --workload-file ${path})`);
  if (isTypeScriptModule(file)) ensureTsLoader();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`workload file ${file} failed to load: ${importErrorText(err)}${missingSelfHint(err)}`, { cause: err });
  }
  const exportName = mod.default !== undefined ? 'default' : mod.workload !== undefined ? 'workload' : undefined;
  if (!exportName) {
    throw new Error(`workload file ${file} has neither a default export nor an export named "workload"; ${SHAPE_HINT}`);
  }
  const candidate = mod[exportName];
  if (candidate === null || typeof candidate !== 'object') {
    throw new Error(`workload file ${file}: export "${exportName}" must be a workload object, got ${describe(candidate)}; ${SHAPE_HINT}`);
  }
  const problem = shapeProblem(candidate as Record<string, unknown>);
  if (problem) throw new Error(`workload file ${file}: export "${exportName}": ${problem}; ${SHAPE_HINT}`);
  return candidate as Workload;
}
