import { describe, expect, it } from 'vitest';
import { renderHtml, renderJUnit, renderMarkdown, scenarioResult, summarize, textSummary, writeReportFile, type ScenarioResult } from './report.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function result(scenario: string, oks: boolean[]): ScenarioResult {
  return scenarioResult({
    scenario,
    title: `${scenario} <title> & co`,
    target: 'embedded sandbox',
    startedAt: '2025-02-17T02:34:55.000Z',
    wallSeconds: 1.5,
    plan: { rate: 10 },
    metrics: { requests: 10, 'p99 ms': 1.234 },
    tables: [{ title: 'Per window', columns: ['a', 'b'], rows: [[1, null]] }],
    thresholds: oks.map((ok, i) => ({ name: `threshold ${i} "x" < y`, limit: '= 0', actual: ok ? 0 : 3, ok })),
    data: { extra: true },
  });
}

describe('load reports', () => {
  const results = [result('journey', [true, true]), result('ratelimit', [true, false, true])];
  const summary = summarize('load:smoke', results, Date.now() - 2000);

  it('load reports > a run passes only when every threshold passes', () => {
    expect(results.map((r) => r.passed)).toEqual([true, false]);
    expect(summary).toMatchObject({ passed: false, thresholds: { total: 5, failed: 1 } });
    expect(scenarioResult({ ...results[0]!, thresholds: [] }).passed).toBe(false);
    const lines = textSummary(results, 'load:smoke');
    expect(lines).toContain('  FAIL threshold 1 "x" < y: 3 (limit = 0)');
    expect(lines.at(-1)).toBe('load:smoke: 1 threshold(s) failed: ratelimit: threshold 1 "x" < y');
  });

  it('load reports > JUnit has one testcase per threshold, failures marked, text escaped', () => {
    const xml = renderJUnit(summary, results);
    expect(xml.match(/<testcase /g)).toHaveLength(5);
    expect(xml.match(/<failure /g)).toHaveLength(1);
    expect(xml).toMatch(/<testsuites name="load:smoke" tests="5" failures="1"/);
    expect(xml).toMatch(/<testsuite name="load.ratelimit" tests="3" failures="1"/);
    expect(xml).toContain('name="threshold 1 &quot;x&quot; &lt; y = 0"');
    expect(xml).not.toMatch(/<title>|& co/);
  });

  it('load reports > the HTML page is self-contained and escapes what it shows', () => {
    const html = renderHtml(summary, results);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<title>Load report: FAILED</title>');
    expect(html).not.toMatch(/<script|<link|src=|href="http/);
    expect(html).toContain('ratelimit &lt;title&gt; &amp; co');
    expect(html).toContain('<tr class="fail">');
    expect(renderMarkdown(summary, results)).toMatch(/^# Load smoke: FAILED/);
  });

  it('load reports > a secret that slipped into a report is masked when written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'load-report-'));
    const path = await writeReportFile(dir, 'x.json', '{"oops":"s3cret-value","again":"s3cret-value"}', 's3cret-value');
    expect(readFileSync(path, 'utf8')).toBe('{"oops":"********","again":"********"}');
  });
});
