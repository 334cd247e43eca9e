/**
 * The one clock of schedlab's events and spans: epoch milliseconds with sub-millisecond
 * resolution (`performance.timeOrigin + performance.now()`), comparable across the threads
 * and processes of one machine. Imports nothing, so any thread or process can load it.
 */

const timeOrigin = performance.timeOrigin;

/** Epoch milliseconds, sub-millisecond resolution. */
export const now = (): number => timeOrigin + performance.now();
