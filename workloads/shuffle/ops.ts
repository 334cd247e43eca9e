/**
 * Ops of the shuffle workload: a partitioned group-by over columnar partitions (typed-array
 * columns, as a data-frame library holds them — Dask's shuffle moves pandas frames). Columns
 * are ordinary ArrayBuffers: every edge of the all-to-all copies its bytes.
 */
import { hash3, mulberry32 } from '../../common/random.js';

/** One partition of sales rows, column by column (row r = customers[r], cents[r]). */
export interface SalesColumns {
  customers: Uint32Array;
  cents: Uint32Array;
}

/** Per-customer aggregates of one output partition, sorted by customer id. */
export interface CustomerTotals {
  customers: Uint32Array;
  counts: Uint32Array;
  cents: Float64Array;
}

/** Input partition `partition`: `rows` sales over customer ids 0..customers-1. */
export function makeSales(seed: number, partition: number, rows: number, customers: number): SalesColumns {
  const random = mulberry32(hash3(seed, partition, 0x5a1e));
  const out: SalesColumns = { customers: new Uint32Array(rows), cents: new Uint32Array(rows) };
  for (let r = 0; r < rows; r++) {
    out.customers[r] = Math.floor(random() * customers);
    out.cents[r] = 1 + Math.floor(random() * 100_000);
  }
  return out;
}

/** Output partition of a customer id (a hash, so neighbouring ids spread out). */
export function partitionOf(customer: number, partitions: number): number {
  return hash3(customer, 0, 0) % partitions;
}

/** The rows of `input` whose customer belongs to output partition `target` (one piece of the all-to-all). */
export function selectPartition(input: SalesColumns, target: number, partitions: number): SalesColumns {
  const rows: number[] = [];
  for (let r = 0; r < input.customers.length; r++) if (partitionOf(input.customers[r]!, partitions) === target) rows.push(r);
  const out: SalesColumns = { customers: new Uint32Array(rows.length), cents: new Uint32Array(rows.length) };
  rows.forEach((r, i) => {
    out.customers[i] = input.customers[r]!;
    out.cents[i] = input.cents[r]!;
  });
  return out;
}

/** Group the pieces of one output partition by customer. */
export function groupByCustomer(pieces: SalesColumns[]): CustomerTotals {
  const groups = new Map<number, { count: number; cents: number }>();
  for (const piece of pieces) {
    for (let r = 0; r < piece.customers.length; r++) {
      const customer = piece.customers[r]!;
      const group = groups.get(customer);
      if (group) {
        group.count += 1;
        group.cents += piece.cents[r]!;
      } else {
        groups.set(customer, { count: 1, cents: piece.cents[r]! });
      }
    }
  }
  const ids = Uint32Array.from(groups.keys()).sort();
  const out: CustomerTotals = { customers: ids, counts: new Uint32Array(ids.length), cents: new Float64Array(ids.length) };
  ids.forEach((id, i) => {
    const group = groups.get(id)!;
    out.counts[i] = group.count;
    out.cents[i] = group.cents;
  });
  return out;
}
