/**
 * The self-contained HTML page: templates/page.html filled with escaped sections, the
 * stylesheet, the chart configurations as JSON, Chart.js's UMD build and the page script,
 * all inline, so the file opens offline from disk and can be mailed as one attachment.
 *
 * Templates are read at run time from the source tree (report/templates/, shipped in the
 * package's `files`), located relative to this module's compiled path dist/report/.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Cell, Environment } from '../results/schema.js';
import type { BaselineComparison } from './baseline.js';
import type { CellGroup } from './cells.js';
import type { ChartSpec } from './charts.js';
import { decidedClaims, type ClaimCheck } from './claims.js';
import { cellName, poolLabel } from '../common/cells.js';
import { formatBytes, formatChange, formatMicros, formatPercent, formatSeconds, formatSpeedup } from '../common/format.js';
import { Html, html, jsonForScript, scriptForInline } from './html.js';
import type { ReportModel } from './model.js';
import { marginText, ratioInterval, type Recommendation } from './recommend.js';
import { PICK_GOAL, SAMPLED_CELL, TIME_GOAL, TIME_TOLERANCE, type DecisionSection } from './decision.js';
import { cellNoise } from './noise.js';
import { baselineLead, pickChangeText } from './baseline.js';

const TEMPLATES = new URL('../../report/templates/', import.meta.url);

export async function template(name: string): Promise<string> {
  const url = new URL(name, TEMPLATES);
  try {
    return await readFile(url, 'utf8');
  } catch (err) {
    throw new Error(`report template ${url.pathname} cannot be read (${(err as Error).message}); reinstall schedlab or run from a full checkout`);
  }
}

/** Chart.js's browser (UMD) build, found through the package's own entry point. */
export async function chartJs(): Promise<{ source: string; version: string }> {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('chart.js'));
  const source = await readFile(join(dist, 'chart.umd.js'), 'utf8');
  const version = /Chart\.js v([\d.]+)/.exec(source)?.[1] ?? 'unknown';
  return { source, version };
}

/** Replace each `{{name}}` with its value; a placeholder without a value is a template bug. */
export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`report template uses {{${name}}} but the renderer gives no value for it`);
    return value;
  });
}

export async function renderHtml(model: ReportModel, generatedAt: Date): Promise<string> {
  const [page, style, script, chart] = await Promise.all([template('page.html'), template('report.css'), template('report.js'), chartJs()]);
  const { results } = model;
  const env = results.environment;
  const charts = [...(model.decision?.maps.map((m) => m.chart) ?? []), ...model.groups.flatMap((g) => g.charts)];
  return fill(page, {
    title: html`schedlab report — ${results.runId}`.value,
    runId: html`${results.runId}`.value,
    summary: html`${results.preset} preset, ${results.status === 'partial' ? 'partial run' : 'complete run'}, started ${results.startedAt}${
      results.finishedAt ? `, finished ${results.finishedAt}` : ''
    } · ${env.cpuModel}, ${env.availableParallelism} cores · Node ${env.node}`.value,
    warnings: warningsSection(model.warnings).value,
    recommendations: recommendationTable(model.recommendations, model.test).value,
    claims: claimsTable(model.claims).value,
    baseline: model.baseline ? baselineSection(model.baseline, model.inputFile).value : '',
    decision: model.decision ? decisionSection(model.decision).value : '',
    workloads: model.groups.length ? model.groups.map((g) => groupSection(g, env.cores)).join('\n') : html`<p>No cells in this run.</p>`.value,
    missing: missingSection(model).value,
    environment: environmentPanel(env, results.startedAt, results.finishedAt).value,
    inputFile: html`${model.inputFile}`.value,
    generatedAt: generatedAt.toISOString(),
    chartjsVersion: chart.version,
    style,
    data: jsonForScript({ charts }),
    chartjs: scriptForInline(chart.source),
    script: scriptForInline(script),
  });
}

