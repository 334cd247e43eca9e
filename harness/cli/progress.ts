/**
 * Progress of a bench run, written to stderr (stdout carries the summary and the paths).
 *
 * On a terminal: one line redrawn in place every second by cli-progress — cell n of N, a
 * bar, the workload being raced, elapsed time and ETA — with notes and failed cells printed above
 * it (cli-progress's log buffer). Otherwise (CI logs, pipes, tests): one plain line per
 * finished cell, never a control character. ETA = average seconds per finished cell × cells
 * left (computed here: cli-progress's own ETA is a rate over the last few updates, which
 * jumps about when cells take from milliseconds to minutes).
 */
import cliProgress from 'cli-progress';
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

  abstract raceStarted(first: number, count: number, label: string): void;
  abstract cellFinished(index: number, label: string, cell: Cell): void;
  abstract note(message: string): void;
  abstract stop(): void;
}

class PlainProgress extends BaseProgress {
  raceStarted(): void {}

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
  private readonly bars: cliProgress.MultiBar;
  private readonly bar: cliProgress.SingleBar;

  constructor(total: number, stream: NodeJS.WriteStream) {
    super(total, stream);
    this.bars = new cliProgress.MultiBar({
      stream,
      fps: 1, // the line changes once a second (elapsed) or when a cell starts or ends
      format: (options, params) => this.line(cliProgress.Format.BarFormat(params.progress, options)),
      barsize: 16,
      barCompleteChar: '=',
      barIncompleteChar: '-',
      clearOnComplete: true, // the summary that follows replaces it
      gracefulExit: false, // bench handles Ctrl-C: it stops the bar in its finally
    });
    this.bar = this.bars.create(total, 0);
  }

  raceStarted(first: number, count: number, label: string): void {
    this.index = first;
    this.current = `racing ${label} (${count} cell${count === 1 ? '' : 's'})`;
    this.bars.update();
  }

  cellFinished(index: number, label: string, cell: Cell): void {
    this.finished++;
    // Failures stay on screen; successes only advance the live line.
    if (cell.status !== 'ok') this.bars.log(`[${index + 1}/${this.total}] ${label}: ${cellOutcome(cell)}\n`);
    this.bar.update(this.finished);
    this.bars.update();
  }

  note(message: string): void {
    this.bars.log(`${message}\n`);
    this.bars.update();
  }

  stop(): void {
    this.bars.stop();
    this.stream.write(this.doneLine());
  }

  private line(bar: string): string {
    if (!this.current) return ''; // nothing started yet
    const line =
      `cell ${Math.min(this.index + 1, this.total)} of ${this.total} [${bar}] ${this.current} | ` +
      `elapsed ${formatDuration(this.elapsedSeconds())}, ETA ${this.eta()}`;
    const width = this.stream.columns || 100;
    return line.length > width - 1 ? line.slice(0, width - 2) + '…' : line;
  }
}
