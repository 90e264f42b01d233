// A command, not a repo: the packed package, installed into an empty folder, runs
// `npx upgradelink-contract check --base-url URL` against a deployment and writes the same reports
// there, as a team would from its own server repository's CI.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../sandbox/index.ts';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = mkdtempSync(path.join(tmpdir(), 'upgradelink-pack-'));
const app = path.join(work, 'team-repo');
let deployment: SandboxHandle;

beforeAll(async () => {
  execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, stdio: 'pipe' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${work}`);
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(path.join(app, 'package.json'), '{"name":"team-repo","private":true}\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', path.join(work, tarball)], { cwd: app, stdio: 'pipe' });
  // "Their" deployment: a sandbox with one deviation, reached over HTTP like any staging.
  deployment = await startSandbox({ port: 0, faults: ['forget-nonces'] });
}, 240_000);

afterAll(async () => {
  await deployment?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the packed package in an empty folder', () => {
  it('installs only what it needs: no test of its own but the contract suite', () => {
    const installed = path.join(app, 'node_modules', 'upgradelink-contract');
    expect(existsSync(path.join(installed, 'contract', 'signing.contract.test.ts'))).toBe(true);
    expect(existsSync(path.join(installed, 'contract', 'findings.test.ts'))).toBe(false);
    expect(existsSync(path.join(installed, 'load'))).toBe(false);
  });

  it('`npx upgradelink-contract check --base-url URL` judges the deployment and writes the reports there', async () => {
    // Asynchronously: the deployment answers from this very process.
    const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('npx', ['--no-install', 'upgradelink-contract', 'check', '--base-url', deployment.url], {
        cwd: app,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', UPGRADELINK_ACCESS_KEY: 'ak-sandbox-0001', UPGRADELINK_SECRET_KEY: 'test-secret-DO-NOT-USE-0001' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stdout).toContain('[critical] replay.nonce-single-use');
    const findings = JSON.parse(readFileSync(path.join(app, 'reports', 'contract-findings.json'), 'utf8')) as { findings: Array<{ rule: string }>; judged: boolean };
    expect(findings.judged).toBe(true);
    expect(findings.findings.map((f) => f.rule)).toEqual(['replay.nonce-single-use']);
    expect(readFileSync(path.join(app, 'reports', 'contract-report.md'), 'utf8')).toContain('### 1. [critical] replay.nonce-single-use');
    expect(existsSync(path.join(app, 'reports', 'contract-junit.xml'))).toBe(true);
    expect(run.stdout + run.stderr).not.toContain('test-secret-DO-NOT-USE-0001');
  }, 200_000);
});
