/**
 * A distributed worker's value store: serialized values, ready to serve to peers, in memory or
 * spilled to disk under a memory limit (when and what to spill is `memory-policy.ts`'s
 * decision, as Dask's worker memory manager; this is the storage).
 *
 * In memory the values are kept least recently used first (`get` counts as a use). A spilled
 * value is read back for each `get` (counted in `readBackBytes`) and not put back in memory, so
 * reading back cannot itself push the worker over its limit. One file per spilled value under a
 * private directory, removed by `close()`.
 */
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SpillCounters {
  spilledBytes: number;
  readBackBytes: number;
}

export class ValueStore {
  /** In memory, least recently used first (a Map keeps insertion order; `touch` re-inserts). */
  private readonly memory = new Map<string, Uint8Array>();
  /** On disk: id -> [file, size]. */
  private readonly disk = new Map<string, [string, number]>();
  private memoryBytes = 0;
  private dir: string | undefined;
  private nextFile = 0;
  /** Since the store was made (`take` returns and resets the part not reported yet). */
  readonly total: SpillCounters = { spilledBytes: 0, readBackBytes: 0 };
  private unreported: SpillCounters = { spilledBytes: 0, readBackBytes: 0 };

  /** `limit` in bytes; undefined: no limit, nothing ever spills. */
  constructor(readonly limit: number | undefined) {}

  get size(): number {
    return this.memory.size + this.disk.size;
  }

  /** Bytes held in memory (the store's part of managed memory). */
  get inMemory(): number {
    return this.memoryBytes;
  }

  has(id: string): boolean {
    return this.memory.has(id) || this.disk.has(id);
  }

  /** Size of a held value (memory or disk), 0 if absent. */
  sizeOf(id: string): number {
    return this.memory.get(id)?.byteLength ?? this.disk.get(id)?.[1] ?? 0;
  }

  isSpilled(id: string): boolean {
    return this.disk.has(id);
  }

  set(id: string, bytes: Uint8Array): void {
    this.delete(id);
    this.memory.set(id, bytes);
    this.memoryBytes += bytes.byteLength;
  }

  /** The value's bytes (read from disk if spilled: counted, not kept in memory). */
  get(id: string): Uint8Array | undefined {
    const held = this.memory.get(id);
    if (held) {
      this.memory.delete(id);
      this.memory.set(id, held);
      return held;
    }
    const spilled = this.disk.get(id);
    if (!spilled) return undefined;
    const bytes = readFileSync(spilled[0]);
    this.total.readBackBytes += bytes.byteLength;
    this.unreported.readBackBytes += bytes.byteLength;
    return bytes;
  }

  delete(id: string): void {
    const held = this.memory.get(id);
    if (held) {
      this.memory.delete(id);
      this.memoryBytes -= held.byteLength;
    }
    const spilled = this.disk.get(id);
    if (spilled) {
      this.disk.delete(id);
      try {
        unlinkSync(spilled[0]);
      } catch {
        // already gone (the directory was removed)
      }
    }
  }

  /** Values held in memory as [id, bytes], least recently used first. */
  *leastRecentlyUsed(): IterableIterator<[string, number]> {
    for (const [id, bytes] of this.memory) yield [id, bytes.byteLength];
  }

  /** Write `id` to disk and drop it from memory; returns the bytes freed. */
  spill(id: string): number {
    const bytes = this.memory.get(id);
    if (!bytes || this.limit === undefined) return 0;
    this.dir ??= mkdtempSync(join(tmpdir(), 'schedlab-spill-'));
    const file = join(this.dir, String(this.nextFile++));
    writeFileSync(file, bytes);
    this.memory.delete(id);
    this.memoryBytes -= bytes.byteLength;
    this.disk.set(id, [file, bytes.byteLength]);
    this.total.spilledBytes += bytes.byteLength;
    this.unreported.spilledBytes += bytes.byteLength;
    return bytes.byteLength;
  }

  /** Counters not reported yet (they go with the next completion); resets them. */
  take(): SpillCounters {
    const out = this.unreported;
    this.unreported = { spilledBytes: 0, readBackBytes: 0 };
    return out;
  }

  clear(): void {
    for (const id of [...this.disk.keys()]) this.delete(id);
    this.memory.clear();
    this.memoryBytes = 0;
  }

  close(): void {
    this.clear();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/**
 * A memory limit from a flag: bytes ("2000000000"), a size ("4GB", "512MiB", "1.5 GiB"), a
 * fraction of this machine's memory ("0.5"), "auto" (`auto` bytes) or "0"/"none" (no limit).
 */
export function parseMemoryLimit(text: string | number, totalMemory: number, auto: number): number | undefined {
  if (typeof text === 'number') return text > 0 ? text : undefined;
  const value = text.trim().toLowerCase();
  if (value === 'auto') return auto;
  if (value === 'none' || value === '0') return undefined;
  const match = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]i?b?|b)?$/.exec(value);
  if (!match) throw new Error(`"${text}" is not a memory size: give bytes, e.g. 4GB, 512MiB, a fraction of this machine's memory such as 0.5, auto, or none`);
  const number = Number(match[1]);
  const unit = match[2];
  if (!unit && number > 0 && number <= 1) return Math.floor(number * totalMemory);
  if (!unit || unit === 'b') return number > 0 ? Math.floor(number) : undefined;
  const power = 'kmgt'.indexOf(unit[0]!) + 1;
  const base = unit.includes('i') ? 1024 : 1000;
  return Math.floor(number * base ** power);
}
