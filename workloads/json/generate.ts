/**
 * Deterministic generator of realistic JSON documents for the json workloads: arrays of
 * order records with numbers (integers, decimals, negatives, exponents), strings with
 * unicode, emoji and escapes, arrays, nested objects, booleans and nulls.
 */
import { mulberry32 } from '../../common/random.js';

const FIRST = ['Ada', 'Zoë', 'Søren', 'José', 'Łukasz', 'Chloé', 'Mateo', 'Aiko', 'Dmitri', 'Ngozi', 'Björn', 'Anaïs', '美咲', 'Олег'];
const LAST = ['Müller', 'García', 'Nakamura', 'O\'Brien', 'Ødegaard', 'Kowalski', 'Nguyễn', 'Smith', 'Дмитриев', '张', 'Da Silva'];
const TAGS = ['new', 'vip', 'gift', 'promo', 'returning', 'mobile', 'express', 'bulk', 'b2b', 'überfast', 'エコ', '🎁'];
const CITIES = ['Zürich', 'São Paulo', 'Kraków', 'Reykjavík', '東京', 'Montréal', 'Lagos', 'Αθήνα', 'Paris', 'Austin'];
const WORDS = ['quick', 'brown', 'fox', 'naïve', 'café', 'résumé', 'über', '"quoted"', 'tab\there', 'line\nbreak', '🚀', 'emoji 😀', '中文', 'back\\slash'];

/** Parameters of a generated corpus. */
export interface CorpusSpec {
  documents: number;
  recordsPerDocument: number;
  /** Distinct user ids drawn from. */
  users: number;
  seed: number;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** One order record. */
function record(random: () => number, id: number, users: number): Record<string, unknown> {
  const userNumber = Math.floor(random() * users);
  const items = Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({
    sku: `SKU-${Math.floor(random() * 1e6).toString(36).toUpperCase()}`,
    qty: 1 + Math.floor(random() * 5),
    price: Math.round(random() * 50_000) / 100,
  }));
  const tags = Array.from({ length: Math.floor(random() * 4) }, () => pick(random, TAGS));
  return {
    id,
    user: { id: `u${userNumber.toString().padStart(6, '0')}`, name: `${pick(random, FIRST)} ${pick(random, LAST)}`, city: pick(random, CITIES) },
    ts: new Date(1_700_000_000_000 + Math.floor(random() * 3e10)).toISOString(),
    amount: items.reduce((sum, it) => sum + it.qty * it.price, 0),
    currency: random() < 0.7 ? 'EUR' : 'USD',
    items,
    tags,
    geo: { lat: Math.round((random() * 180 - 90) * 1e5) / 1e5, lon: Math.round((random() * 360 - 180) * 1e5) / 1e5 },
    score: random() < 0.1 ? -Math.round(random() * 1e3) : random() < 0.05 ? 6.02e23 * random() : random(),
    active: random() < 0.5,
    note: random() < 0.3 ? null : Array.from({ length: 3 + Math.floor(random() * 8) }, () => pick(random, WORDS)).join(' '),
    meta: random() < 0.5 ? {} : { source: pick(random, ['web', 'app', 'api']), attempts: Math.floor(random() * 3), flags: [random() < 0.5, null] },
  };
}

/** The text of document `index` of the corpus: a JSON array of records. */
export function generateDocument(spec: CorpusSpec, index: number): string {
  const random = mulberry32((spec.seed * 1_000_003 + index) >>> 0);
  const records = Array.from({ length: spec.recordsPerDocument }, (_, r) => record(random, index * spec.recordsPerDocument + r, spec.users));
  return JSON.stringify(records);
}
