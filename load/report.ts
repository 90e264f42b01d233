// Scenario results and the reports made from them: per-scenario JSON, the run summary JSON (which a
// distributed run's runners write and `load:merge` reads), a self-contained HTML page with charts
// (uPlot, inlined: the page loads nothing), JUnit XML (one testcase per threshold), Markdown and a
// short text summary. Nothing here sees the secret; writeReportFile masks it anyway.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SECRET_MASK } from '../lib/signing/index.ts';
import { Code } from '../generated/operations.ts';
import type { Table } from './executors.ts';
import { codesText, type Measured } from './metrics.ts';
import type { ExecutorName, Figures, ScenarioName, Threshold, ThresholdParams } from './scenarios.ts';

export type { Table } from './executors.ts';
export type { Threshold } from './scenarios.ts';

export interface ScenarioResult {
  /** The instance's name in its profile: the report file is load-<scenario>.json. */
  scenario: string;
  /** Its entry in SCENARIOS. */
  kind: ScenarioName;
  title: string;
  /** The executor that ran it (a journey at --rate runs open-model). */
  executor: ExecutorName;
  openModel: boolean;
  wallClock: boolean;
  target: string;
  startedAt: string;
  wallSeconds: number;
  plan: Record<string, unknown>;
  params: ThresholdParams;
  /** Values for the placeholders in threshold names. */
  vars: Record<string, string | number>;
  measured: Measured;
  figures: Figures;
  /** The executor's own figures (kept so a merge can evaluate the thresholds again). */
  executorFigures: Figures;
  thresholds: Threshold[];
  passed: boolean;
  tables: Table[];
  data: Record<string, unknown>;
}

export interface RunSummary {
  run: string;
  profile: string;
  startedAt: string;
  wallSeconds: number;
  target: string;
  passed: boolean;
  thresholds: { total: number; failed: number };
  /** Requests written to the target: the setup probe and the scenarios'. */
  requests: { probe: number; scenarios: number; total: number };
  /** A runner of a distributed run: its execution segment and the shared start instant. */
  segment?: { index: number; count: number; startAt: string };
  /** A merged run: how many runners it adds up. */
  runners?: number;
  scenarios: ScenarioResult[];
}

export const format = (value: number | string | null | undefined): string =>
  value === null || value === undefined
    ? '–'
    : typeof value === 'string'
      ? value
      : Number.isInteger(value)
        ? String(value)
        : Math.abs(value) < 1
          ? String(Number(value.toFixed(4)))
          : value.toFixed(2);

/** The headline figures of a result, in display order. */
export function headline(r: ScenarioResult): Record<string, number | string | null> {
  const c = r.measured.counts;
  const l = r.measured.latency;
  const f = r.figures;
  const common = { sent: c.sent, answered: c.answered, 'p50 ms': l.p50, 'p95 ms': l.p95, 'p99 ms': l.p99, 'max ms': l.max };
  if (r.kind === 'ratelimit') {
    const windows = (r.data.windows ?? []) as Array<{ success: number; limited: number }>;
    return {
      windows: f.windows ?? null,
      'code 200 per window': windows.map((w) => w.success).join(', '),
      [`${Code.FLOW_LIMITED} per window`]: windows.map((w) => w.limited).join(', '),
      ...common,
    };
  }
  if (r.kind === 'replay') {
    const rounds = (r.data.rounds ?? []) as Array<{ accepted: number }>;
    return {
      'replay rounds': f.rounds ?? null,
      'got through per round': rounds.map((x) => x.accepted).join(', '),
      'fresh-nonce requests answered': f.answered ?? null,
      'duplicate nonces': f.duplicate_nonces ?? null,
      ...common,
    };
  }
  const seconds = Number(r.plan.durationSeconds) || r.wallSeconds || 1;
  return {
    ...(r.openModel
      ? {
          'requested req/s (peak)': Number(r.plan.peakRate ?? 0),
          due: c.due,
          sent: c.sent,
          'dropped (not sent in time)': c.dropped,
          'of which every connection busy': c.droppedBusy ?? 0,
          answered: c.answered,
          'achieved req/s': Number((c.answered / seconds).toFixed(2)),
          'answered / due': f.achieved_ratio === undefined ? null : `${(f.achieved_ratio * 100).toFixed(1)}%`,
          'most sent in one second': f.max_sent_in_a_second ?? null,
        }
      : { sent: c.sent, answered: c.answered, 'req/s': Number((c.answered / Math.max(r.wallSeconds, 1e-9)).toFixed(2)) }),
    'p50 ms': l.p50,
    'p95 ms': l.p95,
    'p99 ms': l.p99,
    'max ms': l.max,
    'failed (non-2xx, errors)': c.non2xx + c.errors,
    'business codes': codesText(r.measured.codes, '–'),
  };
}

