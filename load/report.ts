// Scenario results and the reports made from them: per-scenario JSON, the run summary JSON, a
// self-contained HTML page, JUnit XML (one testcase per threshold), Markdown and a short text summary.
// Nothing here sees the secret; writeReportFile masks it anyway, as a last line of defence.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SECRET_MASK } from '../lib/signing/index.ts';

export interface Threshold {
  name: string;
  /** The rule, e.g. `< 100`, `>= 95%`, `= 0`. */
  limit: string;
  actual: number | string;
  ok: boolean;
}

/** A count that must be zero. */
export function mustBeZero(name: string, count: number): Threshold {
  return { name, limit: '= 0', actual: count, ok: count === 0 };
}

/** Failed requests (non-2xx, errors, timeouts) under 1% of those answered; nothing answered fails. */
export function failedRate(total: number, failed: number): Threshold {
  return { name: 'failed requests (non-2xx, errors, timeouts) rate', limit: '< 1%', actual: total ? failed / total : 1, ok: total > 0 && failed / total < 0.01 };
}

export interface Table {
  title: string;
  columns: string[];
  rows: Array<Array<string | number | null>>;
}

export interface ScenarioResult {
  /** Short id: the report file is load-<scenario>.json. */
  scenario: string;
  title: string;
  target: string;
  startedAt: string;
  wallSeconds: number;
  plan: Record<string, unknown>;
  /** Headline figures, in display order. */
  metrics: Record<string, number | string | null>;
  tables: Table[];
  thresholds: Threshold[];
  passed: boolean;
  /** Scenario-specific machine-readable fields, written at the top level of the scenario's JSON. */
  data: Record<string, unknown>;
}

export interface RunSummary {
  run: string;
  startedAt: string;
  wallSeconds: number;
  target: string;
  passed: boolean;
  thresholds: { total: number; failed: number };
  scenarios: Array<{
    scenario: string;
    title: string;
    passed: boolean;
    wallSeconds: number;
    metrics: Record<string, number | string | null>;
    thresholds: Threshold[];
    report: string;
  }>;
}

export const format = (value: number | string | null): string =>
  value === null ? '–' : typeof value === 'string' ? value : Number.isInteger(value) ? String(value) : Math.abs(value) < 1 ? String(Number(value.toFixed(4))) : value.toFixed(2);

/** Builds a result, deriving `passed` from the thresholds (no thresholds is a failure: nothing was checked). */
export function scenarioResult(fields: Omit<ScenarioResult, 'passed'>): ScenarioResult {
  return { ...fields, passed: fields.thresholds.length > 0 && fields.thresholds.every((t) => t.ok) };
}

export function scenarioJson(result: ScenarioResult): Record<string, unknown> {
  const { data, ...rest } = result;
  return { ...data, ...rest };
}

export function summarize(run: string, results: ScenarioResult[], startedAt: number): RunSummary {
  const all = results.flatMap((r) => r.thresholds);
  return {
    run,
    startedAt: new Date(startedAt).toISOString(),
    wallSeconds: (Date.now() - startedAt) / 1000,
    target: results[0]?.target ?? '',
    passed: results.length > 0 && results.every((r) => r.passed),
    thresholds: { total: all.length, failed: all.filter((t) => !t.ok).length },
    scenarios: results.map((r) => ({
      scenario: r.scenario,
      title: r.title,
      passed: r.passed,
      wallSeconds: r.wallSeconds,
      metrics: r.metrics,
      thresholds: r.thresholds,
      report: `load-${r.scenario}.json`,
    })),
  };
}

/** Lines for the terminal: a headline per scenario, each threshold, and a verdict. */
export function textSummary(results: ScenarioResult[], run = 'load'): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const headline = Object.entries(r.metrics)
      .slice(0, 5)
      .map(([k, v]) => `${k} ${format(v)}`)
      .join(', ');
    lines.push(`${r.scenario}: ${r.passed ? 'passed' : 'FAILED'} (${headline})`);
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

