// `load:distributed --local 2`: two load-runner containers with the Indexed Job's environment, merged.
// Needs a Docker engine and the images (npm run docker:build); skips saying why otherwise, and fails
// instead in CI with UPGRADELINK_REQUIRE_CONTAINERS=1.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needContainers } from '../harness/test-support.ts';
import { parseRunnerOutput } from './merge.ts';
import { decodeHistogram, latencyFigures, newHistogram } from './metrics.ts';
import type { RunSummary } from './report.ts';

describe('load distributed', () => {
  it('load distributed > --local 2: runner containers on segments 0/2 and 1/2, totals add up, merged p99 from the added histograms', { timeout: 180_000 }, async (ctx) => {
    await needContainers(ctx, 'load distributed');
    const out = mkdtempSync(join(tmpdir(), 'load-distributed-'));
    const run = await new Promise<{ status: number | null; output: string }>((resolve) => {
      const env: NodeJS.ProcessEnv = { ...process.env, UPGRADELINK_RUNTIME: 'process' };
      delete env.UPGRADELINK_BASE_URL;
      const child = spawn(process.execPath, ['--import', 'tsx', 'load/distributed.ts', '--local', '2', 'throughput', '--rate', '41', '--duration', '3', '--connections', '8', '--start-in', '6', '--out', out], { env });
      let output = '';
      child.stdout.on('data', (c) => (output += c));
      child.stderr.on('data', (c) => (output += c));
      child.on('close', (status) => resolve({ status, output }));
    });
    expect([0, 1], run.output).toContain(run.status);
    const report = JSON.parse(readFileSync(join(out, 'load-distributed.json'), 'utf8'));
    expect(report.runners.map((r: { segment: string; rate: number[]; budget: number[] }) => [r.segment, r.rate, r.budget])).toEqual([
      ['0/2', [21], [63]],
      ['1/2', [20], [60]],
    ]);
    // The runners' logs, read as `kubectl logs` output: totals add up.
    const parts = report.runners.map((r: { log: string }) => parseRunnerOutput(readFileSync(r.log, 'utf8'), r.log) as RunSummary);
    const sum = (pick: (s: RunSummary) => number) => parts.reduce((n: number, s: RunSummary) => n + pick(s), 0);
    expect(report.totals.requests).toBe(sum((s) => s.requests.total));
    expect(report.totals.sent).toBe(sum((s) => s.scenarios[0]!.measured.counts.sent));
    expect(report.runners.reduce((n: number, r: { sent: number }) => n + r.sent, 0)).toBe(report.totals.sent);
    expect(report.totals.due).toBe(123);
    expect(report.totals.sent + report.totals.dropped).toBe(123);
    // The merged p99 is the p99 of the runners' histograms added, not an average of their p99s.
    const all = newHistogram();
    for (const s of parts) all.add(decodeHistogram(s.scenarios[0]!.measured.latency.hdr));
    expect(report.latencyMs.p99).toBe(latencyFigures(all).p99);
    expect(report.latencyMs.count).toBe(sum((s) => s.scenarios[0]!.measured.counts.answered));
    // The aggregate: never more than the 41 requested in any second of the clock.
    const merged = JSON.parse(readFileSync(join(out, 'load-summary.json'), 'utf8')) as RunSummary;
    expect(merged.runners).toBe(2);
    expect(Math.max(...merged.scenarios[0]!.measured.series.map((s) => s.sent))).toBeLessThanOrEqual(41);
    expect(readFileSync(join(out, 'load-report.html'), 'utf8')).toContain('merged from 2 runners');
    expect(run.output).not.toContain('test-secret-DO-NOT-USE');
  });
});

describe('load distributed > bad input', () => {
  it('load distributed > a --base-url that is not a URL: exit 2 and one line, before anything starts', { timeout: 30_000 }, async () => {
    const run = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'load/distributed.ts', '--local', '2', 'smoke', '--base-url', 'not a url']);
      let stderr = '';
      child.stderr.on('data', (c) => (stderr += c));
      child.on('close', (status) => resolve({ status, stderr }));
    });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr.trim()).toBe('load:distributed: --base-url must be an http or https URL such as http://127.0.0.1:8787; got "not a url"');
  });
});

describe('load k8s', () => {
  it('load k8s > the Indexed Job gives its pods exactly the environment load:distributed gives its containers', async () => {
    const { parse } = await import('yaml');
    const { runnerEnv } = await import('./distributed.ts');
    const { PROFILES } = await import('./scenarios.ts');
    const { REMOTE_CAPS } = await import('./safety.ts');
    const job = parse(readFileSync('load/k8s/job.yaml', 'utf8'));
    expect(job.kind).toBe('Job');
    expect(job.spec.completionMode).toBe('Indexed');
    const pod = job.spec.template.spec;
    const runner = pod.containers[0];
    const env = Object.fromEntries(runner.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));
    expect(job.spec.completions).toBe(job.spec.parallelism);
    expect(Number(env.LOAD_SEGMENTS)).toBe(job.spec.completions);
    expect(env.JOB_COMPLETION_INDEX).toEqual({ fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } });
    for (const [name, key] of [['UPGRADELINK_BASE_URL', 'base-url'], ['UPGRADELINK_ACCESS_KEY', 'access-key'], ['UPGRADELINK_SECRET_KEY', 'secret-key'], ['LOAD_CONFIRM_HOST', 'confirm-host']]) {
      expect(env[name!], name).toEqual({ secretKeyRef: { name: 'upgradelink-load', key } });
    }
    const local = runnerEnv(0, 2, 'T', { baseUrl: 'u', accessKey: 'a', secretKey: 's' }, 'h');
    expect(Object.keys(local).sort()).toEqual(Object.keys(env).filter((n) => n !== 'LOAD_HOLD_SECONDS').sort());
    // The Job's args are a profile and flags the runner takes; the whole Job stays within the remote caps.
    expect(Object.keys(PROFILES)).toContain(runner.args[0]);
    const flag = (name: string) => Number(runner.args[runner.args.indexOf(name) + 1]);
    expect(flag('--rate')).toBeLessThanOrEqual(REMOTE_CAPS.maxRate);
    expect(flag('--connections')).toBeLessThanOrEqual(REMOTE_CAPS.maxConnections);
    expect(flag('--duration')).toBeLessThanOrEqual(REMOTE_CAPS.maxDurationSeconds);
    expect(pod.restartPolicy).toBe('Never');
    expect(job.spec.backoffLimit).toBe(0);
    expect(runner.volumeMounts).toEqual([{ name: 'reports', mountPath: '/app/reports' }]);
  });
});