export function summarize(run: string, profile: string, results: ScenarioResult[], startedAt: number, probe: number, extra: Partial<RunSummary> = {}): RunSummary {
  const all = results.flatMap((r) => r.thresholds);
  const scenarios = results.reduce((n, r) => n + r.measured.counts.sent, 0);
  return {
    run,
    profile,
    startedAt: new Date(startedAt).toISOString(),
    wallSeconds: (Date.now() - startedAt) / 1000,
    target: results[0]?.target ?? '',
    passed: results.length > 0 && results.every((r) => r.passed),
    thresholds: { total: all.length, failed: all.filter((t) => !t.ok).length },
    requests: { probe, scenarios, total: probe + scenarios },
    ...extra,
    scenarios: results,
  };
}

/** Lines for the terminal: a headline per scenario, each threshold, and a verdict. */
export function textSummary(results: ScenarioResult[], run = 'load'): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const head = Object.entries(headline(r))
      .slice(0, 6)
      .map(([k, v]) => `${k} ${format(v)}`)
      .join(', ');
    lines.push(`${r.scenario}: ${r.passed ? 'passed' : 'FAILED'} (${head})`);
    for (const t of r.thresholds) lines.push(`  ${t.ok ? 'ok  ' : 'FAIL'} ${t.name}: ${format(t.actual)} (limit ${t.limit})`);
  }
  const failed = results.flatMap((r) => r.thresholds.filter((t) => !t.ok).map((t) => `${r.scenario}: ${t.name}`));
  lines.push(
    failed.length === 0 && results.length > 0
      ? `${run}: all thresholds passed`
      : `${run}: ${failed.length} threshold(s) failed: ${failed.join('; ') || 'no scenario ran'}`,
  );
  return lines;
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
const escapeHtml = escapeXml;

