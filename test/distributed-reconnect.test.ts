// Reconnecting across real processes: a CLI scheduler killed and restarted on its port under a
// connected worker (with its nanny) and client: the get in flight fails with ConnectionError,
// the next one works once the scheduler is back. A worker started before its scheduler keeps
// trying, saying where; one that cannot reach it within --reconnect-timeout exits 1, and its
// nanny does not start it again; a nanny restarts a worker past 95 % of its memory limit.
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, createScheduler, opRef, type Scheduler } from '../dist/schedulers/index.js';
import { CliCluster, freePort } from './cli-cluster.js';

const ops = new URL('./fixtures/distributed-ops.mjs', import.meta.url).href;
const op = (name: string) => opRef(ops, name);

let cluster: CliCluster;
let client: Scheduler | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  await cluster.stopAll();
}, 30_000);

describe('reconnecting to a restarted scheduler', () => {
  it('fails the get in flight with ConnectionError; worker and client reconnect and the next get works', async () => {
    cluster = new CliCluster();
    const port = await freePort();
    const first = await cluster.scheduler(port);
    const worker = await cluster.worker(first.address, 'stays');
    client = await createScheduler('distributed', { address: first.address, reconnectTimeoutMs: 30_000 });
    expect(await client.get({ a: { op: op('inc'), args: [1] } }, ['a'])).toEqual([2]);

    const inFlight = client.get({ slow: { op: op('sleep'), args: [5_000, 1] } }, ['slow']).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    first.process.child.kill('SIGKILL');
    const started = Date.now();
    expect(await inFlight).toBeInstanceOf(ConnectionError);
    expect(Date.now() - started).toBeLessThan(5_000);
    await worker.waitFor(/lost the scheduler at \S+ .*dropped this worker's values and tasks/);
    await worker.waitFor(/cannot reach the scheduler at \S+ .*trying again in/);

    const second = await cluster.scheduler(port);
    await second.process.waitFor(/worker stays joined/, 20_000);
    // The same client object: its get waits for the reconnection, the worker is registered again.
    expect(await client.get({ b: { op: op('inc'), args: [41] } }, ['b'])).toEqual([42]);
    expect(worker.child.exitCode).toBeNull();
  }, 90_000);
});

describe('a worker and its scheduler at start', () => {
  it('keeps trying when started before its scheduler, saying where, and registers once it is up', async () => {
    cluster = new CliCluster();
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const early = cluster.start(['worker', address, '--name', 'early', '--reconnect-timeout', '30000']);
    const line = await early.waitFor(/(cannot reach the scheduler at .*)/);
    expect(line).toContain(address);
    expect(line).toMatch(/ECONNREFUSED.*trying again in \d+\.\d s, for \d+ s more/);
    expect(early.stderr()).not.toMatch(/Resolution note/);
    const scheduler = await cluster.scheduler(port);
    await scheduler.process.waitFor(/worker early joined/, 20_000);
    client = await createScheduler('distributed', { address });
    expect(await client.get({ a: { op: op('inc'), args: [1] } }, ['a'])).toEqual([2]);
  }, 60_000);

  it('exits 1 when it cannot reach its scheduler within --reconnect-timeout, and its nanny does not start it again', async () => {
    cluster = new CliCluster();
    const address = `127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const doomed = cluster.start(['worker', address, '--reconnect-timeout', '1500']);
    expect(await doomed.exited()).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(doomed.stderr()).toMatch(/schedlab: gave up on the scheduler at 127\.0\.0\.1:\d+ after \d+\.\d s \(reconnect timeout 1500 ms\)/);
    expect(doomed.stderr()).not.toMatch(/nanny: .*starting it again/);
    expect(doomed.stderr()).not.toMatch(/Resolution note/);
  }, 30_000);

  it("has its nanny restart a worker past 95 % of its memory limit (here below the worker's own baseline)", async () => {
    cluster = new CliCluster();
    const { address } = await cluster.scheduler();
    const worker = cluster.start(['worker', address, '--name', 'small', '--memory-limit', '48MiB']);
    const line = await worker.waitFor(/(schedlab nanny: the worker \(pid \d+\) uses \d+ MiB of memory, over 95 % of its 48 MiB limit; restarting it)/);
    expect(line).toBeTruthy();
    await worker.waitFor(/schedlab nanny: the worker \(pid \d+\) was killed by SIGKILL; starting it again in 1\.0 s/);
  }, 30_000);
});

