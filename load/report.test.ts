import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Recorder } from './metrics.ts';
import { chartsFor, renderHtml, renderJUnit, renderMarkdown, summarize, textSummary, writeReportFile, type ScenarioResult } from './report.ts';
import { evaluateThresholds, type ThresholdDecl } from './scenarios.ts';

const PARAMS = { p99Ms: 100, maxFailedRatio: 0.01, minAchievedRatio: 0.95, minAnswered: 100, maxP99GrowthMs: 50 };

function result(scenario: string, oks: boolean[]): ScenarioResult {
  const recorder = new Recorder(0, true);
  for (let t = 0; t < 3; t++) {
    recorder.due(t * 1000 + 1);
    recorder.sent(t * 1000 + 2);
    recorder.answered(t * 1000 + 3, 1.5, 200, 200);
  }
  return {
    scenario,
    kind: 'throughput',
    title: `${scenario} <title> & co`,
    executor: 'arrival',
    openModel: true,
    wallClock: false,
    target: 'sandbox process',
    startedAt: '2025-02-17T02:34:55.000Z',
    wallSeconds: 1.5,
    plan: { rate: 10, durationSeconds: 3, peakRate: 1 },
    params: PARAMS,
    vars: {},
    measured: recorder.measured(),
    figures: {},
    executorFigures: {},
    thresholds: oks.map((ok, i) => ({ name: `threshold ${i} "x" < y`, limit: '= 0', actual: ok ? 0 : 3, ok })),
    passed: oks.every(Boolean),
    tables: [{ title: 'Per window', columns: ['a', 'b'], rows: [[1, null]] }],
    data: {},
  };
}

describe('load reports', () => {
  const results = [result('journey', [true, true]), result('ratelimit', [true, false, true])];
  const summary = summarize('load:smoke', 'smoke', results, Date.now() - 2000, 1);

  it('load reports > a run passes only when every threshold passes', () => {
    expect(results.map((r) => r.passed)).toEqual([true, false]);
    expect(summary).toMatchObject({ passed: false, thresholds: { total: 5, failed: 1 }, requests: { probe: 1, scenarios: 6, total: 7 } });
    const lines = textSummary(results, 'load:smoke');
    expect(lines).toContain('  FAIL threshold 1 "x" < y: 3 (limit = 0)');
    expect(lines.at(-1)).toBe('load:smoke: 1 threshold(s) failed: ratelimit: threshold 1 "x" < y');
  });

  it('load reports > thresholds say what they check; a missing figure fails; `when` is declared', () => {
    const decls: ThresholdDecl[] = [
      { name: 'p99 latency (ms)', figure: 'p99_ms', op: '<', limit: 'param:p99Ms' },
      { name: 'windows where exactly {limit} answer(s) were code 200', figure: 'windows_exact', op: '=', limit: 'figure:windows' },
      { name: 'answered / due', figure: 'achieved_ratio', op: '>=', limit: 'param:minAchievedRatio', percent: true, when: 'open-model' },
      { name: 'strays', figure: 'strays', op: '=', limit: 0, when: 'wall-clock' },
    ];
    const out = evaluateThresholds(decls, { p99_ms: 120, windows_exact: 2, windows: 3 }, PARAMS, { openModel: true, wallClock: false }, { limit: 1 });
    expect(out).toEqual([
      { name: 'p99 latency (ms)', limit: '< 100', actual: 120, ok: false },
      { name: 'windows where exactly 1 answer(s) were code 200', limit: '= 3', actual: 2, ok: false },
      { name: 'answered / due', limit: '>= 95.0%', actual: 'missing', ok: false },
    ]);
  });

  it('load reports > JUnit has one testcase per threshold, failures marked, text escaped', () => {
    const xml = renderJUnit(summary);
    expect(xml.match(/<testcase /g)).toHaveLength(5);
    expect(xml.match(/<failure /g)).toHaveLength(1);
    expect(xml).toMatch(/<testsuites name="load:smoke" tests="5" failures="1"/);
    expect(xml).toMatch(/<testsuite name="load.ratelimit" tests="3" failures="1"/);
    expect(xml).toContain('name="threshold 1 &quot;x&quot; &lt; y = 0"');
    expect(xml).not.toMatch(/<title>|& co/);
  });

  it('load reports > the HTML page is one self-contained file: uPlot and the data inline, text escaped', () => {
    const html = renderHtml(summary);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<title>Load report: FAILED</title>');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).toContain('uPlot (v1.6.32)');
    expect(html).toContain('ratelimit &lt;title&gt; &amp; co');
    expect(html).toContain('<tr class="fail">');
    const charts = chartsFor(results[0]!);
    expect(charts.map((c) => c.id)).toEqual(['journey-throughput', 'journey-latency', 'journey-codes']);
    expect(charts[0]!.labels).toEqual(['requested (due)', 'sent', 'answered (achieved rate)', 'dropped']);
    expect(charts[0]!.data).toEqual([[0, 1, 2], [1, 1, 1], [1, 1, 1], [1, 1, 1], [0, 0, 0]]);
    expect(renderMarkdown(summary)).toMatch(/^# Load smoke: FAILED/);
  });

  it('load reports > a secret that slipped into a report is masked when written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'load-report-'));
    const path = await writeReportFile(dir, 'x.json', '{"oops":"s3cret-value","again":"s3cret-value"}', 's3cret-value');
    expect(readFileSync(path, 'utf8')).toBe('{"oops":"********","again":"********"}');
  });
});
