// Moving values between processes: processes of different builds refuse each other at connect
// time (wire-version.ts) instead of misreading each other's values; the chunk protocol is
// enforced (a value is never handed out with bytes missing); and a reply the client cannot read
// rejects `get` with an error naming the key and the worker (instead of escaping, or waiting a
// minute for a recompute); servers receive with the same large HTTP/2 window as channels; and
// a worker's Fetch replies and a client's uploads go out as framed chunks that decode as
// grpc-js's own encoding, their bytes aligned for decoding in place.
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../dist/schedulers/distributed/client/client.js';
import { decodeValue, encodeValue } from '../dist/schedulers/distributed/codec.js';
import { CHANNEL_OPTIONS, CHUNK_BYTES, newServer, protocol, protoPath, RECEIVE_WINDOW_BYTES, SERVER_OPTIONS } from '../dist/schedulers/distributed/protocol.js';
import { CLIENT_FRAMES, frameBytes, framedChunk, SERVER_FRAMES } from '../dist/schedulers/distributed/framed-chunks.js';
import protobuf from 'protobufjs';
import { startSchedulerServer, type SchedulerServer } from '../dist/schedulers/distributed/scheduler/server.js';
import { startWorker } from '../dist/schedulers/distributed/worker/worker.js';
import { callMetadata } from '../dist/schedulers/distributed/security.js';
import { ChunkAssembler, writeChunks } from '../dist/schedulers/distributed/transfer.js';
import { WIRE_VERSION, WIRE_VERSION_KEY } from '../dist/schedulers/distributed/wire-version.js';
import { ConnectionError } from '../dist/schedulers/errors.js';
import { opRef } from '../dist/schedulers/graph.js';

const LIMIT = 1 << 30;
type Chunk = { data_id: string; total: number; offset: number; bytes: Uint8Array };

/** The chunks `writeChunks` sends for `values`, in order. */
async function chunksOf(values: Array<[string, Uint8Array]>): Promise<Chunk[]> {
  const sent: Chunk[] = [];
  const stream = { write: (chunk: Chunk) => sent.push(chunk) > 0, once: () => undefined };
  for (const [id, bytes] of values) await writeChunks(stream, id, bytes, false);
  return sent;
}

/** `n` bytes 0, 1, 2, ... 250, 0, 1, ... */
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);

