/**
 * Where run files live. `schedlab bench` writes `runs/<run-id>.json` and its report; runs of
 * schedlab 0.1 went to `results/`, which now holds only the results schema's source. A path
 * a user kept from then (`schedlab report results/A.json`) still works: when it names a
 * file that is not there, the same name under the sibling `runs/` folder is used instead,
 * and the caller is told.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Default folder of run files (relative to the working directory). */
export const RUNS_DIR = 'runs';

/** Folder that held run files before `runs/`. */
const LEGACY_RUNS_DIR = 'results';

/** The file to read for `path`, and a note when it was found under `runs/` instead of `results/`. */
export function resolveRunFile(path: string): { path: string; note?: string } {
  if (existsSync(path) || basename(dirname(path)) !== LEGACY_RUNS_DIR) return { path };
  const moved = join(dirname(dirname(path)), RUNS_DIR, basename(path));
  if (!existsSync(moved)) return { path };
  return { path: moved, note: `${path} is not there; reading ${moved} (run files now go to ${RUNS_DIR}/)` };
}
