// The reports of a contract run, all made from one ContractReport: contract-findings.json (the
// findings, for tools), contract-results.json (every test), contract-report.md (one page: findings
// first) and contract-junit.xml (one testcase per rule, so CI shows one annotation per root cause).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { maskSecret } from '../lib/signing/index.ts';
import type { BaselineComparison, Finding, Findings, TestRecord } from './findings.ts';
import { ruleById, SEVERITIES, type Severity } from './rules.ts';

export interface RunDescription {
  target: string;
  kind: string;
  url: string;
  prism: string;
  runtime: string;
  fixtures: string;
  faults: string[];
  rules?: string[];
}

export interface ContractReport {
  generatedAt: string;
  run: RunDescription;
  /** False when the run could not judge the target at all (unreachable, credentials refused, …). */
  judged: boolean;
  /** Why it could not judge. */
  reason?: string;
  wallTimeMs: number;
  failOn: Severity | 'none';
  exitCode: 0 | 1 | 2;
  totals: { tests: number; passed: number; failed: number; blocked: number; skipped: number; errors: number };
  baseline?: { file: string } & BaselineComparison;
  result: Findings;
  tests: TestRecord[];
}

function fence(text: string, lang = ''): string {
  const ticks = text.includes('```') ? '````' : '```';
  return `${ticks}${lang}\n${text}\n${ticks}`;
}

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function verdict(report: ContractReport): string {
  if (!report.judged) return 'COULD NOT JUDGE THE TARGET (exit 2)';
  if (report.exitCode === 1) return `FAIL (exit 1: a new finding at or above ${report.failOn})`;
  if (report.exitCode === 2) return 'INCOMPLETE (exit 2: some tests could not be judged)';
  return `PASS (exit 0: no new finding at or above ${report.failOn})`;
}

function countBySeverity(findings: Finding[]): string {
  const parts = SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
  return parts.length ? parts.map(([s, n]) => `${n} ${s}`).join(', ') : 'none';
}

function httpText(f: Finding): string {
  const r = f.repro!.request;
  return `${r.method} ${r.target} HTTP/1.1\n${r.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${r.body}`;
}

