// Profiled graphs with known shapes for the cost-model tests.
import type { ProfiledGraph } from '../dist/model/profile.js';

/** n independent tasks of `seconds` each, returning `bytes` of plain data: all requested, or (`sum`) gathered by one task returning 8 bytes. */
export function independentProfile(n: number, seconds: number, bytes = 0, sum = false): ProfiledGraph {
  const g: ProfiledGraph = { seconds: [], bytes: [], kinds: [], literal: [], deps: [], outputs: [] };
  for (let i = 0; i < n; i++) {
    g.seconds.push(seconds);
    g.bytes.push(bytes);
    g.kinds.push(0);
    g.literal.push(0);
    g.deps.push([]);
    if (!sum) g.outputs.push(i);
  }
  if (sum) {
    g.seconds.push(0);
    g.bytes.push(8);
    g.kinds.push(2);
    g.literal.push(0);
    g.deps.push([...Array(n).keys()]);
    g.outputs.push(n);
  }
  return g;
}
