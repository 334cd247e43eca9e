/**
 * CPU that moving values costs, client and worker (issue 14), run after `npm run build`:
 *   node dist/scripts/measure-distributed-transfer.js [--values 64] [--kib 512] [--rounds 7] [--before DIR]
 *
 * A local cluster of one worker per build (this one and, with `--before DIR`, the build in
 * DIR, interleaved round by round); each round the client Puts `--values` values of `--kib`
 * KiB to the worker (as a run's upload does) and Fetches them back (as a gather, or a peer,
 * does). Per build and direction: medians of wall time and of the CPU the client process and
 * the worker process spent (from process.cpuUsage and /proc). The wire data are what
 * schedulers/distributed/transfer.ts sends; the values are random bytes, checked on return.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const count = Number(arg('values', '64'));
const bytes = Number(arg('kib', '512')) * 1024;
const rounds = Number(arg('rounds', '7'));
const beforeDir = arg('before', '');

/** CPU ms of process `pid`, all its threads (clock ticks of 10 ms). */
function pidCpu(pid: number): number {
  let ms = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ms += (Number(fields[11]) + Number(fields[12])) * 10;
  }
  return ms;
}
const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Build {
  label: string;
  cluster: { address: string; token: string; workerPids(): number[]; close(): Promise<void> };
  data: { put(address: string, items: { dataId: string; bytes: Uint8Array }[]): Promise<number>; fetch(address: string, ids: string[]): Promise<Map<string, Buffer>>; close(): void };
  address: string;
  samples: Record<'put' | 'fetch', { wall: number[]; client: number[]; worker: number[] }>;
}

async function open(label: string, root: string): Promise<Build> {
  const url = (file: string) => pathToFileURL(resolve(root, 'dist/schedulers/distributed', file)).href;
  const { startLocalCluster } = (await import(url('local-cluster.js'))) as { startLocalCluster(o: object): Promise<Build['cluster']> };
  const { DataClients } = (await import(url('transfer.js'))) as { DataClients: new (s: object) => Build['data'] };
  const { Client } = (await import(url('client/client.js'))) as { Client: { connect(o: object): Promise<{ waitForWorkers(n: number): Promise<void>; workers(): Array<{ data_address: string }>; close(): Promise<void> }> } };
  const cluster = await startLocalCluster({ workers: 1 });
  const client = await Client.connect({ address: cluster.address, token: cluster.token });
  await client.waitForWorkers(1);
  const address = client.workers()[0]!.data_address;
  await client.close();
  const empty = () => ({ wall: [], client: [], worker: [] });
  return { label, cluster, data: new DataClients({ token: cluster.token }), address, samples: { put: empty(), fetch: empty() } };
}

const values = Array.from({ length: count }, () => randomBytes(bytes));
async function round(build: Build, r: number): Promise<void> {
  const pid = build.cluster.workerPids()[0]!;
  const ids = values.map((_, i) => `c9/${r + 1}/v${i}`);
  const measure = async (kind: 'put' | 'fetch', work: () => Promise<unknown>) => {
    const [c0, w0, t0] = [selfCpu(), pidCpu(pid), performance.now()];
    const out = await work();
    await new Promise((ok) => setTimeout(ok, 20)); // let the worker finish storing / releasing
    build.samples[kind].wall.push(performance.now() - t0 - 20);
    build.samples[kind].client.push(selfCpu() - c0);
    build.samples[kind].worker.push(pidCpu(pid) - w0);
    return out;
  };
  await measure('put', () => build.data.put(build.address, ids.map((dataId, i) => ({ dataId, bytes: values[i]! }))));
  const back = (await measure('fetch', () => build.data.fetch(build.address, ids))) as Map<string, Buffer>;
  ids.forEach((id, i) => {
    if (!back.get(id)?.equals(values[i]!)) throw new Error(`${build.label}: value ${id} came back different`);
  });
}

const builds = [await open('this build', resolve(import.meta.dirname, '../..'))];
if (beforeDir) builds.push(await open(`before (${beforeDir})`, resolve(beforeDir)));
try {
  for (const build of builds) await round(build, 1000); // warm-up
  for (let r = 0; r < rounds; r++) for (const build of builds) await round(build, r);
} finally {
  for (const build of builds) {
    build.data.close();
    await build.cluster.close();
  }
}
console.log(`${count} values of ${bytes / 1024} KiB each way, ${rounds} rounds interleaved; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const build of builds) {
  for (const kind of ['put', 'fetch'] as const) {
    const s = build.samples[kind];
    console.log(`${build.label.padEnd(28)} ${kind.padEnd(5)} wall ${median(s.wall).toFixed(1)} ms | CPU client ${median(s.client).toFixed(1)} ms, worker ${median(s.worker).toFixed(0)} ms`);
  }
}
