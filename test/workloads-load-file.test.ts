// loadWorkloadFile: a user's workload module in TypeScript (through ts-node, in the main thread,
// worker threads and child processes) or JavaScript, and clear errors for malformed modules.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createScheduler, type SchedulerName, type SchedulerOptions } from '../dist/schedulers/index.js';
import { isTypeScriptModule } from '../dist/schedulers/ts-loader.js';
import { loadWorkloadFile, type Workload } from '../dist/workloads/index.js';
import { conformanceSchedulers } from './conformance/schedulers.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function runQuick(w: Workload, scheduler: SchedulerName, options: SchedulerOptions = {}): Promise<unknown[]> {
  const s = await createScheduler(scheduler, options);
  try {
    const built = await w.build(w.sizes.quick, { tmpDir: '/nonexistent', options: {} });
    const results = await s.get(built.graph, built.keys);
    await w.verify(results, w.sizes.quick, built);
    return results;
  } finally {
    await s.close();
  }
}

describe('loadWorkloadFile', () => {
  it('recognises TypeScript module specifiers (paths and URLs, with #export)', () => {
    expect(isTypeScriptModule('/a/b.ts')).toBe(true);
    expect(isTypeScriptModule('file:///a/b.mts#op')).toBe(true);
    expect(isTypeScriptModule('file:///a/b.cts?x=1')).toBe(true);
    expect(isTypeScriptModule('file:///a/b.js#op.ts')).toBe(false);
    expect(isTypeScriptModule('some-package')).toBe(false);
  });

  it('loads a JavaScript workload module', async () => {
    const w = await loadWorkloadFile(fixture('js-workload.mjs'));
    expect(w.name).toBe('js-fixture');
    expect(await runQuick(w, 'sync')).toEqual([55]);
  });

  for (const { name, options } of conformanceSchedulers) {
    it(`loads a TypeScript workload whose ops are TypeScript, and runs it on ${name}`, async () => {
      const w = await loadWorkloadFile(fixture('ts-workload/workload.ts'));
      expect(w.name).toBe('ts-fixture');
      expect(await runQuick(w, name, options)).toEqual([450]);
    });
  }

  it('loads TypeScript through ts-node in a plain Node process (outside vitest\'s own TS transform)', async () => {
    // Vitest transforms TypeScript itself; a child `node` shows what a user's `schedlab` process does.
    const script = `
      import { loadWorkloadFile } from '../dist/workloads/index.js';
      import { ensureTsLoader } from '../dist/schedulers/ts-loader.js';
      import { createScheduler } from '../dist/schedulers/index.js';
      ensureTsLoader(); // idempotent: loadWorkloadFile calls it again
      const w = await loadWorkloadFile(${JSON.stringify(fixture('ts-workload/workload.ts'))});
      const s = await createScheduler('sync');
      const built = await w.build(w.sizes.quick, { tmpDir: '/nonexistent', options: {} });
      const results = await s.get(built.graph, built.keys);
      await w.verify(results, w.sizes.quick, built);
      await s.close();
      console.log(JSON.stringify(results));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual([450]);
  });

  it('names the file and the missing member', async () => {
    await expect(loadWorkloadFile(fixture('bad-workloads/no-verify.mjs'))).rejects.toThrow(/no-verify\.mjs: export "default": member "verify" must be a function/);
    await expect(loadWorkloadFile(fixture('bad-workloads/missing-size.mjs'))).rejects.toThrow(/missing-size\.mjs: export "workload": member "sizes\.large" must be an object/);
    await expect(loadWorkloadFile(fixture('bad-workloads/no-export.mjs'))).rejects.toThrow(/no-export\.mjs has neither a default export nor an export named "workload"/);
    await expect(loadWorkloadFile('test/fixtures/does-not-exist.ts')).rejects.toThrow(/does-not-exist\.ts does not exist/);
  });

  it('reports a TypeScript file that fails to load with its name and the cause', async () => {
    await expect(loadWorkloadFile(fixture('bad-workloads/syntax-error.ts'))).rejects.toThrow(/syntax-error\.ts failed to load: /);
  });
});
