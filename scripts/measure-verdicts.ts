/**
 * The issue-10 figures from two back-to-back bench runs of the same code (A then B): per run its
 * wall time, the rows without a tested verdict (goal 0) and the samples per cell (min, median);
 * the rows that picked the same pool in both (goal ≥ 6 of 7, and any that differ within noise in
 * both); and the A/A comparison of B against A (goal: ≤ 2 of 49 cells flagged), with and without
 * the drift correction by the reference probe.
 *
 *   npm run bench && npm run bench      # two quiet runs back to back
 *   node dist/scripts/measure-verdicts.js runs/A.json runs/B.json
 */
import { readResultsFile } from '../results/io.js';
import type { ResultsFile } from '../results/schema.js';
import { compareWithBaseline } from '../report/baseline.js';
import { groupCells } from '../report/cells.js';
import { groupVerdict, type GroupVerdict } from '../report/verdict.js';
import { runNoise } from '../report/noise.js';
import { groupKey, poolLabel } from '../common/cells.js';
import { formatChange, formatPercent } from '../common/format.js';

const [fileA, fileB] = process.argv.slice(2);
if (!fileA || !fileB) {
  console.error('usage: node dist/scripts/measure-verdicts.js A.json B.json   (two runs of the same code, A first)');
  process.exit(2);
}
const [a, b] = await Promise.all([readResultsFile(fileA), readResultsFile(fileB)]);

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function describeRun(name: string, file: string, run: ResultsFile): Map<string, GroupVerdict> {
  const verdicts = new Map(groupCells(run.cells).map((g) => [groupKey(g), groupVerdict(g)] as const));
  const wall = run.finishedAt ? (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000 : null;
  const untested = [...verdicts.values()].filter((v) => v.verdict === 'no-verdict');
  const counts = run.cells.filter((c) => c.status === 'ok').map((c) => c.samples.length);
  const noise = runNoise(run.cells, run.environment.cores);
  console.log(`${name}: ${file} (${run.status}, ${run.cells.length} cells)`);
  console.log(`  wall time: ${wall === null ? 'did not finish' : `${wall.toFixed(0)} s`}`);
  console.log(`  rows without a tested verdict: ${untested.length} of ${verdicts.size}${untested.length ? ` (${untested.map((v) => `${v.workload}/${v.size}`).join(', ')})` : ''}`);
  console.log(`  samples per cell: min ${counts.length ? Math.min(...counts) : '-'}, median ${counts.length ? median(counts) : '-'}, max ${counts.length ? Math.max(...counts) : '-'}`);
  console.log(`  verdicts: ${[...verdicts.values()].map((v) => `${v.workload}/${v.size} ${v.pick ? poolLabel(v.pick) : 'none'} (${v.verdict})`).join('; ')}`);
  console.log(`  outside load during samples: ${noise.outsideShare === null ? 'not measured' : formatPercent(noise.outsideShare)} of the cores; ${noise.heavy.length} cells under heavy load`);
  return verdicts;
}

const va = describeRun('A', fileA, a);
const vb = describeRun('B', fileB, b);

let same = 0;
const differing: string[] = [];
for (const [key, x] of va) {
  const y = vb.get(key);
  if (!y) continue;
  const samePick = x.pick && y.pick ? x.pick.scheduler === y.pick.scheduler && x.pick.workers === y.pick.workers : x.pick === y.pick;
  if (samePick) same++;
  else differing.push(`${x.workload}/${x.size}: ${x.pick ? poolLabel(x.pick) : 'none'} (${x.verdict}) → ${y.pick ? poolLabel(y.pick) : 'none'} (${y.verdict})${x.verdict !== 'beyond-noise' && y.verdict !== 'beyond-noise' ? ', within noise in both' : ''}`);
}
console.log(`same pick in both runs: ${same} of ${[...va.keys()].filter((k) => vb.has(k)).length}`);
for (const d of differing) console.log(`  ${d}`);

const corrected = compareWithBaseline(b, a, fileA);
const raw = compareWithBaseline({ ...b, reference: null }, { ...a, reference: null }, fileA);
const flagged = (c: typeof corrected) => c.changes.filter((x) => x.verdict === 'improved' || x.verdict === 'regressed');
console.log(
  `A/A (B against A): ${flagged(corrected).length} of ${corrected.changes.length} cells flagged` +
    (corrected.driftCorrected ? ` with the drift correction (probe: B ${formatChange(corrected.runDrift! - 1)} against A; noise floor ${formatChange(corrected.noiseFloor)})` : ` (${corrected.driftNote})`) +
    `; ${flagged(raw).length} without it`,
);
for (const c of flagged(corrected)) console.log(`  ${c.verdict}: ${c.key} ${formatChange(c.change)} (measured ${formatChange(c.rawChange)})`);