describe('ChunkAssembler', () => {
  it('reassembles values sent one after the other, one chunk or many', async () => {
    const big = pattern(2 * CHUNK_BYTES + 17);
    const small = encodeValue(1250025000);
    const empty = new Uint8Array(0);
    const assembler = new ChunkAssembler();
    const out = new Map<string, Uint8Array>();
    for (const chunk of await chunksOf([['a', big], ['b', small], ['c', empty]])) {
      const done = assembler.accept(chunk, LIMIT);
      if (done) out.set(done.dataId, done.bytes);
    }
    assembler.end();
    expect(Buffer.compare(out.get('a')!, big)).toBe(0);
    expect(decodeValue(out.get('b')!)).toBe(1250025000);
    expect(out.get('c')!.byteLength).toBe(0);
  });

  it('sends a value given in pieces as the same chunks as its bytes in one buffer, a chunk taking the end of one piece and the start of the next', async () => {
    const whole = pattern(2 * CHUNK_BYTES + 20);
    const cuts = [0, 8, 8, CHUNK_BYTES - 3, CHUNK_BYTES + 5, whole.byteLength]; // an empty piece, a cut just before and after a chunk's end
    const pieces = cuts.slice(1).map((end, i) => whole.subarray(cuts[i]!, end));
    const sent: Chunk[] = [];
    const stream = { write: (chunk: Chunk) => sent.push(chunk) > 0, once: () => undefined };
    await writeChunks(stream, 'p', pieces, false);
    const expected = await chunksOf([['p', whole]]);
    expect(sent.map((c) => [c.data_id, c.total, c.offset, c.bytes.byteLength])).toEqual(expected.map((c) => [c.data_id, c.total, c.offset, c.bytes.byteLength]));
    sent.forEach((chunk, i) => expect(Buffer.from(chunk.bytes).equals(Buffer.from(expected[i]!.bytes))).toBe(true));
    // Framed, each chunk's frame carries the same bytes.
    const heads: Buffer[] = [];
    await writeChunks({ write: (head: Buffer) => heads.push(head) > 0, once: () => undefined }, 'p', pieces, true);
    expect(heads).toHaveLength(expected.length);
    heads.forEach((head, i) => expect(frameBytes(head).subarray(-expected[i]!.bytes.byteLength).equals(Buffer.from(expected[i]!.bytes))).toBe(true));
    // An empty value in no pieces at all is one empty chunk.
    const none: Chunk[] = [];
    await writeChunks({ write: (chunk: Chunk) => none.push(chunk) > 0, once: () => undefined }, 'e', [], false);
    expect(none.map((c) => [c.total, c.offset, c.bytes.byteLength])).toEqual([[0, 0, 0]]);
  });

  it('never completes a value with bytes missing: repeated, skipped or interleaved chunks are errors', async () => {
    const [first, second, third] = await chunksOf([['v', pattern(3 * CHUNK_BYTES)]]);
    // A repeated chunk used to count twice, so the value "completed" with its first MiB
    // never written: uninitialised memory, decoded as garbage.
    let assembler = new ChunkAssembler();
    expect(() => {
      assembler.accept(second!, LIMIT);
      assembler.accept(second!, LIMIT);
      assembler.accept(third!, LIMIT);
    }).toThrow(/malformed chunk for "v": it starts at offset 1048576, expected 0/);

    assembler = new ChunkAssembler();
    assembler.accept(first!, LIMIT);
    expect(() => assembler.accept(first!, LIMIT)).toThrow(/offset 0, expected 1048576/);

    assembler = new ChunkAssembler();
    const [other] = await chunksOf([['w', pattern(2 * CHUNK_BYTES)]]);
    assembler.accept(first!, LIMIT);
    expect(() => assembler.accept(other!, LIMIT)).toThrow(/for "w": it arrived while "v" was still incomplete \(1048576 of 3145728 bytes\)/);

    assembler = new ChunkAssembler();
    assembler.accept(first!, LIMIT);
    assembler.accept(second!, LIMIT);
    expect(() => assembler.end()).toThrow(/ended in the middle of "v" \(2097152 of 3145728 bytes\)/);
    expect(() => new ChunkAssembler().accept({ ...first!, total: 2 * LIMIT }, LIMIT)).toThrow(/total of/);
  });
});

// ---------------------------------------------------------------------------------------------
// A real scheduler and client, and a fake worker whose DataService misbehaves on purpose.

const ops = new URL('./fixtures/distributed-ops.mjs', import.meta.url).href;

interface FakeWorker {
  close(): void;
}

