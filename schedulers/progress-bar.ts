/**
 * Progress in the terminal, as Dask's ProgressBar: tasks done out of the tasks the keys need,
 * with an estimate of the time left, on stderr (cli-progress). Drawn only when the stream is a
 * TTY, unless `force` (then a plain line every 2 s, for logs). Events only bump a counter; the
 * bar is redrawn at most 10 times a second, so it costs nothing measurable per task.
 *
 *   const bar = progressBar(graph, keys);
 *   try { await scheduler.get(graph, keys, { onEvent: bar.onEvent }); } finally { bar.stop(); }
 *
 * `compute(graph, keys, { scheduler, progress: true })` does exactly that.
 */
import cliProgress from 'cli-progress';
import { neededTasks } from './optimize.js';
import type { Graph, Key, SchedulerEvent } from './types.js';

export interface ProgressBarOptions {
  /** Where to draw (default: process.stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Draw even when the stream is not a TTY. */
  force?: boolean;
}

export interface ProgressBar {
  /** Pass as (or call from) the run's `onEvent`. */
  onEvent(event: SchedulerEvent): void;
  /** Draw the last state and end the line. Idempotent. */
  stop(): void;
}

const REDRAW_MS = 100;

/** A bar for one `get` of `keys` from `graph`; a no-op when not on a TTY (unless `force`). */
export function progressBar(graph: Graph, keys: Key[], options: ProgressBarOptions = {}): ProgressBar {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY && !options.force) return { onEvent: () => {}, stop: () => {} };
  const total = neededTasks(graph, keys).length;
  const bar = new cliProgress.SingleBar({
    stream: stream as NodeJS.WriteStream,
    format: '{bar} {value}/{total} tasks | {percentage}% | elapsed {duration_formatted} | ETA {eta_formatted}',
    barsize: 30,
    hideCursor: true,
    etaBuffer: 200,
    etaAsynchronousUpdate: true,
    noTTYOutput: true,
    notTTYSchedule: 2_000,
    fps: 10,
  });
  let done = 0;
  let shown = 0;
  bar.start(total, 0);
  const timer = setInterval(() => {
    if (done !== shown) bar.update((shown = done));
  }, REDRAW_MS);
  timer.unref();
  let stopped = false;
  return {
    onEvent(event) {
      if (event.type === 'task-end') done += 1;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      bar.update(done);
      bar.stop();
    },
  };
}
