// Conformance reporter: groups results by rule family (the first `describe`), prints a coverage
// summary, and writes reports/contract-results.json and reports/contract-report.md. Each failure
// shows its Expected:/Received: lines, the exact request (secret masked) and a command to reproduce it.
// It also writes reports/contract-junit.xml, with each skipped test's reason (vitest's own JUnit
// reporter writes a bare <skipped/>) and each failure's Expected/Received.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';
import type { SerializedError } from '@vitest/utils';
import type { RecordedExchange } from '../support/context.ts';

export const FAMILIES = ['signing', 'replay', 'status codes', 'upgrade semantics', 'schema'] as const;

export interface TestRecord {
  family: string;
  fullName: string;
  file: string;
  state: 'passed' | 'failed' | 'skipped' | 'pending';
  durationMs: number;
  skipReason?: string;
  failure?: { message: string; expected?: string; received?: string };
  requestCount?: number;
  exchange?: RecordedExchange;
}

export interface FamilyTotals {
  passed: number;
  failed: number;
  skipped: number;
}

export interface ContractResults {
  generatedAt: string;
  target: { target?: string; kind?: string; prism?: string; faults?: string[]; runtime?: string; images?: Record<string, string> };
  wallTimeMs: number;
  reason: string;
  totals: FamilyTotals & { tests: number };
  families: Record<string, FamilyTotals>;
  unhandledErrors: string[];
  tests: TestRecord[];
}

function reportDir(root: string): string {
  return path.resolve(root, process.env.CONTRACT_REPORT_DIR ?? 'reports');
}

