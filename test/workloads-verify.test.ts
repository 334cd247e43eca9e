// Every catalog workload at its `quick` size computes a verified answer on every scheduler of
// the conformance suite (one scheduler instance per scheduler, reused across workloads, as
// `bench` does).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createScheduler, type Scheduler } from '../dist/schedulers/index.js';
import { catalog } from '../dist/workloads/index.js';
import { conformanceSchedulers } from './conformance/schedulers.js';

for (const { name, options } of conformanceSchedulers) {
  describe(`catalog at quick size on ${name}`, () => {
    let scheduler: Scheduler;
    let tmpDir: string;
    beforeAll(async () => {
      tmpDir = mkdtempSync(join(tmpdir(), `schedlab-verify-${name}-`));
      scheduler = await createScheduler(name, options);
    });
    afterAll(async () => {
      await scheduler?.close();
      rmSync(tmpDir, { recursive: true, force: true });
    });

    for (const w of catalog) {
      it(`${w.name} verifies`, async () => {
        const built = await w.build(w.sizes.quick, { tmpDir, options: {} });
        try {
          const results = await scheduler.get(built.graph, built.keys);
          await w.verify(results, w.sizes.quick, built);
        } finally {
          await built.dispose?.();
        }
      });
    }
  });
}
