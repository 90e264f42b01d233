// Merging runners: totals add up, and the merged p99 is the p99 of all samples together (a histogram
// built from every raw sample at the same precision), never an average of the runners' p99s. Then the
// real thing without containers: two runner processes on segments 0/2 and 1/2 from one start instant,
// merged by `load:merge` from their logs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseLauncher } from '../harness/index.ts';
import { latencyFigures, mergeMeasured, newHistogram, Recorder, recordMs } from './metrics.ts';
import { mergeRuns, parseRunnerOutput } from './merge.ts';
import type { RunSummary } from './report.ts';
import { summaryBlock } from './run.ts';
import { SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY } from './target.ts';

/** A deterministic pseudo-random sequence (the test must not depend on luck). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('load merge', () => {
  it('load merge > totals add up; the merged p99 equals the p99 of all samples together', () => {
    const random = lcg(7);
    const origin = 1_000_000;
    const fast = new Recorder(origin, true);
    const slow = new Recorder(origin, true);
    const together = newHistogram();
    const samples: number[] = [];
    for (let i = 0; i < 5000; i++) {
      // Runner A is fast, runner B has a slow tail: averaging their p99s would be wrong.
      const runner = i % 3 === 0 ? slow : fast;
      const latency = runner === slow ? 5 + random() * 400 : 0.2 + random() * 8;
      const at = origin + (i % 4) * 1000 + random() * 999;
      runner.due(at);
      runner.sent(at);
      runner.answered(at + latency, latency, 200, i % 7 === 0 ? 0 : 200);
      recordMs(together, latency);
      samples.push(latency);
    }
    const a = fast.measured();
    const b = slow.measured();
    const merged = mergeMeasured([a, b]);
    expect(merged.counts.sent).toBe(a.counts.sent + b.counts.sent);
    expect(merged.counts.answered).toBe(5000);
    expect(merged.codes).toEqual({ 0: a.codes['0']! + b.codes['0']!, 200: a.codes['200']! + b.codes['200']! });
    const all = latencyFigures(together);
    expect(merged.latency.p99).toBe(all.p99);
    expect(merged.latency.p50).toBe(all.p50);
    expect(merged.latency.max).toBe(all.max);
    expect(merged.latency.count).toBe(5000);
    expect(merged.latency.p99).not.toBe((a.latency.p99 + b.latency.p99) / 2);
    // Within the histogram's precision (3 significant digits) of the exact p99 of the raw samples.
    const exact = [...samples].sort((x, y) => x - y)[Math.ceil(0.99 * samples.length) - 1]!;
    expect(Math.abs(merged.latency.p99 - exact) / exact).toBeLessThan(0.002);
    // Second by second too: sums, and each second's p99 from that second's merged histogram.
    expect(merged.series.map((s) => s.sent)).toEqual(a.series.map((s, t) => s.sent + b.series[t]!.sent));
    expect(merged.series.reduce((n, s) => n + s.answered, 0)).toBe(5000);
  });

  it('load merge > reads a runner summary back from its log lines, whatever precedes them', () => {
    const summary = { run: 'load:average', profile: 'average', segment: { index: 1, count: 2, startAt: '2030-01-01T00:00:00.000Z' }, scenarios: [], requests: { probe: 1, scenarios: 0, total: 1 } } as unknown as RunSummary;
    const log = ['load:average: …', ...summaryBlock(summary).map((line) => `[pod/upgradelink-load-1-abcde/runner] ${line}`)].join('\n');
    expect(parseRunnerOutput(log, 'runner-1.log')).toEqual(summary);
    expect(() => parseRunnerOutput('nothing here', 'x.log')).toThrow(/holds no load summary/);
  });

  it('load merge > refuses outputs that are not the N segments of one run', () => {
    const of = (index: number, count = 2) => ({ file: `r${index}.json`, summary: { profile: 'average', segment: { index, count, startAt: 'T' }, scenarios: [] } as unknown as RunSummary });
    expect(() => mergeRuns([of(0)])).toThrow(/segment\(s\) 1\/2 missing/);
    expect(() => mergeRuns([of(0), of(0)])).toThrow(/segment 0\/2 is given twice/);
    expect(() => mergeRuns([of(0), of(1, 3)])).toThrow(/not one run/);
  });

  it('load merge > two runner processes on segments 0/2 and 1/2 of one start instant, merged from their logs', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'load-merge-'));
    const launcher = await chooseLauncher({ choice: 'process', needs: { sandbox: true } });
    const sandbox = await launcher.startSandbox({ logFile: join(dir, 'sandbox.log'), secret: SANDBOX_SECRET_KEY });
    try {
      const startAt = new Date(Math.ceil((Date.now() + 4000) / 1000) * 1000).toISOString();
      const runner = (index: number) =>
        new Promise<{ status: number | null; log: string }>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', 'load/run.ts', 'throughput', '--rate', '41', '--duration', '3', '--connections', '4', '--out', join(dir, `runner-${index}`)], {
            env: {
              ...process.env,
              UPGRADELINK_BASE_URL: sandbox.url,
              UPGRADELINK_ACCESS_KEY: SANDBOX_ACCESS_KEY,
              UPGRADELINK_SECRET_KEY: SANDBOX_SECRET_KEY,
              JOB_COMPLETION_INDEX: String(index),
              LOAD_SEGMENTS: '2',
              LOAD_START_AT: startAt,
            },
          });
          let log = '';
          child.stdout.on('data', (c) => (log += c));
          child.stderr.on('data', (c) => (log += c));
          child.on('close', (status) => resolve({ status, log }));
        });
      const runs = await Promise.all([runner(0), runner(1)]);
      runs.forEach((r, i) => writeFileSync(join(dir, `runner-${i}.log`), r.log));
      for (const r of runs) expect([0, 1], r.log).toContain(r.status);
      const parts = runs.map((r, i) => parseRunnerOutput(r.log, `runner-${i}.log`));
      // Segment shares of 41 req/s: round(20.5) = 21 and 20; budgets 63 and 60 of 123.
      expect(parts.map((p) => p.scenarios[0]!.plan.peakRate)).toEqual([21, 20]);
      expect(parts.map((p) => p.scenarios[0]!.plan.budget)).toEqual([63, 60]);
      expect(parts.map((p) => p.scenarios[0]!.startedAt)).toEqual([startAt, startAt]);

      const out = join(dir, 'merged');
      const merge = await new Promise<{ status: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'load/merge.ts', '--out', out, join(dir, 'runner-0.log'), join(dir, 'runner-1.log')]);
        let output = '';
        child.stdout.on('data', (c) => (output += c));
        child.stderr.on('data', (c) => (output += c));
        child.on('close', (status) => resolve({ status, output }));
      });
      expect([0, 1], merge.output).toContain(merge.status);
      const merged = JSON.parse(readFileSync(join(out, 'load-summary.json'), 'utf8')) as RunSummary;
      const scenario = merged.scenarios[0]!;
      expect(merged.runners).toBe(2);
      expect(scenario.plan).toMatchObject({ peakRate: 41, budget: 123, stages: [{ seconds: 3, target: 41 }] });
      expect(scenario.measured.counts.due).toBe(123);
      expect(scenario.measured.counts.sent).toBe(parts[0]!.scenarios[0]!.measured.counts.sent + parts[1]!.scenarios[0]!.measured.counts.sent);
      expect(merged.requests.total).toBe(parts[0]!.requests.total + parts[1]!.requests.total);
      // The aggregate per second of the clock: exactly the 41 requested (less any dropped), never more.
      for (const s of scenario.measured.series.slice(0, 3)) expect(s.requested).toBe(41);
      expect(Math.max(...scenario.measured.series.map((s) => s.sent))).toBeLessThanOrEqual(41);
      expect(readFileSync(join(out, 'load-report.html'), 'utf8')).toContain('merged from 2 runners');
    } finally {
      await sandbox.stop();
    }
  });
});
