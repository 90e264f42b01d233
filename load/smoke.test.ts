// The load smoke end to end against the embedded sandbox: it runs every scenario briefly and passes on
// a correct target, writes every report, and its thresholds fail when the target breaks a rule (a
// sandbox fault switch).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function smoke(...args: string[]) {
  const out = mkdtempSync(join(tmpdir(), 'load-smoke-'));
  const env = { ...process.env };
  delete env.UPGRADELINK_BASE_URL;
  // The load logic is under test here, not where the sandbox runs (harness/ and load/target.test.ts test the container path).
  env.UPGRADELINK_RUNTIME = 'process';
  const run = spawnSync('npx', ['tsx', 'load/smoke.ts', '--duration', '1', '--connections', '4', '--out', out, ...args], {
    encoding: 'utf8',
    env,
    timeout: 60_000,
  });
  return { ...run, out };
}

describe('load smoke', () => {
  it('load smoke > passes against the sandbox, runs every scenario and writes its reports', () => {
    const run = smoke();
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(run.out, 'load-smoke.json'), 'utf8'));
    expect(report.passed).toBe(true);
    expect(report.requests).toBeGreaterThan(100);
    expect(readFileSync(join(run.out, 'load-smoke.md'), 'utf8')).toMatch(/# Load smoke: passed/);

    const summary = JSON.parse(readFileSync(join(run.out, 'load-summary.json'), 'utf8'));
    expect(summary.passed).toBe(true);
    expect(summary.scenarios.map((s: { scenario: string }) => s.scenario)).toEqual(['journey', 'throughput', 'replay', 'ratelimit']);
    const files = readdirSync(run.out).sort();
    expect(files).toEqual([
      'load-journey.json',
      'load-junit.xml',
      'load-ratelimit.json',
      'load-replay.json',
      'load-report.html',
      'load-smoke.json',
      'load-smoke.md',
      'load-summary.json',
      'load-throughput.json',
    ]);
    const junit = readFileSync(join(run.out, 'load-junit.xml'), 'utf8');
    expect(junit.match(/<testcase /g)?.length).toBe(summary.thresholds.total);
    expect(junit).not.toContain('<failure');
    expect(readFileSync(join(run.out, 'load-report.html'), 'utf8')).toMatch(/<title>Load report: passed<\/title>/);
    expect(run.stdout).toMatch(/^load:smoke: all thresholds passed$/m);

    // The secret appears nowhere: not in the output, not in any report.
    expect(run.stdout + run.stderr).not.toContain('test-secret-DO-NOT-USE');
    for (const file of files) expect(readFileSync(join(run.out, file), 'utf8'), file).not.toContain('test-secret-DO-NOT-USE');
  });

  it('load smoke > fails its thresholds when the target answers the wrong business code', () => {
    const run = smoke('--fault', 'latest-code-200', '--scenarios', 'journey,ratelimit');
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/FAIL business code outside the expected set/);
    const junit = readFileSync(join(run.out, 'load-junit.xml'), 'utf8');
    expect(junit).toMatch(/<testcase classname="load.journey" name="business code outside the expected set = 0" time="0">\s*<failure /);
  });

  it('load smoke > refuses a non-loopback target without the confirmation variable', () => {
    const run = spawnSync('npx', ['tsx', 'load/smoke.ts', '--base-url', 'https://staging.example.com', '--rate', '5'], {
      encoding: 'utf8',
      env: { ...process.env, UPGRADELINK_ACCESS_KEY: 'ak', UPGRADELINK_SECRET_KEY: 'sk', LOAD_CONFIRM_HOST: '' },
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/LOAD_CONFIRM_HOST=staging\.example\.com/);
  });
});
