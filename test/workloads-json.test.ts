// The json workloads beyond the catalog checks: the deterministic generator, a user's own
// directory of .json/.jsonl files (--json-dir), and the errors for an empty dir or bad JSON.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler, TaskError, type Scheduler } from '../dist/schedulers/index.js';
import { getWorkload, VerificationError } from '../dist/workloads/index.js';
import { generateDocument } from '../dist/workloads/json/generate.js';
import type { JsonSummary } from '../dist/workloads/json/summary.js';

describe('json workloads', () => {
  let tmpDir: string;
  let sync: Scheduler;
  beforeAll(async () => {
    tmpDir = mkdtempSync(join(tmpdir(), 'schedlab-json-'));
    sync = await createScheduler('sync');
  });
  afterAll(async () => {
    await sync?.close();
    rmSync(tmpDir, { recursive: true, force: true });
  });

  it('generates the same realistic documents for the same seed', () => {
    const spec = { documents: 2, recordsPerDocument: 50, users: 10, seed: 9 };
    const text = generateDocument(spec, 1);
    expect(generateDocument(spec, 1)).toBe(text);
    expect(generateDocument(spec, 0)).not.toBe(text);
    const records = JSON.parse(text) as Array<Record<string, unknown>>;
    expect(records).toHaveLength(50);
    expect(records[0]).toMatchObject({ user: { id: expect.any(String) }, items: expect.any(Array), geo: { lat: expect.any(Number) } });
    expect(text).toMatch(/[^\x00-\x7f]/); // unicode
    expect(text).toMatch(/\\"|\\n|\\t|\\\\/); // escapes
  });

  it('json-files writes its corpus into its own folder of ctx.tmpDir, the tasks read it by path, dispose removes it', async () => {
    const w = getWorkload('json-files');
    const params = { documents: 3, records: 20, users: 5, seed: 4 };
    const built = await w.build(params, { tmpDir, options: {} });
    const dirs = readdirSync(tmpDir).filter((d) => d.startsWith('json-4-3x20'));
    expect(dirs).toHaveLength(1);
    expect(readdirSync(join(tmpDir, dirs[0]!))).toHaveLength(3);
    expect(JSON.stringify(built.graph)).toContain(join(tmpDir, dirs[0]!));
    const [summary] = (await sync.get(built.graph, built.keys)) as [JsonSummary];
    expect(summary).toMatchObject({ documents: 3, records: 60 });
    await w.verify([summary], params, built);
    await built.dispose?.();
    expect(readdirSync(tmpDir).filter((d) => d.startsWith('json-4-3x20'))).toEqual([]);
  });

  for (const name of ['json-files', 'json-memory']) {
    it(`${name} aggregates a user's own directory (--json-dir): arrays, single objects, JSON Lines`, async () => {
      const dir = join(tmpDir, `user-${name}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'a.json'), JSON.stringify([
        { user: { id: 'ann' }, amount: 2.5, tags: ['x', 'y'], nested: { deep: [1, [2, [3]]] } },
        { userId: 7, amount: 1, tags: ['x'] },
      ]));
      writeFileSync(join(dir, 'b.json'), JSON.stringify({ user: 'bob', note: 'héllo 🚀' }));
      writeFileSync(join(dir, 'c.jsonl'), '{"user":{"id":"ann"},"tags":["y"]}\n\n{"amount":-4,"n":[1,2]}\n');
      writeFileSync(join(dir, 'ignored.txt'), 'not json');
      const w = getWorkload(name);
      const built = await w.build(w.sizes.quick, { tmpDir, options: { jsonDir: dir } });
      const results = await sync.get(built.graph, built.keys);
      const summary = results[0] as JsonSummary;
      expect(summary).toMatchObject({
        documents: 3,
        records: 5,
        amountSum: -0.5,
        users: ['7', 'ann', 'bob'],
        tags: { x: 2, y: 2 },
        strings: 8, // a.json: ann x y x; b.json: bob, héllo 🚀; c.jsonl: ann y
        numbers: 9, // a.json: 2.5 1 2 3, 7 1; c.jsonl: -4 1 2
        numberSum: 15.5,
      });
      await w.verify(results, w.sizes.quick, built);
      await expect(Promise.resolve().then(() => w.verify([{ ...summary, strings: summary.strings + 1 }], w.sizes.quick, built))).rejects.toBeInstanceOf(VerificationError);
    });
  }

  it('names the directory when --json-dir has no JSON files, and the document when one is not JSON', async () => {
    const empty = join(tmpDir, 'empty');
    mkdirSync(empty);
    const w = getWorkload('json-files');
    expect(() => w.build(w.sizes.quick, { tmpDir, options: { jsonDir: empty } })).toThrow(/"[^"]*empty" \(--json-dir\) holds no \.json\/\.jsonl\/\.ndjson files/);
    const broken = join(tmpDir, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'bad.json'), '{"truncated": [1, 2');
    const built = await w.build(w.sizes.quick, { tmpDir, options: { jsonDir: broken } });
    const error = await sync.get(built.graph, built.keys).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).errorMessage).toMatch(/document .*bad\.json is not valid JSON/);
  });
});
