/**
 * DataChunks written straight into the HTTP/2 stream they travel in, without copying their
 * bytes: a worker answering Fetch (to peers and to the client's gather) and the client's Put
 * (its uploads) send each chunk as a small head, then the chunk's bytes themselves (views of
 * the stored or encoded value; an uploaded plain typed array's are its header and its own
 * memory, `encodeValuePieces`).
 *
 * Why: grpc-js serializes a message (protobufjs: one copy of the chunk's bytes into a fresh
 * buffer) and then copies that buffer again behind the 5-byte gRPC length prefix (a server in
 * `BaseServerInterceptingCall.serializeMessage`, a client in its compression filter). Profiled
 * on matmul small ×2, those copies were the client's largest costs after GC (protobufjs
 * `writeBytesBuffer_set` and the filter's `_copyActual`, ~85 ms a run, and their garbage: ~10
 * mark-compacts a run, started by external memory) and a worker main thread's after GC (the
 * single copy left by the first version of this module, 15-30 ms a run).
 *
 * How: `framedChunk` writes the prefix and the protobuf encoding of a DataChunk up to its
 * bytes (hand-written, see schedlab.proto; the bytes field last) into a head and remembers
 * which bytes follow that head. The head ends with a `pad` field sized so that the bytes start
 * 8-byte aligned in the frame: grpc-js hands a receiver each message of more than 4 KiB in a
 * buffer of its own, frame included, so a raw typed array (codec.ts: 8 bytes of header, then
 * its data) is decoded in place instead of copied (the client's gather of matmul small decoded
 * 32 MiB a run by copying). grpc-js carries the head as the message; wrappers
 * installed once per process let it pass where grpc-js would encode or frame it (a server's
 * `serializeMessage`, the client's compression filter; the client's request serializer in
 * `protocol.ts`) and, where grpc-js writes it to its HTTP/2 stream (a server's `sendMessage`,
 * the client's `Http2SubchannelCall.sendMessageWithContext`), write the bytes right after it
 * with the stream corked: one writev, and the write's callback (grpc's back-pressure) fires
 * once both are out. That reaches into grpc-js 1.x classes, so it is guarded: when a method is
 * not there, `SERVER_FRAMES` or `CLIENT_FRAMES` is false and that side writes plain DataChunk
 * objects as before (two copies more, nothing wrong). test/distributed-transfer.test.ts fails
 * if an upgrade drops one.
 */
import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors.js';
import { CompressionFilter } from '@grpc/grpc-js/build/src/compression-filter.js';
import { Http2SubchannelCall } from '@grpc/grpc-js/build/src/subchannel-call.js';
import { piecesLength, type Pieces } from './codec.js';

/** A DataChunk's fields (protocol.ts's `DataChunk`, typed here by shape: protocol.ts imports this module). */
interface ChunkFields {
  data_id: string;
  total: number;
  offset: number;
  /** Its bytes, or those bytes in pieces (written one after the other). */
  bytes: Pieces;
}

/** The bytes that follow each head `framedChunk` made (or those bytes in pieces). */
const bodies = new WeakMap<object, Pieces>();

/** True for a head from `framedChunk` (a serializer passes it on as it is). */
export const isFrameHead = (value: unknown): value is Buffer => typeof value === 'object' && value !== null && bodies.has(value);

interface CorkableStream {
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array): boolean;
  readonly writableLength: number;
}

/**
 * Call `send` (grpc-js writing `message` to `stream`) corked, and when it wrote a head, write
 * its bytes after it. grpc-js may write nothing (a cancelled call): the stream's buffered
 * length says whether it did.
 */
function sendFramed(stream: CorkableStream | undefined, message: unknown, send: () => void): void {
  const body = isFrameHead(message) ? bodies.get(message) : undefined;
  if (!body || !stream) return send();
  stream.cork();
  try {
    const before = stream.writableLength;
    send();
    if (stream.writableLength > before) {
      if (body instanceof Uint8Array) stream.write(body);
      else for (const piece of body) stream.write(piece);
    }
  } finally {
    stream.uncork();
  }
}