function errorText(e: SerializedError | undefined): string {
  if (!e) return '';
  return String(e.message ?? e).replace(/\x1b\[[0-9;]*m/g, '');
}

function parseFailure(message: string): TestRecord['failure'] {
  const expected = /^Expected: (.*)$/m.exec(message)?.[1];
  const received = /^Received: (.*)$/m.exec(message)?.[1];
  return { message, ...(expected !== undefined ? { expected } : {}), ...(received !== undefined ? { received } : {}) };
}

function toRecord(test: TestCase, root: string): TestRecord {
  const result = test.result();
  const family = test.fullName.split(' > ')[0] ?? 'other';
  const meta = test.meta();
  const record: TestRecord = {
    family,
    fullName: test.fullName,
    file: path.relative(root, test.module.moduleId),
    state: result.state,
    durationMs: Math.round(test.diagnostic()?.duration ?? 0),
  };
  if (result.state === 'skipped') record.skipReason = result.note ?? (test.options.mode === 'todo' ? 'todo' : 'skipped without a reason');
  if (result.state === 'failed') {
    const messages = result.errors.map((e) => errorText(e));
    record.failure = parseFailure(messages.join('\n\n'));
  }
  if (meta.requestCount) record.requestCount = meta.requestCount;
  const last = meta.exchanges?.[meta.exchanges.length - 1];
  if (last) record.exchange = last;
  return record;
}

function httpText(ex: RecordedExchange): string {
  const r = ex.request;
  const lines = [`${r.method} ${r.target} HTTP/1.1`, ...r.headers.map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\n')}\n\n${r.body}`;
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

/**
 * JUnit XML for CI annotations: one <testsuite> per test file, one <testcase> per test (classname the
 * rule family, name the rest of the test's full name), skipped with its reason, failures with their
 * Expected/Received lines.
 */
export function renderJunit(results: ContractResults): string {
  const secondsOf = (ms: number) => (ms / 1000).toFixed(3);
  const byFile = new Map<string, TestRecord[]>();
  for (const t of results.tests) byFile.set(t.file, [...(byFile.get(t.file) ?? []), t]);
  const count = (tests: TestRecord[], state: TestRecord['state']) => tests.filter((t) => t.state === state).length;
  const out = ['<?xml version="1.0" encoding="UTF-8" ?>'];
  const all = results.tests;
  out.push(
    `<testsuites name="upgradelink-contract" tests="${all.length}" failures="${count(all, 'failed')}" errors="${results.unhandledErrors.length}" skipped="${count(all, 'skipped')}" time="${secondsOf(results.wallTimeMs)}">`,
  );
  for (const [file, tests] of byFile) {
    const time = tests.reduce((sum, t) => sum + t.durationMs, 0);
    out.push(
      `  <testsuite name="${xml(file)}" timestamp="${results.generatedAt}" tests="${tests.length}" failures="${count(tests, 'failed')}" errors="0" skipped="${count(tests, 'skipped')}" time="${secondsOf(time)}">`,
    );
    for (const t of tests) {
      const name = t.fullName.startsWith(`${t.family} > `) ? t.fullName.slice(t.family.length + 3) : t.fullName;
      const open = `    <testcase classname="${xml(t.family)}" file="${xml(t.file)}" name="${xml(name)}" time="${secondsOf(t.durationMs)}"`;
      if (t.state === 'skipped') out.push(`${open}>`, `      <skipped message="${xml(t.skipReason ?? 'skipped')}"/>`, '    </testcase>');
      else if (t.state === 'failed' && t.failure) {
        // The message normally carries the Expected:/Received: lines already.
        const lines = t.failure.message.includes('Expected:')
          ? [t.failure.message]
          : [t.failure.expected ? `Expected: ${t.failure.expected}` : '', t.failure.received ? `Received: ${t.failure.received}` : '', t.failure.message];
        const body = lines.filter(Boolean).join('\n');
        out.push(`${open}>`, `      <failure message="${xml(t.failure.message.split('\n')[0] ?? 'failed')}" type="AssertionError">${xml(body)}</failure>`, '    </testcase>');
      } else out.push(`${open}/>`);
    }
    out.push('  </testsuite>');
  }
  for (const error of results.unhandledErrors) {
    out.push('  <testsuite name="unhandled errors" tests="1" failures="0" errors="1" skipped="0" time="0">');
    out.push(`    <testcase classname="vitest" name="unhandled error" time="0">`, `      <error message="${xml(error.split('\n')[0] ?? '')}">${xml(error)}</error>`, '    </testcase>', '  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

/** A run passes only when tests ran, none failed and vitest itself saw no error. */
export function passed(results: ContractResults): boolean {
  return results.totals.tests > 0 && results.totals.failed === 0 && results.unhandledErrors.length === 0 && results.reason === 'passed';
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function renderMarkdown(results: ContractResults): string {
  const t = results.target;
  const out: string[] = [];
  out.push('# Contract conformance report', '');
  out.push(`- Target: **${t.target ?? '?'}** (${t.kind ?? '?'}; Prism: ${t.prism ?? '?'}; runtime: ${t.runtime ?? '?'}${t.images && Object.keys(t.images).length ? ` from ${Object.values(t.images).join(', ')}` : ''})${t.faults?.length ? ` with sandbox faults: ${t.faults.join(', ')}` : ''}`);
  out.push(`- Generated: ${results.generatedAt}`);
  out.push(`- Wall time: **${seconds(results.wallTimeMs)}** (vitest start to end, target start-up included)`);
  out.push(`- Result: **${passed(results) ? 'PASS' : 'FAIL'}** — ${results.totals.passed} passed, ${results.totals.failed} failed, ${results.totals.skipped} skipped of ${results.totals.tests}${results.totals.tests === 0 ? ' (no test ran: did the target start? see the console and the logs beside this report)' : ''}`);
  out.push('', '## Coverage by rule family', '', '| Rule family | Passed | Failed | Skipped | Total |', '|---|---:|---:|---:|---:|');
  for (const [family, n] of Object.entries(results.families)) {
    out.push(`| ${family} | ${n.passed} | ${n.failed} | ${n.skipped} | ${n.passed + n.failed + n.skipped} |`);
  }
  const failed = results.tests.filter((x) => x.state === 'failed');
  if (failed.length > 0 || results.unhandledErrors.length > 0) {
    out.push('', '## Failures', '');
    for (const f of failed) {
      out.push(`### ${f.fullName}`, '', `File: \`${f.file}\``, '');
      out.push(fence(f.failure?.message ?? '(no message)'), '');
      if (f.exchange) {
        out.push(`Request (${f.exchange.request.route}${f.exchange.request.routeNote ? `: ${f.exchange.request.routeNote}` : ''}), answered HTTP ${f.exchange.status}:`, '');
        out.push(fence(httpText(f.exchange), 'http'), '');
        out.push('Response body:', '', fence(f.exchange.responseBody, 'json'), '');
        out.push('Reproduce (freshly signed; secret from `UPGRADELINK_SECRET_KEY`):', '', fence(f.exchange.reproduce, 'sh'), '');
        out.push('Exact bytes as sent (stale timestamp and nonce):', '', fence(f.exchange.curl, 'sh'), '');
      }
    }
    for (const e of results.unhandledErrors) out.push('### Unhandled error', '', fence(e), '');
  }
  const skipped = results.tests.filter((x) => x.state === 'skipped');
  if (skipped.length > 0) {
    out.push('', '## Skipped, by reason', '');
    const byReason = new Map<string, TestRecord[]>();
    for (const s of skipped) byReason.set(s.skipReason ?? '', [...(byReason.get(s.skipReason ?? '') ?? []), s]);
    for (const [reason, tests] of byReason) {
      out.push(`- **${reason}** (${tests.length})`);
      for (const s of tests.slice(0, 50)) out.push(`  - ${s.fullName}`);
      if (tests.length > 50) out.push(`  - … and ${tests.length - 50} more`);
    }
  }
  out.push('', '## All tests', '');
  for (const family of Object.keys(results.families)) {
    const tests = results.tests.filter((x) => x.family === family);
    out.push(`<details><summary>${family} (${tests.length})</summary>`, '', '| Test | Result | ms |', '|---|---|---:|');
    for (const x of tests) out.push(`| ${x.fullName.replace(/\|/g, '\\|')} | ${x.state} | ${x.durationMs} |`);
    out.push('', '</details>', '');
  }
  return `${out.join('\n')}\n`;
}

export default class ConformanceReporter implements Reporter {
  private root = process.cwd();

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: string): void {
    const tests: TestRecord[] = [];
    for (const module of testModules) for (const test of module.children.allTests()) tests.push(toRecord(test, this.root));
    const families: Record<string, FamilyTotals> = {};
    for (const f of FAMILIES) families[f] = { passed: 0, failed: 0, skipped: 0 };
    const totals = { tests: tests.length, passed: 0, failed: 0, skipped: 0 };
    for (const x of tests) {
      const bucket = (families[x.family] ??= { passed: 0, failed: 0, skipped: 0 });
      if (x.state === 'passed' || x.state === 'failed' || x.state === 'skipped') {
        bucket[x.state]++;
        totals[x.state]++;
      }
    }
    const moduleErrors = testModules.flatMap((m) => (m.state() === 'failed' && m.children.size === 0 ? [`${m.relativeModuleId}: failed to load`] : []));
    let info: ContractResults['target'] = {};
    try {
      info = JSON.parse(process.env.CONTRACT_RUN_INFO ?? '{}') as ContractResults['target'];
    } catch {
      /* keep empty */
    }
    const results: ContractResults = {
      generatedAt: new Date().toISOString(),
      target: info,
      wallTimeMs: Math.round(Date.now() - performance.timeOrigin),
      reason,
      totals,
      families,
      unhandledErrors: [...unhandledErrors.map((e) => errorText(e)), ...moduleErrors],
      tests,
    };
    const dir = reportDir(this.root);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'contract-results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(path.join(dir, 'contract-report.md'), renderMarkdown(results));
    writeFileSync(path.join(dir, 'contract-junit.xml'), renderJunit(results));

    const lines = ['', `Contract coverage by rule family (target ${info.target ?? '?'}, Prism ${info.prism ?? '?'}, runtime ${info.runtime ?? '?'}):`];
    const width = Math.max(...Object.keys(families).map((f) => f.length));
    for (const [family, n] of Object.entries(families)) {
      lines.push(`  ${family.padEnd(width)}  ${String(n.passed).padStart(4)} passed  ${String(n.failed).padStart(3)} failed  ${String(n.skipped).padStart(4)} skipped`);
    }
    const skipReasons = new Map<string, number>();
    // Console: group by the capability list only (the report has the full reasons).
    const short = (reason: string) => reason.replace(/ \(.*\)$/, '');
    for (const x of tests) if (x.state === 'skipped') skipReasons.set(short(x.skipReason ?? ''), (skipReasons.get(short(x.skipReason ?? '')) ?? 0) + 1);
    if (skipReasons.size > 0) {
      lines.push('Skipped, by reason:');
      for (const [r, n] of skipReasons) lines.push(`  ${String(n).padStart(4)} × ${r}`);
    }
    lines.push(`Contract run: ${passed(results) ? 'PASS' : 'FAIL'}${totals.tests === 0 ? ' (no test ran)' : ''}.`);
    lines.push(`Wall time ${seconds(results.wallTimeMs)}. Reports: ${path.relative(this.root, dir) || '.'}/contract-report.md, contract-results.json, contract-junit.xml`, '');
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