export function renderJUnit(summary: RunSummary, results: ScenarioResult[]): string {
  const suites = results.map((r) => {
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

export function renderHtml(summary: RunSummary, results: ScenarioResult[]): string {
  const sections = results.map((r) => {
    const metrics = htmlTable(
      ['figure', 'value'],
      Object.entries(r.metrics).map(([k, v]) => [k, v]),
    );
    const thresholds = htmlTable(
      ['result', 'threshold', 'limit', 'actual'],
      r.thresholds.map((t) => [t.ok ? 'pass' : 'FAIL', t.name, t.limit, t.actual]),
      (i) => (r.thresholds[i]!.ok ? 'ok' : 'fail'),
    );
    const tables = r.tables.map((t) => `<h3>${escapeHtml(t.title)}</h3>\n${htmlTable(t.columns, t.rows)}`).join('\n');
    const plan = Object.entries(r.plan)
      .map(([k, v]) => `${escapeHtml(k)} <code>${escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}</code>`)
      .join(', ');
    return `<section id="${escapeHtml(r.scenario)}">
<h2><span class="badge ${r.passed ? 'ok' : 'fail'}">${r.passed ? 'passed' : 'FAILED'}</span> ${escapeHtml(r.title)} <small>(${escapeHtml(r.scenario)}, ${r.wallSeconds.toFixed(1)} s)</small></h2>
<p class="plan">Plan: ${plan}</p>
<div class="cols"><div><h3>Thresholds</h3>\n${thresholds}</div><div><h3>Figures</h3>\n${metrics}</div></div>
${tables}
</section>`;
  });
  const index = results
    .map((r) => `<li><a href="#${escapeHtml(r.scenario)}">${escapeHtml(r.title)}</a>: <span class="${r.passed ? 'ok' : 'fail'}">${r.passed ? 'passed' : 'FAILED'}</span></li>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Load report: ${summary.passed ? 'passed' : 'FAILED'}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1b1f24; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; } h2 small { color: #57606a; font-weight: normal; font-size: .8em; }
table { border-collapse: collapse; margin: .4rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
tr.fail td { background: #ffebe9; } .fail { color: #cf222e; font-weight: 600; } .ok { color: #1a7f37; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 1rem; font-size: .75em; color: #fff; vertical-align: middle; }
.badge.ok { background: #1a7f37; } .badge.fail { background: #cf222e; }
.cols { display: flex; flex-wrap: wrap; gap: 2rem; } .plan, .meta { color: #57606a; } code { background: #f6f8fa; padding: 0 .2rem; }
</style>
</head>
<body>
<h1>Load report: <span class="${summary.passed ? 'ok' : 'fail'}">${summary.passed ? 'passed' : 'FAILED'}</span></h1>
<p class="meta">Run <code>${escapeHtml(summary.run)}</code> against ${escapeHtml(summary.target)}; started ${escapeHtml(summary.startedAt)}, ${summary.wallSeconds.toFixed(1)} s;
${summary.thresholds.total - summary.thresholds.failed} of ${summary.thresholds.total} thresholds passed. Driver: autocannon (see load/README.md).</p>
<ul>
${index}
</ul>
${sections.join('\n')}
</body>
</html>
`;
}

export function renderMarkdown(summary: RunSummary, results: ScenarioResult[], heading = 'Load smoke'): string {
  const mdTable = (columns: string[], rows: Array<Array<string | number | null>>) =>
    `| ${columns.join(' | ')} |\n|${columns.map(() => '---').join('|')}|\n${rows
      .map((row) => `| ${row.map((c) => format(c).replace(/\|/g, '\\|')).join(' | ')} |`)
      .join('\n')}`;
  const sections = results.map(
    (r) => `## ${r.title}: ${r.passed ? 'passed' : 'FAILED'}

${Object.entries(r.metrics)
  .map(([k, v]) => `- ${k}: ${format(v)}`)
  .join('\n')}

${mdTable(
  ['result', 'threshold', 'limit', 'actual'],
  r.thresholds.map((t) => [t.ok ? 'pass' : '**FAIL**', t.name, t.limit, t.actual]),
)}
${r.tables.map((t) => `\n### ${t.title}\n\n${mdTable(t.columns, t.rows)}\n`).join('')}`,
  );
  return `# ${heading}: ${summary.passed ? 'passed' : 'FAILED'}

- Target: ${summary.target}
- Started: ${summary.startedAt}, wall time ${summary.wallSeconds.toFixed(1)} s
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

export async function writeScenarioJson(dir: string, result: ScenarioResult, secret?: string, name = `load-${result.scenario}.json`): Promise<string> {
  return writeReportFile(dir, name, `${JSON.stringify(scenarioJson(result), null, 2)}\n`, secret);
}

/** The whole-run reports: load-summary.json, load-report.html, load-junit.xml. */
export async function writeRunReports(dir: string, summary: RunSummary, results: ScenarioResult[], secret?: string): Promise<string[]> {
  return Promise.all([
    writeReportFile(dir, 'load-summary.json', `${JSON.stringify(summary, null, 2)}\n`, secret),
    writeReportFile(dir, 'load-report.html', renderHtml(summary, results), secret),
    writeReportFile(dir, 'load-junit.xml', renderJUnit(summary, results), secret),
  ]);
}

/** The "By endpoint" table shared by the mix-driven scenarios (journey, throughput). */
export function endpointTable(endpoints: ReadonlyArray<{ name: string; path: string; sent: number; codes: Record<string, number>; unexpected: number }>) {
  return {
    title: 'By endpoint',
    columns: ['request', 'path', 'sent', 'business codes', 'unexpected'],
    rows: endpoints.map((e) => [
      e.name,
      e.path,
      e.sent,
      Object.entries(e.codes)
        .map(([c, n]) => `${c}: ${n}`)
        .join(', '),
      e.unexpected,
    ]),
  };
}
