// Values far larger than any grpc message stream in chunks: a 256 MiB value computed on one
// worker is fetched by a task on the other worker and by the client, and uploaded by the client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDistributedScheduler, type DistributedScheduler } from '../dist/schedulers/distributed/index.js';
import { opRef } from '../dist/schedulers/graph.js';
import type { Graph } from '../dist/schedulers/types.js';

const ops = new URL('./fixtures/distributed-ops.mjs', import.meta.url).href;
const op = (name: string) => opRef(ops, name);
const MiB = 1024 * 1024;
const SIZE = 256 * MiB;

let scheduler: DistributedScheduler;
beforeAll(async () => {
  scheduler = await createDistributedScheduler({ workers: 2 });
}, 30_000);
afterAll(async () => {
  await scheduler?.close();
});

/** [length, sum of every 4096th byte] of a Uint8Array of `length` bytes all equal to `fill`. */
const checksumOf = (length: number, fill: number) => [length, (length / 4096) * fill];

describe('large values', () => {
  it('streams a 256 MiB value from a worker to the client and from the client to a worker', { timeout: 120_000 }, async () => {
    const graph: Graph = {
      big: { op: op('bytes'), args: [SIZE, 3] },
      check: { op: op('checksum'), args: [{ $ref: 'big' }] },
    };
    const before = scheduler.stats();
    const [big, check] = (await scheduler.get(graph, ['big', 'check'])) as [Uint8Array, number[]];
    expect(check).toEqual(checksumOf(SIZE, 3));
    expect(big.length).toBe(SIZE);
    expect(big[SIZE - 1]).toBe(3);
    expect(scheduler.stats().bytesFromWorkers - before.bytesFromWorkers).toBeGreaterThanOrEqual(SIZE);

    // The client uploads it as a literal (chunked Put straight to a worker) and a task reads it.
    big.fill(5);
    const [uploaded] = await scheduler.get({ v: { value: big }, c: { op: op('checksum'), args: [{ $ref: 'v' }] } }, ['c']);
    expect(uploaded).toEqual(checksumOf(SIZE, 5));
    expect(scheduler.stats().bytesToWorkers - before.bytesToWorkers).toBeGreaterThanOrEqual(SIZE);
  });

  it('uploads a typed array from its own memory, shared and at an offset, in chunks that cut across its header', { timeout: 30_000 }, async () => {
    // 2.4 MB: three chunks, the first one the 8-byte header and the start of the data.
    const shared = new Float64Array(new SharedArrayBuffer(300_010 * 8)).map((_, i) => i * 0.5 - 7);
    const view = shared.subarray(3, 300_006);
    const [back] = (await scheduler.get({ v: { value: view }, same: { op: op('identity'), args: [{ $ref: 'v' }] } }, ['same'])) as [Float64Array];
    expect(back).toBeInstanceOf(Float64Array);
    expect(back.length).toBe(view.length);
    expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(view.buffer, view.byteOffset, view.byteLength))).toBe(true);
  });

  it('fetches a 64 MiB input directly from the peer worker that holds it', { timeout: 60_000 }, async () => {
    // Large literals are uploaded round-robin, so `a` and `b` land on different workers and
    // whichever worker runs `both` must fetch the other one from its peer.
    const a = new Uint8Array(64 * MiB).fill(1);
    const b = new Uint8Array(64 * MiB).fill(2);
    const before = scheduler.stats();
    const [both] = await scheduler.get({ a: { value: a }, b: { value: b }, both: { op: op('checksums'), args: [{ $ref: 'a' }, { $ref: 'b' }] } }, ['both']);
    expect(both).toEqual([checksumOf(64 * MiB, 1), checksumOf(64 * MiB, 2)]);
    const after = scheduler.stats();
    expect(after.bytesBetweenWorkers - before.bytesBetweenWorkers).toBeGreaterThanOrEqual(64 * MiB);
    expect(after.bytesFromWorkers - before.bytesFromWorkers).toBeLessThan(1_000);
  });
});