export function renderJUnit(summary: RunSummary): string {
  const suites = summary.scenarios.map((r) => {
    const failures = r.thresholds.filter((t) => !t.ok).length;
    const cases = r.thresholds.map((t) => {
      const name = escapeXml(`${t.name} ${t.limit}`);
      const detail = escapeXml(`actual ${format(t.actual)}, limit ${t.limit}`);
      return t.ok
        ? `    <testcase classname="load.${r.scenario}" name="${name}" time="0"/>`
        : `    <testcase classname="load.${r.scenario}" name="${name}" time="0">\n      <failure message="${detail}" type="threshold">${detail}</failure>\n    </testcase>`;
    });
    return (
      `  <testsuite name="load.${r.scenario}" tests="${r.thresholds.length}" failures="${failures}" errors="0" skipped="0" ` +
      `time="${r.wallSeconds.toFixed(3)}" timestamp="${r.startedAt.replace(/\.\d+Z$/, '')}">\n` +
      `    <properties>\n      <property name="target" value="${escapeXml(r.target)}"/>\n    </properties>\n` +
      `${cases.join('\n')}\n  </testsuite>`
    );
  });
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="${escapeXml(summary.run)}" tests="${summary.thresholds.total}" failures="${summary.thresholds.failed}" errors="0" time="${summary.wallSeconds.toFixed(3)}">\n` +
    `${suites.join('\n')}\n</testsuites>\n`
  );
}

function htmlTable(columns: string[], rows: Array<Array<string | number | null>>, rowClass?: (i: number) => string): string {
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map((row, i) => `<tr${rowClass ? ` class="${rowClass(i)}"` : ''}>${row.map((cell) => `<td>${escapeHtml(format(cell))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** The "By endpoint" table of the mix-driven scenarios. */
function endpointTable(r: ScenarioResult): Table | undefined {
  if (r.measured.endpoints.length === 0) return undefined;
  return {
    title: 'By endpoint',
    columns: ['request', 'path', 'sent', 'business codes', 'unexpected'],
    rows: r.measured.endpoints.map((e) => [e.name, e.path, e.sent, codesText(e.codes, '–'), e.unexpected]),
  };
}

// ---- charts --------------------------------------------------------------------------------------

/** One chart of the page: uPlot's aligned data (x first) and its series. */
interface ChartSpec {
  id: string;
  title: string;
  yLabel: string;
  /** 'bars' for per-window counts. */
  kind: 'lines' | 'bars';
  xLabel: string;
  labels: string[];
  colors: string[];
  data: Array<Array<number | null>>;
}

/** The same colour for a business code in every chart. */
const CODE_COLORS: Record<string, string> = {
  [Code.LATEST]: '#0969da', [Code.OK]: '#1a7f37', [Code.FLOW_LIMITED]: '#cf222e', [Code.AUTH_FAILED]: '#8250df', [Code.SIGNATURE_FAILED]: '#bf8700', [Code.INVALID_HEADER]: '#fb8500',
};

const PALETTE = ['#0969da', '#1a7f37', '#cf222e', '#8250df', '#bf8700', '#1b7c83', '#d1242f', '#57606a', '#fb8500', '#6e7781'];

/** The charts of a scenario: throughput, latency, errors and codes per second; 200 vs Code.FLOW_LIMITED per window. */
export function chartsFor(r: ScenarioResult): ChartSpec[] {
  const series = r.measured.series;
  const charts: ChartSpec[] = [];
  if (series.length > 0) {
    const t = series.map((s) => s.t);
    const throughput: ChartSpec = {
      id: `${r.scenario}-throughput`,
      title: 'Throughput per second',
      yLabel: 'requests',
      kind: 'lines',
      xLabel: 's since start',
      labels: [],
      colors: [],
      data: [t],
    };
    const add = (chart: ChartSpec, label: string, color: string, values: Array<number | null>) => {
      chart.labels.push(label);
      chart.colors.push(color);
      chart.data.push(values);
    };
    if (r.openModel) add(throughput, 'requested (due)', '#57606a', series.map((s) => s.requested));
    add(throughput, 'sent', PALETTE[0]!, series.map((s) => s.sent));
    add(throughput, 'answered (achieved rate)', PALETTE[1]!, series.map((s) => s.answered));
    if (r.openModel) add(throughput, 'dropped', PALETTE[2]!, series.map((s) => s.dropped));
    charts.push(throughput);
    const latency: ChartSpec = { id: `${r.scenario}-latency`, title: 'Latency per second (send to last byte)', yLabel: 'ms', kind: 'lines', xLabel: 's since start', labels: [], colors: [], data: [t] };
    add(latency, 'p50', PALETTE[1]!, series.map((s) => s.p50));
    add(latency, 'p95', PALETTE[4]!, series.map((s) => s.p95));
    add(latency, 'p99', PALETTE[2]!, series.map((s) => s.p99));
    charts.push(latency);
    const codes = [...new Set(series.flatMap((s) => Object.keys(s.codes)))].sort((a, b) => Number(a) - Number(b));
    const errors: ChartSpec = { id: `${r.scenario}-codes`, title: 'Errors and business codes per second', yLabel: 'answers', kind: 'lines', xLabel: 's since start', labels: [], colors: [], data: [t] };
    add(errors, 'failed (non-2xx, errors, timeouts)', '#d1242f', series.map((s) => s.errors));
    codes.forEach((code, i) => add(errors, `code ${code}`, CODE_COLORS[code] ?? PALETTE[(i + 3) % PALETTE.length]!, series.map((s) => s.codes[code] ?? 0)));
    charts.push(errors);
  }
  const windows = r.data.windows as Array<{ index: number; success: number; limited: number }> | undefined;
  if (r.kind === 'ratelimit' && windows?.length) {
    charts.push({
      id: `${r.scenario}-windows`,
      title: `Code 200 vs ${Code.FLOW_LIMITED} per rate-limit window (limit ${r.vars.limit ?? '?'})`,
      yLabel: 'answers',
      kind: 'bars',
      xLabel: 'window #',
      labels: ['code 200', String(Code.FLOW_LIMITED), 'limit'],
      colors: [PALETTE[1]!, PALETTE[2]!, '#57606a'],
      data: [windows.map((_, i) => i + 1), windows.map((w) => w.success), windows.map((w) => w.limited), windows.map(() => Number(r.vars.limit ?? 0))],
    });
  }
  return charts;
}

const UPLOT_DIR = new URL('../node_modules/uplot/dist/', import.meta.url);

function uplotAssets(): { js: string; css: string } {
  try {
    return { js: readFileSync(new URL('uPlot.iife.min.js', UPLOT_DIR), 'utf8'), css: readFileSync(new URL('uPlot.min.css', UPLOT_DIR), 'utf8') };
  } catch (error) {
    throw new Error(`the HTML report inlines uPlot from ${UPLOT_DIR.pathname} and cannot read it (${(error as Error).message}): run npm ci`);
  }
}

// Draws every chart of the page from the JSON block; records what it drew on window.__loadCharts (the
// browser test reads it). Runs in the page, so plain browser JavaScript.
const CHART_SCRIPT = `
(function () {
  var specs = JSON.parse(document.getElementById('load-charts').textContent);
  var drawn = [];
  specs.forEach(function (spec) {
    var el = document.getElementById('chart-' + spec.id);
    if (!el) return;
    // Bars side by side: the first series left of the tick, the second right of it.
    var bars = spec.kind === 'bars' ? [uPlot.paths.bars({ size: [0.3, 36], align: -1 }), uPlot.paths.bars({ size: [0.3, 36], align: 1 })] : null;
    var xs = spec.data[0];
    var series = [{ label: spec.xLabel }].concat(spec.labels.map(function (label, i) {
      var isLimit = spec.kind === 'bars' && label === 'limit';
      return {
        label: label,
        stroke: spec.colors[i],
        width: 2,
        fill: spec.kind === 'bars' && !isLimit ? spec.colors[i] + 'cc' : undefined,
        paths: spec.kind === 'bars' && !isLimit ? bars[i % 2] : undefined,
        dash: isLimit ? [6, 4] : undefined,
        spanGaps: false,
        points: { show: spec.data[0].length < 30 }
      };
    }));
    var width = Math.max(300, Math.min(el.clientWidth || 390, 560));
    var chart = new uPlot({
      title: spec.title,
      width: width,
      height: 220,
      scales: {
        // Half a step of room on each side: a one-second run still shows its point.
        x: { time: false, auto: false, range: [xs[0] - 0.5, xs[xs.length - 1] + 0.5] },
        y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } }
      },
      axes: [{ label: spec.xLabel, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300] }, { label: spec.yLabel, size: 56 }],
      series: series
    }, spec.data, el);
    drawn.push({ id: spec.id, points: spec.data[0].length, series: spec.data.slice(1).map(function (s) { return s.filter(function (v) { return v !== null; }).length; }), canvas: !!el.querySelector('canvas') });
  });
  window.__loadCharts = drawn;
})();
`;

export function renderHtml(summary: RunSummary): string {
  const results = summary.scenarios;
  const chartsOf = results.map(chartsFor);
  const charts = chartsOf.flat();
  const sections = results.map((r, i) => {
    const figures = htmlTable(['figure', 'value'], Object.entries(headline(r)).map(([k, v]) => [k, v]));
    const thresholds = htmlTable(
      ['result', 'threshold', 'limit', 'actual'],
      r.thresholds.map((t) => [t.ok ? 'pass' : 'FAIL', t.name, t.limit, t.actual]),
      (i) => (r.thresholds[i]!.ok ? 'ok' : 'fail'),
    );
    const tables = [...r.tables, endpointTable(r)]
      .filter((t): t is Table => t !== undefined)
      .map((t) => `<h3>${escapeHtml(t.title)}</h3>\n${htmlTable(t.columns, t.rows, t.title === 'Per window' ? (i) => (t.rows[i]!.at(-1) === 'NO' ? 'fail' : 'ok') : undefined)}`)
      .join('\n');
    const plan = Object.entries(r.plan)
      .map(([k, v]) => `${escapeHtml(k)} <code>${escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}</code>`)
      .join(', ');
    const chartDivs = chartsOf[i]!
      .map((c) => `<div class="chart" id="chart-${escapeHtml(c.id)}" data-chart="${escapeHtml(c.id)}"></div>`)
      .join('\n');
    return `<section id="${escapeHtml(r.scenario)}">
