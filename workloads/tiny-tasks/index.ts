/**
 * tiny-tasks: `tasks` leaf tasks that each compute i + 1, summed by a tree of `add` tasks
 * (fan-in `fanIn`). The work is nothing, so the run time is the per-task overhead of the
 * scheduler. The answer has a closed form: Σ_{i<N} (i + 1) = N(N + 1)/2.
 */
import { GraphBuilder } from '../../schedulers/graph.js';
import { check, checkResultCount, opNamer, positiveInt, treeReduce } from '../common.js';
import type { Workload } from '../types.js';
import type * as ops from './ops.js';

const op = opNamer<typeof ops>(new URL('./ops.js', import.meta.url).href);

/** Parameters: number of leaf tasks and the reduction tree's fan-in. */
export interface TinyTasksParams {
  [name: string]: number;
  tasks: number;
  fanIn: number;
}

export const tinyTasks: Workload<TinyTasksParams> = {
  name: 'tiny-tasks',
  description:
    'Thousands of trivial tasks (i + 1) summed by a reduction tree: no compute and no data, so the time is ' +
    'pure per-task overhead (graph bookkeeping, dispatch, messaging). Expect sync to win here; divide the ' +
    'time by the task count to see what one task costs on each scheduler, and use that to decide how coarse ' +
    'your own tasks must be before threads or processes pay off.',
  sizes: {
    quick: { tasks: 10_000, fanIn: 8 },
    small: { tasks: 50_000, fanIn: 8 },
    medium: { tasks: 200_000, fanIn: 16 },
    large: { tasks: 1_000_000, fanIn: 16 },
  },

  build(params) {
    const tasks = positiveInt('tiny-tasks', params, 'tasks');
    const fanIn = positiveInt('tiny-tasks', params, 'fanIn');
    const g = new GraphBuilder();
    const leaves = Array.from({ length: tasks }, (_, i) => g.task(`inc-${i}`, op('increment'), [i]));
    const total = treeReduce(g, leaves, op('add'), fanIn, 'add');
    return { graph: g.graph, keys: [total.$ref] };
  },

  verify(results, params) {
    checkResultCount('tiny-tasks', results, 1);
    const n = params.tasks;
    const expected = (n * (n + 1)) / 2;
    check('tiny-tasks', results[0] === expected, () => `sum of ${n} increments is ${String(results[0])}, expected N(N+1)/2 = ${expected}`);
  },
};
