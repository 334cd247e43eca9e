/**
 * What the scheduler's events say about one run: total task compute time, tasks ended,
 * and (when asked) the task stream — one span per task with the worker it ran on — for the
 * report's Gantt chart.
 *
 * Only `task-end` events are needed: they carry the start and end measured where the task
 * ran (epoch ms, comparable across the threads and processes of one machine). Spans are
 * stored in seconds from the start of the run and capped, so a 100,000-task graph does
 * not produce a 100,000-row results file; `totalTasks` and `truncated` say what was cut.
 */
import type { SchedulerEvent } from '../schedulers/types.js';
import type { TaskSpan } from '../results/schema.js';

/** Spans kept for the Gantt chart of one sample. */
export const MAX_TASK_SPANS = 2000;

/** Seconds rounded to the microsecond: the clocks are not finer, and the results file stays small. */
function toMicroseconds(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

export class RunEventRecorder {
  /** Σ (end − start) of every task that ended, seconds. */
  computeSeconds = 0;
  tasksEnded = 0;
  private readonly spans: TaskSpan[] = [];

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
    this.computeSeconds += Math.max(0, event.end - event.start) / 1000;
    if (this.keepSpans && this.spans.length < MAX_TASK_SPANS) {
      this.spans.push({
        key: event.key,
        worker: event.worker,
        start: toMicroseconds((event.start - this.runStartEpochMs) / 1000),
        end: toMicroseconds((event.end - this.runStartEpochMs) / 1000),
      });
    }
  };

  /** The task stream of this run, spans sorted by start. */
  taskStream(): { totalTasks: number; truncated: boolean; spans: TaskSpan[] } {
    const spans = [...this.spans].sort((a, b) => a.start - b.start);
    return { totalTasks: this.tasksEnded, truncated: this.tasksEnded > spans.length, spans };
  }
}
