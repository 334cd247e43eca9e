/**
 * What installing schedlab costs an app: for each package directory given (default: this
 * checkout), `npm pack` it, `npm install` the tarball into an empty app, and print the size of
 * the app's node_modules, how many packages it holds, and the largest of them.
 *
 *   node dist/scripts/measure-install-size.js [package-dir ...]
 *   node dist/scripts/measure-install-size.js /work/before .     # before vs after
 *
 * Uses the npm cache (--prefer-offline); needs the registry only for packages not cached.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Disk usage under `path`, in bytes (as `du -sh` counts it: allocated blocks, links not followed). */
function diskBytes(path: string): number {
  return Number(execFileSync('du', ['-sk', path], { encoding: 'utf8' }).split('\t')[0]) * 1024;
}

/** Top-level packages of node_modules (scoped ones as @scope/name). */
function packages(modules: string): string[] {
  return readdirSync(modules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) => (name.startsWith('@') ? readdirSync(join(modules, name)).map((sub) => `${name}/${sub}`) : [name]))
    .filter((name) => statSync(join(modules, name)).isDirectory());
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

const dirs = process.argv.slice(2).length ? process.argv.slice(2) : ['.'];
for (const dir of dirs.map((d) => resolve(d))) {
  const work = mkdtempSync(join(os.tmpdir(), 'schedlab-install-size-'));
  try {
    const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], dir)) as Array<{ filename: string; entryCount: number; size: number }>;
    const app = join(work, 'app');
    execFileSync('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'empty-app', version: '1.0.0', private: true }));
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, packed!.filename)], app);
    const modules = join(app, 'node_modules');
    const sizes = packages(modules)
      .map((name) => ({ name, bytes: diskBytes(join(modules, name)) }))
      .sort((a, b) => b.bytes - a.bytes);
    console.log(`${dir}: tarball ${packed!.entryCount} files, ${mb(packed!.size)}; app node_modules ${mb(diskBytes(modules))} in ${sizes.length} packages`);
    console.log(`  largest: ${sizes.slice(0, 6).map((s) => `${s.name} ${mb(s.bytes)}`).join(', ')}`);
    const has = (name: string): string => (sizes.some((s) => s.name === name) ? 'yes' : 'no');
    console.log(`  typescript installed: ${has('typescript')}, ts-node: ${has('ts-node')}, dist/ in the tarball: ${has('schedlab') === 'yes' && existsSync(join(modules, 'schedlab', 'dist')) ? 'yes' : 'no'}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
