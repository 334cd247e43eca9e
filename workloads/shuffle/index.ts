/**
 * shuffle: a partitioned group-by with an all-to-all exchange. `partitions` input tasks make
 * columnar sales partitions; for every (input i, output q) pair a task selects the rows of i
 * whose customer hashes to q; output task q groups the q-pieces of every input by customer.
 * partitions² small tasks and every output depends on every input: a communication-heavy
 * graph. The reference is a single-pass group-by over all rows into one array per customer.
 */
import { GraphBuilder } from '../../schedulers/graph.js';
import type { Ref } from '../../schedulers/types.js';
import { check, checkResultCount, opNamer, positiveInt } from '../common.js';
import type { Workload } from '../types.js';
import { makeSales, partitionOf, type CustomerTotals } from './ops.js';
import type * as ops from './ops.js';

const op = opNamer<typeof ops>(new URL('./ops.js', import.meta.url).href);

/** Parameters: partitions (in = out), rows per input partition, distinct customers, seed. */
export interface ShuffleParams {
  [name: string]: number;
  partitions: number;
  rows: number;
  customers: number;
  seed: number;
}

export const shuffle: Workload<ShuffleParams> = {
  name: 'shuffle',
  description:
    'A partitioned group-by over columnar (typed-array) partitions: every output partition needs a piece of ' +
    'every input partition, an all-to-all exchange through partitions² selection tasks (as Dask shuffles ' +
    'data frames). It is the communication-heavy graph: many edges and little compute per byte. The local ' +
    'schedulers move every input to each of its selection tasks through the main thread, so watch bytes ' +
    'moved and the task count against sync; a scheduler that keeps data on its workers moves only the pieces.',
  sizes: {
    quick: { partitions: 8, rows: 160_000, customers: 40_000, seed: 1 },
    small: { partitions: 16, rows: 150_000, customers: 50_000, seed: 2 },
    medium: { partitions: 32, rows: 1_000_000, customers: 1_000_000, seed: 3 },
    large: { partitions: 64, rows: 2_000_000, customers: 4_000_000, seed: 4 },
  },

  build(params) {
    const partitions = positiveInt('shuffle', params, 'partitions');
    const rows = positiveInt('shuffle', params, 'rows');
    const customers = positiveInt('shuffle', params, 'customers');
    const g = new GraphBuilder();
    const inputs = Array.from({ length: partitions }, (_, i) =>
      g.task(`sales-${i}`, op('makeSales'), [params.seed, i, rows, customers]));
    const keys: string[] = [];
    for (let q = 0; q < partitions; q++) {
      const pieces: Ref[] = inputs.map((input, i) => g.task(`piece-${i}-${q}`, op('selectPartition'), [input, q, partitions]));
      keys.push(g.task(`group-${q}`, op('groupByCustomer'), [pieces]).$ref);
    }
    return { graph: g.graph, keys };
  },

  verify(results, params) {
    checkResultCount('shuffle', results, params.partitions);
    // Reference: one pass over every row into per-customer arrays, no partitioning, no Map.
    const counts = new Float64Array(params.customers);
    const cents = new Float64Array(params.customers);
    for (let i = 0; i < params.partitions; i++) {
      const sales = makeSales(params.seed, i, params.rows, params.customers);
      for (let r = 0; r < sales.customers.length; r++) {
        counts[sales.customers[r]!]! += 1;
        cents[sales.customers[r]!]! += sales.cents[r]!;
      }
    }
    const seen = new Uint8Array(params.customers);
    results.forEach((value, q) => {
      const totals = value as CustomerTotals;
      check('shuffle', !!totals && totals.customers instanceof Uint32Array && totals.counts?.length === totals.customers.length, () =>
        `output partition ${q} should be { customers, counts, cents } typed arrays of one length, got ${typeof value}`);
      for (let g = 0; g < totals.customers.length; g++) {
        const customer = totals.customers[g]!;
        check('shuffle', customer < params.customers && counts[customer]! > 0 && seen[customer] === 0, () =>
          `output partition ${q} has customer ${customer}, who has ${seen[customer] ? 'already appeared in another group' : 'no rows'}`);
        check('shuffle', partitionOf(customer, params.partitions) === q, () =>
          `customer ${customer} is in output partition ${q}, but hashes to ${partitionOf(customer, params.partitions)}`);
        check('shuffle', totals.counts[g] === counts[customer] && totals.cents[g] === cents[customer], () =>
          `customer ${customer}: got ${totals.counts[g]} rows / ${totals.cents[g]} cents, the reference has ${counts[customer]} / ${cents[customer]}`);
        seen[customer] = 1;
      }
    });
    const missing = counts.findIndex((count, customer) => count > 0 && seen[customer] === 0);
    check('shuffle', missing < 0, () => `customer ${missing} has ${counts[missing]} rows but is in no output partition`);
  },
};
