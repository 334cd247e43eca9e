/**
 * The json workloads: parse JSON documents and aggregate them (record count, sums, distinct
 * users, per-tag counts); one task per document, then a merge tree. Two variants differ only
 * in how a document reaches its task:
 * - `json-files`: the task gets a file path and reads the file itself (tiny messages);
 * - `json-memory`: the caller holds the text and ships it to the task (the cost of moving
 *   strings across the thread or process boundary).
 * Documents come from a deterministic generator (written to `ctx.tmpDir` for json-files) or
 * from the user's own `.json`/`.jsonl`/`.ndjson` files (`ctx.options.jsonDir`). `verify`
 * compares against a single-pass reference over the same documents (reference.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { GraphBuilder } from '../../schedulers/graph.js';
import type { Ref } from '../../schedulers/types.js';
import { check, checkResultCount, closeTo, opNamer, positiveInt, treeReduce } from '../common.js';
import type { BuildContext, BuiltWorkload, Workload } from '../types.js';
import { generateDocument, type CorpusSpec } from './generate.js';
import type * as ops from './ops.js';
import { referenceSummary } from './reference.js';
import { JSON_EXTENSIONS, type JsonSummary } from './summary.js';

const op = opNamer<typeof ops>(new URL('./ops.js', import.meta.url).href);

/** Parameters: documents, records per document, distinct users, seed (ignored with `jsonDir`). */
export interface JsonParams {
  [name: string]: number;
  documents: number;
  records: number;
  users: number;
  seed: number;
}

type Variant = 'files' | 'memory';

/** Where the documents of one build came from, for `verify`. */
interface JsonSources {
  /** Document names (file paths, or generated names) in graph order. */
  names: string[];
  /** json-memory: the texts shipped to the tasks. json-files: undefined (verify re-reads the files). */
  texts?: string[];
}

const sourcesOf = new WeakMap<BuiltWorkload, JsonSources>();

function corpusSpec(name: string, params: JsonParams): CorpusSpec {
  return {
    documents: positiveInt(name, params, 'documents'),
    recordsPerDocument: positiveInt(name, params, 'records'),
    users: positiveInt(name, params, 'users'),
    seed: params.seed,
  };
}

/** The user's files in `dir` (sorted), or an error naming the directory and what it needs. */
function listUserFiles(name: string, dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    throw new Error(`${name}: cannot read the JSON directory "${dir}" (--json-dir): ${(err as Error).message}`);
  }
  const files = entries.filter((f) => JSON_EXTENSIONS.some((ext) => f.endsWith(ext))).sort().map((f) => join(dir, f));
  if (files.length === 0) {
    throw new Error(`${name}: the JSON directory "${dir}" (--json-dir) holds no ${JSON_EXTENSIONS.join('/')} files`);
  }
  return files;
}

function buildJson(name: string, variant: Variant, params: JsonParams, ctx: BuildContext): BuiltWorkload {
  const userDir = ctx.options.jsonDir;
  const g = new GraphBuilder();
  const sources: JsonSources = { names: [] };
  const perDocument: Ref[] = [];
  /** json-files: the directory this build generated (its own, so concurrent builds never collide). */
  let generatedDir: string | undefined;
  if (userDir) {
    sources.names = listUserFiles(name, resolve(userDir));
  } else {
    const spec = corpusSpec(name, params);
    const prefix = `json-${spec.seed}-${spec.documents}x${spec.recordsPerDocument}-`;
    if (variant === 'files') generatedDir = mkdtempSync(join(ctx.tmpDir, prefix));
    const dir = generatedDir ?? prefix.slice(0, -1);
    const texts: string[] = [];
    for (let i = 0; i < spec.documents; i++) {
      const docName = join(dir, `part-${String(i).padStart(5, '0')}.json`);
      const text = generateDocument(spec, i);
      if (variant === 'files') writeFileSync(docName, text);
      else texts.push(text);
      sources.names.push(docName);
    }
    if (variant === 'memory') sources.texts = texts;
  }
  if (variant === 'memory') sources.texts ??= sources.names.map((file) => readFileSync(file, 'utf8'));
  sources.names.forEach((docName, i) => {
    if (variant === 'files') {
      perDocument.push(g.task(`parse-${i}`, op('summariseFile'), [docName]));
    } else {
      const text = g.value(`text-${i}`, sources.texts![i]);
      perDocument.push(g.task(`parse-${i}`, op('summariseText'), [text, basename(docName)]));
    }
  });
  const total = treeReduce(g, perDocument, op('mergeSummaries'), 8, 'merge');
  const built: BuiltWorkload = { graph: g.graph, keys: [total.$ref] };
  if (generatedDir) {
    const dir = generatedDir;
    built.dispose = () => rmSync(dir, { recursive: true, force: true });
  }
  sourcesOf.set(built, sources);
  return built;
}

