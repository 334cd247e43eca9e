/**
 * The bullmq scheduler against real redis-server processes this file starts (and stops):
 * a given Redis with a password and `schedlab bullmq-worker` processes, TLS (rediss://), a
 * worker killed with SIGKILL mid-graph (BullMQ's stalled-job check retries its job), a Redis
 * restart mid-run (a clear error, then the next get works), and that every key a get
 * creates is deleted after it, whether it succeeded, failed or was aborted.
 * Skipped, with the reason printed, when redis-server is not installed (CI installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, ConnectionError, createScheduler, GraphBuilder, OptionError, type Scheduler } from '../dist/schedulers/index.js';
import { createBullmqScheduler, startBullmqWorker, parseRedisUrl } from '../dist/schedulers/bullmq/index.js';
import { startRedisServer } from '../dist/schedulers/bullmq/local-cluster.js';
import { stopChild } from '../dist/schedulers/child-processes.js';
import { CLI, runCli } from './cli-helpers.js';
import { hasRedisServer } from './conformance/schedulers.js';
import { op } from './conformance/helpers.js';
import { makePki } from './distributed-helpers.js';

const PASSWORD = 'test-pass-word';

/** n tasks sleeping `ms` each, summed: long enough to act on mid-run. */
function sleepers(n: number, ms: number) {
  const b = new GraphBuilder();
  const parts = Array.from({ length: n }, (_, i) => b.task(`nap${i}`, op('sleep'), [ms, i]));
  b.task('total', op('sum'), parts);
  return { graph: b.graph, expected: (n * (n - 1)) / 2 };
}

function tree(n: number) {
  const b = new GraphBuilder();
  const leaves = Array.from({ length: n }, (_, i) => b.task(`leaf${i}`, op('inc'), [i]));
  b.task('root', op('sum'), leaves);
  return { graph: b.graph, expected: (n * (n + 1)) / 2 };
}

async function schedlabKeys(url: string): Promise<string[]> {
  const redis = new Redis(parseRedisUrl(url).options);
  try {
    return await redis.keys('schedlab:*');
  } finally {
    redis.disconnect();
  }
}

/** `schedlab bullmq-worker url ...args`, resolved once it says it serves the queue. */
function startCliWorker(url: string, args: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'bullmq-worker', url, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`bullmq-worker did not start:\n${stderr}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('serving queue')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bullmq-worker exited with code ${code}:\n${stderr}`));
    });
  });
}

describe.skipIf(!hasRedisServer)('bullmq: a given Redis', () => {
  let redis: { process: ChildProcess; port: number };
  let url: string;
  const children: ChildProcess[] = [];
  const schedulers: Scheduler[] = [];
  beforeAll(async () => {
    redis = await startRedisServer('redis-server', PASSWORD, 10_000);
    url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
  });
  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.close()));
    await Promise.all(children.map(stopChild));
    await stopChild(redis.process);
  });

  it('with a password in the URL: fails at once without workers, runs on `schedlab bullmq-worker`, refuses a wrong password', async () => {
    const scheduler = await createScheduler('bullmq', { redis: url });
    schedulers.push(scheduler);
    const { graph, expected } = tree(50);
    await expect(scheduler.get(graph, ['root'])).rejects.toThrow(/no BullMQ worker serves the queue .*schedlab bullmq-worker/);
    children.push(await startCliWorker(url, ['--concurrency', '2']));
    await expect(scheduler.get(graph, ['root'])).resolves.toEqual([expected]);
    expect(scheduler.workers).toBe(2);
    expect(await schedlabKeys(url)).toEqual([]);
    const wrong = await createScheduler('bullmq', { redis: `redis://:nope@127.0.0.1:${redis.port}` }).catch((e: unknown) => e as Error);
    expect(wrong).toBeInstanceOf(ConnectionError);
    expect((wrong as Error).message).toMatch(/WRONGPASS/);
    expect((wrong as Error).message).not.toContain('nope'); // the password is never shown
    await expect(createScheduler('bullmq', { redis: 'http://127.0.0.1:6379' })).rejects.toThrow(OptionError);
    await expect(createScheduler('bullmq', { redis: 'redis://10.9.8.7:6379' })).rejects.toThrow(/neither a password nor TLS/);
  }, 60_000);

  it('deletes every key a get created, after a failure and after an abort too', async () => {
    const scheduler = await createScheduler('bullmq', { redis: url });
    schedulers.push(scheduler);
    const b = new GraphBuilder();
    const big = b.value('big', new Float64Array(10_000));
    const leaves = Array.from({ length: 20 }, (_, i) => b.task(`l${i}`, op(i === 13 ? 'throwSync' : 'total'), [big]));
    b.task('all', op('sum'), leaves);
    await expect(scheduler.get(b.graph, ['all'])).rejects.toThrow(/l13/);
    expect(await schedlabKeys(url)).toEqual([]);
    const controller = new AbortController();
    const { graph } = sleepers(4, 5_000);
    setTimeout(() => controller.abort(), 500);
    await expect(scheduler.get(graph, ['total'], { signal: controller.signal })).rejects.toThrow(AbortedError);
    expect(await schedlabKeys(url)).toEqual([]);
    // The aborted jobs were stopped, not waited for: the workers take the next get at once.
    const { graph: small, expected } = tree(10);
    await expect(scheduler.get(small, ['root'])).resolves.toEqual([expected]);
  }, 60_000);
});

