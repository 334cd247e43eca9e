/**
 * Fetching the values of finished futures straight from the workers that hold them: one
 * Fetch per worker for everything asked in the same tick. A failed call (the worker died or
 * dropped the value) waits for the scheduler to name a new holder; a refused call or a reply
 * that cannot be read fails those gathers at once, naming the key and the worker.
 */
import * as grpc from '@grpc/grpc-js';
import { AbortedError, ConnectionError, WorkerLostError } from '../../errors.js';
import { decodeValue } from '../codec.js';
import type { DataClients } from '../transfer.js';
import { estimateSize } from '../../size-estimate.js';
import type { Future } from './future.js';

export class Gatherer {
  private gatherQueue = new Map<string, Future[]>();
  private gatherScheduled = false;

  constructor(
    private readonly data: DataClients,
    /** Called with the size of each value fetched. */
    private readonly onValue: (bytes: number) => void,
    /** The error pending gathers fail with once the client is closed or lost its scheduler. */
    private readonly gone: () => Error | undefined,
  ) {}

  /** The value of `future` once it finished (fetched once, then kept until released). */
  async resultOf(future: Future): Promise<unknown> {
    await future.done();
    if (future.status !== 'finished') throw future.error ?? new AbortedError(`future "${future.key}" was ${future.status}`);
    if (!future.value) {
      future.value = new Promise<unknown>((resolve, reject) => this.queueGather(future, resolve, reject));
      future.value.catch(() => {
        future.value = undefined;
      });
    }
    return future.value;
  }

  private readonly gatherCallbacks = new Map<Future, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private queueGather(future: Future, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    const address = future.location!.data_address;
    const list = this.gatherQueue.get(address) ?? [];
    list.push(future);
    this.gatherQueue.set(address, list);
    this.gatherCallbacks.set(future, { resolve, reject });
    if (this.gatherScheduled) return;
    this.gatherScheduled = true;
    queueMicrotask(() => {
      this.gatherScheduled = false;
      const queue = this.gatherQueue;
      this.gatherQueue = new Map();
      for (const [addr, futures] of queue) {
        // gatherFrom settles every gather itself; this only keeps a bug in it from escaping.
        this.gatherFrom(addr, futures).catch((err: unknown) => {
          for (const future of futures) this.failGather(future, addr, err);
        });
      }
    });
  }

  /**
   * One Fetch for everything wanted from the worker at `address`. A failed call (the worker
   * died or dropped the value) waits for the scheduler to name a new holder; a refused call or
   * a reply that cannot be read fails those gathers at once, naming the key and the worker.
   */
  private async gatherFrom(address: string, futures: Future[]): Promise<void> {
    const ids = [...new Set(futures.map((f) => f.location!.data_id))];
    let values: Map<string, Buffer>;
    try {
      values = await this.data.fetch(address, ids);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const retry = typeof code === 'number' && !REFUSED.has(code);
      for (const future of futures) {
        if (retry) this.refetch(future, err);
        else this.failGather(future, address, err);
      }
      return;
    }
    const decoded = new Map<string, unknown>();
    for (const future of futures) {
      const dataId = future.location!.data_id;
      if (!decoded.has(dataId)) {
        const bytes = values.get(dataId)!;
        let value: unknown;
        try {
          value = decodeValue(bytes);
        } catch (err) {
          const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
          this.failGather(future, address, new Error(`its ${bytes.byteLength} bytes (${head}${bytes.byteLength > 8 ? ' ...' : ''}) do not decode: ${(err as Error).message}`, { cause: err }));
          continue;
        }
        decoded.set(dataId, value);
        this.onValue(estimateSize(value, false));
      }
      const callbacks = this.gatherCallbacks.get(future);
      this.gatherCallbacks.delete(future);
      callbacks?.resolve(decoded.get(dataId));
    }
  }

  /** Reject `future`'s pending gather: its value could not be fetched from `address` or read. */
  private failGather(future: Future, address: string, cause: unknown): void {
    const callbacks = this.gatherCallbacks.get(future);
    if (!callbacks) return;
    this.gatherCallbacks.delete(future);
    const location = future.location;
    const worker = location?.data_address === address ? `worker ${location.worker} at ${address}` : `the worker at ${address}`;
    const reason = cause instanceof Error ? cause.message : String(cause);
    callbacks.reject(
      new ConnectionError(`could not read the value of "${future.key}" (data id ${location?.data_id}) fetched from ${worker}: ${reason}`, address, { cause }),
    );
  }

  /**
   * The worker holding the value did not serve it (it probably died): the scheduler recomputes
   * values that are still wanted and reports the new location; wait for it, within a bound.
   */
  private refetch(future: Future, cause: unknown): void {
    const callbacks = this.gatherCallbacks.get(future);
    if (!callbacks) return;
    const stale = future.location;
    const deadline = Date.now() + 60_000;
    const poll = (): void => {
      const gone = this.gone();
      if (gone) {
        this.gatherCallbacks.delete(future);
        callbacks.reject(gone);
      } else if (future.location !== stale) {
        this.queueGather(future, callbacks.resolve, callbacks.reject);
      } else if (Date.now() > deadline) {
        this.gatherCallbacks.delete(future);
        callbacks.reject(
          new WorkerLostError(`could not fetch "${future.key}" from worker ${stale?.worker} (${(cause as Error).message}) and it was not recomputed within 60 s`, {
            key: future.key,
            worker: stale?.worker,
          }),
        );
      } else setTimeout(poll, 50);
    };
    poll();
  }
}

/** grpc codes of a Fetch the worker refused outright: fetching again from a new holder cannot help. */
const REFUSED = new Set<number>([
  grpc.status.UNAUTHENTICATED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.UNIMPLEMENTED,
]);
