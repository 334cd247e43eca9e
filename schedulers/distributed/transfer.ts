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
import { CLIENT_FRAMES, framedChunk } from './framed-chunks.js';
import { joinPieces, piecesLength, type Pieces } from './codec.js';

interface ChunkWriter {
  write(chunk: DataChunk | Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Write one value as chunks, waiting for 'drain' whenever the stream's buffer is full. The
 * value is `bytes`, or the concatenation of its pieces (`encodeValuePieces`: a chunk may take
 * the end of one piece and the start of the next). With `framed` (its side's flag in
 * `framed-chunks.ts`), chunks go out as heads followed by views of those bytes, which must
 * then not change until they are written.
 */
export async function writeChunks(stream: ChunkWriter, dataId: string, bytes: Pieces, framed: boolean): Promise<void> {
  const total = piecesLength(bytes);
  let offset = 0;
  do {
    const end = Math.min(offset + CHUNK_BYTES, total);
    const piece = bytes instanceof Uint8Array ? bytes.subarray(offset, end) : range(bytes, offset, end);
    const more = stream.write(
      framed
        ? framedChunk({ data_id: dataId, total, offset, bytes: piece })
        : { data_id: dataId, total, offset, bytes: piece instanceof Uint8Array ? piece : joinPieces(piece) },
    );
    offset = end;
    if (!more) await new Promise<void>((resolve) => stream.once('drain', resolve));
  } while (offset < total);
}

/** Bytes `from`..`to` of the concatenation of `pieces`: a view when they lie in one piece, else a view of each piece they span. */
function range(pieces: readonly Uint8Array[], from: number, to: number): Uint8Array | Uint8Array[] {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const piece of pieces) {
    const end = start + piece.byteLength;
    if (end > from && start < to) parts.push(piece.subarray(Math.max(0, from - start), Math.min(piece.byteLength, to - start)));
    start = end;
    if (start >= to) break;
  }
  return parts.length === 1 ? parts[0]! : parts;
}

/**
 * Reassembles the values of ONE stream (a Fetch reply or a Put request).
 *
 * `writeChunks` sends each value's chunks in order, one value after the other, so that is all
 * a receiver accepts: a value starts at offset 0, every chunk continues exactly where the
 * previous one ended, with the same id and total, and a value is complete when its last byte
 * arrived. Anything else (a chunk of another value while one is partial, a gap, an overlap, a
 * repeated chunk, a stream ending mid-value) is an error naming the id, never a value with
 * bytes missing: the receive buffer is allocated uninitialised, so a value handed out before
 * every byte was written would decode garbage.
 *
 * A value that fits in one chunk is handed out as the chunk's bytes, a view into the gRPC
 * message it came in (zero-copy; a DataChunk message holds nothing else worth freeing). A
 * larger one is copied piece by piece into one buffer of its own.
 */
export class ChunkAssembler {
  private current: { dataId: string; total: number; buffer: Buffer; received: number } | undefined;

  accept(chunk: DataChunk, maxBytes: number): { dataId: string; bytes: Buffer } | undefined {
    const { data_id: dataId, total, offset } = chunk;
    const piece = chunk.bytes;
    const current = this.current;
    const problem = !dataId
      ? 'no data id'
      : !Number.isSafeInteger(total) || total < 0 || total > maxBytes
        ? `a total of ${total} bytes (limit ${maxBytes})`
        : current && (current.dataId !== dataId || current.total !== total)
          ? `it arrived while "${current.dataId}" was still incomplete (${current.received} of ${current.total} bytes)`
          : offset !== (current?.received ?? 0)
            ? `it starts at offset ${offset}, expected ${current?.received ?? 0}`
            : offset + piece.byteLength > total || (piece.byteLength === 0 && total > 0)
              ? `${piece.byteLength} bytes at offset ${offset} do not fit a total of ${total}`
              : undefined;
    if (problem) throw new Error(`malformed chunk for "${dataId}": ${problem}`);
    if (!current && piece.byteLength === total) return { dataId, bytes: Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength) };
    let entry = current;
    if (!entry) {
      entry = { dataId, total, buffer: Buffer.allocUnsafe(total), received: 0 };
      this.current = entry;
    }
    entry.buffer.set(piece, offset);
    entry.received += piece.byteLength;
    if (entry.received < total) return undefined;
    this.current = undefined;
    return { dataId, bytes: entry.buffer };
  }

  /** Call when the stream ended: throws if it ended in the middle of a value. */
  end(): void {
    const partial = this.current;
    if (partial) throw new Error(`the stream ended in the middle of "${partial.dataId}" (${partial.received} of ${partial.total} bytes)`);
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

  /**
   * Fetch the named values from the worker at `address`. Rejects with the grpc error if the
   * call failed (it carries a numeric `code`: the worker is gone, or no longer holds a value),
   * or with a plain Error if the worker's reply broke the chunk protocol.
   */
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
        try {
          assembler.end();
        } catch (err) {
          reject(err);
          return;
        }
        const missing = dataIds.filter((id) => !values.has(id));
        if (missing.length) reject(new Error(`the fetch ended without sending ${missing.join(', ')}`));
        else resolve(values);
      });
    });
  }

  /** Upload values (their bytes, or those bytes in pieces: `encodeValuePieces`) to the worker at `address`. */
  put(address: string, items: { dataId: string; bytes: Pieces }[]): Promise<number> {
    const client = this.client(address) as grpc.Client & {
      Put(md: grpc.Metadata, cb: (err: grpc.ServiceError | null, reply?: PutReply) => void): grpc.ClientWritableStream<DataChunk>;
    };
    return new Promise((resolve, reject) => {
      const call = client.Put(callMetadata(this.security.token), (err, reply) => (err ? reject(err) : resolve(reply!.stored_bytes)));
      (async () => {
        for (const item of items) await writeChunks(call, item.dataId, item.bytes, CLIENT_FRAMES);
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
