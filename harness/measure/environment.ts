/**
 * The machine and software a run was measured on, stored in every results file so two
 * runs can be compared knowingly (and a baseline from another machine is recognised as such).
 *
 * Package versions are read from the installed `node_modules/<pkg>/package.json` files —
 * what actually ran, not the ranges in package.json — looked up as Node resolves them: from
 * schedlab's own folder upwards, so a schedlab installed into an app finds the app's hoisted
 * copies. The git commit is asked of git in the
 * package's directory; outside a checkout (an npm install) it is null.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Environment } from '../../results/schema.js';

/** The package root: dist/harness/measure/environment.js → ../../.. */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Packages whose versions shape the timings. */
const MEASURED_PACKAGES = ['piscina', 'workerpool', '@grpc/grpc-js', 'tinybench', 'typescript', 'ts-node', 'zod'];

export async function captureEnvironment(argv: string[] = process.argv): Promise<Environment> {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() || 'unknown',
    cores: Math.max(1, cpus.length),
    availableParallelism: os.availableParallelism(),
    totalMemoryBytes: os.totalmem(),
    os: { platform: os.platform(), release: os.release(), arch: os.arch() },
    node: process.versions.node,
    v8: process.versions.v8,
    packages: await packageVersions(),
    gitCommit: await gitCommit(),
    hostname: os.hostname(),
    command: [...argv],
  };
}

/** This package's version (for `schedlab --version`). */
export function schedlabVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

async function packageVersions(): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  const self = await readVersion(join(PACKAGE_ROOT, 'package.json'));
  if (self) versions.schedlab = self;
  for (const name of MEASURED_PACKAGES) {
    const version = await installedVersion(name);
    if (version) versions[name] = version;
  }
  return versions;
}

/** The version of `name` that Node would load from schedlab: the nearest node_modules upwards. */
async function installedVersion(name: string): Promise<string | undefined> {
  for (let dir = PACKAGE_ROOT; ; dir = dirname(dir)) {
    const version = await readVersion(join(dir, 'node_modules', name, 'package.json'));
    if (version) return version;
    if (dirname(dir) === dir) return undefined;
  }
}

async function readVersion(file: string): Promise<string | undefined> {
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as { version?: unknown };
    return typeof json.version === 'string' ? json.version : undefined;
  } catch {
    return undefined; // not installed (e.g. a dev dependency in a production install)
  }
}

async function gitCommit(): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)('git', ['rev-parse', 'HEAD'], { cwd: PACKAGE_ROOT, timeout: 5000 });
    const commit = stdout.trim();
    return /^[0-9a-f]{40,64}$/.test(commit) ? commit : null;
  } catch {
    return null; // not a checkout, or git not installed
  }
}
