/**
 * The report as Markdown, for a pull request or a chat message: the recommendation table,
 * the best time of each scheduler per workload, the Dask claims, the baseline summary, the
 * decision map's boundaries and model check (with a calibration), and the warnings. Same model as the HTML page, so both always say the same thing.
 */
import { SCHEDULER_NAMES, cellName, poolLabel } from '../common/cells.js';
import { formatChange, formatPercent, formatSeconds, formatSpeedup } from '../common/format.js';
import { PICK_GOAL, SAMPLED_CELL, TIME_GOAL, TIME_TOLERANCE } from './decision.js';
import type { ReportModel } from './model.js';
import { marginText } from './recommend.js';
import { decidedClaims } from './claims.js';
import { baselineLead, pickChangeText } from './baseline.js';

/** Escape what would break a table cell or start formatting. */
function md(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/([*_`[\]<>])/g, '\\$1').replace(/\n/g, ' ');
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

export function renderMarkdown(model: ReportModel): string {
  const { results } = model;
  const env = results.environment;
  const out: string[] = [
    `## schedlab: which scheduler? (run ${md(results.runId)})`,
    '',
    `${md(results.preset)} preset, ${results.status} run, ${md(results.startedAt)} · ${md(env.cpuModel)}, ${env.availableParallelism} cores · Node ${md(env.node)}`,
    '',
    ...(model.noise.line ? [`> **${md(model.noise.line)}**`, ''] : []),
  ];

  out.push(
    ...table(
      ['Workload', 'Size', 'Use', 'Speedup vs sync', 'Runner-up', 'Margin', 'Why'],
      model.recommendations.map((r) =>
        r.pick
          ? [
              md(r.workload),
              md(r.sizes.join(', ')),
              `**${poolLabel(r.pick)}**${r.preferredSimpler ? ' (within noise, simpler)' : ''}`,
              r.speedup === null ? '—' : formatSpeedup(r.speedup),
              r.runnerUp ? poolLabel(r.runnerUp) : '—',
              r.margin === null ? '—' : marginText(r),
              md(r.reason),
            ]
          : [md(r.workload), md(r.sizes.join(', ')), 'no verdict', '—', '—', '—', md(r.reason)],
      ),
    ),
    '',
    'Margin: how much longer the runner-up’s median takes than the pick’s (+25 % = 1.25 times as long); negative when a simpler scheduler was picked over a faster one within noise.',
    '',
    `Every verdict is tested: ${md(model.test)}; the cells of each workload raced for the samples.`,
    '',
  );

  const schedulers = SCHEDULER_NAMES.filter((s) => results.cells.some((c) => c.scheduler === s));
  out.push('**Best median time per scheduler** (workers in brackets)', '');
  out.push(
    ...table(
      ['Workload/size', ...schedulers],
      model.groups.map((g) => [
        md(`${g.workload}/${g.size}`),
        ...schedulers.map((s) => {
          const best = g.usable.filter((c) => c.scheduler === s).sort((a, b) => a.stats.median - b.stats.median)[0];
          return best ? `${formatSeconds(best.stats.median)} (${best.workers})` : '—';
        }),
      ]),
    ),
    '',
  );

  const { decided, undecided } = decidedClaims(model.claims);
  out.push('**What the Dask guide claims, checked here**', '');
  for (const c of decided) out.push(`- *${c.verdict}*: ${md(c.claim)} — ${md(c.figure)}`);
  if (decided.length === 0) out.push('- this run holds no case that can decide any of the claims');
  for (const c of undecided) out.push(`- not checked (no deciding case): ${md(c.claim)} — ${md(c.figure)}`);
  out.push('');

  if (model.baseline) {
    const b = model.baseline;
    out.push(`**Against baseline ${md(b.baselineFile)}** (run ${md(b.baselineRunId)}): ${md(baselineLead(b))}`, '');
    for (const p of b.pickChanges) out.push(`- pick changed: ${md(pickChangeText(p))}`);
    if (b.pickChanges.length === 0) out.push('- every row common to both runs has the same pick');
    const notable = b.changes.filter((c) => c.verdict === 'improved' || c.verdict === 'regressed');
    const quiet = b.changes.length - notable.length;
    for (const c of notable) {
      out.push(`- ${c.verdict}: ${md(cellName(c.current))} ${formatChange(c.change)} (CI ${formatChange(c.ci![0])} to ${formatChange(c.ci![1])})`);
    }
    out.push(b.changes.length ? `- ${quiet} of ${b.changes.length} common cells within noise or untested` : '- no cell in common with the baseline');
    if (b.uncomparable.length) out.push(`- not compared (failed or unverified in one run, or parameters changed): ${md(b.uncomparable.join('; '))}`);
    out.push('');
  }

  if (model.decision) {
    const { check, maps } = model.decision;
    const share = (x: number | null) => (x === null ? '—' : formatPercent(x));
    out.push(`**Decision map and model check** (calibration ${md(model.decision.calibrationFile)})`, '');
    for (const m of maps) out.push(`- ${m.map.kind} values: ${md(m.map.boundaries.slice(0, 3).join('; '))}`);
    out.push(
      `- picks predicted right or within noise: ${share(check.pickAgreement)} of ${check.picks.length} rows (goal ${formatPercent(PICK_GOAL)}); times within ±${formatPercent(TIME_TOLERANCE)}: ${share(check.timeAgreement)} of ${check.times.length} cells (goal ${formatPercent(TIME_GOAL)}; ${share(check.sampledTimeAgreement)} of the ${check.sampledCells} with ${SAMPLED_CELL} samples or more; the repeatability of the bench itself: ${share(check.repeatability)} of single samples within ±${formatPercent(TIME_TOLERANCE)} of their cell's other samples)`,
    );
    for (const p of check.picks.filter((p) => p.outcome === 'miss')) out.push(`- missed: ${md(`${p.workload}/${p.size}`)} predicted ${poolLabel(p.predicted)}, measured ${poolLabel(p.measured)}`);
    out.push('');
  }

  if (model.warnings.length) {
    out.push('**Warnings**', '');
    for (const w of model.warnings) out.push(`- ${md(w)}`);
    out.push('');
  }
  return out.join('\n');
}
