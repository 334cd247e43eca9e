// The terminal progress bar: done/total and an ETA on a TTY, nothing elsewhere unless forced.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { compute, createScheduler, opRef, progressBar, type Graph } from '../dist/schedulers/index.js';

const OPS = new URL('./fixtures/distributed-ops.mjs', import.meta.url).href;

function graph(n: number): Graph {
  const g: Graph = { unused: { op: opRef(OPS, 'inc'), args: [1] } };
  for (let i = 0; i < n; i++) g[`spin-${i}`] = { op: opRef(OPS, 'spin'), args: [2, i] };
  g.total = { op: opRef(OPS, 'sum'), args: Array.from({ length: n }, (_, i) => ({ $ref: `spin-${i}` })) };
  return g;
}

function capture(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  stream.isTTY = isTTY;
  stream.columns = 120;
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe('progress bar', () => {
  it('compute({ progress }) draws done/total of the needed tasks with an ETA on a TTY', async () => {
    const out = capture(true);
    const [total] = await compute(graph(40), ['total'], { scheduler: 'threads', workers: 2, progress: { stream: out.stream } });
    expect(total).toBe(780);
    expect(out.text()).toMatch(/41\/41 tasks \| 100% \|.*ETA/); // 40 spins + total; `unused` is not needed
  }, 30_000);

  it('draws nothing when the stream is not a TTY, unless forced', async () => {
    const scheduler = await createScheduler('sync');
    try {
      const quiet = capture(false);
      const bar = progressBar(graph(5), ['total'], { stream: quiet.stream });
      await scheduler.get(graph(5), ['total'], { onEvent: bar.onEvent });
      bar.stop();
      expect(quiet.text()).toBe('');
      const forced = capture(false);
      const loud = progressBar(graph(5), ['total'], { stream: forced.stream, force: true });
      await scheduler.get(graph(5), ['total'], loud);
      loud.stop();
      expect(forced.text()).toMatch(/6\/6 tasks/);
    } finally {
      await scheduler.close();
    }
  }, 30_000);
});