describe('bullmq in the bench', () => {
  it('checks --redis before anything runs, and plans bullmq pools when it is given', async () => {
    const bad = await runCli(['bench', '--dry-run', '--workloads', 'tiny-tasks', '--redis', 'http://127.0.0.1:6379']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--redis "http:\/\/127\.0\.0\.1:6379" uses http:; give redis:\/\//);
    const good = await runCli(['bench', '--dry-run', '--workloads', 'tiny-tasks', '--schedulers', 'sync,bullmq', '--workers', '2', '--redis', `redis://:${PASSWORD}@127.0.0.1:1`]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('bullmq×2: tiny-tasks/quick');
  }, 30_000);
});

describe.skipIf(!hasRedisServer)('bullmq: faults', () => {
  it('a worker killed with SIGKILL mid-graph: BullMQ retries its job and the graph finishes', async () => {
    const scheduler = await createBullmqScheduler({ workers: 2, stalledIntervalMs: 500, lockDurationMs: 1_000 });
    try {
      const { graph, expected } = sleepers(4, 1_500);
      const running = scheduler.get(graph, ['total']);
      await new Promise((r) => setTimeout(r, 700));
      const victim = scheduler.cluster!.workerPids()[0]!;
      process.kill(victim, 'SIGKILL');
      await expect(running).resolves.toEqual([expected]);
      expect(scheduler.cluster!.workerPids()).not.toContain(victim);
    } finally {
      await scheduler.close();
    }
  }, 60_000);

  it('a Redis restart mid-run fails the get with a clear error, and the next get works', async () => {
    let redis = await startRedisServer('redis-server', PASSWORD, 10_000);
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    const worker = startBullmqWorker({ redis: parseRedisUrl(url).options, concurrency: 2, log: () => {} });
    const scheduler = await createScheduler('bullmq', { redis: url });
    try {
      await worker.ready;
      const { graph } = sleepers(2, 3_000);
      const running = scheduler.get(graph, ['total']).catch((e: unknown) => e as Error);
      await new Promise((r) => setTimeout(r, 500));
      redis.process.kill('SIGKILL');
      const err = await running;
      expect(err).toBeInstanceOf(ConnectionError);
      expect(err.message).toMatch(/lost the connection to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/);
      redis = await startRedisServer('redis-server', PASSWORD, 10_000, redis.port);
      const { graph: small, expected } = tree(30);
      await expect(scheduler.get(small, ['root'])).resolves.toEqual([expected]);
    } finally {
      await scheduler.close();
      await worker.close();
      await stopChild(redis.process);
    }
  }, 60_000);

  it('speaks TLS (rediss://) with a CA given to the scheduler and to `schedlab bullmq-worker --tls-ca`', async () => {
    const pki = await makePki();
    const dir = mkdtempSync(join(tmpdir(), 'schedlab-redis-tls-'));
    for (const [name, pem] of Object.entries(pki)) writeFileSync(join(dir, `${name}.pem`), pem);
    const probe = await startRedisServer('redis-server', PASSWORD, 10_000); // only to learn a free port
    const port = probe.port;
    await stopChild(probe.process);
    const args = ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--requirepass', PASSWORD, '--save', '', '--appendonly', 'no'];
    args.push('--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'), '--tls-ca-cert-file', join(dir, 'ca.pem'), '--tls-auth-clients', 'no');
    const server = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let worker: ChildProcess | undefined;
    let scheduler: Scheduler | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        server.stdout!.on('data', (d: Buffer) => ((out += d.toString()), out.includes('Ready to accept') && resolve()));
        server.once('exit', () => reject(new Error(`redis-server (TLS) exited:\n${out}`)));
      });
      const url = `rediss://:${PASSWORD}@127.0.0.1:${port}`;
      worker = await startCliWorker(url, ['--tls-ca', join(dir, 'ca.pem')]);
      scheduler = await createScheduler('bullmq', { redis: url, tls: { ca: pki.ca } });
      const { graph, expected } = tree(20);
      await expect(scheduler.get(graph, ['root'])).resolves.toEqual([expected]);
      // Without the CA the certificate is not trusted: a clear connection error, not a hang.
      await expect(createBullmqScheduler({ redis: url, connectTimeoutMs: 5_000 })).rejects.toThrow(ConnectionError);
    } finally {
      await scheduler?.close();
      if (worker) await stopChild(worker);
      await stopChild(server);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