function verifyJson(name: string, results: unknown[], built: BuiltWorkload): void {
  checkResultCount(name, results, 1);
  const sources = sourcesOf.get(built);
  if (!sources) throw new Error(`${name}: verify() needs the object returned by this workload's build()`);
  const docs = sources.names.map((docName, i): [string, string] => [docName, sources.texts?.[i] ?? readFileSync(docName, 'utf8')]);
  const want = referenceSummary(docs);
  const got = results[0] as JsonSummary;
  check(name, !!got && typeof got === 'object' && Array.isArray(got.users), () => `the result should be a summary object, got ${typeof got}`);
  for (const field of ['documents', 'records', 'numbers', 'strings', 'stringChars'] as const) {
    check(name, got[field] === want[field], () => `${field} is ${got[field]}, the reference counts ${want[field]}`);
  }
  for (const field of ['numberSum', 'amountSum'] as const) {
    check(name, closeTo(got[field], want[field], 1e-9), () => `${field} is ${got[field]}, the reference sums to ${want[field]}`);
  }
  check(name, got.users.length === want.users.length && got.users.every((u, i) => u === want.users[i]), () =>
    `${got.users.length} distinct users, the reference has ${want.users.length}` +
    `${got.users.length === want.users.length ? ' (different ids)' : ''}`);
  const tagNames = new Set([...Object.keys(got.tags ?? {}), ...Object.keys(want.tags)]);
  for (const tag of tagNames) {
    check(name, got.tags?.[tag] === want.tags[tag], () => `tag "${tag}" counted ${got.tags?.[tag] ?? 0} times, the reference ${want.tags[tag] ?? 0}`);
  }
}

function jsonWorkload(name: string, variant: Variant, description: string, sizes: Workload<JsonParams>['sizes']): Workload<JsonParams> {
  return {
    name,
    description,
    sizes,
    build: (params, ctx) => buildJson(name, variant, params, ctx),
    verify: (results, _params, built) => verifyJson(name, results, built),
  };
}

const SIZES: Workload<JsonParams>['sizes'] = {
  quick: { documents: 16, records: 2_500, users: 5_000, seed: 1 },
  small: { documents: 16, records: 6_000, users: 20_000, seed: 2 },
  medium: { documents: 128, records: 10_000, users: 200_000, seed: 3 },
  large: { documents: 512, records: 10_000, users: 1_000_000, seed: 4 },
};

export const jsonFiles = jsonWorkload(
  'json-files',
  'files',
  'Parse and aggregate JSON documents that the tasks read from disk by path (record count, sums, distinct ' +
    'users, per-tag counts). Embarrassingly parallel with tiny messages: only a path goes in and a small ' +
    'summary comes out, so parsing (pure JS objects) runs in parallel on threads or processes. Compare with ' +
    'json-memory to see what shipping the same text costs. --json-dir points it at your own files.',
  SIZES,
);

export const jsonMemory = jsonWorkload(
  'json-memory',
  'memory',
  'The same JSON aggregation as json-files, but the caller holds every document as a string and ships it to ' +
    'the task: strings cannot be shared between threads, so each one is copied (and, for processes, ' +
    'serialised again). The gap to json-files is the cost of moving data you already have in memory; sync ' +
    'pays none of it. --json-dir points it at your own files.',
  SIZES,
);
