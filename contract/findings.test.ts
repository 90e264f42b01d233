// From test records to findings: one per rule, across operations; prerequisites and baselines block;
// a baseline file marks findings known; --fail-on decides the exit.
import { describe, expect, it } from 'vitest';
import { baselineOf, compareWithBaseline, computeFindings, failsRun, reaches, type TestRecord } from './findings.ts';

function failed(name: string, rule: string, operation: string | null, failedRule = rule, received = 'HTTP 200, code 200'): TestRecord {
  return {
    name,
    file: 'contract/x.contract.test.ts',
    rule,
    operation,
    state: 'failed',
    durationMs: 1,
    failure: { rule: failedRule, check: 'business_code', title: `${name} was not rejected`, expected: 'code 401002', received, message: `[${failedRule}] …` },
  };
}
const passed = (name: string, rule: string, operation: string | null): TestRecord => ({ name, file: 'x', rule, operation, state: 'passed', durationMs: 1 });

describe('findings', () => {
  it('one finding per rule, across every operation and test where it shows', () => {
    const result = computeFindings([
      failed('a', 'body.invalid-body', '/v1/apk/upgrade'),
      failed('b', 'body.invalid-body', '/v1/file/upgrade', 'body.invalid-body', 'HTTP 400, code 400002'),
      failed('c', 'body.invalid-body', '/v1/file/upgrade', 'body.invalid-body', 'HTTP 400, code 400002'),
      passed('d', 'body.size-limit', '/v1/apk/upgrade'),
    ]);
    expect(result.findings.map((f) => f.rule)).toEqual(['body.invalid-body']);
    const f = result.findings[0]!;
    expect(f.operations).toEqual(['/v1/apk/upgrade', '/v1/file/upgrade']);
    expect(f.occurrences).toHaveLength(3);
    expect(f.behaviours).toEqual([{ received: 'HTTP 400, code 400002', count: 2 }, { received: 'HTTP 200, code 200', count: 1 }]);
    expect(f.severity).toBe('advisory');
    expect(f.source).toBe('reference');
  });

  it('a failure is attributed to the rule of its first failing check, not to the test\'s own rule', () => {
    const result = computeFindings([failed('a', 'signing.signature-verified', '/v1/apk/upgrade', 'envelope.http-status-matches-code')]);
    expect(result.findings.map((f) => f.rule)).toEqual(['envelope.http-status-matches-code']);
  });

  it('a failed baseline blocks every other failure on its operation, and only there', () => {
    const result = computeFindings([
      failed('base apk', 'baseline.signed-request-accepted', '/v1/apk/upgrade', 'baseline.signed-request-accepted', 'HTTP 400, code 400002'),
      failed('sig apk', 'signing.signature-verified', '/v1/apk/upgrade', 'response.data-schema'),
      failed('val apk', 'validation.null-invalid', '/v1/apk/upgrade'),
      failed('sig file', 'signing.signature-verified', '/v1/file/upgrade'),
    ]);
    expect(result.findings.map((f) => f.rule).sort()).toEqual(['baseline.signed-request-accepted', 'signing.signature-verified']);
    const base = result.findings.find((f) => f.rule === 'baseline.signed-request-accepted')!;
    expect(base.blocked.map((b) => b.test).sort()).toEqual(['sig apk', 'val apk']);
    expect(result.findings.find((f) => f.rule === 'signing.signature-verified')!.operations).toEqual(['/v1/file/upgrade']);
    expect(result.blockedTests).toBe(2);
  });

  it('a failed prerequisite rule blocks its dependants on the same operation (transitively)', () => {
    const result = computeFindings([
      failed('any signature', 'signing.signature-verified', '/v1/apk/upgrade'),
      failed('query', 'signing.query-covered', '/v1/apk/upgrade'),
      failed('debug', 'auth.debug-headers-ignored', '/v1/apk/upgrade'),
    ]);
    expect(result.findings.map((f) => f.rule)).toEqual(['signing.signature-verified']);
    expect(result.findings[0]!.blocked).toHaveLength(2);
  });

  it('rules report passed, failed, blocked and skipped tests with the skip reasons', () => {
    const skipped: TestRecord = { name: 'e', file: 'x', rule: 'upgrade.flow-limit', operation: null, state: 'skipped', durationMs: 0, skipReason: 'no flow quota' };
    const result = computeFindings([passed('a', 'upgrade.flow-limit', null), skipped]);
    expect(result.rules).toEqual([{ rule: 'upgrade.flow-limit', severity: 'major', source: 'seed:apk-upgrade', passed: 1, failed: 0, blocked: 0, skipped: 1, skipReasons: ['no flow quota'] }]);
  });

  it('a failure that is not a contract failure is an error of the suite, not a finding', () => {
    const broken: TestRecord = { name: 'x', file: 'x', rule: 'body.size-limit', operation: null, state: 'failed', durationMs: 1, failure: { title: 'TypeError: boom', message: 'TypeError: boom' } };
    const result = computeFindings([broken]);
    expect(result.findings).toEqual([]);
    expect(result.errors).toEqual([{ test: 'x', message: 'TypeError: boom' }]);
  });

  it('--fail-on: a new finding at or above the threshold fails; known ones and advisories (by default) do not', () => {
    const tests = [failed('a', 'body.invalid-body', null), failed('b', 'replay.nonce-single-use', '/v1/apk/upgrade')];
    expect(failsRun(computeFindings(tests), 'major')).toBe(true);
    expect(failsRun(computeFindings([tests[0]!]), 'major')).toBe(false);
    expect(failsRun(computeFindings([tests[0]!]), 'advisory')).toBe(true);
    expect(failsRun(computeFindings(tests, new Set(['replay.nonce-single-use'])), 'major')).toBe(false);
    expect(failsRun(computeFindings(tests), 'none')).toBe(false);
    expect(reaches('critical', 'major')).toBe(true);
    expect(reaches('minor', 'major')).toBe(false);
  });

  it('a baseline marks findings known and reports new, fixed and unjudged ones', () => {
    const before = computeFindings([failed('a', 'body.invalid-body', null), failed('b', 'replay.nonce-single-use', '/v1/apk/upgrade')]);
    const file = baselineOf(before.findings, 'staging', new Date(0));
    expect(file.findings.map((f) => f.rule)).toEqual(['replay.nonce-single-use', 'body.invalid-body']);
    const after = computeFindings(
      [passed('b', 'replay.nonce-single-use', '/v1/apk/upgrade'), failed('c', 'codes.app-not-found', '/v1/apk/upgrade')],
      new Set(file.findings.map((f) => f.rule)),
    );
    expect(after.findings.map((f) => [f.rule, f.status])).toEqual([['codes.app-not-found', 'new']]);
    expect(compareWithBaseline(file, after)).toEqual({ added: ['codes.app-not-found'], fixed: ['replay.nonce-single-use'], unjudged: ['body.invalid-body'] });
  });
});
