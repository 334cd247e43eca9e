// End to end: open the generated report from disk in headless Chromium (Debian's package,
// driven by playwright-core) with every network request refused, and check it draws: no
// console errors, the recommendation table, every chart with data and ink on its canvas.
// Saves test-artifacts/report.png. Skipped, with the reason printed, without /usr/bin/chromium.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../dist/report/index.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`report-browser: skipped, ${CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)`);

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/results/${name}`, import.meta.url));
const artifacts = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

interface ChartState {
  id: string;
  kind: string;
  hasChart: boolean;
  points: number;
  /** Data elements (bars, points) chart.js laid out at finite positions. */
  elements: number;
  inked: number;
  width: number;
  height: number;
}

describe.skipIf(!hasChromium)('report in headless Chromium', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'schedlab-browser-'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function open(input: string, baseline?: string) {
    const output = join(dir, `${Math.random().toString(36).slice(2)}.html`);
    await renderReport({ input, baseline, output, format: 'html' });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const requests: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(output).href, { waitUntil: 'load' });
    const charts: ChartState[] = await page.evaluate(() => {
      interface DrawnChart {
        data: { datasets: Array<{ data: unknown[] }> };
        getDatasetMeta(i: number): { data: Array<{ x: number; y: number }> };
      }
      const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): DrawnChart | undefined } }).Chart;
      return Array.from(document.querySelectorAll<HTMLCanvasElement>('canvas[data-chart]')).map((canvas) => {
        const chart = Chart.getChart(canvas);
        const ctx = canvas.getContext('2d')!;
        const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let inked = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) inked++;
        return {
          id: canvas.dataset.chart!,
          kind: canvas.closest('figure')!.dataset.kind!,
          hasChart: chart !== undefined,
          points: chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0,
          elements: chart
            ? chart.data.datasets.reduce((n, _, i) => n + chart.getDatasetMeta(i).data.filter((e) => Number.isFinite(e.x) && Number.isFinite(e.y)).length, 0)
            : 0,
          inked,
          width: canvas.width,
          height: canvas.height,
        };
      });
    });
    return { page, problems, requests, charts };
  }

  it('draws the full report offline, with no console errors, and saves a screenshot', async () => {
    const { page, problems, requests, charts } = await open(fixture('complete.json'), fixture('baseline.json'));
    try {
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      const rows = await page.locator('#recommendation-table tbody tr').count();
      expect(rows).toBe(5);
      await expect(page.locator('#recommendation-table tbody tr').first().innerText()).resolves.toMatch(/matmul\s+quick, small\s+threads×2/);
      expect(await page.locator('#claims-table tbody tr').count()).toBe(5);
      expect(await page.locator('#baseline-table tbody tr').count()).toBe(25);
      expect(charts).toHaveLength(58);
      expect(new Set(charts.map((c) => c.kind))).toEqual(new Set(['time', 'speedup', 'overhead', 'bytes', 'memory', 'startup', 'gantt']));
      for (const chart of charts) {
        expect(chart, chart.id).toMatchObject({ hasChart: true });
        expect(chart.points, `${chart.id} has data`).toBeGreaterThan(0);
        expect(chart.elements, `${chart.id} laid out its data`).toBeGreaterThan(0);
        expect(chart.width, `${chart.id} has a size`).toBeGreaterThan(100);
        // Axes, labels and marks: a drawn chart inks a visible share of its canvas (a blank one inks 0).
        expect(chart.inked / (chart.width * chart.height), `${chart.id} is drawn`).toBeGreaterThan(0.02);
      }
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: true });
      // Printing: the print stylesheet applies and the page still lays out.
      await page.emulateMedia({ media: 'print' });
      const pdf = await page.pdf({ format: 'A4' });
      expect(pdf.byteLength).toBeGreaterThan(10_000);
    } finally {
      await page.close();
    }
  });

  it('draws a partial run, with its warnings visible', async () => {
    const { page, problems, requests, charts } = await open(fixture('partial.json'));
    try {
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      await expect(page.locator('#warnings').innerText()).resolves.toMatch(/6 of 12 planned cells ran[\s\S]*WorkerLostError/);
      expect(await page.locator('#missing-table tbody tr').count()).toBe(2);
      expect(charts.length).toBeGreaterThan(0);
      for (const chart of charts) expect(chart.hasChart && chart.elements > 0 && chart.inked > 0, chart.id).toBe(true);
    } finally {
      await page.close();
    }
  });
});
