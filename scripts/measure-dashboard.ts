/**
 * What the live dashboard costs, dashboard on (with the page open in headless Chromium) vs
 * off, in the same run, interleaved, medians and ratios:
 *
 * 1. threads, 2 workers: wall µs/task of the 10,000-task graph of measure-overhead, and wall
 *    time of a 100,000-task graph of the same shape;
 * 2. distributed: two CLI clusters (`schedlab scheduler` + 2 `schedlab worker`s each), one with
 *    `--dashboard-port 0`, one with `--no-dashboard`: the same two graphs, and the CPU the idle
 *    scheduler process uses over `--idle` seconds with the page open (vs the one without).
 *
 *   node dist/scripts/measure-dashboard.js [--runs 9] [--big-runs 3] [--idle 10] [--only threads|distributed] [--before DIR]
 *
 * `--before DIR` (threads only) adds another build's two schedulers, off and on with the page
 * open, to the same interleaved rotation, and reports its own on/off ratios beside this one's.
 *
 * Needs /usr/bin/chromium (and playwright-core, a dev dependency) for "the page open".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pidusage from 'pidusage';
import { chromium, type Browser } from 'playwright-core';
import { createScheduler, type Graph, type Scheduler } from '../schedulers/index.js';
import { loadBuild, threadCpuMs } from './measure-local.js';
import { treeReductionGraph } from './measure-overhead.js';

const CLI = fileURLToPath(new URL('../harness/cli/schedlab.js', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function arg(name: string, fallback: number): number {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) || fallback : fallback;
}

/** A scheduler under test and how to read the CPU (ms) of the process whose cost we compare. */
interface Subject {
  label: string;
  scheduler: Scheduler;
  cpuMs: () => Promise<number>;
}

interface Figures {
  wall: number;
  cpu: number;
  /** CPU of this process's main thread alone (where a local scheduler plans, dispatches and feeds the dashboard): steadier than wall on a busy machine. */
  main: number;
}

/** Rotate through `subjects` `runs` times (each run in a different order); median wall and CPU ms of each. */
async function compare(subjects: Subject[], graph: Graph, key: string, runs: number): Promise<Map<string, Figures>> {
  for (const s of subjects) await s.scheduler.get(graph, [key]);
  const wall = new Map(subjects.map((s) => [s.label, [] as number[]]));
  const cpu = new Map(subjects.map((s) => [s.label, [] as number[]]));
  const main = new Map(subjects.map((s) => [s.label, [] as number[]]));
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < subjects.length; i++) {
      const s = subjects[(i + r) % subjects.length]!;
      const c0 = await s.cpuMs();
      const m0 = threadCpuMs();
      const t0 = performance.now();
      await s.scheduler.get(graph, [key]);
      wall.get(s.label)!.push(performance.now() - t0);
      main.get(s.label)!.push(threadCpuMs() - m0);
      cpu.get(s.label)!.push((await s.cpuMs()) - c0);
    }
  }
  return new Map(subjects.map((s) => [s.label, { wall: median(wall.get(s.label)!), cpu: median(cpu.get(s.label)!), main: median(main.get(s.label)!) }]));
}

function report(title: string, figures: Map<string, Figures>, per: number, unit: 'µs/task' | 's', withMain = false): void {
  const scale = unit === 's' ? 1 / 1000 : 1000 / per;
  const off = figures.get('off')!;
  console.log(title);
  for (const [label, f] of figures) {
    const main = withMain ? `, main thread ${(f.main * scale).toFixed(2).padStart(8)} ${unit}` : '';
    const mainRatio = withMain ? `, main thread ${label}/off ${(f.main / off.main).toFixed(3)}` : '';
    const ratio = label === 'off' ? '' : `   wall ${label}/off ${(f.wall / off.wall).toFixed(3)}, CPU ${label}/off ${(f.cpu / off.cpu).toFixed(3)}${mainRatio}`;
    console.log(`  ${label.padEnd(22)} wall ${(f.wall * scale).toFixed(2).padStart(9)} ${unit}, CPU ${(f.cpu * scale).toFixed(2).padStart(9)} ${unit}${main}${ratio}`);
  }
}

const ownCpuMs = async (): Promise<number> => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function openPage(browser: Browser, url: string) {
  const page = await browser.newPage();
  await page.goto(url, { waitUntil: 'load' });
  await page.locator('#connection', { hasText: /^live$/ }).waitFor({ timeout: 30_000 });
  return page;
}

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern}:\n${text}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
}