<h2><span class="badge ${r.passed ? 'ok' : 'fail'}">${r.passed ? 'passed' : 'FAILED'}</span> ${escapeHtml(r.title)} <small>(${escapeHtml(r.scenario)}, ${escapeHtml(r.executor)}, ${r.wallSeconds.toFixed(1)} s)</small></h2>
<p class="plan">Plan: ${plan}</p>
${chartDivs ? `<div class="charts">\n${chartDivs}\n</div>` : ''}
<div class="cols"><div><h3>Thresholds</h3>\n${thresholds}</div><div><h3>Figures</h3>\n${figures}</div></div>
${tables}
</section>`;
  });
  const index = results
    .map((r) => `<li><a href="#${escapeHtml(r.scenario)}">${escapeHtml(r.title)}</a>: <span class="${r.passed ? 'ok' : 'fail'}">${r.passed ? 'passed' : 'FAILED'}</span></li>`)
    .join('\n');
  const { js, css } = uplotAssets();
  const data = JSON.stringify(charts).replace(/</g, '\\u003c');
  const runners = summary.runners ? `; merged from ${summary.runners} runners` : summary.segment ? `; runner ${summary.segment.index} of ${summary.segment.count}` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Load report: ${summary.passed ? 'passed' : 'FAILED'}</title>
<style>
${css}
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 76rem; padding: 0 1rem; color: #1b1f24; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; } h2 small { color: #57606a; font-weight: normal; font-size: .8em; }
table { border-collapse: collapse; margin: .4rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
tr.fail td { background: #ffebe9; } .fail { color: #cf222e; font-weight: 600; } .ok { color: #1a7f37; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 1rem; font-size: .75em; color: #fff; vertical-align: middle; }
.badge.ok { background: #1a7f37; } .badge.fail { background: #cf222e; }
.cols { display: flex; flex-wrap: wrap; gap: 2rem; } .plan, .meta { color: #57606a; } code { background: #f6f8fa; padding: 0 .2rem; }
.charts { display: flex; flex-wrap: wrap; gap: .8rem; margin: .6rem 0; } .chart { flex: 1 1 22rem; min-width: 19rem; max-width: 25rem; }
.u-title { font-size: 14px; font-weight: 600; }
.u-legend th, .u-legend td { border: none; background: none; padding: 0 .2rem; } .u-legend { font-size: 12px; }
</style>
</head>
<body>
<h1>Load report: <span class="${summary.passed ? 'ok' : 'fail'}">${summary.passed ? 'passed' : 'FAILED'}</span></h1>
<p class="meta">Run <code>${escapeHtml(summary.run)}</code> (profile <code>${escapeHtml(summary.profile)}</code>) against ${escapeHtml(summary.target)}; started ${escapeHtml(summary.startedAt)}, ${summary.wallSeconds.toFixed(1)} s;
${summary.requests.total} requests sent (${summary.requests.probe} probe)${escapeHtml(runners)};
${summary.thresholds.total - summary.thresholds.failed} of ${summary.thresholds.total} thresholds passed. Charts: one point per second of the Unix clock (open model) or of the run; see load/README.md.</p>
<ul>
${index}
</ul>
${sections.join('\n')}
<script type="application/json" id="load-charts">${data}</script>
<script>${js}</script>
<script>${CHART_SCRIPT}</script>
</body>
</html>
`;
}

