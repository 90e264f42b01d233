// `upgradelink-contract check`: bad input exits 2 with one line naming the flag or variable; a target
// that cannot be judged (a closed port, a silent server, something that is not the API) ends the run in
// seconds with exit 2, naming the URL and the cause, and a report saying so.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/index.ts';
import { checkOptions, CheckUsageError } from './check.ts';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIN = path.join(ROOT, 'bin', 'upgradelink-contract.mjs');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'check', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

const CREDS = { UPGRADELINK_ACCESS_KEY: 'ak-staging', UPGRADELINK_SECRET_KEY: 'not-a-real-secret-0123' };
const servers: Array<{ close(): void }> = [];
afterAll(() => {
  for (const s of servers) s.close();
});

describe('check options', () => {
  it('a deployment by --base-url; the sandbox by default, even with UPGRADELINK_BASE_URL exported', () => {
    const remote = checkOptions(['--base-url', 'https://staging.example.com'], CREDS);
    expect(remote).toMatchObject({ target: 'remote', baseUrl: 'https://staging.example.com', accessKey: 'ak-staging', failOn: 'major', prism: 'auto' });
    expect(checkOptions([], { ...CREDS, UPGRADELINK_BASE_URL: 'https://staging.example.com' })).toMatchObject({ target: 'sandbox' });
    expect(checkOptions([], { CONTRACT_TARGET: 'remote', UPGRADELINK_BASE_URL: 'https://s.example.com', CONTRACT_FIXTURES: 'fixtures/sandbox.json' })).toMatchObject({ target: 'remote', baseUrl: 'https://s.example.com', fixtures: 'fixtures/sandbox.json' });
    expect(checkOptions(['--fault', 'a', '--rule', 'x.y', '--allow', 'flow-quota'], { CONTRACT_FAULTS: 'b, c', CONTRACT_PRISM: '0' })).toMatchObject({ faults: ['a', 'b', 'c'], rules: ['x.y'], allow: ['flowQuota'], prism: 'off' });
  });

  it('rejects bad values, naming the flag and what is allowed', () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--fail-on', 'severe'], {}, /--fail-on must be one of critical, major, minor, advisory, none; got "severe"/],
      [['--target', 'prod'], {}, /--target must be one of sandbox, mock, remote; got "prod"/],
      [['--runtime', 'k8s'], {}, /--runtime must be one of auto, container, process; got "k8s"/],
      [['--allow', 'everything'], {}, /--allow must be one of flow-quota, bursts; got "everything"/],
      [['--timeout', '0'], {}, /--timeout must be a number of seconds from 1 to 300; got "0"/],
      [['--update-baseline'], {}, /--update-baseline needs --baseline FILE/],
      [['--base-url', 'http://x', '--target', 'sandbox'], {}, /--base-url points at a deployment, but --target is sandbox/],
      [['--bogus'], {}, /Unknown option '--bogus'/],
      [[], { CONTRACT_TARGET: 'staging' }, /CONTRACT_TARGET must be one of sandbox, mock, remote; got "staging"/],
    ];
    for (const [argv, env, message] of cases) expect(() => checkOptions(argv, env), argv.join(' ')).toThrow(message);
    expect(() => checkOptions(['--fail-on', 'x'], {})).toThrow(CheckUsageError);
  });

  it('exits 2 with one line (and the usage) for bad input and missing credentials, never a stack trace', async () => {
    const bad = await run(['--fail-on', 'severe']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('upgradelink-contract check: --fail-on must be one of critical, major, minor, advisory, none; got "severe"');
    const noSecret = await run(['--base-url', 'http://127.0.0.1:9'], { UPGRADELINK_ACCESS_KEY: 'ak' });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr.trim()).toBe('upgradelink-contract check: the secret paired with ak is not set: export UPGRADELINK_SECRET_KEY (or pass --secret-file FILE)');
    const noFixtures = await run(['--base-url', 'http://127.0.0.1:9', '--fixtures', '/nonexistent/f.json'], CREDS);
    expect(noFixtures.code).toBe(2);
    expect(noFixtures.stderr).toMatch(/cannot read the fixtures file \/nonexistent\/f.json \(--fixtures \/ CONTRACT_FIXTURES\): ENOENT/);
    // A baseline that is not there is named before anything starts (the port is closed: not reached).
    const noBaseline = await run(['--base-url', 'http://127.0.0.1:9', '--baseline', '/nonexistent/b.json'], CREDS);
    expect(noBaseline.code).toBe(2);
    expect(noBaseline.stderr).toContain('--baseline /nonexistent/b.json: no such file (create it with --update-baseline)');
    expect(noBaseline.seconds).toBeLessThan(10);
    for (const r of [bad, noSecret, noFixtures, noBaseline]) expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});

describe('a target that cannot be judged', () => {
  it('a closed port: exit 2 within seconds, naming the URL and the cause, and a report saying so', async () => {
    const port = await freePort();
    const reports = mkdtempSync(path.join(tmpdir(), 'check-closed-'));
    const r = await run(['--base-url', `http://127.0.0.1:${port}`, '--no-prism', '--report-dir', reports], CREDS);
    expect(r.code).toBe(2);
    expect(r.seconds).toBeLessThan(20);
    expect(r.stderr).toContain(`cannot judge http://127.0.0.1:${port}: cannot connect to http://127.0.0.1:${port}: ECONNREFUSED`);
    const report = readFileSync(path.join(reports, 'contract-report.md'), 'utf8');
    expect(report).toContain('COULD NOT JUDGE THE TARGET (exit 2)');
    expect(report).toContain('ECONNREFUSED');
    expect(JSON.parse(readFileSync(path.join(reports, 'contract-findings.json'), 'utf8'))).toMatchObject({ judged: false, exitCode: 2 });
  }, 30_000);

  it('a server that accepts connections and never answers: exit 2 within 20 s, with the default settings', async () => {
    const silent = net.createServer(() => undefined);
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const r = await run(['--base-url', url, '--runtime', 'process', '--report-dir', mkdtempSync(path.join(tmpdir(), 'check-silent-'))], CREDS);
    expect(r.code).toBe(2);
    expect(r.seconds).toBeLessThan(20);
    expect(r.stderr).toContain(`${url} accepted the connection but sent no answer to POST /v1/apk/upgrade within 5 s`);
  }, 40_000);

  it('something that is not the API (an HTML page): exit 2 naming what it answered', async () => {
    const web = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html>welcome</html>');
    });
    servers.push(web);
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(web.address() as net.AddressInfo).port}`;
    const r = await run(['--base-url', url, '--no-prism', '--report-dir', mkdtempSync(path.join(tmpdir(), 'check-html-'))], CREDS);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${url} answered POST /v1/apk/upgrade with HTTP 200 (text/html) and a body that is not an UpgradeLink JSON envelope`);
  }, 30_000);
});
