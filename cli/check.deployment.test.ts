// `upgradelink-contract check` against a deployment, end to end, as the README's "Running against
// staging" walks through it: a sandbox started as the remote target (with a fault on and one fixture
// app not seeded), a first run, a baseline adopted, a run against the baseline; and the local sandbox
// target ignoring staging credentials exported in the shell.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../sandbox/index.ts';
import type { SandboxFixtures } from '../sandbox/fixtures.ts';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIN = path.join(ROOT, 'bin', 'upgradelink-contract.mjs');
const FIXTURES = path.join(ROOT, 'fixtures', 'sandbox.json');
const SECRET = 'test-secret-DO-NOT-USE-0001';
const STAGING = { UPGRADELINK_ACCESS_KEY: 'ak-sandbox-0001', UPGRADELINK_SECRET_KEY: SECRET };
/** The app the deployment was not seeded with. */
const NOT_SEEDED = 'lnx-x64-only';

function check(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    // Asynchronously: the deployment answers from this very process.
    const child = spawn(process.execPath, [BIN, 'check', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

let deployment: SandboxHandle;
const dir = mkdtempSync(path.join(tmpdir(), 'check-deployment-'));

beforeAll(async () => {
  const seeded = readJson<SandboxFixtures>(FIXTURES);
  deployment = await startSandbox({ port: 0, faults: ['forget-nonces'], fixtures: { ...seeded, apps: seeded.apps.filter((a) => a.key !== NOT_SEEDED) } });
});
afterAll(async () => {
  await deployment?.close();
});

describe('check against a deployment, as the README walks through it', () => {
  // Only the rules the walk needs, to keep it short: the fault's, and one that needs the missing app.
  const rules = ['--rule', 'replay.nonce-single-use', '--rule', 'upgrade.arch-filter'];
  const remote = () => ['--base-url', deployment.url, '--fixtures', FIXTURES, '--report-dir', dir, ...rules];

  it('first run: one finding for the fault, exit 1; the tests needing the app it lacks are skipped, naming the key', { timeout: 120_000 }, async () => {
    const run = await check(remote(), STAGING);
    expect(run.code, run.out).toBe(1);
    expect(run.out).toContain(`role(s) missing on the target`);
    const doc = readJson<{ judged: boolean; findings: Array<{ rule: string; severity: string; repro?: unknown }>; rules: Array<{ id: string; skipped: number; skipReasons?: string[] }> }>(path.join(dir, 'contract-findings.json'));
    expect(doc.judged).toBe(true);
    expect(doc.findings.map((f) => [f.rule, f.severity])).toEqual([['replay.nonce-single-use', 'critical']]);
    const report = readFileSync(path.join(dir, 'contract-report.md'), 'utf8');
    expect(report).toMatch(/### 1\. \[critical\] replay\.nonce-single-use/);
    // The skip names the role and the key, and says the target lacks it (not a failure of the target).
    expect(report).toContain(`fixture role x64OnlyLnx: the lnx app "${NOT_SEEDED}" is not on the target`);
    expect(run.out + report).not.toContain(SECRET);
  });

  it('adopting a baseline: --update-baseline records it; the next run knows it and exits 0', { timeout: 120_000 }, async () => {
    const baseline = path.join(dir, 'contract-baseline.json');
    const adopt = await check([...remote(), '--baseline', baseline, '--update-baseline'], STAGING);
    expect(adopt.code, adopt.out).toBe(0);
    expect(readJson<{ findings: Array<{ rule: string }> }>(baseline).findings.map((f) => f.rule)).toEqual(['replay.nonce-single-use']);
    const again = await check([...remote(), '--baseline', baseline], STAGING);
    expect(again.code, again.out).toBe(0);
    const doc = readJson<{ findings: Array<{ rule: string; status: string }> }>(path.join(dir, 'contract-findings.json'));
    expect(doc.findings.map((f) => [f.rule, f.status])).toEqual([['replay.nonce-single-use', 'known']]);
  });
});

describe('check against the local sandbox', () => {
  it('ignores staging credentials exported in the shell, saying so in one line', { timeout: 120_000 }, async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'check-local-'));
    const run = await check(['--runtime', 'process', '--no-prism', '--report-dir', out, '--rule', 'baseline.signed-request-accepted'], {
      UPGRADELINK_ACCESS_KEY: 'ak-staging',
      UPGRADELINK_SECRET_KEY: 'staging-secret-0123456789',
    });
    expect(run.code, run.out).toBe(0);
    expect(run.out.split('\n').filter((l) => /UPGRADELINK_SECRET_KEY/.test(l) && /ignored/.test(l))).toHaveLength(1);
    expect(run.out).not.toContain('staging-secret-0123456789');
    expect(readJson<{ findings: unknown[] }>(path.join(out, 'contract-findings.json')).findings).toEqual([]);
  });
});
