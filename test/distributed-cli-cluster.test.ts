// The distributed scheduler on a cluster started from the CLI, with no supervisor around it but
// the workers' own nannies: the whole conformance suite (an op that exits its executor thread
// included), an op that kills its worker PROCESS (the nanny restarts it: no hang, the next get
// works), and a cluster with no worker at all (an event and a log line at once, then
// NoWorkersError naming the scheduler and the command that starts a worker).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, createScheduler, NoWorkersError, opRef, WorkerLostError, type Scheduler, type SchedulerEvent } from '../dist/schedulers/index.js';
import { conformanceSuite } from './conformance/suite.js';
import { CliCluster } from './cli-cluster.js';

const ops = new URL('./fixtures/distributed-ops.mjs', import.meta.url).href;

const cluster = new CliCluster();
let address = '';
let scheduler: { process: ReturnType<CliCluster['start']> } | undefined;
beforeAll(async () => {
  const started = await cluster.scheduler();
  scheduler = started;
  address = started.address;
  await Promise.all([cluster.worker(address, 'cli-a'), cluster.worker(address, 'cli-b')]);
}, 60_000);
afterAll(() => cluster.stopAll(), 30_000);

conformanceSuite({ name: 'distributed', options: { workers: 2 }, clones: true, sharesMemory: false, movesResults: false, hasWorkers: true }, () =>
  createScheduler('distributed', { address, workers: 2 }),
);

describe("the futures Client from 'schedlab' (the README example)", () => {
  it('submit / gather / asCompleted / persist', async () => {
    const client = await Client.connect({ address });
    try {
      const inc = opRef(ops, 'inc');
      const [a, b] = client.submit({ a: { op: inc, args: [1] }, b: { op: inc, args: [10] } }, ['a', 'b']);
      expect(await client.gather([a!, b!])).toEqual([2, 11]);
      const tasks = client.submit({ slow: { op: opRef(ops, 'sleep'), args: [300, 's'] }, fast: { op: inc, args: [0] } }, ['slow', 'fast']);
      const order: Array<[string, unknown]> = [];
      for await (const done of client.asCompleted(tasks)) order.push([done.key, await done.result()]);
      expect(order).toEqual([['fast', 1], ['slow', 's']]);
      const [table] = await client.persist({ table: { op: inc, args: [41] } }, ['table']);
      expect(await client.get({ use: { op: inc, args: [{ $ref: 'table' }] } }, ['use'])).toEqual([43]);
      client.release([table!]);
    } finally {
      await client.close();
    }
  });
});

describe('a CLI cluster whose workers die', () => {
  let client: Scheduler;
  beforeAll(async () => {
    client = await createScheduler('distributed', { address });
  });
  afterAll(() => client?.close());

  it('fails an op that kills its worker process after 3 tries, the nannies restart the workers, and the next get works', async () => {
    const waitForTwo = async () => {
      const deadline = Date.now() + 30_000;
      while (client.workers < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(client.workers).toBe(2);
    };
    await waitForTwo();
    const error = await client.get({ doomed: { op: opRef(ops, 'killProcess'), args: [] } }, ['doomed']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerLostError);
    expect((error as WorkerLostError).key).toBe('doomed');
    expect((error as Error).message).toMatch(/task "doomed" .*3 workers or executor threads that died.*KilledWorker/);
    expect(await client.get({ after: { op: opRef(ops, 'inc'), args: [41] } }, ['after'])).toEqual([42]);
    await waitForTwo();
    expect(scheduler!.process.stderr()).toMatch(/worker cli-a\S* (\(\S+\) )?lost/);
  }, 90_000);
});

describe('a CLI scheduler with no worker', () => {
  it('says so at once (event and log line), then fails with NoWorkersError naming the scheduler and the worker command', async () => {
    const lonely = new CliCluster();
    try {
      const { process: proc, address: lonelyAddress } = await lonely.scheduler(0, ['--worker-wait-timeout', '1500']);
      const client = await createScheduler('distributed', { address: lonelyAddress });
      try {
        const events: SchedulerEvent[] = [];
        const started = Date.now();
        const pending = client.get({ x: { op: opRef(ops, 'inc'), args: [1] } }, ['x'], { onEvent: (e) => events.push(e) }).catch((e: unknown) => e);
        await expect.poll(() => events.map((e) => e.type), { timeout: 1_000 }).toEqual(['no-workers']);
        const event = events[0] as Extract<SchedulerEvent, { type: 'no-workers' }>;
        expect(event.message).toContain(`schedlab worker ${lonelyAddress}`);
        await proc.waitFor(/run c\d+\/\d+ is waiting: no worker is connected to this scheduler; start one with `schedlab worker \S+`/, 1_000);
        const error = await pending;
        expect(error).toBeInstanceOf(NoWorkersError);
        expect((error as Error).message).toContain(lonelyAddress);
        expect((error as Error).message).toContain(`schedlab worker ${lonelyAddress}`);
        expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
        expect(Date.now() - started).toBeLessThan(10_000);
        // A worker joins: the same client works.
        await lonely.worker(lonelyAddress, 'late', ['--no-nanny']);
        expect(await client.get({ y: { op: opRef(ops, 'inc'), args: [1] } }, ['y'])).toEqual([2]);
      } finally {
        await client.close();
      }
    } finally {
      await lonely.stopAll();
    }
  }, 60_000);
});
