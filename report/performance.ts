/**
 * A saved performance report, as Dask's `performance_report`: every `get` made through the
 * recording scheduler inside `performanceReport(file, scheduler, body)` is recorded (its task
 * events, wall time, bytes moved, workers), and one self-contained HTML file is written at
 * the end (also when `body` throws: the failed run is in it). It uses the bench report's
 * renderer: its stylesheet, its page script and Chart.js inlined, its task-stream chart.
 *
 *   import { performanceReport } from 'schedlab/report';
 *   await performanceReport('perf.html', scheduler, async (s) => {
 *     await s.get(graph, ['total']);
 *   });
 *
 * The report layer may not import the library (ARCHITECTURE.md), so the scheduler is typed
 * here by the little it needs. Each run keeps its first `maxSpans` task spans (default
 * 20,000) for the task stream; the per-group times and counts cover every task.
 */
import { taskGroup } from '../common/task-group.js';
import { formatBytes, formatSeconds } from '../common/format.js';
import { writeFileAtomic } from '../common/files.js';
import { taskStreamChart, type ChartSpec } from './charts.js';
import { html, jsonForScript, scriptForInline, type Html } from './html.js';
import { chartJs, figure, fill, template } from './render-html.js';

type TaskEvent =
  | { type: 'task-start'; key: string; worker: string; time: number }
  | { type: 'task-end'; key: string; worker: string; start: number; end: number; ok: boolean };

interface ByteCounters {
  bytesToWorkers: number;
  bytesFromWorkers: number;
  bytesBetweenWorkers: number;
}

/** What the recorder needs of a scheduler (schedlab's `Scheduler` has all of it). */
export interface RecordableScheduler {
  readonly name: string;
  readonly workers: number;
  get(graph: never, keys: string[], options?: { onEvent?: (e: TaskEvent) => void; signal?: AbortSignal }): Promise<unknown[]>;
  stats(): ByteCounters;
}

export interface PerformanceReportOptions {
  /** Page title (default: "schedlab performance report"). */
  title?: string;
  /** Task spans kept per run for its task stream (default 20,000). */
  maxSpans?: number;
}

interface RecordedRun {
  index: number;
  keys: string[];
  started: number;
  wallSeconds: number;
  error?: string;
  spans: Array<{ key: string; worker: string; start: number; end: number }>;
  tasks: number;
  failed: number;
  groups: Map<string, { tasks: number; seconds: number }>;
  workers: Map<string, { tasks: number; seconds: number }>;
  bytes: ByteCounters;
}

/** Record every `get` of `scheduler` made through the scheduler `body` receives, and write the report to `file`. */
export async function performanceReport<S extends RecordableScheduler, T>(
  file: string,
  scheduler: S,
  body: (recording: S) => Promise<T>,
  options: PerformanceReportOptions = {},
): Promise<T> {
  const maxSpans = options.maxSpans ?? 20_000;
  const runs: RecordedRun[] = [];
  const recording = Object.create(scheduler) as S;
  const get: RecordableScheduler['get'] = async (graph, keys, runOptions) => {
    const run: RecordedRun = {
      index: runs.length + 1,
      keys: Array.isArray(keys) ? keys.slice(0, 5) : [],
      started: performance.timeOrigin + performance.now(),
      wallSeconds: 0,
      spans: [],
      tasks: 0,
      failed: 0,
      groups: new Map(),
      workers: new Map(),
      bytes: { bytesToWorkers: 0, bytesFromWorkers: 0, bytesBetweenWorkers: 0 },
    };
    runs.push(run);
    const before = scheduler.stats();
    const own = runOptions?.onEvent;
    const onEvent = (e: TaskEvent): void => {
      if (e.type === 'task-end') {
        const seconds = Math.max(0, e.end - e.start) / 1000;
        run.tasks += 1;
        if (!e.ok) run.failed += 1;
        const g = taskGroup(e.key);
        const group = run.groups.get(g) ?? { tasks: 0, seconds: 0 };
        group.tasks += 1;
        group.seconds += seconds;
        run.groups.set(g, group);
        const worker = run.workers.get(e.worker) ?? { tasks: 0, seconds: 0 };
        worker.tasks += 1;
        worker.seconds += seconds;
        run.workers.set(e.worker, worker);
        if (run.spans.length < maxSpans) run.spans.push({ key: e.key, worker: e.worker, start: (e.start - run.started) / 1000, end: (e.end - run.started) / 1000 });
      }
      own?.(e);
    };
    try {
      return await scheduler.get.call(scheduler, graph, keys, { ...runOptions, onEvent });
    } catch (err) {
      run.error = `${(err as Error).name}: ${(err as Error).message}`;
      throw err;
    } finally {
      run.wallSeconds = (performance.timeOrigin + performance.now() - run.started) / 1000;
      const after = scheduler.stats();
      run.bytes = {
        bytesToWorkers: after.bytesToWorkers - before.bytesToWorkers,
        bytesFromWorkers: after.bytesFromWorkers - before.bytesFromWorkers,
        bytesBetweenWorkers: after.bytesBetweenWorkers - before.bytesBetweenWorkers,
      };
    }
  };
  Object.defineProperty(recording, 'get', { value: get });
  try {
    return await body(recording);
  } finally {
    await writeFileAtomic(file, await renderPerformance(scheduler, runs, options.title ?? 'schedlab performance report'));
  }
}

