/**
 * DataChunks a server sends (a worker answering Fetch: to peers and to the client's gather)
 * encoded straight into the gRPC frame they travel in, so each byte of a value is copied once
 * on its way out instead of twice.
 *
 * Why: grpc-js serializes a server's message (protobufjs: one copy of the chunk's bytes into a
 * fresh buffer) and then copies that buffer again behind the 5-byte gRPC length prefix
 * (`BaseServerInterceptingCall.serializeMessage`). Profiled on matmul quick ×2, the two copies
 * were the largest costs of a worker's main thread after GC (about 50 ms a run per worker).
 *
 * How: `framedChunk` writes the prefix and the protobuf encoding of a DataChunk (hand-written:
 * four fields, see schedlab.proto) into one buffer and remembers it; `serializeMessage` is
 * wrapped once per process to send a remembered frame as it is and leave every other message
 * to grpc-js. That reaches into a grpc-js 1.x class, so it is guarded: when the method is not
 * there, `FRAMED_CHUNKS` is false and servers write plain DataChunk objects as before (one
 * copy more, nothing wrong). test/distributed-transfer.test.ts fails if an upgrade drops it.
 */
import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors.js';
import type { DataChunk } from './protocol.js';

const frames = new WeakSet<object>();

interface Serializer {
  serializeMessage?: (this: unknown, value: unknown) => Buffer;
}

function install(): boolean {
  const proto = (BaseServerInterceptingCall as unknown as { prototype?: Serializer } | undefined)?.prototype;
  const original = proto?.serializeMessage;
  if (!proto || typeof original !== 'function') return false;
  proto.serializeMessage = function (this: unknown, value: unknown): Buffer {
    return typeof value === 'object' && value !== null && frames.has(value) ? (value as Buffer) : original.call(this, value);
  };
  return true;
}

/** Servers write `framedChunk`s (grpc-js has the method this wraps). */
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
