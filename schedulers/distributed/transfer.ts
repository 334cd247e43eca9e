/**
 * Moving serialized values over a worker's DataService, in chunks of CHUNK_BYTES so a value
 * may be far larger than any grpc message limit (a 256 MiB array is 256 messages).
 *
 * Used by workers (serve Fetch/Put, fetch inputs from peers) and by the client (upload large
 * literals, gather results). Senders honour stream back-pressure (`write` returning false)
 * so a huge value never sits in grpc's send queue all at once; receivers allocate the whole
 * value once (`total` is in every chunk) and copy chunks into place.
 */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, CHUNK_BYTES, protocol, type DataChunk, type FetchRequest, type PutReply } from './protocol.js';
import { callMetadata, channelCredentials, type SecurityOptions } from './security.js';

interface ChunkWriter {
  write(chunk: DataChunk): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** Write one value as chunks, waiting for 'drain' whenever the stream's buffer is full. */
export async function writeChunks(stream: ChunkWriter, dataId: string, bytes: Uint8Array): Promise<void> {
  const total = bytes.byteLength;
  let offset = 0;
  do {
    const piece = bytes.subarray(offset, Math.min(offset + CHUNK_BYTES, total));
    const more = stream.write({ data_id: dataId, total, offset, bytes: piece });
    offset += piece.byteLength;
    if (!more) await new Promise<void>((resolve) => stream.once('drain', resolve));
  } while (offset < total);
}

/** Reassembles chunked values; `accept` returns a value once all its bytes arrived. */
export class ChunkAssembler {
  private readonly partial = new Map<string, { buffer: Buffer; received: number }>();

  accept(chunk: DataChunk, maxBytes: number): { dataId: string; bytes: Buffer } | undefined {
    const { data_id: dataId, total, offset } = chunk;
    const piece = chunk.bytes;
    if (!dataId || total > maxBytes || offset + piece.byteLength > total) {
      throw new Error(`malformed chunk for "${dataId}": offset ${offset} + ${piece.byteLength} bytes of ${total} (limit ${maxBytes})`);
    }
    if (offset === 0 && piece.byteLength === total) return { dataId, bytes: Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength) };
    let entry = this.partial.get(dataId);
    if (!entry) {
      entry = { buffer: Buffer.allocUnsafe(total), received: 0 };
      this.partial.set(dataId, entry);
    }
    entry.buffer.set(piece, offset);
    entry.received += piece.byteLength;
    if (entry.received < total) return undefined;
    this.partial.delete(dataId);
    return { dataId, bytes: entry.buffer };
  }
}

/** Largest single value a receiver accepts (a sanity bound against a hostile `total`). */
export const MAX_VALUE_BYTES = 8 * 1024 ** 3;

/** A cache of DataService clients, one channel per worker address. */
export class DataClients {
  private readonly clients = new Map<string, grpc.Client>();
  constructor(private readonly security: SecurityOptions) {}

  private client(address: string): grpc.Client {
    let client = this.clients.get(address);
    if (!client) {
      const { credentials, options } = channelCredentials(this.security);
      client = new (protocol().DataService)(address, credentials, { ...CHANNEL_OPTIONS, ...options });
      this.clients.set(address, client);
    }
    return client;
  }

  /** Fetch the named values from the worker at `address`. */
  fetch(address: string, dataIds: string[]): Promise<Map<string, Buffer>> {
    const client = this.client(address) as grpc.Client & {
      Fetch(req: FetchRequest, md: grpc.Metadata): grpc.ClientReadableStream<DataChunk>;
    };
    return new Promise((resolve, reject) => {
      const values = new Map<string, Buffer>();
      const assembler = new ChunkAssembler();
      const call = client.Fetch({ data_ids: dataIds }, callMetadata(this.security.token));
      call.on('data', (chunk: DataChunk) => {
        try {
          const done = assembler.accept(chunk, MAX_VALUE_BYTES);
          if (done) values.set(done.dataId, done.bytes);
        } catch (err) {
          call.cancel();
          reject(err);
        }
      });
      call.on('error', reject);
      call.on('end', () => {
        const missing = dataIds.filter((id) => !values.has(id));
        if (missing.length) reject(new Error(`worker ${address} ended the fetch without sending ${missing.join(', ')}`));
        else resolve(values);
      });
    });
  }

  /** Upload values to the worker at `address`. */
  put(address: string, items: { dataId: string; bytes: Uint8Array }[]): Promise<number> {
    const client = this.client(address) as grpc.Client & {
      Put(md: grpc.Metadata, cb: (err: grpc.ServiceError | null, reply?: PutReply) => void): grpc.ClientWritableStream<DataChunk>;
    };
    return new Promise((resolve, reject) => {
      const call = client.Put(callMetadata(this.security.token), (err, reply) => (err ? reject(err) : resolve(reply!.stored_bytes)));
      (async () => {
        for (const item of items) await writeChunks(call, item.dataId, item.bytes);
        call.end();
      })().catch((err) => {
        call.cancel();
        reject(err);
      });
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
