// From test results to findings: one finding per rule a target breaks, across every operation and test
// where it shows. A failed test is attributed to the rule of its first failing check. It is *blocked*
// (reported under the finding that blocks it, not as a finding of its own) when a prerequisite already
// failed on the same operation (a test there failed under it): the operation's baseline, or a rule its
// own rule comes after. A known
// finding (in the team's baseline file) does not fail the run; new and fixed ones are reported.
import type { RecordedRequest } from './support/exchange.ts';
import { BASELINE_RULE, prerequisites, ruleById, SEVERITIES, type RuleSource, type Severity } from './rules.ts';

export interface RecordedExchange {
  request: RecordedRequest;
  status: number;
  responseBody: string;
  reproduce: string;
  curl: string;
}

export interface TestRecord {
  /** `area > METHOD path > title [rule]`. */
  name: string;
  file: string;
  /** The rule the test checks (its primary rule); undefined for tests outside the catalogue. */
  rule?: string;
  operation: string | null;
  /** Rules this test comes after, beyond its rule's prerequisites. */
  after?: string[];
  state: 'passed' | 'failed' | 'skipped';
  durationMs: number;
  skipReason?: string;
  /** Set for a failed test: a contract failure (a check of a rule) or an error of the suite itself. */
  failure?: {
    rule?: string;
    check?: string;
    title: string;
    expected?: string;
    received?: string;
    message: string;
  };
  exchange?: RecordedExchange;
  requestCount?: number;
}

export interface Occurrence {
  test: string;
  operation: string | null;
  check: string;
  expected: string;
  received: string;
  exchange?: RecordedExchange;
}

export interface Finding {
  /** The rule id: one finding per rule. */
  id: string;
  rule: string;
  severity: Severity;
  source: RuleSource;
  /** What a conforming deployment does (the rule's statement). */
  title: string;
  /** What this deployment does instead, in the words of the first failing check. */
  summary: string;
  expected: string;
  received: string;
  /** Distinct observed behaviours, most frequent first, with how often each was seen. */
  behaviours: Array<{ received: string; count: number }>;
  operations: string[];
  occurrences: Occurrence[];
  /** Tests on the same operations that failed after this, reported as blocked by it. */
  blocked: Array<{ test: string; operation: string | null; rule?: string }>;
  /** A request that shows it (secret masked) and the command to resend it freshly signed. */
  repro?: { request: RecordedRequest; response: { status: number; body: string }; call: string; curl: string };
  /** Against a baseline file: `known` findings do not fail the run. */
  status: 'new' | 'known';
}

export interface RuleOutcome {
  rule: string;
  severity: Severity;
  source: RuleSource;
  passed: number;
  failed: number;
  blocked: number;
  skipped: number;
  finding?: string;
  skipReasons: string[];
}

export interface Findings {
  findings: Finding[];
  /** Failed tests that are not contract failures: the suite could not judge them. */
  errors: Array<{ test: string; message: string }>;
  rules: RuleOutcome[];
  blockedTests: number;
}

const severityRank = (s: Severity) => SEVERITIES.indexOf(s);

/** True when `severity` is at least as grave as `threshold` (critical > major > minor > advisory). */
export function reaches(severity: Severity, threshold: Severity): boolean {
  return severityRank(severity) <= severityRank(threshold);
}

function sameOperation(a: string | null, b: string | null): boolean {
  return a === null || b === null || a === b;
}

/** The rules whose failure on the same operation blocks a test of `rule` that failed under `failedRule`. */
function blockers(rule: string | undefined, failedRule: string | undefined, after: readonly string[] = []): Set<string> {
  const out = new Set<string>(after);
  for (const r of [rule, failedRule, ...after]) {
    if (!r) continue;
    for (const p of prerequisites(r)) out.add(p);
  }
  if (rule !== BASELINE_RULE) out.add(BASELINE_RULE);
  out.delete(rule ?? '');
  return out;
}