function schedulerBadge(cell: Pick<Cell, 'scheduler' | 'workers'>): Html {
  return html`<span class="scheduler ${cell.scheduler}">${poolLabel(cell)}</span>`;
}

function verdictClass(verdict: string): string {
  return verdict.replace(/\s+/g, '-');
}

function warningsSection(warnings: string[]): Html {
  if (warnings.length === 0) return html``;
  return html`<section class="warnings" id="warnings"><h2>Warnings (${warnings.length})</h2><ul>${warnings.map((w) => html`<li>${w}</li>`)}</ul></section>`;
}

function recommendationTable(rows: Recommendation[], test: string): Html {
  if (rows.length === 0) return html`<p>No cells ran, so there is nothing to recommend.</p>`;
  return html`<table class="recommendations" id="recommendation-table">
<thead><tr><th>Workload</th><th>Size</th><th>Use</th><th class="num">Speedup vs sync</th><th>Runner-up</th><th class="num">Margin</th><th>Why</th></tr></thead>
<tbody>${rows.map(recommendationRow)}</tbody></table>
<p class="lead">Margin: how much longer the runner-up’s median takes than the pick’s (+25 % = 1.25 times as long); negative when a simpler scheduler was picked over a faster one within noise.</p>
<p class="lead" id="verdict-test">Every verdict is tested: ${test}. The cells of each workload raced: each got a minimum of samples (a cell whose every sample took at least twice the leader’s slowest stopped after one: far-slower), then only the pair the verdict rests on (the pick and its runner-up on the samples so far) was sampled, in turn, until it was beyond noise at 99 %, a tie inside ±5 % with 10 samples each, at the sample cap, or at twice the workload’s budget; the other cells kept their minimum (slower: beyond noise at 99 %; off-pair: neither out nor in the pair).</p>`;
}

function recommendationRow(r: Recommendation): Html {
  const sizes = r.sizes.join(', ');
  if (!r.pick) {
    return html`<tr class="no-verdict"><td><a href="#${sectionId(r.workload, r.size)}">${r.workload}</a></td><td>${sizes}</td><td colspan="4"><span class="verdict failed">no verdict</span></td><td>${r.reason}</td></tr>`;
  }
  const margin = r.margin === null ? '—' : marginText(r);
  return html`<tr><td><a href="#${sectionId(r.workload, r.size)}">${r.workload}</a></td><td>${sizes}</td><td>${schedulerBadge(r.pick)}${r.preferredSimpler ? html` <span class="tag">within noise, simpler</span>` : ''}</td>
<td class="num">${r.speedup === null ? '—' : formatSpeedup(r.speedup)}</td>
<td>${r.runnerUp ? schedulerBadge(r.runnerUp) : '—'}</td>
<td class="num" title="${r.comparison ? ratioInterval(r.comparison) : ''}">${margin}</td><td>${r.reason}</td></tr>`;
}

/** The claims this run can decide, with their verdicts; the others folded away with why they are not checked. */
function claimsTable(claims: ClaimCheck[]): Html {
  const { decided, undecided } = decidedClaims(claims);
  const table = decided.length
    ? html`<table class="claims" id="claims-table"><thead><tr><th>Claim</th><th>Here</th><th>Deciding figure</th></tr></thead>
<tbody>${decided.map(
        (c) => html`<tr data-claim="${c.id}"><td>${c.claim}</td><td><span class="verdict ${verdictClass(c.verdict)}">${c.verdict}</span></td><td>${c.figure}</td></tr>`,
      )}</tbody></table>`
    : html`<p>This run holds no case that can decide any of the guide’s claims.</p>`;
  const rest = undecided.length
    ? html`<details id="claims-not-checked"><summary>${undecided.length} claim${undecided.length === 1 ? '' : 's'} not checked: this run holds no case that can decide ${undecided.length === 1 ? 'it' : 'them'}</summary><ul>${undecided.map(
        (c) => html`<li data-claim="${c.id}">${c.claim} <span class="why">— ${c.figure}</span></li>`,
      )}</ul></details>`
    : '';
  return html`${table}${rest}`;
}

