// The load entry points as users run them: exit codes, report files, the split over processes and
// the staging guard. Each starts its own embedded sandbox on a free loopback port.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function run(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const out = mkdtempSync(join(tmpdir(), 'load-cli-'));
  const base = { ...process.env };
  delete base.UPGRADELINK_BASE_URL;
  delete base.UPGRADELINK_ACCESS_KEY;
  delete base.UPGRADELINK_SECRET_KEY;
  // The load logic is under test here, not where the sandbox runs (harness/ and load/target.test.ts test the container path).
  base.UPGRADELINK_RUNTIME = 'process';
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, '--out', out, ...args], {
    encoding: 'utf8',
    env: { ...base, ...env },
    timeout: 60_000,
  });
  return { ...result, out, output: result.stdout + result.stderr };
}

describe('load cli', () => {
  it('load cli > split runs two processes with half the rate and budget each, and the totals add up', () => {
    const r = run('load/split.ts', ['--rate', '200', '--duration', '1', '--connections', '4']);
    expect(r.status, r.output).toBe(0);
    const split = JSON.parse(readFileSync(join(r.out, 'load-split.json'), 'utf8'));
    expect(split.passed).toBe(true);
    expect(split.budget).toBe(200);
    expect(split.parts.map((p: { segment: string; requestedRate: number; budget: number }) => [p.segment, p.requestedRate, p.budget])).toEqual([
      ['0:1/2', 100, 100],
      ['1/2:1', 100, 100],
    ]);
    expect(split.sent).toBeGreaterThanOrEqual(190);
    expect(r.stdout).toMatch(/^  \[part 1\] throughput: passed/m);
    expect(r.stdout).toMatch(/^  \[part 2\] throughput: passed/m);
    expect(r.output).not.toContain('test-secret-DO-NOT-USE');

    // Parts from several machines are checked with --merge; a missing half fails.
    const half = run('load/split.ts', ['--merge', join(r.out, 'load-throughput-part1.json')]);
    expect(half.status).toBe(1);
    expect(half.stdout).toMatch(/FAIL segments cover 0:1 exactly once \(0:1\/2\)/);
    expect(half.stdout).toMatch(/FAIL sum of part budgets = single-process budget/);
  });

  it('load cli > ratelimit exits 1 against a server that allows one request too many', () => {
    const r = run('load/ratelimit.ts', ['--windows', '2', '--fault', 'flow-limit-off-by-one', '--quiet']);
    expect(r.status, r.output).toBe(1);
    expect(r.stdout).toMatch(/FAIL windows with exactly 1 code-200 answer/);
    const report = JSON.parse(readFileSync(join(r.out, 'load-ratelimit.json'), 'utf8'));
    expect(report.passed).toBe(false);
    expect(report.windows.map((w: { success: number }) => w.success)).toEqual([2, 2]);
  });

  it('load cli > replay exits 0 against the sandbox and writes its report', () => {
    const r = run('load/replay.ts', ['--duration', '0.5', '--rounds', '1', '--quiet']);
    expect(r.status, r.output).toBe(0);
    expect(readdirSync(r.out)).toEqual(['load-replay.json']);
  });

  it('load cli > every scenario refuses a remote target without LOAD_CONFIRM_HOST, and caps the rate', () => {
    const env = { UPGRADELINK_ACCESS_KEY: 'ak', UPGRADELINK_SECRET_KEY: 'sk', LOAD_CONFIRM_HOST: '' };
    for (const script of ['load/throughput.ts', 'load/ratelimit.ts', 'load/replay.ts', 'load/split.ts']) {
      const rate = script === 'load/ratelimit.ts' ? [] : ['--rate', '5']; // ratelimit's rate follows from its bursts
      const r = run(script, ['--base-url', 'https://staging.example.com', ...rate], env);
      expect(r.status, `${script}: ${r.output}`).toBe(2);
      expect(r.stderr, script).toMatch(/LOAD_CONFIRM_HOST=staging\.example\.com/);
    }
    const fast = run('load/throughput.ts', ['--base-url', 'https://staging.example.com', '--rate', '400'], { ...env, LOAD_CONFIRM_HOST: 'staging.example.com' });
    expect(fast.status).toBe(2);
    expect(fast.stderr).toMatch(/over the remote cap of 50/);
  });

  it('load cli > --runtime and --runner take only the known values, and exit 2 naming the flag', () => {
    const runtime = run('load/smoke.ts', ['--runtime', 'k8s']);
    expect(runtime.status, runtime.output).toBe(2);
    expect(runtime.stderr.trim()).toBe('load:smoke: --runtime: runtime must be container, process or auto; got "k8s"');
    const runner = run('load/smoke.ts', ['--runner', 'k6']);
    expect(runner.status, runner.output).toBe(2);
    expect(runner.stderr.trim()).toBe('load:smoke: --runner must be process or container, got "k6"');
    const remote = run('load/throughput.ts', ['--runtime', 'container', '--base-url', 'http://127.0.0.1:9', '--rate', '5']);
    expect(remote.status, remote.output).toBe(2);
    expect(remote.stderr).toMatch(/--runtime applies to the embedded sandbox only/);
  });

  it('load cli > --runner container with no engine says why before any traffic', () => {
    const r = run('load/smoke.ts', ['--runner', 'container', '--duration', '1'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(r.status, r.output).toBe(2);
    expect(r.stderr).toMatch(/^load:smoke: --runner container: no Docker engine reachable at \/nonexistent\/docker\.sock .*; or use --runner process$/m);
    expect(r.stdout).not.toMatch(/journey:/);
  });
});
