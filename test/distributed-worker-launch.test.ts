// How a distributed worker process is started (worker-launch.ts): its initial heap follows the
// memory limit and malloc returns large buffers to the OS, whether the local cluster or the nanny
// of `schedlab worker` starts it; a flag or variable the user set wins.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createDistributedScheduler } from '../dist/schedulers/distributed/index.js';
import { workerLaunch } from '../dist/schedulers/distributed/worker-launch.js';
import { CliCluster } from './cli-cluster.js';

const MiB = 2 ** 20;
const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const environ = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
const children = (pid: number): number[] => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);

describe('workerLaunch', () => {
  it('gives an initial heap of 1/16 of the limit (at most 256 MiB, none under 16) and an mmap threshold of 1/128 of a limit (1 to 32 MiB)', () => {
    expect(workerLaunch(512 * MiB, {}).nodeFlags).toEqual(['--initial-heap-size=32']);
    expect(workerLaunch(16 * 2 ** 30, {}).nodeFlags).toEqual(['--initial-heap-size=256']);
    expect(workerLaunch(128 * MiB, {}).nodeFlags).toEqual([]);
    expect(workerLaunch(undefined, {}).nodeFlags).toEqual(['--initial-heap-size=256']);
    expect(workerLaunch(512 * MiB, { PATH: '/bin' }).env).toEqual({ PATH: '/bin', MALLOC_MMAP_THRESHOLD_: String(4 * MiB) });
    expect(workerLaunch(64 * MiB, {}).env.MALLOC_MMAP_THRESHOLD_).toBe(String(MiB));
    expect(workerLaunch(12 * 1024 * MiB, {}).env.MALLOC_MMAP_THRESHOLD_).toBe(String(32 * MiB));
    expect(workerLaunch(undefined, { PATH: '/bin' }).env).toEqual({ PATH: '/bin' });
  });

  it("keeps the user's own flag and variable", () => {
    expect(workerLaunch(512 * MiB, { MALLOC_MMAP_THRESHOLD_: '65536' }).env.MALLOC_MMAP_THRESHOLD_).toBe('65536');
    expect(workerLaunch(512 * MiB, {}, ['--initial-heap-size=8']).nodeFlags).toEqual([]);
  });
});

describe('a worker process as started', () => {
  let cluster: CliCluster | undefined;
  afterEach(async () => {
    await cluster?.stopAll();
    cluster = undefined;
  }, 30_000);

  it('by the local cluster', async () => {
    const scheduler = await createDistributedScheduler({ workers: 1, memoryLimit: '512MiB' });
    try {
      const [pid] = scheduler.cluster!.workerPids();
      expect(cmdline(pid!)).toContain('--initial-heap-size=32');
      expect(environ(pid!)).toContain(`MALLOC_MMAP_THRESHOLD_=${4 * MiB}`);
    } finally {
      await scheduler.close();
    }
  }, 30_000);

  it('by the nanny of `schedlab worker`', async () => {
    cluster = new CliCluster();
    const { address } = await cluster.scheduler();
    const nanny = await cluster.worker(address, 'launched', ['--memory-limit', '512MiB']);
    const [pid] = children(nanny.child.pid!);
    expect(cmdline(pid!)).toContain('--initial-heap-size=32');
    expect(cmdline(pid!)).toContain('--no-nanny');
    expect(environ(pid!)).toContain(`MALLOC_MMAP_THRESHOLD_=${4 * MiB}`);
  }, 30_000);
});
