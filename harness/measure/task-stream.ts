/**
 * What the scheduler's events say about one run: the workers' busy time, tasks ended,
 * and (when asked) the task stream — one span per task with the worker it ran on — for the
 * report's Gantt chart, with each task's phases (waiting, transfer, deserialize, compute,
 * report) when the scheduler measures them (distributed).
 *
 * Only `task-end` events are needed: they carry the start and end measured where the task
 * ran (epoch ms, comparable across the threads and processes of one machine). Spans are
 * stored in seconds from the start of the run and capped, so a 100,000-task graph does
 * not produce a 100,000-row results file; `totalTasks` and `truncated` say what was cut.
 */
import type { SchedulerEvent } from '../../schedulers/types.js';
import type { TaskSpan } from '../../results/schema.js';

/** Spans kept for the Gantt chart of one sample. */
export const MAX_TASK_SPANS = 2000;

/** Seconds rounded to the microsecond: the clocks are not finer, and the results file stays small. */
function toMicroseconds(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

/**
 * Seconds during which at least one of the intervals ran: the union, not the sum. An async
 * op that awaits I/O lets its worker start the next task, so one worker's spans can overlap
 * (distributed executors do this); summing them would claim more work than the worker did.
 */
function unionSeconds(starts: number[], ends: number[]): number {
  const order = starts.map((_, i) => i).sort((a, b) => starts[a]! - starts[b]!);
  let total = 0;
  let from = -Infinity;
  let to = -Infinity;
  for (const i of order) {
    if (starts[i]! > to) {
      if (to > from) total += to - from;
      from = starts[i]!;
      to = ends[i]!;
    } else if (ends[i]! > to) {
      to = ends[i]!;
    }
  }
  if (to > from) total += to - from;
  return total / 1000;
}

export class RunEventRecorder {
  tasksEnded = 0;
  private readonly spans: TaskSpan[] = [];
  /** Per worker: start and end (epoch ms) of every task that ended there. */
  private readonly intervals = new Map<string, { starts: number[]; ends: number[] }>();

  /**
   * @param runStartEpochMs when the run started (`performance.timeOrigin + performance.now()`)
   * @param keepSpans record spans for the task stream (one sample per cell does)
   */
  constructor(
    private readonly runStartEpochMs: number,
    private readonly keepSpans: boolean,
  ) {}

  /** Pass as `onEvent` to `Scheduler.get`. */
  readonly onEvent = (event: SchedulerEvent): void => {
    if (event.type !== 'task-end') return;
    this.tasksEnded++;
    let worker = this.intervals.get(event.worker);
    if (!worker) this.intervals.set(event.worker, (worker = { starts: [], ends: [] }));
    worker.starts.push(event.start);
    worker.ends.push(Math.max(event.start, event.end));
    if (this.keepSpans && this.spans.length < MAX_TASK_SPANS) {
      const span: TaskSpan = {
        key: event.key,
        worker: event.worker,
        start: toMicroseconds((event.start - this.runStartEpochMs) / 1000),
        end: toMicroseconds((event.end - this.runStartEpochMs) / 1000),
      };
      const p = event.phases;
      if (p) {
        span.phases = {
          waiting: toMicroseconds(p.waiting / 1000),
          transfer: toMicroseconds(p.transfer / 1000),
          deserialize: toMicroseconds(p.deserialize / 1000),
          compute: toMicroseconds(p.compute / 1000),
          report: toMicroseconds(p.report / 1000),
        };
        if (p.transferAt) span.phases.transferStart = toMicroseconds((p.transferAt - this.runStartEpochMs) / 1000);
      }
      this.spans.push(span);
    }
  };

  /** Σ over workers of the time each spent running at least one task, seconds. */
  get computeSeconds(): number {
    let total = 0;
    for (const { starts, ends } of this.intervals.values()) total += unionSeconds(starts, ends);
    return total;
  }

  /** The task stream of this run, spans sorted by start. */
  taskStream(): { totalTasks: number; truncated: boolean; spans: TaskSpan[] } {
    const spans = [...this.spans].sort((a, b) => a.start - b.start);
    return { totalTasks: this.tasksEnded, truncated: this.tasksEnded > spans.length, spans };
  }
}
