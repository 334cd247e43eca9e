// Multi-host: the scheduler and two workers each in their own network namespace (as on three
// machines), joined by veth pairs to a bridge; this process is the client. Runs the catalog's
// blocked matmul across them and checks the workers exchanged blocks directly.
// Needs root and `ip netns`; skipped with a printed reason otherwise.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDistributedScheduler } from '../dist/schedulers/distributed/index.js';
import { getWorkload } from '../dist/workloads/index.js';

const id = randomBytes(2).toString('hex');
const bridge = `slbr${id}`;
const subnet = `10.${200 + (parseInt(id, 16) % 50)}.${parseInt(id.slice(0, 2), 16)}`;
const hosts = [
  { ns: `sl-${id}-sched`, veth: `slv${id}s`, ip: `${subnet}.2` },
  { ns: `sl-${id}-w1`, veth: `slv${id}a`, ip: `${subnet}.3` },
  { ns: `sl-${id}-w2`, veth: `slv${id}b`, ip: `${subnet}.4` },
];
const token = randomBytes(16).toString('hex');
const commands = new URL('../dist/schedulers/distributed/commands.js', import.meta.url).href;

function ip(...args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr || r.error?.message || '').trim() };
}

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  const probe = `sl-${id}-probe`;
  const add = ip('netns', 'add', probe);
  if (!add.ok) return `\`ip netns add\` failed: ${add.err || 'is iproute2 installed?'}`;
  ip('netns', 'del', probe);
  return undefined;
}

const reason = unavailable();
if (reason) console.log(`distributed-netns: skipped: ${reason}`);

const children: ChildProcess[] = [];

/** Run a node ESM snippet inside namespace `ns`; resolves with its first "ready ..." line. */
function inNamespace(ns: string, code: string): Promise<string> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process in ${ns} not ready within 20 s`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('ready')) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`process in ${ns} exited early with code ${code}`)));
  });
}

function teardownNetwork(): void {
  for (const host of hosts) ip('netns', 'del', host.ns);
  ip('link', 'del', bridge);
}

describe.skipIf(!!reason)('distributed scheduler across network namespaces', () => {
  beforeAll(async () => {
    const steps: string[][] = [
      ['link', 'add', bridge, 'type', 'bridge'],
      ['addr', 'add', `${subnet}.1/24`, 'dev', bridge],
      ['link', 'set', bridge, 'up'],
    ];
    for (const host of hosts) {
      steps.push(
        ['netns', 'add', host.ns],
        ['link', 'add', host.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns],
        ['link', 'set', host.veth, 'master', bridge],
        ['link', 'set', host.veth, 'up'],
        ['-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0'],
        ['-n', host.ns, 'link', 'set', 'eth0', 'up'],
        ['-n', host.ns, 'link', 'set', 'lo', 'up'],
      );
    }
    for (const step of steps) {
      const r = ip(...step);
      if (!r.ok) {
        teardownNetwork();
        throw new Error(`ip ${step.join(' ')} failed: ${r.err}`);
      }
    }
    const [scheduler, ...workers] = hosts;
    await inNamespace(
      scheduler!.ns,
      `import { runSchedulerCommand } from '${commands}';
       await runSchedulerCommand({ host: '${scheduler!.ip}', port: 8786, token: '${token}', log: () => {} });
       console.log('ready');`,
    );
    await Promise.all(
      workers.map((w) =>
        inNamespace(
          w.ns,
          `import { runWorkerCommand } from '${commands}';
           await runWorkerCommand('${scheduler!.ip}:8786', { token: '${token}', log: () => {} });
           console.log('ready');`,
        ),
      ),
    );
  }, 40_000);

  afterAll(async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    teardownNetwork();
  });

  it('runs the blocked matmul with workers on two hosts fetching blocks from each other', async () => {
    const scheduler = await createDistributedScheduler({ address: `${hosts[0]!.ip}:8786`, token });
    try {
      expect(scheduler.client.workers().map((w) => w.data_address.split(':')[0]).sort()).toEqual([hosts[1]!.ip, hosts[2]!.ip]);
      const matmul = getWorkload('matmul');
      const params = { ...matmul.sizes.quick, n: 384, b: 128 };
      const built = await matmul.build(params, { tmpDir: '/tmp', options: {} });
      const results = await scheduler.get(built.graph, built.keys);
      await matmul.verify(results, params, built);
      const stats = scheduler.stats();
      console.log(`distributed-netns: matmul n=${params.n} b=${params.b}: ${JSON.stringify(stats)}`);
      expect(stats.bytesBetweenWorkers).toBeGreaterThan(0);
      expect(stats.tasks).toBeGreaterThan(0);
    } finally {
      await scheduler.close();
    }
  });
});