function baselineSection(b: BaselineComparison, inputFile: string): Html {
  const counts = (['improved', 'regressed', 'within noise', 'too few samples'] as const)
    .map((v) => [v, b.changes.filter((c) => c.verdict === v).length] as const)
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${n} ${v}`)
    .join(', ');
  return html`<section id="baseline"><h2>Against the baseline</h2>
<p class="lead">${inputFile} (this run) against ${b.baselineFile} (run ${b.baselineRunId}): ${baselineLead(b)}${counts ? ` ${counts}.` : ''}</p>
${b.pickChanges.length ? html`<p id="pick-changes">Picks that changed between the two runs:</p><ul>${b.pickChanges.map((p) => html`<li>${pickChangeText(p)}</li>`)}</ul>` : html`<p id="pick-changes">Every row common to both runs has the same pick.</p>`}
${b.environmentDifferences.length ? html`<p class="warnings">Environments differ: ${b.environmentDifferences.join('; ')}.</p>` : ''}
${
  b.changes.length
    ? html`<table id="baseline-table"><thead><tr><th>Cell</th><th class="num">Baseline median</th><th class="num">This run</th><th class="num">Measured change</th><th class="num">Machine drift</th><th class="num">Change</th><th class="num">99 % CI</th><th>Verdict</th></tr></thead><tbody>${b.changes.map(
        (c) => html`<tr><td>${cellName(c.current)}</td><td class="num">${formatSeconds(c.baseline.stats.median)}</td><td class="num">${formatSeconds(c.current.stats.median)}</td>
<td class="num">${formatChange(c.rawChange)}</td><td class="num">${c.drift === null ? '—' : formatChange(c.drift - 1)}</td><td class="num">${formatChange(c.change)}</td><td class="num">${c.ci ? `${formatChange(c.ci[0])} to ${formatChange(c.ci[1])}` : '—'}</td><td><span class="verdict ${verdictClass(c.verdict)}">${c.verdict}</span></td></tr>`,
      )}</tbody></table>`
    : html`<p><strong>No cell in common with the baseline</strong>: nothing to compare.</p>`
}
${b.uncomparable.length ? html`<p>Not compared (failed or unverified in one of the runs, or parameters changed): ${b.uncomparable.join('; ')}.</p>` : ''}
</section>`;
}

function groupSection(group: CellGroup & { charts: ChartSpec[] }, cores: number): string {
  const params = Object.entries(group.cells[0]?.params ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const perCell = group.charts.filter((c) => c.kind !== 'gantt');
  const streams = group.charts.filter((c) => c.kind === 'gantt');
  return html`<section class="workload" id="${sectionId(group.workload, group.size)}" data-workload="${group.workload}" data-size="${group.size}">
<h3>${group.workload} — ${group.size}</h3>
${params ? html`<p class="params">Parameters: ${params}</p>` : ''}
${group.usable.length ? '' : html`<p><strong>No usable cell</strong>: every run of this workload and size failed or was unverified.</p>`}
<div class="charts">${perCell.map(figure)}</div>
${streams.length ? html`<div class="charts wide">${streams.map(figure)}</div>` : ''}
${cellTable(group.cells, cores)}
</section>`.value;
}

/** A stable fragment id for a workload/size section (workload names are user-chosen). */
function sectionId(workload: string, size: string): string {
  return `evidence-${encodeURIComponent(workload)}-${encodeURIComponent(size)}`.replace(/%/g, '_');
}

export function figure(spec: ChartSpec): Html {
  return html`<figure data-kind="${spec.kind}"><h4>${spec.title}</h4><div class="chart-box" style="height:${spec.height}px"><canvas data-chart="${spec.id}" role="img" aria-label="${spec.title}"></canvas></div><figcaption>${spec.caption}</figcaption></figure>`;
}

/** Footnotes of a cell table, for the figures a reader would otherwise misread. */
function cellTableNotes(cells: Cell[]): Html {
  const superlinear = cells.filter((c) => c.efficiency !== null && c.efficiency > 1);
  const spread = cells.filter((c) => c.stats && c.stats.rme > 100);
  const notes: Html[] = [];
  if (superlinear.length) {
    notes.push(
      html`<li>* Efficiency above 100 % (${superlinear.map(poolLabel).join(', ')}): faster than N times sync on N workers. Superlinear (the split work fits the caches better, or the workers skip a cost the main thread pays) or noise in the sync time; compare the ±rme of both cells.</li>`,
    );
  }
  if (spread.length) {
    notes.push(
      html`<li>† ±rme above 100 % (${spread.map(poolLabel).join(', ')}): the samples are too few or too spread out for the mean to say anything; read the median and min–max, and rerun with a larger --budget.</li>`,
    );
  }
  return notes.length ? html`<ul class="table-notes">${notes}</ul>` : html``;
}

function cellTable(cells: Cell[], cores: number): Html {
  return html`<div class="table-scroll"><table class="cells"><thead><tr><th>Cell</th><th>Status</th><th class="num">Median</th><th class="num">Min – max</th><th class="num">±rme</th><th class="num">n</th><th>Race</th><th class="num" title="CPU other processes used during this cell's samples, share of all cores; ⚠ = heavy outside load">Outside load</th><th class="num" title="samples beyond the Tukey fences (1.5 × IQR); severe beyond 3 × IQR">Outliers</th><th class="num">Speedup (efficiency)</th><th class="num">Overhead/task</th><th class="num">Bytes to / from / between workers</th><th class="num">Peak memory</th><th class="num">Start-up</th></tr></thead>
<tbody>${cells.map((c) => {
    const s = c.stats;
    return html`<tr><td>${schedulerBadge(c)}</td><td><span class="verdict ${c.status}">${c.status}</span></td>
<td class="num">${s ? formatSeconds(s.median) : '—'}</td><td class="num">${s ? `${formatSeconds(s.min)} – ${formatSeconds(s.max)}` : '—'}</td><td class="num">${s ? `${s.rme.toFixed(1)} %${s.rme > 100 ? ' †' : ''}` : '—'}</td><td class="num">${c.samples.length}</td>
<td>${c.raceEnd ?? '—'}</td>${noiseCells(c, cores)}
<td class="num">${c.speedup === null ? '—' : formatSpeedup(c.speedup)}${c.efficiency === null ? '' : ` (${formatPercent(c.efficiency)}${c.efficiency > 1 ? '*' : ''})`}</td>
<td class="num">${c.perTaskOverheadUs === null ? '—' : formatMicros(c.perTaskOverheadUs)}</td>
<td class="num">${formatBytes(c.bytes.toWorkers)} / ${formatBytes(c.bytes.fromWorkers)} / ${formatBytes(c.bytes.betweenWorkers)}</td>
<td class="num">${formatBytes(c.peakMemoryBytes)}</td><td class="num">${formatSeconds(c.startupSeconds)}</td></tr>`;
  })}</tbody></table></div>${cellTableNotes(cells)}`;
}

/** Outside load (⚠ when heavy) and outliers of one cell. */
function noiseCells(cell: Cell, cores: number): Html {
  const n = cellNoise(cell, cores);
  const load = n.outsideShare === null ? '—' : `${formatPercent(n.outsideShare)}${n.stealShare !== null && n.stealShare >= 0.005 ? ` (+${formatPercent(n.stealShare)} steal)` : ''}`;
  const outliers = n.outliers === null ? '—' : `${n.outliers.count}${n.outliers.severe ? ` (${n.outliers.severe} severe)` : ''}`;
  const retaken = cell.noise?.retakenSamples;
  return html`<td class="num${n.heavy ? ' heavy-load' : ''}">${n.heavy ? html`<span title="measured under heavy outside load">⚠ </span>` : ''}${load}${retaken ? html` <span title="samples other processes crowded, taken again">(${retaken} retaken)</span>` : ''}</td><td class="num">${outliers}</td>`;
}

function missingSection(model: ReportModel): Html {
  const { results } = model;
  const absent = Math.max(0, results.plannedCells - results.cells.length);
  if (model.missing.length === 0 && absent === 0) return html``;
  return html`<section id="missing"><h2>Missing and failed cells</h2>
${absent ? html`<p>The run stopped early: ${results.cells.length} of ${results.plannedCells} planned cells ran; <strong>${absent} never ran</strong> and are absent from every chart and verdict.</p>` : ''}
${
  model.missing.length
    ? html`<table id="missing-table"><thead><tr><th>Cell</th><th>Why it is left out</th></tr></thead><tbody>${model.missing.map(
        ({ cell, why }) => html`<tr><td>${cellName(cell)}</td><td>${why}</td></tr>`,
      )}</tbody></table>`
    : ''
}
</section>`;
}

function environmentPanel(env: Environment, startedAt: string, finishedAt: string | null): Html {
  const packages = Object.entries(env.packages)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  const rows: Array<[string, string]> = [
    ['Machine', `${env.cpuModel}${env.hostname ? ` (${env.hostname})` : ''}`],
    ['Cores', `${env.cores} logical, ${env.availableParallelism} available`],
    ['Memory', formatBytes(env.totalMemoryBytes)],
    ['OS', `${env.os.platform} ${env.os.release} ${env.os.arch}`],
    ['Runtime', `Node ${env.node}, V8 ${env.v8}`],
    ['Packages', packages || '—'],
    ['Git commit', env.gitCommit ?? 'not in a git checkout'],
    ['Command', env.command.join(' ')],
    ['Date', finishedAt ? `${startedAt} → ${finishedAt}` : `${startedAt} (did not finish)`],
  ];
  return html`<dl class="env">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${k === 'Command' ? html`<code>${v}</code>` : v}</dd>`)}</dl>`;
}

