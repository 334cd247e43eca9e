// `npm pack` from a fresh clone ships the compiled code: the committed tree alone (no dist/),
// packed as npm packs it (the `prepare` script builds first), must contain dist/ and the
// files the package needs at run time, and nothing of the tests or the measurement scripts.
// The checkout's node_modules is linked in rather than installed again, to keep this fast.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function inGitCheckout(): boolean {
  try {
    execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let clone: string;
beforeAll(async () => {
  clone = await mkdtemp(join(os.tmpdir(), 'schedlab-pack-'));
});
afterAll(async () => {
  await rm(clone, { recursive: true, force: true });
});

describe.skipIf(!inGitCheckout())('npm pack from a fresh clone', () => {
  it('builds and ships dist/, the proto file and the report templates, and no tests or scripts', { timeout: 180_000 }, async () => {
    // The committed files, as `git clone` would check them out.
    execFileSync('sh', ['-c', `git archive HEAD | tar -x -C "${clone}"`], { cwd: ROOT });
    await symlink(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
    const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: clone, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 170_000 });
    const [packed] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
    const files = packed!.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/schedulers/index.js',
        'dist/schedulers/index.d.ts',
        'dist/workloads/index.js',
        'dist/harness/cli/schedlab.js',
        'dist/report/index.js',
        'schedulers/distributed/schedlab.proto',
        'report/templates/page.html',
      ]),
    );
    expect(files.filter((f) => /^(test|scripts|dist\/scripts|dist\/test)\//.test(f))).toEqual([]);
  });
});