/** Registers with the scheduler, "computes" every task it is given, serves `serve` on Fetch. */
async function startFakeWorker(schedulerAddress: string, serve: (call: grpc.ServerWritableStream<{ data_ids: string[] }, Chunk>) => void): Promise<FakeWorker> {
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(protocol().DataService.service, { Fetch: serve, Put: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { stored_bytes: 0 }) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const scheduler = new (protocol().Scheduler)(schedulerAddress, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as grpc.Client & {
    Work(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, { kind: string; assign?: { tasks: Array<{ data_id: string }> } }>;
  };
  const work = scheduler.Work(callMetadata(undefined));
  work.on('error', () => {});
  work.on('data', (orders) => {
    if (orders.kind !== 'assign') return;
    const items = orders.assign!.tasks.map((t) => ({ data_id: t.data_id, ok: true, nbytes: 10, start: 0, end: 0, fetched_bytes: 0, fetched: [], missing: [] }));
    if (items.length) work.write({ completions: { items } });
  });
  work.write({ register: { data_port: port, data_host: '127.0.0.1', nthreads: 1, name: 'fake' } });
  return {
    close() {
      work.cancel();
      scheduler.close();
      server.forceShutdown();
    },
  };
}

describe('client: a worker reply that cannot be read', () => {
  let server: SchedulerServer | undefined;
  let client: Client | undefined;
  let worker: FakeWorker | undefined;
  afterEach(async () => {
    await client?.close();
    worker?.close();
    await server?.close();
    client = worker = server = undefined;
  });

  async function getFrom(serve: Parameters<typeof startFakeWorker>[1]): Promise<unknown> {
    server = await startSchedulerServer({ port: 0 });
    worker = await startFakeWorker(server.address, serve);
    client = await Client.connect({ address: server.address });
    await client.waitForWorkers(1, 10_000);
    return client.get({ total: { op: opRef(ops, 'inc'), args: [1] } }, ['total']);
  }

  it('rejects get with a ConnectionError naming the key and the worker when the bytes do not decode', { timeout: 20_000 }, async () => {
    const garbage = Uint8Array.from([0xff, 0x7f, 0x7f, 0x7f]); // a v8 tag and an impossible version
    const result = getFrom((call) => {
      for (const id of call.request.data_ids) call.write({ data_id: id, total: garbage.byteLength, offset: 0, bytes: garbage });
      call.end();
    });
    const error = await result.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/could not read the value of "total" \(data id c1\/1\/total\) fetched from worker fake at 127\.0\.0\.1:\d+: its 4 bytes \(ff 7f 7f 7f\) do not decode: .*version/);
  });

  it('rejects get at once, naming the key and the worker, when the worker stops mid-value', { timeout: 20_000 }, async () => {
    const started = Date.now();
    const result = getFrom((call) => {
      for (const id of call.request.data_ids) call.write({ data_id: id, total: 100, offset: 0, bytes: new Uint8Array(40) });
      call.end();
    });
    await expect(result).rejects.toThrow(/could not read the value of "total" .* from worker fake at .*: the stream ended in the middle of "c1\/1\/total" \(40 of 100 bytes\)/);
    expect(Date.now() - started).toBeLessThan(10_000); // not the minute a lost worker is given
  });
});

describe('wire version: processes of different builds refuse each other', () => {
  let server: SchedulerServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** Open `method` on the scheduler with `metadata`; resolves with the status it ends with. */
  function callWith(address: string, method: 'Connect' | 'Work', metadata: grpc.Metadata): Promise<grpc.ServiceError> {
    const raw = new grpc.Client(address, grpc.credentials.createInsecure());
    return new Promise((resolve) => {
      const call = raw.makeBidiStreamRequest(`/schedlab.Scheduler/${method}`, (b: Buffer) => b, (b: Buffer) => b, metadata);
      call.on('data', () => {});
      call.on('error', (err: grpc.ServiceError) => {
        raw.close();
        resolve(err);
      });
    });
  }

  it('every call states this build\'s wire version', () => {
    expect(WIRE_VERSION).toMatch(/^[0-9a-f]{16}$/);
    expect(callMetadata('t').get(WIRE_VERSION_KEY)).toEqual([WIRE_VERSION]);
  });

  it('the scheduler refuses a client or worker of another build, or of a build before versions', { timeout: 20_000 }, async () => {
    server = await startSchedulerServer({ port: 0 });
    const older = new grpc.Metadata(); // what a build without wire versions sends
    const other = new grpc.Metadata();
    other.set(WIRE_VERSION_KEY, '0123456789abcdef');
    for (const method of ['Connect', 'Work'] as const) {
      const refused = await callWith(server.address, method, older);
      expect(refused.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(refused.details).toMatch(/caller speaks no wire version \(an older build\) but this scheduler speaks wire version [0-9a-f]{16}: they run different builds/);
      expect((await callWith(server.address, method, other)).details).toMatch(/caller speaks wire version 0123456789abcdef/);
    }
    // The scheduler is still up, and a client of this build is welcome.
    const client = await Client.connect({ address: server.address });
    await client.close();
  });

  it("a worker's DataService refuses a caller of another build", { timeout: 20_000 }, async () => {
    server = await startSchedulerServer({ port: 0 });
    const worker = await startWorker(server.address);
    const client = await Client.connect({ address: server.address });
    try {
      await client.waitForWorkers(1, 10_000);
      const data = new (protocol().DataService)(client.workers()[0]!.data_address, grpc.credentials.createInsecure()) as grpc.Client & {
        Fetch(req: { data_ids: string[] }, md: grpc.Metadata): grpc.ClientReadableStream<unknown>;
      };
      const refused = await new Promise<grpc.ServiceError>((resolve) => {
        const call = data.Fetch({ data_ids: ['c1/1/x'] }, new grpc.Metadata());
        call.on('data', () => {});
        call.on('error', resolve);
      });
      data.close();
      expect(refused.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(refused.details).toMatch(/caller speaks no wire version \(an older build\) but this worker speaks wire version/);
    } finally {
      await client.close();
      await worker.close();
    }
  });
});

describe('receive window: servers take uploads without a WINDOW_UPDATE per 64 KiB', () => {
  /** The HTTP/2 settings and window a plain client sees from the server at `address`. */
  async function windowOf(address: string): Promise<{ initialWindowSize: number | undefined; connectionWindow: number }> {
    const session = http2.connect(`http://${address}`);
    try {
      await new Promise<void>((resolve, reject) => {
        session.once('remoteSettings', () => resolve());
        session.once('error', reject);
      });
      // The connection window arrives as a WINDOW_UPDATE right after the settings.
      const deadline = Date.now() + 5_000;
      while ((session.state.remoteWindowSize ?? 0) < RECEIVE_WINDOW_BYTES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return { initialWindowSize: session.remoteSettings.initialWindowSize, connectionWindow: session.state.remoteWindowSize ?? 0 };
    } finally {
      session.destroy();
    }
  }

  it("the scheduler's and a worker's server advertise the channels' window, per stream and per connection", { timeout: 20_000 }, async () => {
    const scheduler = await startSchedulerServer({ port: 0 });
    const worker = await startWorker(scheduler.address);
    const client = await Client.connect({ address: scheduler.address });
    try {
      await client.waitForWorkers(1, 10_000);
      // grpc-js 1.x fields newServer/bindServer set it through; an upgrade that drops them fails here.
      const probe = newServer() as unknown as { commonServerOptions?: unknown; http2Servers?: unknown };
      expect(probe.commonServerOptions).toBeTypeOf('object');
      expect(probe.http2Servers).toBeInstanceOf(Map);
      for (const address of [scheduler.address, client.workers()[0]!.data_address]) {
        expect(await windowOf(address)).toEqual({ initialWindowSize: RECEIVE_WINDOW_BYTES, connectionWindow: RECEIVE_WINDOW_BYTES });
      }
    } finally {
      await client.close();
      await worker.close();
      await scheduler.close();
    }
  });
});

describe('framed chunks: Fetch replies and Put uploads go out without copying their bytes', () => {
  it('grpc-js still has the methods servers and clients send framed chunks through', () => {
    expect(SERVER_FRAMES).toBe(true);
    expect(CLIENT_FRAMES).toBe(true);
  });

  it('frames a DataChunk that decodes as grpc-js encodes it, its bytes last and 8-byte aligned in the frame', () => {
    const type = new protobuf.Root().loadSync(protoPath(), { keepCase: true }).lookupType('schedlab.DataChunk');
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => i % 251);
    const chunks = [
      { data_id: 'c1/1/x', total: 300, offset: 0, bytes },
      { data_id: 'c1/2/ключ', total: 2 ** 40 + 3, offset: 2 ** 33, bytes: bytes.subarray(7, 200) },
      { data_id: 'c12/345/a-longer-key-0', total: 193, offset: 0, bytes: bytes.subarray(7, 200) },
      { data_id: '', total: 0, offset: 0, bytes: new Uint8Array(0) },
    ];
    for (const chunk of chunks) {
      const frame = frameBytes(framedChunk(chunk));
      expect([frame[0], frame.readUInt32BE(1)]).toEqual([0, frame.length - 5]);
      const back = type.decode(frame.subarray(5)) as unknown as Chunk;
      expect([back.data_id, Number(back.total), Number(back.offset), Buffer.from(back.bytes).equals(Buffer.from(chunk.bytes))]).toEqual([chunk.data_id, chunk.total, chunk.offset, true]);
      // A receiver gets the frame in a buffer of its own: a raw typed array at a multiple of 8 decodes in place.
      const start = frame.length - chunk.bytes.byteLength;
      expect(start % 8).toBe(0);
      expect(frame.subarray(start).equals(Buffer.from(chunk.bytes))).toBe(true);
    }
  });
});
