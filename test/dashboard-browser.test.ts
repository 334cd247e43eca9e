// End to end: the live dashboard in headless Chromium (Debian's package, driven by
// playwright-core). A `schedlab scheduler` with two `schedlab worker`s runs a graph of a few
// seconds while the page is open: no console errors, no request off the machine, the done
// count rises, the task stream has bars on both worker rows, the worker table lists both, and
// a worker killed mid-run shows as lost. Then the same page on a local threads scheduler, and
// a token-protected one. Saves screenshots under test-artifacts/. Skipped without /usr/bin/chromium.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler, opRef, type Graph, type Scheduler } from '../dist/schedulers/index.js';
import { CLI } from './cli-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`dashboard-browser: skipped, ${CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)`);

const artifacts = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const OPS = new URL('./fixtures/distributed-ops.mjs', import.meta.url).href;
const spin = opRef(OPS, 'spin');
const add = opRef(OPS, 'add');

/** `n` tasks `slow-i` spinning `ms` each, pairs summed by `pair-i` (inputs cross workers), one `total`. */
function graph(n: number, ms: number): Graph {
  const g: Graph = {};
  for (let i = 0; i < n; i++) g[`slow-${i}`] = { op: spin, args: [ms, i] };
  for (let i = 0; i < n; i += 2) g[`pair-${i}`] = { op: add, args: [{ $ref: `slow-${i}` }, { $ref: `slow-${i + 1}` }] };
  g.total = { op: opRef(OPS, 'sum'), args: Array.from({ length: n / 2 }, (_, j) => ({ $ref: `pair-${2 * j}` })) };
  return g;
}
const expectedTotal = (n: number) => (n * (n - 1)) / 2;

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in 30 s:\n${text}`)), 30_000);
    const onData = (d: Buffer): void => {
      text += d.toString();
      const match = pattern.exec(text);
      if (match) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve(match[1] ?? match[0]);
      }
    };
    child.stderr!.on('data', onData);
  });
}

interface Watched {
  page: Page;
  problems: string[];
  offMachine: string[];
  requests: string[];
}

describe.skipIf(!hasChromium)('live dashboard in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function open(url: string): Promise<Watched> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    const offMachine: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const origin = new URL(url).origin;
    await page.route('**/*', (route) => {
      const request = route.request();
      requests.push(`${request.url()} ${request.headers().authorization ?? ''}`);
      if (request.url().startsWith(origin)) return route.continue();
      offMachine.push(request.url());
      return route.abort();
    });
    await page.goto(url, { waitUntil: 'load' });
    return { page, problems, offMachine, requests };
  }

  const done = (page: Page) => page.locator('#done-total').innerText().then(Number);
  const barsPerRow = (page: Page) =>
    page.locator('#stream').evaluate((el) => JSON.parse((el as HTMLElement).dataset.bars ?? '{}') as Record<string, number>);

  async function expectLiveAndRising(page: Page): Promise<void> {
    await expect.poll(() => page.locator('#connection').innerText(), { timeout: 15_000 }).toBe('live');
    await expect.poll(() => done(page), { timeout: 20_000 }).toBeGreaterThan(0);
    const first = await done(page);
    await expect.poll(() => done(page), { timeout: 20_000 }).toBeGreaterThan(first);
  }

  it('watches a CLI scheduler with two workers, and shows a killed worker as lost', async () => {
    const children: ChildProcess[] = [];
    const start = (args: string[]) => {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      return child;
    };
    let client: Scheduler | undefined;
    let watched: Watched | undefined;
    try {
      const scheduler = start(['scheduler', '--port', '0', '--dashboard-port', '0']);
      const [address, url] = await Promise.all([waitForLine(scheduler, /listening on (\S+)/), waitForLine(scheduler, /schedlab dashboard: (\S+)/)]);
      const first = waitForLine(scheduler, /worker w1-a joined/);
      start(['worker', address, '--name', 'w1-a', '--no-nanny']);
      await first;
      const second = waitForLine(scheduler, /worker w2-b joined/);
      const doomed = start(['worker', address, '--name', 'w2-b', '--no-nanny']);
      await second;
      client = await createScheduler('distributed', { address });
      watched = await open(url);
      const { page } = watched;
      const n = 160;
      const result = client.get(graph(n, 40), ['total']);
      await expectLiveAndRising(page);
      await expect.poll(async () => Object.values(await barsPerRow(page)).filter((c) => c > 0).length, { timeout: 20_000 }).toBe(2);
      await expect.poll(() => page.locator('#workers tbody tr').allInnerTexts(), { timeout: 10_000 }).toEqual([
        expect.stringMatching(/^w1-a\s+running/),
        expect.stringMatching(/^w2-b\s+running/),
      ]);
      await expect.poll(() => page.locator('#progress [data-group="slow"]').innerText()).toMatch(/\d+ done/);
      await page.screenshot({ path: join(artifacts, 'dashboard-distributed.png'), fullPage: true });
      doomed.kill('SIGKILL');
      await expect.poll(() => page.locator('#workers tr[data-worker="w2-b"] .status').innerText(), { timeout: 20_000 }).toBe('lost');
      await expect.poll(() => page.locator('#log').innerText()).toMatch(/worker w2-b lost/);
      expect(await result).toEqual([expectedTotal(n)]);
      await expect.poll(() => page.locator('#progress [data-group="total"]').innerText(), { timeout: 10_000 }).toMatch(/^total\s+1 done/);
      await page.screenshot({ path: join(artifacts, 'dashboard-distributed-lost-worker.png'), fullPage: true });
      expect(watched.problems).toEqual([]);
      expect(watched.offMachine).toEqual([]);
    } finally {
      await watched?.page.close();
      await client?.close();
      for (const child of children) child.kill('SIGKILL');
    }
  }, 90_000);

  it('shows the same page for a local threads scheduler', async () => {
    const scheduler = await createScheduler('threads', { workers: 2, dashboard: { port: 0, log: false } });
    let watched: Watched | undefined;
    try {
      watched = await open(scheduler.dashboardUrl!);
      const { page } = watched;
      const n = 120;
      const result = scheduler.get(graph(n, 25), ['total']);
      await expectLiveAndRising(page);
      await expect.poll(async () => Object.keys(await barsPerRow(page)).sort(), { timeout: 20_000 }).toEqual(['thread-0', 'thread-1']);
      await expect.poll(() => page.locator('#workers tbody tr').count()).toBe(2);
      expect(await result).toEqual([expectedTotal(n)]);
      await page.screenshot({ path: join(artifacts, 'dashboard-threads.png'), fullPage: true });
      expect(watched.problems).toEqual([]);
      expect(watched.offMachine).toEqual([]);
    } finally {
      await watched?.page.close();
      await scheduler.close();
    }
  }, 60_000);

  it('with a token: refuses requests without it, and the page asks for it and sends it on every request', async () => {
    const token = 'dashboard-secret';
    const scheduler = await createScheduler('sync', { dashboard: { port: 0, token, log: false } });
    let watched: Watched | undefined;
    try {
      const url = scheduler.dashboardUrl!;
      for (const path of ['state', 'events', 'assets/dashboard.js', 'assets/uPlot.iife.min.js']) {
        const refused = await fetch(url + path);
        expect(refused.status, path).toBe(401);
        await refused.body?.cancel();
        const wrong = await fetch(url + path, { headers: { authorization: 'Bearer wrong' } });
        expect(wrong.status, path).toBe(401);
        await wrong.body?.cancel();
      }
      const allowed = await fetch(`${url}state`, { headers: { authorization: `Bearer ${token}` } });
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toMatchObject({ scheduler: 'sync', full: true });
      expect((await fetch(`${url}state?token=${token}`, { method: 'POST' })).status).toBe(405);

      watched = await open(url);
      const { page } = watched;
      await page.locator('#token-form').waitFor({ state: 'visible', timeout: 10_000 });
      await page.fill('#token-input', token);
      await page.click('#token-form button');
      await expect.poll(() => page.locator('#connection').innerText(), { timeout: 15_000 }).toBe('live');
      await scheduler.get(graph(8, 1), ['total']);
      await expect.poll(() => done(page), { timeout: 10_000 }).toBe(13);
      await page.screenshot({ path: join(artifacts, 'dashboard-token.png'), fullPage: true });
      // Only the shell, its boot script and the one probe that found a token is needed go without it.
      const unauthenticated = watched.requests.filter((r) => !/[?&]token=dashboard-secret|Bearer dashboard-secret/.test(r));
      expect(unauthenticated).toEqual([`${url} `, `${url}boot.js `, `${url}state `]);
      // The refused attempt before the form is the page asking: one 401 logged by Chromium is expected.
      expect(watched.problems.filter((p) => !/401/.test(p))).toEqual([]);
      expect(watched.offMachine).toEqual([]);
    } finally {
      await watched?.page.close();
      await scheduler.close();
    }
  }, 60_000);
});