function agreement(share: number | null, goal: number): Html {
  if (share === null) return html`—`;
  return html`<strong>${formatPercent(share)}</strong> <span class="verdict ${share >= goal ? 'confirmed' : 'not-confirmed'}">goal ${formatPercent(goal)}: ${share >= goal ? 'met' : 'not met'}</span>`;
}

function decisionSection(d: DecisionSection): Html {
  const { check } = d;
  const missedPicks = check.picks.filter((p) => p.outcome === 'miss');
  const missedTimes = check.times.filter((t) => !t.within);
  const metg = d.calibration.pools.map(
    (p) => html`<tr><td>${schedulerBadge(p)}</td><td class="num">${p.metg.seconds === null ? 'not reached' : `${p.metg.bound === 'at-most' ? '≤ ' : ''}${formatSeconds(p.metg.seconds)}`}</td><td class="num">${formatSeconds(p.startupSeconds.value)}</td><td class="num">${formatMicros(p.getSeconds.value * 1e6)}</td><td class="num">${formatMicros(p.taskSeconds.value * 1e6)}</td><td class="num">${formatPercent(p.efficiency.value)}</td><td>${p.dataPath}</td></tr>`,
  );
  return html`<section id="decision">
<h2>Decision map of this machine</h2>
<p class="lead">From the calibration ${d.calibrationFile} (${d.calibration.sweep} sweep, ${d.calibration.createdAt}): a cost model per pool, replayed by a discrete-event simulation of the engine's scheduling. Each square is the pick the model predicts there; the points are this catalog's workloads at their profiled mean task duration and bytes per task.</p>
<table id="metg-table"><thead><tr><th>Pool</th><th class="num">METG (50 %)</th><th class="num">Start-up</th><th class="num">Per get</th><th class="num">Per task</th><th class="num">Efficiency</th><th>Data path</th></tr></thead><tbody>${metg}</tbody></table>
<p>METG, after Task Bench (Slaughter et al., SC’20): the smallest task granularity (wall time × workers / tasks) at which the pool still does half the useful work the cores could.</p>
${d.maps.map(
  (m) => html`<figure data-kind="decision-map"><h4>${m.chart.title}</h4><div class="chart-box" style="height:${m.chart.height}px"><canvas data-chart="${m.chart.id}" role="img" aria-label="${m.chart.title}"></canvas></div><figcaption>${m.chart.caption}</figcaption>
<details class="boundaries" open><summary>Where the pick changes (${m.map.kind})</summary><ul>${m.map.boundaries.map((b) => html`<li>${b}</li>`)}</ul></details>
${m.points.length ? html`<p>Catalog: ${m.points.map((p) => `${p.workload}/${p.size} (${formatSeconds(p.taskSeconds)}, ${formatBytes(p.bytesPerTask)}/task): map ${poolLabel(p.mapPick)}${p.measuredPick ? `, measured ${poolLabel(p.measuredPick)} — ${p.matched ? 'matches' : 'differs'}` : ', not measured in this run'}`).join('; ')}.</p>` : ''}</figure>`,
)}
<h3 id="model-check">Model check</h3>
<p>Predicted pick equals the measured one or is within noise of it: ${agreement(check.pickAgreement, PICK_GOAL)} of ${check.picks.length} rows. Predicted time within ±${formatPercent(TIME_TOLERANCE)} of the measured median: ${agreement(check.timeAgreement, TIME_GOAL)} of ${check.times.length} cells${check.sampledTimeAgreement === null || check.sampledCells === check.times.length ? '' : ` (${formatPercent(check.sampledTimeAgreement)} of the ${check.sampledCells} with ${SAMPLED_CELL} samples or more; the race stopped the others after one, far slower than the leader)`}.${check.repeatability === null ? '' : ` For scale, the repeatability of the bench itself on this run: a single sample was within ±${formatPercent(TIME_TOLERANCE)} of the median of the other samples of its cell ${formatPercent(check.repeatability)} of the time.`}</p>
${check.picks.length ? html`<table id="model-check-picks"><thead><tr><th>Workload</th><th>Size</th><th>Predicted</th><th>Measured</th><th>Outcome</th></tr></thead><tbody>${check.picks.map((p) => html`<tr><td>${p.workload}</td><td>${p.size}</td><td>${schedulerBadge(p.predicted)}</td><td>${schedulerBadge(p.measured)}</td><td><span class="verdict ${p.outcome === 'miss' ? 'not-confirmed' : 'confirmed'}">${p.outcome}</span></td></tr>`)}</tbody></table>` : html`<p>No workload of this run has a profile in the calibration (run <code>schedlab calibrate</code> with the catalog).</p>`}
${missedTimes.length ? html`<h4>Cells outside ±${formatPercent(TIME_TOLERANCE)} (${missedTimes.length})</h4><div class="table-scroll"><table id="model-check-misses"><thead><tr><th>Cell</th><th class="num">Predicted</th><th class="num">Interval</th><th class="num">Measured median</th><th class="num">Error</th></tr></thead><tbody>${missedTimes.map((t) => html`<tr><td>${t.workload}/${t.size} ${schedulerBadge(t)}</td><td class="num">${formatSeconds(t.predicted)}</td><td class="num">${formatSeconds(t.low)} – ${formatSeconds(t.high)}</td><td class="num">${formatSeconds(t.measured)}</td><td class="num">${formatChange(t.error)}</td></tr>`)}</tbody></table></div>` : ''}
${missedPicks.length ? html`<p>Missed picks teach where the model is weak: it sees batching only through the calibrated per-task cost and efficiency by task duration, does not model fusing of linear chains or memory pressure, and assumes task times profiled on the main thread hold on every worker (on a 2-core machine json-files ran faster on two threads than half its profiled time).</p>` : ''}
</section>`;
}
