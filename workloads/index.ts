/**
 * The workload catalog: every workload `npm run bench` runs, each exposing one trade-off that
 * decides the choice of scheduler (see each module's description), plus the loader for a
 * user's own workload file. This module is what `schedlab list` prints and `bench` runs.
 */
import { OptionError } from '../schedulers/errors.js';
import { jsonFiles, jsonMemory } from './json/index.js';
import { mandelbrot } from './mandelbrot/index.js';
import { matmul } from './matmul/index.js';
import { shuffle } from './shuffle/index.js';
import { tinyTasks } from './tiny-tasks/index.js';
import { treeReduceWorkload } from './tree-reduce/index.js';
import type { Workload } from './types.js';

export { loadWorkloadFile } from './load-file.js';
export * from './types.js';

/** The catalog, in the order `schedlab list` shows it: compute-heavy first, overhead-bound last. */
export const catalog: Workload[] = [
  matmul,
  mandelbrot,
  jsonFiles,
  jsonMemory,
  shuffle,
  treeReduceWorkload,
  tinyTasks,
];

/** The catalog workload called `name`; an OptionError listing the valid names otherwise. */
export function getWorkload(name: string): Workload {
  const found = catalog.find((w) => w.name === name);
  if (!found) {
    throw new OptionError(
      'workload',
      `unknown workload "${name}"; valid names: ${catalog.map((w) => w.name).join(', ')} (or pass your own module with --workload-file)`,
    );
  }
  return found;
}