export function computeFindings(tests: TestRecord[], known: ReadonlySet<string> = new Set()): Findings {
  const failed = tests.filter((t) => t.state === 'failed');
  const contract = failed.filter((t) => t.failure?.rule);
  const errors = failed.filter((t) => !t.failure?.rule).map((t) => ({ test: t.name, message: t.failure?.message ?? 'failed' }));

  // A failure is a root when no prerequisite failed on its operation; otherwise it is blocked by the
  // nearest root among the prerequisites (resolved through chains: a blocked blocker's root).
  const rootOf = new Map<TestRecord, TestRecord>();
  const resolve = (t: TestRecord, seen = new Set<TestRecord>()): TestRecord => {
    const known = rootOf.get(t);
    if (known) return known;
    seen.add(t);
    const wanted = blockers(t.rule, t.failure?.rule, t.after);
    // A prerequisite has failed on the operation when a test there failed under it (its first failing
    // check was that rule's): a baseline answered with the wrong data is a data finding, not a refusal.
    const blocker = contract.find((o) => o !== t && !seen.has(o) && wanted.has(o.failure!.rule!) && sameOperation(o.operation, t.operation));
    const root = blocker ? resolve(blocker, seen) : t;
    rootOf.set(t, root);
    return root;
  };
  for (const t of contract) resolve(t);

  const byRule = new Map<string, Finding>();
  for (const t of contract) {
    if (rootOf.get(t) !== t) continue;
    const f = t.failure!;
    const ruleId = f.rule!;
    const def = ruleById(ruleId);
    let finding = byRule.get(ruleId);
    if (!finding) {
      finding = {
        id: ruleId,
        rule: ruleId,
        severity: def.severity,
        source: def.source,
        title: def.title,
        summary: f.title,
        expected: f.expected ?? '',
        received: f.received ?? '',
        behaviours: [],
        operations: [],
        occurrences: [],
        blocked: [],
        status: known.has(ruleId) ? 'known' : 'new',
        ...(t.exchange
          ? { repro: { request: t.exchange.request, response: { status: t.exchange.status, body: t.exchange.responseBody }, call: t.exchange.reproduce, curl: t.exchange.curl } }
          : {}),
      };
      byRule.set(ruleId, finding);
    }
    finding.occurrences.push({ test: t.name, operation: t.operation, check: f.check ?? '', expected: f.expected ?? '', received: f.received ?? '', ...(t.exchange ? { exchange: t.exchange } : {}) });
    if (t.operation && !finding.operations.includes(t.operation)) finding.operations.push(t.operation);
    const behaviour = behaviourOf(f.received ?? '');
    const b = finding.behaviours.find((x) => x.received === behaviour);
    if (b) b.count++;
    else finding.behaviours.push({ received: behaviour, count: 1 });
  }
  for (const t of contract) {
    const root = rootOf.get(t)!;
    if (root !== t) byRule.get(root.failure!.rule!)?.blocked.push({ test: t.name, operation: t.operation, ...(t.rule ? { rule: t.rule } : {}) });
  }
  const findings = [...byRule.values()].sort((a, b) => severityRank(a.severity) - severityRank(b.severity) || a.rule.localeCompare(b.rule));
  for (const f of findings) f.behaviours.sort((a, b) => b.count - a.count);

  const rules = new Map<string, RuleOutcome>();
  const outcome = (id: string) => {
    let o = rules.get(id);
    if (!o) {
      const def = ruleById(id);
      o = { rule: id, severity: def.severity, source: def.source, passed: 0, failed: 0, blocked: 0, skipped: 0, skipReasons: [] };
      rules.set(id, o);
    }
    return o;
  };
  for (const t of tests) {
    if (!t.rule) continue;
    const o = outcome(t.rule);
    if (t.state === 'passed') o.passed++;
    else if (t.state === 'skipped') {
      o.skipped++;
      if (t.skipReason && !o.skipReasons.includes(t.skipReason)) o.skipReasons.push(t.skipReason);
    } else if (t.failure?.rule && rootOf.get(t) !== t) o.blocked++;
    else o.failed++;
  }
  for (const f of findings) outcome(f.rule).finding = f.id;
  return {
    findings,
    errors,
    rules: [...rules.values()].sort((a, b) => a.rule.localeCompare(b.rule)),
    blockedTests: contract.filter((t) => rootOf.get(t) !== t).length,
  };
}

/** What was received, without the parts that change from request to request (bodies are cut at 80). */
function behaviourOf(received: string): string {
  return received.replace(/, body .*$/s, '').replace(/ — body .*$/s, '').slice(0, 160);
}

// ---- baselines ----------------------------------------------------------------------------------

export interface BaselineFile {
  /** What generated it and when; informative. */
  generatedAt: string;
  target: string;
  findings: Array<{ rule: string; severity: Severity; operations: string[] }>;
}

export function baselineOf(findings: Finding[], target: string, now = new Date()): BaselineFile {
  return {
    generatedAt: now.toISOString(),
    target,
    findings: findings.map((f) => ({ rule: f.rule, severity: f.severity, operations: f.operations })),
  };
}

export interface BaselineComparison {
  /** Findings of this run that the baseline does not list. */
  added: string[];
  /** Findings the baseline lists whose rule ran this run and passed everywhere: fixed. */
  fixed: string[];
  /** Findings the baseline lists whose rule did not run this run (skipped or filtered): not judged. */
  unjudged: string[];
}

export function compareWithBaseline(baseline: BaselineFile, result: Findings): BaselineComparison {
  const now = new Set(result.findings.map((f) => f.rule));
  const listed = new Set(baseline.findings.map((f) => f.rule));
  const ran = new Set(result.rules.filter((r) => r.passed + r.failed + r.blocked > 0).map((r) => r.rule));
  return {
    added: [...now].filter((r) => !listed.has(r)),
    fixed: [...listed].filter((r) => !now.has(r) && ran.has(r)),
    unjudged: [...listed].filter((r) => !now.has(r) && !ran.has(r)),
  };
}

/** Whether the run fails: a new finding at or above the threshold. */
export function failsRun(result: Findings, failOn: Severity | 'none'): boolean {
  if (failOn === 'none') return false;
  return result.findings.some((f) => f.status === 'new' && reaches(f.severity, failOn));
}
