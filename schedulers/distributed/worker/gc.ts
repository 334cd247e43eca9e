/**
 * A full garbage collection on demand, for a worker under its memory limit: large values a
 * worker dropped (spilled, released, read back for one task) are external memory that V8
 * frees only when it next collects, and an idle or busy-with-one-op isolate may not for a
 * long time, so RSS stays far above the managed bytes. `--expose-gc` is set at run time
 * (the flag is process-wide; each isolate then gets its `gc` through a fresh context), so the
 * CLI and the local cluster need no extra node flag.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/** Collect now. */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
