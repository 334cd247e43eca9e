/**
 * Futures of the distributed client: one per requested key of a submitted graph. A future is
 * settled by the client as the scheduler reports progress (`pending` -> `finished` | `error`,
 * or `cancelled` / `released` by its owner); its value is fetched from the worker that holds it
 * only when `result()` asks (see `gather.ts`).
 */
import type { Key, SchedulerEvent } from '../../types.js';
import type { KeyDone } from '../protocol.js';
import { dataIdOf } from '../ids.js';

/** @internal What a future needs of its client. */
export interface FutureOwner {
  readonly clientId: string;
  resultOf(future: Future): Promise<unknown>;
  cancel(futures: Future[]): Promise<void>;
}

export type FutureStatus = 'pending' | 'finished' | 'error' | 'cancelled' | 'released';

/** A value being computed (or computed) on the cluster. */
export class Future {
  status: FutureStatus = 'pending';
  /** @internal */ location: KeyDone | undefined;
  /** @internal */ error: Error | undefined;
  /** @internal */ value: Promise<unknown> | undefined;
  /** @internal */ waiters: Array<() => void> = [];
  /** @internal */ readonly dataId: string;

  /** @internal */
  constructor(
    readonly key: Key,
    /** @internal */ readonly run: ClientRun,
    private readonly client: FutureOwner,
  ) {
    this.dataId = dataIdOf(client.clientId, run.run, key);
  }

  /** Resolves once the future finished, failed or was cancelled (never rejects). */
  done(): Promise<void> {
    if (this.status !== 'pending') return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The value (fetched from the worker that holds it); rejects with the task's error. */
  result(): Promise<unknown> {
    return this.client.resultOf(this);
  }

  cancel(): Promise<void> {
    return this.client.cancel([this]);
  }

  /** @internal */
  settle(status: FutureStatus, error?: Error): void {
    if (this.status !== 'pending') return;
    this.status = status;
    this.error = error;
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** @internal A submitted graph as the client tracks it. */
export interface ClientRun {
  run: number;
  futures: Map<Key, Future[]>;
  onEvent: ((e: SchedulerEvent) => void) | undefined;
  /** Literal values wanted as outputs: resolved locally, never sent for. */
  local: Map<Key, unknown>;
  /** What was uploaded to workers (literal values, large args), by data id: uploaded again if lost. */
  uploaded: Map<string, unknown>;
}