export function renderMarkdown(report: ContractReport): string {
  const { run, result, totals } = report;
  const out: string[] = [];
  out.push(`# Contract report: ${run.target} — ${verdict(report)}`, '');
  out.push(`- **Target**: ${run.target} (${run.kind}) at \`${run.url}\`; Prism: ${run.prism}; runtime: ${run.runtime}${run.faults.length ? `; sandbox faults: ${run.faults.join(', ')}` : ''}`);
  out.push(`- **Fixtures**: ${run.fixtures}${run.rules?.length ? `; rules: ${run.rules.join(', ')}` : ''}`);
  if (!report.judged) {
    out.push('', `**The run could not judge the target:** ${report.reason}`, '', 'No test ran. Fix the cause above and run again.');
    return `${out.join('\n')}\n`;
  }
  out.push(`- **Findings**: ${result.findings.length} (${countBySeverity(result.findings)}); fails on: ${report.failOn}`);
  out.push(`- **Tests**: ${totals.passed} passed, ${totals.failed} failed (${totals.blocked} of them blocked by a finding), ${totals.skipped} skipped, ${totals.errors} errors; ${(report.wallTimeMs / 1000).toFixed(1)} s`);
  if (report.baseline) {
    const b = report.baseline;
    out.push(`- **Baseline** \`${b.file}\`: ${result.findings.filter((f) => f.status === 'known').length} known, ${b.added.length} new${b.added.length ? ` (${b.added.join(', ')})` : ''}, ${b.fixed.length} fixed${b.fixed.length ? ` (${b.fixed.join(', ')})` : ''}${b.unjudged.length ? `, ${b.unjudged.length} not checked this run (${b.unjudged.join(', ')})` : ''}`);
  }
  out.push(`- Rules: \`contract/RULES.md\`. Every request below is shown with the secret masked.`, '');

  out.push('## Findings', '');
  if (result.findings.length === 0) out.push('None: the target conforms to every rule that ran.', '');
  result.findings.forEach((f, i) => {
    const rule = ruleById(f.rule);
    out.push(`### ${i + 1}. [${f.severity}] ${f.rule}${f.status === 'known' ? ' (known: in the baseline)' : report.baseline ? ' (new)' : ''}`, '');
    out.push(`**Rule** (${f.source}): ${rule.title}`, '');
    out.push(`**What happened**: ${f.summary}`, '');
    out.push(`- Expected: ${f.expected}`);
    if (f.behaviours.length <= 1) out.push(`- Received: ${f.received}`);
    else for (const b of f.behaviours.slice(0, 5)) out.push(`- Received (${b.count}×): ${b.received}`);
    out.push(`- Seen in ${f.occurrences.length} test(s)${f.operations.length ? ` on ${f.operations.length} operation(s): ${f.operations.map((o) => `\`${o}\``).join(', ')}` : ''}`);
    if (f.blocked.length) out.push(`- Blocks ${f.blocked.length} other test(s) on the same operations (not reported separately)`);
    out.push(`- Basis: ${rule.basis}`, '');
    if (f.repro) {
      out.push('Resend it freshly signed (secret from `UPGRADELINK_SECRET_KEY`):', '', fence(f.repro.call, 'sh'), '');
      out.push('<details><summary>The request and the answer</summary>', '', fence(httpText(f), 'http'), '', `Answered HTTP ${f.repro.response.status}:`, '', fence(f.repro.response.body, 'json'), '', 'Exact bytes as sent (stale timestamp and nonce):', '', fence(f.repro.curl, 'sh'), '', '</details>', '');
    }
    out.push(`<details><summary>Tests (${f.occurrences.length} failing, ${f.blocked.length} blocked)</summary>`, '');
    for (const o of f.occurrences.slice(0, 40)) out.push(`- ${o.test}`);
    if (f.occurrences.length > 40) out.push(`- … and ${f.occurrences.length - 40} more`);
    for (const b of f.blocked.slice(0, 20)) out.push(`- blocked: ${b.test}`);
    if (f.blocked.length > 20) out.push(`- blocked: … and ${f.blocked.length - 20} more`);
    out.push('', '</details>', '');
  });

  if (result.errors.length) {
    out.push('## Tests the suite could not judge', '');
    for (const e of result.errors.slice(0, 30)) out.push(`- ${e.test}: ${cell(e.message.split('\n')[0] ?? '')}`);
    out.push('');
  }

  out.push('## Rules', '', '| Rule | Severity | Source | Result | Passed | Failed | Blocked | Skipped |', '|---|---|---|---|---:|---:|---:|---:|');
  for (const r of result.rules) {
    const state = r.finding ? '**finding**' : r.failed + r.blocked > 0 ? 'blocked' : r.passed > 0 ? 'pass' : 'skipped';
    out.push(`| ${r.rule} | ${r.severity} | ${r.source} | ${state} | ${r.passed} | ${r.failed} | ${r.blocked} | ${r.skipped} |`);
  }
  const skipped = report.tests.filter((t) => t.state === 'skipped');
  if (skipped.length) {
    out.push('', '## Skipped, by reason', '');
    const byReason = new Map<string, number>();
    for (const t of skipped) byReason.set(t.skipReason ?? '', (byReason.get(t.skipReason ?? '') ?? 0) + 1);
    for (const [reason, n] of [...byReason].sort((a, b) => b[1] - a[1])) out.push(`- ${n} × ${reason}`);
  }
  return `${out.join('\n')}\n`;
}