async function cluster(children: ChildProcess[], dashboard: boolean): Promise<{ address: string; url?: string; pid: number }> {
  const scheduler = spawn(process.execPath, [CLI, 'scheduler', '--port', '0', ...(dashboard ? ['--dashboard-port', '0'] : ['--no-dashboard'])], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(scheduler);
  const [address, url] = await Promise.all([
    waitForLine(scheduler, /listening on (\S+)/),
    dashboard ? waitForLine(scheduler, /schedlab dashboard: (\S+)/) : undefined,
  ]);
  const joined = waitForLine(scheduler, /(joined[\s\S]*joined)/);
  for (const name of ['a', 'b']) children.push(spawn(process.execPath, [CLI, 'worker', address, '--name', name], { stdio: 'ignore' }));
  await joined;
  return { address, url, pid: scheduler.pid! };
}

async function cpuMs(pid: number): Promise<number> {
  return (await pidusage(pid)).ctime;
}

async function main(): Promise<void> {
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${availableParallelism()} cores; on vs off interleaved in this run`);
  const runs = arg('--runs', 9);
  const bigRuns = arg('--big-runs', 3);
  const idleSeconds = arg('--idle', 10);
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  const small = treeReductionGraph(5000);
  const big = treeReductionGraph(50_000);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    if (only !== 'distributed') {
      // "off again" is a second plain scheduler: how far two identical ones differ on this machine now.
      const off = await createScheduler('threads', { workers: 2 });
      const control = await createScheduler('threads', { workers: 2 });
      const on = await createScheduler('threads', { workers: 2, dashboard: { port: 0, log: false } });
      const page = await openPage(browser, on.dashboardUrl!);
      const subjects: Subject[] = [
        { label: 'off', scheduler: off, cpuMs: ownCpuMs },
        { label: 'off again (noise)', scheduler: control, cpuMs: ownCpuMs },
        { label: 'on, page open', scheduler: on, cpuMs: ownCpuMs },
      ];
      const beforeDir = process.argv.includes('--before') ? process.argv[process.argv.indexOf('--before') + 1] : undefined;
      let beforePage: Awaited<ReturnType<typeof openPage>> | undefined;
      if (beforeDir) {
        const before = await loadBuild('before', beforeDir);
        const beforeOff = await before.createScheduler('threads', { workers: 2 });
        const beforeOn = await before.createScheduler('threads', { workers: 2, dashboard: { port: 0, log: false } } as never);
        beforePage = await openPage(browser, beforeOn.dashboardUrl!);
        subjects.push({ label: 'before: off', scheduler: beforeOff, cpuMs: ownCpuMs }, { label: 'before: on, page open', scheduler: beforeOn, cpuMs: ownCpuMs });
      }
      // This build's rows against its own 'off'; the other build's against its own.
      const split = (figures: Map<string, Figures>): Array<Map<string, Figures>> => {
        const mine = new Map([...figures].filter(([label]) => !label.startsWith('before: ')));
        const theirs = new Map([...figures].filter(([label]) => label.startsWith('before: ')).map(([label, f]) => [label.slice('before: '.length), f] as const));
        return theirs.size ? [mine, theirs] : [mine];
      };
      try {
        const smallFigures = split(await compare(subjects, small.graph, small.key, runs));
        const bigFigures = split(await compare(subjects, big.graph, big.key, bigRuns));
        smallFigures.forEach((f, i) => report(`${i ? 'BEFORE build' : 'this build'}: threads, 2 workers: 10,000-task graph (CPU: this whole process, workers included)`, f, small.tasks, 'µs/task', true));
        bigFigures.forEach((f, i) => report(`${i ? 'BEFORE build' : 'this build'}: threads, 2 workers: ${big.tasks.toLocaleString('en')}-task graph`, f, big.tasks, 's', true));
      } finally {
        await page.close();
        await beforePage?.close();
        await Promise.all(subjects.map((s) => s.scheduler.close()));
      }
    }
    if (only !== 'threads') {
      const children: ChildProcess[] = [];
      try {
        const [withBoard, without] = await Promise.all([cluster(children, true), cluster(children, false)]);
        const page = await openPage(browser, withBoard.url!);
        const on = await createScheduler('distributed', { address: withBoard.address });
        const off = await createScheduler('distributed', { address: without.address });
        const subjects = [
          { label: 'off', scheduler: off, cpuMs: () => cpuMs(without.pid) },
          { label: 'on, page open', scheduler: on, cpuMs: () => cpuMs(withBoard.pid) },
        ];
        try {
          report('distributed, 2 workers: 10,000-task graph (CPU: the scheduler process)', await compare(subjects, small.graph, small.key, runs), small.tasks, 'µs/task');
          report(`distributed, 2 workers: ${big.tasks.toLocaleString('en')}-task graph`, await compare(subjects, big.graph, big.key, bigRuns), big.tasks, 's');
          await new Promise((r) => setTimeout(r, 2_000)); // let the last updates drain
          const [onBefore, offBefore] = await Promise.all([cpuMs(withBoard.pid), cpuMs(without.pid)]);
          await new Promise((r) => setTimeout(r, idleSeconds * 1000));
          const [onAfter, offAfter] = await Promise.all([cpuMs(withBoard.pid), cpuMs(without.pid)]);
          const share = (ms: number) => (100 * ms) / (idleSeconds * 1000);
          console.log(`distributed: idle scheduler process over ${idleSeconds} s: off ${share(offAfter - offBefore).toFixed(2)} % of a core, on with the page open ${share(onAfter - onBefore).toFixed(2)} %`);
        } finally {
          await page.close();
          await Promise.all([on.close(), off.close()]);
        }
      } finally {
        for (const child of children) child.kill('SIGTERM');
      }
    }
  } finally {
    await browser.close();
  }
}

await main();
