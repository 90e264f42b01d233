// How the mutation self-test reads a shared run: which of its faults it may count as caught.
import { describe, expect, it } from 'vitest';
import { inexact, missedOnly, type CheckRun } from './fault-runs.ts';

const run = (rules: string[], extra: Partial<NonNullable<CheckRun['doc']>> = {}): CheckRun => ({
  name: 'group',
  seconds: 1,
  doc: { judged: true, exitCode: 0, findings: rules.map((rule) => ({ rule, severity: 'major' })), errors: [], ...extra },
});

describe('fault runs > a shared run', () => {
  it('fault runs > exact: nothing missed, and inexact has nothing to say', () => {
    expect(missedOnly(run(['a', 'b']), ['a', 'b'])).toEqual([]);
    expect(inexact(run(['a', 'b']), ['a', 'b'])).toBeUndefined();
  });

  it('fault runs > only rules missing: those rules, so only their faults run again', () => {
    expect(missedOnly(run(['a']), ['a', 'b', 'c'])).toEqual(['b', 'c']);
    expect(inexact(run(['a']), ['a', 'b', 'c'])).toBe('missing b, c');
  });

  it('fault runs > a rule extra or twice, an unjudged run, a test not judged, no report: every fault runs again', () => {
    expect(missedOnly(run(['a', 'x']), ['a', 'b'])).toBeUndefined();
    expect(missedOnly(run(['a', 'a']), ['a', 'b'])).toBeUndefined();
    expect(missedOnly(run([], { judged: false, reason: 'silent' }), ['a'])).toBeUndefined();
    expect(missedOnly(run(['a'], { errors: [{ test: 't', message: 'boom' }] }), ['a', 'b'])).toBeUndefined();
    expect(missedOnly({ name: 'group', seconds: 1, error: 'no findings report' }, ['a'])).toBeUndefined();
  });
});
