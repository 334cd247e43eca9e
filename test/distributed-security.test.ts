// Security of the distributed scheduler: shared token, TLS (mutual), loopback-only by default,
// and a scheduler that survives malformed and oversized messages.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSchedulerCommand, runWorkerCommand, type RunningCommand } from '../dist/schedulers/distributed/commands.js';
import { Client, createDistributedScheduler } from '../dist/schedulers/distributed/index.js';
import { protocol, type ClientMessage, type ClientUpdate } from '../dist/schedulers/distributed/protocol.js';
import { callMetadata } from '../dist/schedulers/distributed/security.js';
import { opRef } from '../dist/schedulers/graph.js';
import { AuthError, OptionError } from '../dist/schedulers/errors.js';
import { makePki, type Pki } from './distributed-helpers.js';

const ops = new URL('./fixtures/distributed-ops.mjs', import.meta.url).href;
const graph = { a: { value: 20 }, b: { op: opRef(ops, 'inc'), args: [{ $ref: 'a' }] }, c: { op: opRef(ops, 'add'), args: [{ $ref: 'b' }, { $ref: 'b' }] } };
const quiet = { log: () => {}, handleSignals: false };

const running: RunningCommand[] = [];
const clients: Client[] = [];
let dir: string;
let pki: Pki;
let rogue: Pki;
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'schedlab-tls-'));
  [pki, rogue] = await Promise.all([makePki(), makePki()]);
}, 30_000);
afterAll(async () => {
  for (const client of clients) await client.close();
  for (const command of running.reverse()) await command.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('shared token', () => {
  let address: string;
  beforeAll(async () => {
    const scheduler = await runSchedulerCommand({ port: 0, token: 'right-token', ...quiet });
    running.push(scheduler);
    address = scheduler.address;
    running.push(await runWorkerCommand(address, { token: 'right-token', ...quiet }));
  }, 20_000);

  it('runs graphs for a client with the right token', async () => {
    const scheduler = await createDistributedScheduler({ address, token: 'right-token' });
    try {
      expect(await scheduler.get(graph, ['c'])).toEqual([42]);
    } finally {
      await scheduler.close();
    }
  });

  it('refuses a client with a wrong or missing token with AuthError', async () => {
    await expect(Client.connect({ address, token: 'wrong' })).rejects.toBeInstanceOf(AuthError);
    await expect(Client.connect({ address })).rejects.toThrow(/token/);
  });

  it('refuses a worker with a wrong token, which then never receives work', async () => {
    await expect(runWorkerCommand(address, { token: 'wrong', ...quiet })).rejects.toBeInstanceOf(AuthError);
    const client = await Client.connect({ address, token: 'right-token' });
    clients.push(client);
    expect(client.workers()).toHaveLength(1);
  });
});

describe('TLS', () => {
  let address: string;
  beforeAll(async () => {
    const tls = { tlsCert: file('cert.pem', pki.cert), tlsKey: file('key.pem', pki.key), tlsCa: file('ca.pem', pki.ca) };
    const scheduler = await runSchedulerCommand({ port: 0, ...tls, ...quiet });
    running.push(scheduler);
    address = scheduler.address;
    running.push(await runWorkerCommand(address, { ...tls, ...quiet }));
    running.push(await runWorkerCommand(address, { ...tls, ...quiet }));
  }, 20_000);

  it('runs graphs over mutual TLS (client, scheduler and worker-to-worker)', async () => {
    const scheduler = await createDistributedScheduler({ address, tls: { ca: pki.ca, cert: pki.cert, key: pki.key } });
    try {
      expect(scheduler.workers).toBe(2);
      expect(await scheduler.get(graph, ['c'])).toEqual([42]);
      const wide: Record<string, { op: string; args: unknown[] }> = {};
      for (let i = 0; i < 8; i++) wide[`r${i}`] = { op: opRef(ops, 'range'), args: [1000, i] };
      wide.s = { op: opRef(ops, 'sum'), args: Array.from({ length: 8 }, (_, i) => ({ $ref: `r${i}` })).map((r) => r) };
      wide.total = { op: opRef(ops, 'dot'), args: [{ $ref: 'r0' }, { $ref: 'r7' }] };
      const [total] = await scheduler.get(wide, ['total']);
      expect(total).toBe(Array.from({ length: 1000 }, (_, k) => k * (k + 7)).reduce((a, b) => a + b, 0));
    } finally {
      await scheduler.close();
    }
  });

  it('refuses a client without a certificate when the scheduler requires one (AuthError)', async () => {
    await expect(Client.connect({ address, tls: { ca: pki.ca }, connectTimeoutMs: 5_000 })).rejects.toBeInstanceOf(AuthError);
  });

  it('refuses a server whose certificate the client cannot verify (AuthError)', async () => {
    await expect(Client.connect({ address, tls: { ca: rogue.ca, cert: rogue.cert, key: rogue.key }, connectTimeoutMs: 5_000 })).rejects.toBeInstanceOf(AuthError);
  });
});

describe('listening and message validation', () => {
  it('refuses a non-loopback host without token or TLS, unless insecure', async () => {
    await expect(runSchedulerCommand({ host: '0.0.0.0', port: 0, ...quiet })).rejects.toBeInstanceOf(OptionError);
    await expect(runSchedulerCommand({ host: '0.0.0.0', port: 0, ...quiet })).rejects.toThrow(/--insecure/);
    const open = await runSchedulerCommand({ host: '0.0.0.0', port: 0, insecure: true, ...quiet });
    await open.close();
  });

  it('rejects malformed and oversized messages without going down', async () => {
    const scheduler = await runSchedulerCommand({ port: 0, token: 't', ...quiet });
    running.push(scheduler);
    running.push(await runWorkerCommand(scheduler.address, { token: 't', ...quiet }));
    const md = callMetadata('t'); // the token and this build's wire version, as every caller sends
    const raw = new grpc.Client(scheduler.address, grpc.credentials.createInsecure());
    const send = (path: string, payload: Buffer) =>
      new Promise<grpc.ServiceError>((resolve) => {
        const call = raw.makeBidiStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b, md);
        call.on('data', () => {});
        call.on('error', (err: grpc.ServiceError) => resolve(err));
        call.on('end', () => resolve({ code: grpc.status.OK } as grpc.ServiceError));
        call.write(payload);
      });
    // Not protobuf at all.
    const garbage = await send('/schedlab.Scheduler/Connect', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(garbage.code).not.toBe(grpc.status.OK);
    // Valid protobuf, wrong content: a worker that does not register first.
    const heartbeatFirst = await send('/schedlab.Scheduler/Work', Buffer.from([0x1a, 0x00]));
    expect(heartbeatFirst.code).toBe(grpc.status.INVALID_ARGUMENT);
    // Larger than the 16 MiB message limit.
    const huge = await send('/schedlab.Scheduler/Connect', Buffer.alloc(17 * 1024 * 1024, 1));
    expect(huge.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    raw.close();
    // A graph the scheduler itself rejects (sent past the client's validation) fails just that run.
    const Scheduler = protocol().Scheduler;
    const typed = new Scheduler(scheduler.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Connect(md: grpc.Metadata): grpc.ClientDuplexStream<ClientMessage, ClientUpdate>;
    };
    const stream = typed.Connect(md);
    const rejection = await new Promise<ClientUpdate>((resolve) => {
      stream.on('data', (update: ClientUpdate) => {
        if (update.kind === 'progress') resolve(update);
      });
      const node = { key: 'x', op_index: 1, payload: Buffer.from([]), inputs: [7], priority: 0, placed: null };
      stream.write({ submit: { run: 1, nodes: [node], ops: [`${ops}#inc`], wanted: ['x'], externals: [], final: true, events: false } });
    });
    expect(rejection.kind === 'progress' && rejection.progress.failed[0]!.error.message).toMatch(/"x" \(node number 0\) refers to input number 7/);
    stream.on('error', () => {});
    stream.cancel();
    typed.close();
    const client = await Client.connect({ address: scheduler.address, token: 't' });
    clients.push(client);
    expect(await client.get(graph, ['c'])).toEqual([42]);
  });
});
