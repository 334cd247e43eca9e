/**
 * Messages between a worker process's main thread (network, value store) and its executor
 * threads (where ops run). Both sides import only this file, never each other.
 *
 * Bytes cross in ONE packed ArrayBuffer per batch (each task names its pieces as spans):
 * posting a Uint8Array that views part of a larger buffer (as protobuf's decoded `bytes` do)
 * would clone the whole underlying buffer for every task. Values larger than PACK_LIMIT
 * travel as their own transferred buffer instead, both ways: a large result is never copied
 * twice, and a large input arrives alone in its buffer, so the thread decodes it in place (a
 * raw typed array is then a view, `codec.ts`) and frees it when it drops that value, not
 * when every other value packed with it is gone too.
 * The task and result lists themselves cross as JSON text: for thousands of small plain
 * objects that is several times cheaper than postMessage's structured clone. That text is
 * kept short, as it is written and read once per task on each side: a batch names its ops
 * once (a task's op is a number), a flag that is false is left out, and a result names its
 * task by `seq` alone (the main thread knows the id of each seq it sent).
 */
import type { PackedError } from '../../types.js';

/** [offset, length] inside the batch's packed buffer. */
export type Span = [number, number];

/** One input of a task (its key is `keyOfDataId(id)`). `bytes` or `owned` is present when the thread does not hold the value yet. */
export interface ThreadDep {
  id: string;
  /** Small literal: deserialize for this task only, do not keep (absent: false). */
  inline?: true;
  bytes?: Span;
  /** ...or, when large, its bytes are `owned[index]` of the message (their own transferred buffer). */
  owned?: number;
  /** Produced by a task sent to this thread earlier that may not have finished: wait for it. */
  later?: boolean;
}

export interface ThreadTask {
  id: string;
  /** Which assignment of `id` this is (a task cancelled and assigned again gets a new one). */
  seq: number;
  /** Its op: the batch's `ops[op]`. */
  op: number;
  /** encodeValue(args), unless `argsId` names a dep holding the args array. */
  args?: Span;
  argsId?: string;
  deps: ThreadDep[];
}

/** `tasks` is JSON of ThreadTask[], `ops` the ops they name by number; `cancel` drops tasks still parked waiting for inputs. */
export type ToThread =
  | { type: 'run'; tasks: string; ops: string[]; packed: ArrayBuffer; owned: Uint8Array[] }
  | { type: 'release'; ids: string[] }
  | { type: 'cancel'; ids: string[] }
  /** Memory is short: collect garbage now (the values just released are freed). */
  | { type: 'gc' };

/** Exactly one result comes back for every task sent to a thread (a cancelled one: ok false). */
export interface ThreadResult {
  /** The `seq` of its task (unique in its worker). */
  seq: number;
  ok: boolean;
  /** encodeValue(result) as a span of the packed buffer... */
  bytes?: Span;
  /** ...or, when large, as `owned[index]` of the message (its own transferred buffer). */
  owned?: number;
  start: number;
  end: number;
  /** Milliseconds of `start..end` spent decoding inputs and encoding the result. */
  decode?: number;
  encode?: number;
  error?: PackedError;
}

/** `results` is JSON of ThreadResult[]. */
export type FromThread = { type: 'done'; results: string; owned: Uint8Array[]; packed: ArrayBuffer };

/** Values at least this large (results, and inputs sent to a thread) are transferred on their own rather than packed. */
export const PACK_LIMIT = 64 * 1024;

/** Gathers byte arrays into one buffer; `add` returns where each one will be. */
export class Packer {
  private parts: Uint8Array[] = [];
  private size = 0;

  add(bytes: Uint8Array): Span {
    const span: Span = [this.size, bytes.byteLength];
    this.parts.push(bytes);
    this.size += bytes.byteLength;
    return span;
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  /** The packed buffer; the packer is empty again afterwards. */
  take(): ArrayBuffer {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.byteLength;
    }
    this.parts = [];
    this.size = 0;
    return out.buffer;
  }
}

/** The bytes of `span` in `packed` (a view, no copy). */
export const unpack = (packed: ArrayBuffer, span: Span): Uint8Array => new Uint8Array(packed, span[0], span[1]);