type Method = (this: unknown, ...args: unknown[]) => unknown;
const prototypeOf = (cls: unknown): Record<string, unknown> | undefined => (cls as { prototype?: Record<string, unknown> } | undefined)?.prototype;

function installServer(): boolean {
  const proto = prototypeOf(BaseServerInterceptingCall);
  const serialize = proto?.serializeMessage as Method | undefined;
  const send = proto?.sendMessage as Method | undefined;
  if (!proto || typeof serialize !== 'function' || typeof send !== 'function') return false;
  proto.serializeMessage = function (this: unknown, value: unknown) {
    return isFrameHead(value) ? value : serialize.call(this, value);
  };
  proto.sendMessage = function (this: { stream?: CorkableStream }, message: unknown, callback: unknown) {
    sendFramed(this.stream, message, () => send.call(this, message, callback));
  };
  return true;
}

function installClient(): boolean {
  const filter = prototypeOf(CompressionFilter);
  const frame = filter?.sendMessage as Method | undefined;
  const call = prototypeOf(Http2SubchannelCall);
  const send = call?.sendMessageWithContext as Method | undefined;
  if (!filter || !call || typeof frame !== 'function' || typeof send !== 'function') return false;
  filter.sendMessage = async function (this: unknown, message: Promise<{ message: unknown }>) {
    const resolved = await message;
    return isFrameHead(resolved.message) ? resolved : frame.call(this, Promise.resolve(resolved));
  };
  call.sendMessageWithContext = function (this: { http2Stream?: CorkableStream }, context: unknown, message: unknown) {
    sendFramed(this.http2Stream, message, () => send.call(this, context, message));
  };
  return true;
}

/** Servers (Fetch replies) write `framedChunk`s: grpc-js has the methods this wraps. */
export const SERVER_FRAMES = installServer();
/** Clients (Put) write `framedChunk`s. */
export const CLIENT_FRAMES = installClient();

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

/**
 * The head of `chunk` as a gRPC message frame (uncompressed flag, big-endian length, the
 * DataChunk up to its bytes), followed on the wire by `chunk.bytes`, which must not change
 * until the write is done. Only for a stream of a side whose flag above is true.
 */
export function framedChunk(chunk: ChunkFields): Buffer {
  const idBytes = Buffer.byteLength(chunk.data_id);
  const n = piecesLength(chunk.bytes);
  // Every field, as protobufjs writes a plain object with all four set (also those at their
  // default), and `pad` (field 5, 2 + padding bytes) right before `bytes`.
  const fields = 1 + varintSize(idBytes) + idBytes + 1 + varintSize(chunk.total) + 1 + varintSize(chunk.offset) + 1 + varintSize(n);
  const padding = (8 - ((5 + fields + 2) % 8)) % 8;
  const headSize = fields + 2 + padding;
  const out = Buffer.allocUnsafe(5 + headSize);
  out[0] = 0;
  out.writeUInt32BE(headSize + n, 1);
  let at = 5;
  out[at++] = 0x0a; // field 1 (data_id), length-delimited
  at = writeVarint(out, at, idBytes);
  at += out.write(chunk.data_id, at, 'utf8');
  out[at++] = 0x10; // field 2 (total), varint
  at = writeVarint(out, at, chunk.total);
  out[at++] = 0x18; // field 3 (offset), varint
  at = writeVarint(out, at, chunk.offset);
  out[at++] = 0x2a; // field 5 (pad), length-delimited
  out[at++] = padding;
  out.fill(0, at, at + padding);
  at += padding;
  out[at++] = 0x22; // field 4 (bytes), length-delimited
  writeVarint(out, at, n);
  bodies.set(out, chunk.bytes);
  return out;
}

/** The whole frame of a head from `framedChunk` (head and bytes), as the wire carries it; for tests. */
export function frameBytes(head: Buffer): Buffer {
  const body = bodies.get(head) ?? [];
  return Buffer.concat([head, ...(body instanceof Uint8Array ? [body] : body)]);
}
