/**
 * The json workloads' reference: one sequential pass over every document on the main thread,
 * written independently of ops.ts. Numbers and strings are counted by a `JSON.parse` reviver
 * (which visits every value) instead of walking the parsed tree.
 */
import { isJsonLines, type JsonSummary } from './summary.js';

/** Summarise all documents in one pass. `documents` yields [name, text] pairs. */
export function referenceSummary(documents: Iterable<[name: string, text: string]>): JsonSummary {
  const result: JsonSummary = { documents: 0, records: 0, numbers: 0, numberSum: 0, strings: 0, stringChars: 0, amountSum: 0, users: [], tags: {} };
  const users = new Set<string>();
  const tags = new Map<string, number>();
  const reviver = (_key: string, value: unknown): unknown => {
    if (typeof value === 'number') {
      result.numbers += 1;
      result.numberSum += value;
    } else if (typeof value === 'string') {
      result.strings += 1;
      result.stringChars += value.length;
    }
    return value;
  };
  for (const [name, text] of documents) {
    result.documents += 1;
    const parsed = isJsonLines(name)
      ? text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line, reviver) as unknown)
      : JSON.parse(text, reviver);
    const records: unknown[] = !isJsonLines(name) && Array.isArray(parsed) ? parsed : isJsonLines(name) ? (parsed as unknown[]) : [parsed];
    for (const record of records) {
      result.records += 1;
      if (record === null || typeof record !== 'object' || Array.isArray(record)) continue;
      const { user, userId, amount, tags: recordTags } = record as { user?: unknown; userId?: unknown; amount?: unknown; tags?: unknown };
      let id: unknown = user;
      if (user !== null && typeof user === 'object') id = (user as { id?: unknown }).id;
      else if (userId !== undefined && userId !== null) id = userId;
      if (typeof id === 'string' || typeof id === 'number') users.add(String(id));
      if (typeof amount === 'number') result.amountSum += amount;
      if (Array.isArray(recordTags)) {
        for (const tag of recordTags) if (typeof tag === 'string') tags.set(tag, (tags.get(tag) ?? 0) + 1);
      }
    }
  }
  result.users = [...users].sort();
  result.tags = Object.fromEntries(tags);
  return result;
}
