// The saved performance report (Dask's performance_report): records every get made through
// the recording scheduler and writes one self-contained HTML file with the bench report's
// renderer: task stream, time per task group, bytes moved, workers; failed gets included.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler, opRef, TaskError, type Graph, type Scheduler } from '../dist/schedulers/index.js';
import { performanceReport } from '../dist/report/index.js';

const OPS = new URL('./fixtures/distributed-ops.mjs', import.meta.url).href;

function graph(n: number): Graph {
  const g: Graph = {};
  for (let i = 0; i < n; i++) g[`spin-${i}`] = { op: opRef(OPS, 'spin'), args: [3, i] };
  g['total-0'] = { op: opRef(OPS, 'sum'), args: Array.from({ length: n }, (_, i) => ({ $ref: `spin-${i}` })) };
  return g;
}

describe('performanceReport', () => {
  let dir: string;
  let scheduler: Scheduler;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'schedlab-perf-'));
    scheduler = await createScheduler('threads', { workers: 2 });
  });
  afterAll(async () => {
    await scheduler?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one self-contained HTML file for several gets, a failed one included', async () => {
    const file = join(dir, 'perf.html');
    const failing: Graph = { 'boom-1': { op: opRef(OPS, 'fail'), args: ['on purpose'] } };
    let seen = 0;
    await expect(
      performanceReport(file, scheduler, async (s) => {
        expect(await s.get(graph(30), ['total-0'], { onEvent: () => void seen++ })).toEqual([435]);
        expect(await s.get(graph(10), ['total-0'])).toEqual([45]);
        await s.get(failing, ['boom-1']);
      }),
    ).rejects.toBeInstanceOf(TaskError);
    expect(seen).toBe(62); // the caller's own onEvent still sees every event (31 starts, 31 ends)
    const page = await readFile(file, 'utf8');
    expect(page).not.toMatch(/<script[^>]*\bsrc=|<link[^>]*\bhref=/); // nothing loaded from anywhere
    expect(page).toContain('threads scheduler, 2 worker(s) · 3 get(s) recorded');
    expect(page.match(/<section class="run"/g)).toHaveLength(3);
    expect(page).toMatch(/get #3: boom-1 <span class="verdict failed">failed<\/span>/);
    expect(page).toMatch(/Bytes to workers<\/th><td>[\d.]+ (B|kB)/);
    const data = JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(page)![1]!) as {
      charts: Array<{ id: string; kind: string; config: { data: { labels?: string[]; datasets: Array<{ label: string; data: Array<{ y: string }> }> } } }>;
    };
    const stream = data.charts.find((c) => c.id === 'run-1-stream')!;
    expect(stream.kind).toBe('gantt');
    expect(stream.config.data.datasets.map((d) => d.label).sort()).toEqual(['spin', 'total']);
    expect(new Set(stream.config.data.datasets.flatMap((d) => d.data.map((p) => p.y)))).toEqual(new Set(['thread-0', 'thread-1']));
    expect(data.charts.find((c) => c.id === 'run-1-groups')!.config.data.labels).toEqual(['spin', 'total']);
  }, 30_000);
});
