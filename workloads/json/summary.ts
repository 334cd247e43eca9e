/**
 * What the json workloads compute per document and in total. A record contributes to:
 * `records`; `numbers`/`numberSum` (every number anywhere inside it); `strings`/`stringChars`
 * (every string value, in UTF-16 code units); `amountSum` (its top-level `amount`); `users`
 * (its `user.id`, `userId` or `user` when that is a string or number); `tags` (each string of
 * its `tags` array). The same definitions apply to a user's own files (`jsonDir`): a document
 * is a JSON array of records, a single JSON value (one record), or JSON Lines.
 */

/** Aggregates of a set of records (plain data: crosses any boundary). */
export interface JsonSummary {
  documents: number;
  records: number;
  numbers: number;
  numberSum: number;
  strings: number;
  stringChars: number;
  amountSum: number;
  /** Distinct user ids, sorted. */
  users: string[];
  /** Count of each tag. */
  tags: Record<string, number>;
}

/** Extensions read from a `jsonDir`: `.json` (one value) and JSON Lines. */
export const JSON_EXTENSIONS: readonly string[] = ['.json', '.jsonl', '.ndjson'];

/** True when `name` is a JSON Lines file. */
export function isJsonLines(name: string): boolean {
  return name.endsWith('.jsonl') || name.endsWith('.ndjson');
}