export function renderMarkdown(summary: RunSummary, heading = `Load ${summary.profile}`): string {
  const mdTable = (columns: string[], rows: Array<Array<string | number | null>>) =>
    `| ${columns.join(' | ')} |\n|${columns.map(() => '---').join('|')}|\n${rows.map((row) => `| ${row.map((c) => format(c).replace(/\|/g, '\\|')).join(' | ')} |`).join('\n')}`;
  const sections = summary.scenarios.map(
    (r) => `## ${r.title}: ${r.passed ? 'passed' : 'FAILED'}

${Object.entries(headline(r))
  .map(([k, v]) => `- ${k}: ${format(v)}`)
  .join('\n')}

${mdTable(
  ['result', 'threshold', 'limit', 'actual'],
  r.thresholds.map((t) => [t.ok ? 'pass' : '**FAIL**', t.name, t.limit, t.actual]),
)}
${[...r.tables, endpointTable(r)]
  .filter((t): t is Table => t !== undefined)
  .map((t) => `\n### ${t.title}\n\n${mdTable(t.columns, t.rows)}\n`)
  .join('')}`,
  );
  return `# ${heading}: ${summary.passed ? 'passed' : 'FAILED'}

- Target: ${summary.target}
- Started: ${summary.startedAt}, wall time ${summary.wallSeconds.toFixed(1)} s
- Requests sent: ${summary.requests.total} (${summary.requests.probe} probe)${summary.runners ? `, merged from ${summary.runners} runners` : ''}
- Thresholds: ${summary.thresholds.total - summary.thresholds.failed} of ${summary.thresholds.total} passed

${sections.join('\n')}`;
}

/** Writes a report file, masking the secret should it ever have slipped into the text. */
export async function writeReportFile(dir: string, name: string, text: string, secret?: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, secret ? text.split(secret).join(SECRET_MASK) : text);
  return path;
}

/** The written reports worth naming on the console: all but the per-scenario JSON (load-summary.json holds them). */
export const reportsToShow = (written: string[]): string[] => written.filter((f) => !/load-[^/]*\.json$/.test(f) || f.endsWith('load-summary.json'));

/**
 * Every report of a run: load-<scenario>.json, load-summary.json, load-report.html, load-junit.xml and
 * load-<profile>.md (the CI step summary).
 */
export async function writeRunReports(dir: string, summary: RunSummary, secret?: string): Promise<string[]> {
  const written: string[] = [];
  for (const r of summary.scenarios) written.push(await writeReportFile(dir, `load-${r.scenario}.json`, `${JSON.stringify(r, null, 2)}\n`, secret));
  written.push(
    ...(await Promise.all([
      writeReportFile(dir, 'load-summary.json', `${JSON.stringify(summary, null, 2)}\n`, secret),
      writeReportFile(dir, 'load-report.html', renderHtml(summary), secret),
      writeReportFile(dir, 'load-junit.xml', renderJUnit(summary), secret),
      writeReportFile(dir, `load-${summary.profile}.md`, renderMarkdown(summary), secret),
    ])),
  );
  return written;
}