async function renderPerformance(scheduler: RecordableScheduler, runs: RecordedRun[], title: string): Promise<string> {
  const [page, style, script, chart] = await Promise.all([template('performance.html'), template('report.css'), template('report.js'), chartJs()]);
  const charts: ChartSpec[] = [];
  const sections = runs.map((run) => {
    const stream = taskStreamChart(run.spans, {
      id: `run-${run.index}-stream`,
      title: `Task stream — get #${run.index}`,
      caption: `A row per worker, a bar per task, coloured by task group (${run.tasks} tasks${run.spans.length < run.tasks ? `, first ${run.spans.length} shown` : ''}).`,
      kindOf: taskGroup,
      xTitle: 'time from the start of the get',
    });
    const groups = [...run.groups.entries()].sort((a, b) => b[1].seconds - a[1].seconds);
    const perGroup: ChartSpec = {
      id: `run-${run.index}-groups`,
      kind: 'time',
      title: `Time per task group — get #${run.index}`,
      caption: 'Seconds of task time (on the workers) spent in each group.',
      height: Math.min(500, 90 + 28 * groups.length),
      config: {
        type: 'bar',
        data: { labels: groups.map(([g]) => g), datasets: [{ label: 'seconds', data: groups.map(([, v]) => Number(v.seconds.toPrecision(4))), backgroundColor: '#2563eb' }] },
        options: {
          indexAxis: 'y',
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: false } },
          scales: { x: { title: { display: true, text: 'task seconds' }, beginAtZero: true }, y: { title: { display: true, text: 'task group' } } },
        },
      },
    };
    charts.push(stream, perGroup);
    return runSection(run, scheduler, [stream, perGroup]).value;
  });
  return fill(page, {
    title: html`${title}`.value,
    summary: html`${scheduler.name} scheduler, ${scheduler.workers} worker(s) · ${runs.length} get(s) recorded · written ${new Date().toISOString()}`.value,
    runs: sections.join('\n') || html`<p>No get was made through the recording scheduler.</p>`.value,
    chartjsVersion: chart.version,
    style,
    data: jsonForScript({ charts }),
    chartjs: scriptForInline(chart.source),
    script: scriptForInline(script),
  });
}

function runSection(run: RecordedRun, scheduler: RecordableScheduler, specs: ChartSpec[]): Html {
  const busy = [...run.workers.values()].reduce((s, w) => s + w.seconds, 0);
  const workers = [...run.workers.entries()].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }));
  return html`<section class="run" id="run-${String(run.index)}">
<h2>get #${String(run.index)}: ${run.keys.join(', ')}${run.error ? html` <span class="verdict failed">failed</span>` : ''}</h2>
${run.error ? html`<p class="warnings">${run.error}</p>` : ''}
<table class="summary-table"><tbody>
<tr><th>Wall time</th><td>${formatSeconds(run.wallSeconds)}</td><th>Tasks</th><td>${String(run.tasks)}${run.failed ? ` (${run.failed} failed)` : ''}</td></tr>
<tr><th>Task time on workers</th><td>${formatSeconds(busy)}</td><th>Parallelism used</th><td>${run.wallSeconds > 0 ? (busy / run.wallSeconds).toFixed(2) : '—'} of ${String(scheduler.workers)}</td></tr>
<tr><th>Bytes to workers</th><td>${formatBytes(run.bytes.bytesToWorkers)}</td><th>Bytes from workers</th><td>${formatBytes(run.bytes.bytesFromWorkers)}</td></tr>
<tr><th>Bytes between workers</th><td>${formatBytes(run.bytes.bytesBetweenWorkers)}</td><th></th><td></td></tr>
</tbody></table>
${specs.map(figure)}
<table class="workers-table"><thead><tr><th>Worker</th><th class="num">Tasks</th><th class="num">Task time</th><th class="num">Busy</th></tr></thead><tbody>${workers.map(
    ([name, w]) =>
      html`<tr><td>${name}</td><td class="num">${String(w.tasks)}</td><td class="num">${formatSeconds(w.seconds)}</td><td class="num">${run.wallSeconds > 0 ? `${((100 * w.seconds) / run.wallSeconds).toFixed(0)} %` : '—'}</td></tr>`,
  )}</tbody></table>
</section>`;
}
