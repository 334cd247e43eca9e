// The import rules of ARCHITECTURE.md (.dependency-cruiser.cjs) hold over the whole source
// tree: no layer imports one above it, no entry file is imported, no cycle.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cruise, type IReporterOutput } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const FOLDERS = ['common', 'model', 'schedulers', 'workloads', 'results', 'report', 'harness', 'scripts'];

/** Violations of the project's rules among `folders`, paths relative to `baseDir`. */
async function violations(folders: string[], baseDir = '.'): Promise<string[]> {
  const rules = require('../.dependency-cruiser.cjs') as { forbidden: unknown[]; options: Record<string, unknown> };
  const options = { ...rules.options, baseDir, validate: true, ruleSet: { forbidden: rules.forbidden } };
  const result: IReporterOutput = await cruise(folders, options as never);
  const output = result.output as { summary: { violations: Array<{ rule: { name: string }; from: string; to: string }> } };
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

describe('architecture', () => {
  it('every import follows the layer rules', async () => {
    expect(await violations(FOLDERS)).toEqual([]);
  });

  it('the rules do catch an import that goes up a layer', async () => {
    // A miniature tree whose common/ imports the library breaks "common imports nothing".
    expect(await violations(['common'], fileURLToPath(new URL('./fixtures/architecture/', import.meta.url)))).toEqual([
      'common-imports-only-below: common/upward.ts → schedulers/types.ts',
    ]);
  });
});
