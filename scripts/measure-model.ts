/**
 * The figures of the cost model for this machine, in one run:
 *   node dist/scripts/measure-model.js [--runs-dir runs] [--results runs/<run>.json] [--workloads matmul,tiny-tasks] [--size quick]
 * 1. the calibration (this environment's in --runs-dir, or a quick one made now) and its METG table;
 * 2. the decision map's boundaries, per kind of value;
 * 3. `advise --verify` on catalog workloads passed as workload files (a one-line module
 *    re-exporting the catalog entry, as a user's file would be): predicted against measured;
 * 4. with --results, the model check of that bench run (picks and times against the model).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { poolLabel } from '../common/cells.js';
import { formatBytes, formatPercent, formatSeconds } from '../common/format.js';
import { advise } from '../harness/advise/index.js';
import { candidates, verifyPredictions } from '../harness/advise/verify.js';
import { calibrate } from '../harness/calibrate/index.js';
import { renderMetgTable } from '../harness/cli/model-commands.js';
import { decisionMaps } from '../model/decision-map.js';
import { loadResults } from '../report/load.js';
import { buildReport } from '../report/model.js';
import { catalog, loadWorkloadFile } from '../workloads/index.js';
import type { SizeName } from '../workloads/types.js';

const { values } = parseArgs({
  options: {
    'runs-dir': { type: 'string', default: 'runs' },
    results: { type: 'string' },
    workloads: { type: 'string', default: 'matmul,tiny-tasks' },
    size: { type: 'string', default: 'quick' },
  },
});
const note = (m: string): void => void process.stderr.write(`${m}\n`);
const dir = resolve(values['runs-dir']!);

const outcome = await calibrate({ dir, sweep: 'quick', catalog, note });
console.log(`## Calibration ${outcome.file}${outcome.reused ? ' (reused)' : ''}, ${outcome.calibration.durationSeconds.toFixed(0)} s\n`);
console.log(renderMetgTable(outcome.calibration));

console.log('\n## Decision map: where the pick changes\n');
for (const map of decisionMaps(outcome.calibration, (c) => c.scheduler, formatSeconds, (b) => (b === 0 ? '0 B' : formatBytes(b)))) {
  console.log(`${map.kind}:`);
  for (const line of map.boundaries) console.log(`  ${line}`);
}

console.log('\n## advise --verify on catalog workloads passed as files\n');
const tmp = await mkdtemp(join(os.tmpdir(), 'schedlab-measure-model-'));
try {
  for (const name of values.workloads!.split(',')) {
    if (!catalog.some((w) => w.name === name)) throw new Error(`unknown catalog workload "${name}"`);
    const file = join(tmp, `${name}.workload.mjs`);
    await writeFile(file, `import { catalog } from ${JSON.stringify(new URL('../workloads/index.js', import.meta.url).href)};\nexport default catalog.find((w) => w.name === ${JSON.stringify(name)});\n`);
    const workload = await loadWorkloadFile(file);
    const size = values.size as SizeName;
    const params = workload.sizes[size];
    const built = await workload.build(params, { tmpDir: tmp, options: {} });
    try {
      const advice = await advise(built.graph, built.keys, { dir, note });
      const verified = await verifyPredictions(built.graph, built.keys, candidates(advice.recommended, advice.predictions), (v) => workload.verify(v, params, built), note);
      console.log(`${name}/${size}: recommended ${poolLabel(advice.recommended)}`);
      for (const v of verified) {
        const measured = v.measured === null ? `failed (${v.error})` : `${formatSeconds(v.measured)}, measured/predicted ${(v.measured / v.predicted).toFixed(2)}, ${v.measured >= v.low && v.measured <= v.high ? 'inside' : 'outside'} the interval`;
        console.log(`  ${poolLabel(v).padEnd(15)} predicted ${formatSeconds(v.predicted)} (${formatSeconds(v.low)}–${formatSeconds(v.high)}), measured ${measured}`);
      }
    } finally {
      await built.dispose?.();
    }
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}

if (values.results) {
  const { results } = await loadResults(values.results);
  const model = buildReport(results, values.results, null, [], { file: outcome.file, calibration: outcome.calibration });
  const check = model.decision!.check;
  const share = (x: number | null) => (x === null ? '—' : formatPercent(x));
  console.log(`\n## Model check against ${values.results}\n`);
  console.log(`picks right or within noise: ${share(check.pickAgreement)} of ${check.picks.length} rows; times within ±25 %: ${share(check.timeAgreement)} of ${check.times.length} cells (${share(check.sampledTimeAgreement)} of the ${check.sampledCells} with 3 samples or more); repeatability of the bench itself: ${share(check.repeatability)} of single samples within ±25 % of their cell's other samples`);
  for (const p of check.picks) console.log(`  ${p.workload}/${p.size}: predicted ${poolLabel(p.predicted)}, measured ${poolLabel(p.measured)}: ${p.outcome}`);
  for (const t of check.times.filter((t) => !t.within)) console.log(`  miss: ${t.workload}/${t.size} ${poolLabel(t)} predicted ${formatSeconds(t.predicted)}, measured ${formatSeconds(t.measured)} (${(t.error * 100).toFixed(0)} %, ${t.samples} sample${t.samples === 1 ? '' : 's'})`);
}
