/**
 * Ops of the json workloads (run inside workers): parse a document (from a file path or from
 * its text) and summarise it; merge summaries. The walk over values is iterative, so deeply
 * nested user documents cannot overflow the stack.
 */
import { readFile } from 'node:fs/promises';
import { isJsonLines, type JsonSummary } from './summary.js';

function userOf(record: unknown): string | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined;
  const r = record as Record<string, unknown>;
  const user = r.user;
  const id = user !== null && typeof user === 'object' ? (user as Record<string, unknown>).id : r.userId ?? user;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

function summariseRecords(records: unknown[]): JsonSummary {
  const users = new Set<string>();
  const tags = new Map<string, number>();
  let numbers = 0, numberSum = 0, strings = 0, stringChars = 0, amountSum = 0;
  const stack: unknown[] = [];
  for (const record of records) {
    const user = userOf(record);
    if (user !== undefined) users.add(user);
    if (record !== null && typeof record === 'object' && !Array.isArray(record)) {
      const r = record as Record<string, unknown>;
      if (typeof r.amount === 'number') amountSum += r.amount;
      if (Array.isArray(r.tags)) for (const t of r.tags) if (typeof t === 'string') tags.set(t, (tags.get(t) ?? 0) + 1);
    }
    stack.push(record);
    while (stack.length > 0) {
      const v = stack.pop();
      if (typeof v === 'number') {
        numbers++;
        numberSum += v;
      } else if (typeof v === 'string') {
        strings++;
        stringChars += v.length;
      } else if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
      } else if (v !== null && typeof v === 'object') {
        for (const child of Object.values(v)) stack.push(child);
      }
    }
  }
  return { documents: 1, records: records.length, numbers, numberSum, strings, stringChars, amountSum, users: [...users].sort(), tags: Object.fromEntries(tags) };
}

/** Summarise one document's text; `name` decides JSON vs JSON Lines and names it in errors. */
export function summariseText(text: string, name: string): JsonSummary {
  let records: unknown[];
  try {
    if (isJsonLines(name)) {
      records = text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown);
    } else {
      const doc = JSON.parse(text) as unknown;
      records = Array.isArray(doc) ? doc : [doc];
    }
  } catch (err) {
    throw new SyntaxError(`json: document ${name} is not valid JSON: ${(err as Error).message}`);
  }
  return summariseRecords(records);
}

/** Read a document from disk (inside the worker) and summarise it. */
export async function summariseFile(path: string): Promise<JsonSummary> {
  return summariseText(await readFile(path, 'utf8'), path);
}

/** Merge summaries: counts and sums add up, user sets unite, tag counts add. */
export function mergeSummaries(...parts: JsonSummary[]): JsonSummary {
  const users = new Set<string>();
  const tags = new Map<string, number>();
  const total: JsonSummary = { documents: 0, records: 0, numbers: 0, numberSum: 0, strings: 0, stringChars: 0, amountSum: 0, users: [], tags: {} };
  for (const p of parts) {
    total.documents += p.documents;
    total.records += p.records;
    total.numbers += p.numbers;
    total.numberSum += p.numberSum;
    total.strings += p.strings;
    total.stringChars += p.stringChars;
    total.amountSum += p.amountSum;
    for (const u of p.users) users.add(u);
    for (const [tag, count] of Object.entries(p.tags)) tags.set(tag, (tags.get(tag) ?? 0) + count);
  }
  total.users = [...users].sort();
  total.tags = Object.fromEntries(tags);
  return total;
}