/** JUnit with one testcase per rule: a finding is a failure (its tests listed), a rule that never ran is skipped. */
export function renderJunit(report: ContractReport): string {
  const secondsOf = (ms: number) => (ms / 1000).toFixed(3);
  const { result } = report;
  const out = ['<?xml version="1.0" encoding="UTF-8" ?>'];
  const failures = result.findings.length + (report.judged ? 0 : 1);
  const skipped = result.rules.filter((r) => !r.finding && r.passed + r.failed + r.blocked === 0).length;
  out.push(`<testsuites name="upgradelink-contract" tests="${result.rules.length + (report.judged ? 0 : 1)}" failures="${failures}" errors="${result.errors.length}" skipped="${skipped}" time="${secondsOf(report.wallTimeMs)}">`);
  const areas = new Map<string, typeof result.rules>();
  for (const r of result.rules) areas.set(r.rule.split('.')[0]!, [...(areas.get(r.rule.split('.')[0]!) ?? []), r]);
  if (!report.judged) {
    out.push('  <testsuite name="preflight" tests="1" failures="1" errors="0" skipped="0" time="0">');
    out.push(`    <testcase classname="preflight" name="the target can be judged" time="0"><failure message="${xml(report.reason ?? '')}">${xml(report.reason ?? '')}</failure></testcase>`, '  </testsuite>');
  }
  for (const [area, rules] of areas) {
    const f = rules.filter((r) => r.finding).length;
    const s = rules.filter((r) => !r.finding && r.passed + r.failed + r.blocked === 0).length;
    out.push(`  <testsuite name="${xml(area)}" timestamp="${report.generatedAt}" tests="${rules.length}" failures="${f}" errors="0" skipped="${s}" time="0">`);
    for (const r of rules) {
      const def = ruleById(r.rule);
      const open = `    <testcase classname="${xml(area)}" name="${xml(`${r.rule}: ${def.title}`)}" time="0"`;
      const finding = result.findings.find((x) => x.rule === r.rule);
      if (finding) {
        const body = [
          `[${finding.severity}] ${finding.rule} (${finding.source})${finding.status === 'known' ? ' — known (baseline)' : ''}`,
          finding.summary,
          `Expected: ${finding.expected}`,
          `Received: ${finding.received}`,
          `Operations: ${finding.operations.join(', ') || '–'}`,
          finding.repro ? `Reproduce: ${finding.repro.call}` : '',
          `Tests: ${finding.occurrences.map((o) => o.test).join('; ')}`,
          finding.blocked.length ? `Blocked: ${finding.blocked.length} test(s)` : '',
        ].filter(Boolean);
        out.push(`${open}>`, `      <failure message="${xml(`[${finding.severity}] ${finding.summary}`)}" type="${finding.severity}">${xml(body.join('\n'))}</failure>`, '    </testcase>');
      } else if (r.passed + r.failed + r.blocked === 0) out.push(`${open}>`, `      <skipped message="${xml(r.skipReasons.join('; ') || 'not run')}"/>`, '    </testcase>');
      else out.push(`${open}/>`);
    }
    out.push('  </testsuite>');
  }
  if (result.errors.length) {
    out.push(`  <testsuite name="suite errors" tests="${result.errors.length}" failures="0" errors="${result.errors.length}" skipped="0" time="0">`);
    for (const e of result.errors) out.push(`    <testcase classname="errors" name="${xml(e.test)}" time="0"><error message="${xml(e.message.split('\n')[0] ?? '')}">${xml(e.message)}</error></testcase>`);
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

/** The findings document, for tools (`reports/contract-findings.json`). */
export function findingsJson(report: ContractReport): unknown {
  return {
    generatedAt: report.generatedAt,
    target: report.run,
    judged: report.judged,
    ...(report.reason ? { reason: report.reason } : {}),
    failOn: report.failOn,
    exitCode: report.exitCode,
    ...(report.baseline ? { baseline: report.baseline } : {}),
    findings: report.result.findings.map(({ occurrences, ...f }) => ({
      ...f,
      tests: occurrences.map((o) => ({ test: o.test, operation: o.operation, check: o.check, expected: o.expected, received: o.received })),
    })),
    errors: report.result.errors,
    rules: report.result.rules,
  };
}

/** Writes every report; the secret is masked out of each file as a last line of defence. */
export function writeReports(dir: string, report: ContractReport, secret: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Array<[string, string]> = [
    ['contract-findings.json', `${JSON.stringify(findingsJson(report), null, 2)}\n`],
    [
      'contract-results.json',
      `${JSON.stringify({ generatedAt: report.generatedAt, run: report.run, judged: report.judged, exitCode: report.exitCode, totals: report.totals, wallTimeMs: report.wallTimeMs, tests: report.tests }, null, 2)}\n`,
    ],
    ['contract-report.md', renderMarkdown(report)],
    ['contract-junit.xml', renderJunit(report)],
  ];
  return files.map(([name, text]) => {
    const file = path.join(dir, name);
    writeFileSync(file, secret ? maskSecret(text, secret) : text);
    return file;
  });
}
