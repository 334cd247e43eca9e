// The catalog's contract: names, descriptions, sizes, valid graphs, getWorkload's errors, and
// that every workload's verify rejects a corrupted answer (wrong-answer tests).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler, validateGraph, type Scheduler } from '../dist/schedulers/index.js';
import { catalog, getWorkload, SIZE_NAMES, VerificationError, type BuiltWorkload, type Workload } from '../dist/workloads/index.js';

/** How to corrupt one computed answer of each workload (a deep copy is corrupted, never the original). */
const CORRUPT: Record<string, (results: unknown[]) => void> = {
  matmul: (r) => {
    // Blocks live in SharedArrayBuffers, which structuredClone shares: corrupt a private copy.
    const block = Float64Array.from(r[r.length - 1] as Float64Array);
    block[block.length - 1] += 1e-3;
    r[r.length - 1] = block;
  },
  mandelbrot: (r) => {
    (r[Math.floor(r.length / 2)] as { iterations: number }).iterations += 1;
  },
  'json-files': (r) => {
    (r[0] as { tags: Record<string, number> }).tags.vip! += 1;
  },
  'json-memory': (r) => {
    (r[0] as { users: string[] }).users.pop();
  },
  shuffle: (r) => {
    (r[0] as { cents: Float64Array }).cents[0] += 1;
  },
  'tree-reduce': (r) => {
    const out = r[0] as Float64Array;
    out[12_345] += 1;
  },
  'tiny-tasks': (r) => {
    r[0] = (r[0] as number) + 1;
  },
};

describe('workload catalog', () => {
  let tmpDir: string;
  let sync: Scheduler;
  beforeAll(async () => {
    tmpDir = mkdtempSync(join(tmpdir(), 'schedlab-catalog-'));
    sync = await createScheduler('sync');
  });
  afterAll(async () => {
    await sync?.close();
    rmSync(tmpDir, { recursive: true, force: true });
  });

  it('has unique names, a paragraph of description and all four sizes with plain parameters', () => {
    const names = catalog.map((w) => w.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['matmul', 'json-files', 'json-memory', 'tiny-tasks', 'tree-reduce', 'shuffle', 'mandelbrot']));
    for (const w of catalog) {
      expect(w.description.length, w.name).toBeGreaterThan(150);
      expect(Object.keys(w.sizes).sort(), w.name).toEqual([...SIZE_NAMES].sort());
      for (const size of SIZE_NAMES) {
        for (const v of Object.values(w.sizes[size])) expect(['string', 'number', 'boolean'], w.name).toContain(typeof v);
      }
    }
  });

  it('getWorkload finds a workload by name and lists the valid names otherwise', () => {
    expect(getWorkload('matmul').name).toBe('matmul');
    let error: unknown;
    try {
      getWorkload('matmull');
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'BAD_OPTION', option: 'workload' });
    expect((error as Error).message).toMatch(/unknown workload "matmull"/);
    for (const w of catalog) expect((error as Error).message).toContain(w.name);
  });

  for (const w of catalog as Workload[]) {
    it(`${w.name}: quick builds a valid graph, verifies on sync, and rejects a corrupted answer`, async () => {
      const params = w.sizes.quick;
      const built: BuiltWorkload = await w.build(params, { tmpDir, options: {} });
      try {
        expect(built.keys.length).toBeGreaterThan(0);
        validateGraph(built.graph, built.keys);
        const results = await sync.get(built.graph, built.keys);
        await w.verify(results, params, built);

        const corrupted = structuredClone(results);
        CORRUPT[w.name]!(corrupted);
        await expect(Promise.resolve().then(() => w.verify(corrupted, params, built))).rejects.toBeInstanceOf(VerificationError);
        await expect(Promise.resolve().then(() => w.verify(corrupted, params, built))).rejects.toThrow(new RegExp(`^${w.name}: wrong answer: `));
        await expect(Promise.resolve().then(() => w.verify(results.slice(1), params, built))).rejects.toBeInstanceOf(VerificationError);
      } finally {
        await built.dispose?.();
      }
    });
  }
});
