/**
 * Sealed values of the `threads` scheduler: a large result that main will not read (not a
 * requested key, one consumer; the engine marks it `sealable`) goes back to main inside a
 * MessagePort instead of as itself. The worker posts the value, its buffers transferred, into
 * a fresh MessageChannel and returns the other end; main holds that port as the value and
 * hands it, transferred, to the batch of its one consumer, whose thread takes the message off
 * the port (`receiveMessageOnPort`). The value's memory therefore never enters main's heap:
 * main no longer pays GC (external-memory pressure: mark-compacts of 4-9 ms per get on
 * tree-reduce quick) for 16 MB arrays that only pass through it, and a port costs main a few
 * microseconds whatever the value's size.
 *
 * A value in SharedArrayBuffer memory is sealed too, though it is not copied either way: main
 * would hold a view of every such result it passed on, and a shared backing store counts
 * toward the external memory only of the thread that allocated it, so main's GC never
 * hurries to drop those views and the memory is not freed until it does. matmul small on
 * threads×1 (512 block products of 512 kB) grew to 1.4-2.2 GB of RSS and spent its time
 * faulting in fresh pages (1.45 s of CPU a get against sync's 1.1 s). Sealed, main never
 * sees them, and they die in the workers' heaps, whose GC does count them.
 *
 * Used by both sides (no pool, no worker code): the worker entry seals and opens, the pool
 * side only finds the ports among a batch's inputs to transfer them. A sealed value is opened
 * once; the port is closed then, so it can never be read twice or after it moved.
 */
import { MessageChannel, MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { addMovableBuffers, MIN_MOVE_BYTES } from '../local/movable.js';

/** Results with fewer movable bytes than this go back as they are (a channel costs about what moving 64 KiB does). */
export const SEAL_MIN_BYTES = MIN_MOVE_BYTES;

/**
 * Worker side: replace each value that `sealable` allows, and that holds at least
 * `SEAL_MIN_BYTES` of movable buffers (shared with no other value of the result) and
 * SharedArrayBuffer memory, by the port that holds it. Sealed values' movable buffers are
 * transferred (detached here); shared memory stays shared. Returns the ports.
 */
export function sealValues(values: unknown[], sealable: Uint8Array): MessagePort[] {
  const ports: MessagePort[] = [];
  const owned: (Set<ArrayBuffer> | undefined)[] = new Array(values.length);
  const sharedBytes: number[] = new Array(values.length).fill(0);
  const seen = new Map<ArrayBuffer, number>();
  for (let w = 0; w < values.length; w++) {
    const v = values[w];
    if (typeof v !== 'object' || v === null) continue;
    const found = new Set<ArrayBuffer>();
    const shared = new Set<SharedArrayBuffer>();
    viewedBuffers(v, found, shared);
    for (const b of found) seen.set(b, (seen.get(b) ?? 0) + 1);
    if (sealable[w]) {
      const movable = new Set<ArrayBuffer>();
      addMovableBuffers(v, movable);
      owned[w] = movable;
      for (const b of shared) sharedBytes[w]! += b.byteLength;
    }
  }
  for (let w = 0; w < values.length; w++) {
    const buffers = owned[w];
    if (!buffers || (buffers.size === 0 && sharedBytes[w] === 0)) continue;
    let bytes = sharedBytes[w]!;
    let alone = true;
    for (const b of buffers) {
      bytes += b.byteLength;
      // Another value of this result views the same memory (an op returned one array twice, or a part of it): moving it would detach the other.
      if (seen.get(b)! > 1) alone = false;
    }
    if (!alone || bytes < SEAL_MIN_BYTES) continue;
    const { port1, port2 } = new MessageChannel();
    try {
      port1.postMessage(values[w], [...buffers]);
    } catch {
      // Not cloneable: left as it is, so the result's own post reports it as today.
      port1.close();
      port2.close();
      continue;
    }
    port1.close(); // the message stays queued at port2
    values[w] = port2;
    ports.push(port2);
  }
  return ports;
}

/** Worker side: replace each sealed input (a port) by its value, closing the port. */
export function openSealed(inputs: unknown[]): void {
  for (let i = 0; i < inputs.length; i++) {
    const port = inputs[i];
    if (!(port instanceof MessagePort)) continue;
    const got = receiveMessageOnPort(port);
    port.close();
    if (got === undefined) throw new Error('internal: a sealed input arrived empty (opened twice?)');
    inputs[i] = got.message;
  }
}

/** Pool side: the sealed values among a batch's inputs (to transfer with it), or undefined. */
export function sealedInputs(inputs: readonly unknown[]): MessagePort[] | undefined {
  let ports: MessagePort[] | undefined;
  for (const v of inputs) if (v instanceof MessagePort) (ports ??= []).push(v);
  return ports;
}

/**
 * Every buffer `x` views, whole or in part, as itself or one level down: the ArrayBuffers
 * (what sealing another value could detach) into `into`, the SharedArrayBuffers into `shared`.
 */
function viewedBuffers(x: object, into: Set<ArrayBuffer>, shared: Set<SharedArrayBuffer>): void {
  const one = (y: unknown): void => {
    if (y instanceof ArrayBuffer) into.add(y);
    else if (y instanceof SharedArrayBuffer) shared.add(y);
    else if (ArrayBuffer.isView(y)) {
      if (y.buffer instanceof ArrayBuffer) into.add(y.buffer);
      else shared.add(y.buffer);
    }
  };
  one(x);
  if (Array.isArray(x)) for (const y of x.slice(0, 64)) one(y);
  else if (!ArrayBuffer.isView(x) && Object.getPrototypeOf(x) === Object.prototype) for (const y of Object.values(x).slice(0, 64)) one(y);
}
