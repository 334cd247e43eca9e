/**
 * Progress of a bench run, written to stderr (stdout carries the summary and the paths).
 *
 * On a terminal: one line rewritten in place every second — cell n of N, the current cell,
 * elapsed time and ETA. Otherwise (CI logs, pipes, tests): one plain line per finished cell,
 * never a control character. ETA = average seconds per finished cell × cells left.
 */
import { formatDuration, formatSeconds } from '../../common/format.js';
import type { Cell } from '../../results/schema.js';
import type { ProgressReporter } from '../runner/bench.js';

/** The live line on a TTY, plain lines otherwise. */
export function createProgress(total: number, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  return stream.isTTY ? new LiveProgress(total, stream) : new PlainProgress(total, stream);
}

/** One line saying how a cell ended. */
export function cellOutcome(cell: Cell): string {
  if (cell.status === 'ok' && cell.stats) {
    return `ok: median ${formatSeconds(cell.stats.median)} ±${cell.stats.rme.toFixed(1)}% (${cell.samples.length} sample${cell.samples.length === 1 ? '' : 's'})`;
  }
  return `${cell.status.toUpperCase()}: ${cell.error?.message ?? 'no result'}`;
}

abstract class BaseProgress implements ProgressReporter {
  protected readonly startedAt = Date.now();
  protected finished = 0;
  constructor(
    protected readonly total: number,
    protected readonly stream: NodeJS.WriteStream,
  ) {}

  protected elapsedSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  protected doneLine(): string {
    return `${this.finished} of ${this.total} cells in ${formatDuration(this.elapsedSeconds())}\n`;
  }

  protected eta(): string {
    if (this.finished === 0) return '?';
    return formatDuration((this.elapsedSeconds() / this.finished) * (this.total - this.finished));
  }

  abstract cellStarted(index: number, label: string): void;
  abstract cellFinished(index: number, label: string, cell: Cell): void;
  abstract note(message: string): void;
  abstract stop(): void;
}

class PlainProgress extends BaseProgress {
  cellStarted(): void {}

  cellFinished(index: number, label: string, cell: Cell): void {
    this.finished++;
    this.stream.write(
      `[${index + 1}/${this.total}] ${label}: ${cellOutcome(cell)} | elapsed ${formatDuration(this.elapsedSeconds())}, ETA ${this.eta()}\n`,
    );
  }

  note(message: string): void {
    this.stream.write(`${message}\n`);
  }

  stop(): void {
    this.stream.write(this.doneLine());
  }
}

class LiveProgress extends BaseProgress {
  private current = '';
  private index = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(total: number, stream: NodeJS.WriteStream) {
    super(total, stream);
    this.timer = setInterval(() => this.render(), 1000);
    this.timer.unref();
  }

  cellStarted(index: number, label: string): void {
    this.index = index;
    this.current = label;
    this.render();
  }

  cellFinished(index: number, label: string, cell: Cell): void {
    this.finished++;
    // Failures stay on screen; successes only advance the live line.
    if (cell.status !== 'ok') this.note(`[${index + 1}/${this.total}] ${label}: ${cellOutcome(cell)}`);
    this.render();
  }

  note(message: string): void {
    this.stream.write(`\r\x1b[K${message}\n`);
    this.render();
  }

  stop(): void {
    clearInterval(this.timer);
    this.stream.write(`\r\x1b[K${this.doneLine()}`);
  }

  private render(): void {
    if (!this.current) return; // nothing started yet
    const line =
      `cell ${Math.min(this.index + 1, this.total)} of ${this.total}: ${this.current} | ` +
      `elapsed ${formatDuration(this.elapsedSeconds())}, ETA ${this.eta()}`;
    const width = this.stream.columns || 100;
    this.stream.write(`\r\x1b[K${line.length > width - 1 ? line.slice(0, width - 2) + '…' : line}`);
  }
}
