/**
 * DataChunks (a worker answering Fetch, to peers and to the client's gather; a client's Put)
 * encoded straight into the gRPC frame they travel in, so each byte of a value is copied once
 * on its way out instead of twice.
 *
 * Why: grpc-js serializes a message (protobufjs: one copy of the chunk's bytes into a fresh
 * buffer) and then copies that buffer again behind the 5-byte gRPC length prefix: a server in
 * `BaseServerInterceptingCall.serializeMessage`, a client in its identity "compression"
 * handler's `writeMessage`. Profiled on matmul ×2, the two copies were the largest costs of a
 * worker's main thread after GC (about 50 ms a run per worker at quick), and the client's
 * upload paid them too, plus the garbage collections the extra 1 MiB buffers set off.
 *
 * How: `framedChunk` writes the prefix and the protobuf encoding of a DataChunk (hand-written:
 * four fields, see schedlab.proto) into one buffer and remembers it; the message serializers
 * (`protocol.ts`) and those two grpc-js methods, wrapped once per process, pass a remembered
 * frame through as it is and leave every other message to grpc-js. That reaches into grpc-js
 * 1.x classes, so it is guarded: unless both methods are there, `FRAMED_CHUNKS` is false and
 * chunks are written as plain DataChunk objects as before (one copy more, nothing wrong).
 * test/distributed-transfer.test.ts fails if an upgrade drops them. Channels never ask for
 * compression (CHANNEL_OPTIONS): a compressing handler would frame a frame again.
 */
import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors.js';
import { CompressionFilter } from '@grpc/grpc-js/build/src/compression-filter.js';

/** A DataChunk of schedlab.proto (protocol.ts's, repeated here: protocol.ts imports this module). */
interface DataChunk {
  data_id: string;
  total: number;
  offset: number;
  bytes: Uint8Array;
}

const frames = new WeakSet<object>();

/** `value` is a frame made by `framedChunk`: serializers send it as it is. */
export const isFrame = (value: unknown): value is Buffer => typeof value === 'object' && value !== null && frames.has(value);

type Method = (this: unknown, ...args: never[]) => unknown;

/** Wrap `name` of `proto` to return a frame (its first argument) as it is; false if there is no such method. */
function passFrames(proto: Record<string, unknown> | undefined, name: string, wrapAsync: boolean): boolean {
  const original = proto?.[name] as Method | undefined;
  if (!proto || typeof original !== 'function') return false;
  proto[name] = function (this: unknown, ...args: never[]): unknown {
    if (isFrame(args[0])) return wrapAsync ? Promise.resolve(args[0]) : args[0];
    return original.apply(this, args);
  };
  return true;
}

function install(): boolean {
  let identity: Record<string, unknown> | undefined;
  try {
    const filter = new (CompressionFilter as unknown as new (options: object, shared: object) => { sendCompression?: object })({}, {});
    const handler = filter.sendCompression;
    if (handler && handler.constructor.name === 'IdentityHandler') identity = Object.getPrototypeOf(handler) as Record<string, unknown>;
  } catch {
    identity = undefined;
  }
  const server = (BaseServerInterceptingCall as unknown as { prototype?: Record<string, unknown> } | undefined)?.prototype;
  if (typeof identity?.writeMessage !== 'function' || typeof server?.serializeMessage !== 'function') return false;
  return passFrames(server, 'serializeMessage', false) && passFrames(identity, 'writeMessage', true);
}

/** Chunks are written as `framedChunk`s (grpc-js has the methods this wraps). */
export const FRAMED_CHUNKS = install();

const varintSize = (n: number): number => {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size += 1;
  }
  return size;
};

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 128) {
    out[at++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** `chunk` as a whole gRPC message frame (uncompressed flag, big-endian length, DataChunk), for a server to write. */
export function framedChunk(chunk: DataChunk): Buffer {
  const idBytes = Buffer.byteLength(chunk.data_id);
  const n = chunk.bytes.byteLength;
  // Every field, as protobufjs writes a plain object with all four set (also those at their default).
  const size = 1 + varintSize(idBytes) + idBytes + 1 + varintSize(chunk.total) + 1 + varintSize(chunk.offset) + 1 + varintSize(n) + n;
  const out = Buffer.allocUnsafe(5 + size);
  out[0] = 0;
  out.writeUInt32BE(size, 1);
  let at = 5;
  out[at++] = 0x0a; // field 1 (data_id), length-delimited
  at = writeVarint(out, at, idBytes);
  at += out.write(chunk.data_id, at, 'utf8');
  out[at++] = 0x10; // field 2 (total), varint
  at = writeVarint(out, at, chunk.total);
  out[at++] = 0x18; // field 3 (offset), varint
  at = writeVarint(out, at, chunk.offset);
  out[at++] = 0x22; // field 4 (bytes), length-delimited
  at = writeVarint(out, at, n);
  out.set(chunk.bytes, at);
  frames.add(out);
  return out;
}
