// The HTTP transport, concurrency guarantees, the control listener and the CLI.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeSigner } from '../lib/signing/node.ts';
import { Code } from '../lib/spec/index.ts';
import { FAULTS } from './faults.ts';
import { DEFAULT_FIXTURES_PATH, type SandboxFixtures } from './fixtures.ts';
import { startSandbox, type SandboxHandle } from './index.ts';
import { MAIN_KEY, T0, freshNonce } from './testing.ts';

const signer = createNodeSigner({ now: () => T0 });
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function signedInit(target: string, body: string, nonce = freshNonce(), timestamp?: string): RequestInit {
  const { headers } = signer.sign({ method: 'POST', target, body, nonce, ...MAIN_KEY, ...(timestamp ? { timestamp } : {}) });
  return { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body };
}

async function post(sandbox: SandboxHandle, target: string, body: string, nonce?: string, timestamp?: string) {
  const res = await fetch(sandbox.url + target, signedInit(target, body, nonce, timestamp));
  return { status: res.status, contentType: res.headers.get('content-type'), envelope: (await res.json()) as { code: number; data: unknown } };
}

describe('http transport', () => {
  let sandbox: SandboxHandle;
  const fixtures = JSON.parse(readFileSync(DEFAULT_FIXTURES_PATH, 'utf8')) as SandboxFixtures;
  const template = fixtures.apps.find((a) => a.key === 'apk-flow-minute-2')!;
  fixtures.apps.push({
    ...template,
    key: 'apk-flow-minute-7',
    versions: template.versions.map((v) => ({ ...v, id: v.id.replace('minute-2', 'minute-7') })),
    strategies: [{ ...template.strategies![0]!, id: 'st-apk-flow-minute-7', versionId: 'apk-flow-minute-7@2', flowLimit: { enabled: true, rules: [{ id: 'fr-7', enabled: true, beginTime: '00:00:00', endTime: '23:59:59', dimension: 2, limit: 7 }] } }],
  });

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, controlPort: 0, fixtures });
    sandbox.clock.freeze(T0);
  });
  afterAll(async () => sandbox.close());

  it('http > a signed upgrade answers 200 with the JSON envelope', async () => {
    const reply = await post(sandbox, '/v1/apk/upgrade', '{"apkKey":"apk-basic","versionCode":1}');
    expect([reply.status, reply.contentType, reply.envelope.code]).toEqual([200, 'application/json; charset=utf-8', Code.OK]);
  });

  it('http > GET /healthz is the only extra route', async () => {
    const res = await fetch(`${sandbox.url}/healthz`);
    expect([res.status, await res.json()]).toEqual([200, { status: 'ok' }]);
    const clock = await fetch(`${sandbox.url}/clock`);
    expect((await clock.json()).code).toBe(Code.REQUEST_NOT_FOUND);
  });

  it('http > HEAD on a signed route → 400 with no body', async () => {
    const res = await fetch(`${sandbox.url}/v1/apk/upgrade`, { method: 'HEAD' });
    expect([res.status, res.headers.get('content-type'), await res.text()]).toEqual([400, 'application/json; charset=utf-8', '']);
  });

  it('http > a chunked body over 1 MiB → 400005, counted as read', async () => {
    const target = '/v1/apk/upgrade';
    const { headers } = signer.sign({ method: 'POST', target, body: 'x', ...MAIN_KEY });
    const chunk = new Uint8Array(256 * 1024).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 5) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(sandbox.url + target, {
      method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: stream, duplex: 'half',
    } as RequestInit);
    expect([res.status, (await res.json()).code]).toEqual([400, Code.INVALID_BODY]);
  });

  it('http > malformed HTTP gets a 400001 envelope, not a crash', async () => {
    const net = await import('node:net');
    const text = await new Promise<string>((resolve) => {
      const socket = net.connect(sandbox.port, '127.0.0.1', () => socket.write('POST /v1/apk/upgrade HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n'));
      let out = '';
      socket.on('data', (d) => (out += d.toString()));
      socket.on('close', () => resolve(out));
    });
    expect(text).toMatch(/^HTTP\/1.1 400/);
    expect(text).toContain('"code":400001');
  });

  it('concurrency > 1000 concurrent requests with one valid nonce → exactly one acceptance', async () => {
    const nonce = freshNonce();
    const init = signedInit('/v1/apk/upgrade', '{"apkKey":"apk-basic","versionCode":1}', nonce);
    const codes = await Promise.all(
      Array.from({ length: 1000 }, async () => ((await (await fetch(`${sandbox.url}/v1/apk/upgrade`, init)).json()) as { code: number }).code),
    );
    expect(codes.filter((c) => c === Code.OK)).toHaveLength(1);
    expect(codes.filter((c) => c === Code.AUTH_FAILED)).toHaveLength(999);
  });

  it('concurrency > a flow limit of 7 per minute under 200 concurrent requests → exactly 7 successes', async () => {
    const mid = Math.floor(T0 / 60_000) * 60_000 + 30_000;
    sandbox.clock.freeze(mid);
    const ts = new Date(mid).toISOString();
    const replies = await Promise.all(Array.from({ length: 200 }, () => post(sandbox, '/v1/apk/upgrade', '{"apkKey":"apk-flow-minute-7","versionCode":1}', undefined, ts)));
    const codes = replies.map((r) => r.envelope.code);
    expect(codes.filter((c) => c === Code.OK)).toHaveLength(7);
    expect(codes.filter((c) => c === Code.FLOW_LIMITED)).toHaveLength(193);
    sandbox.clock.freeze(T0);
  });

  it('control > clock and reset over the loopback listener', async () => {
    const control = sandbox.controlUrl!;
    const call = async (method: string, path: string, body?: object) =>
      (await fetch(control + path, { method, ...(body ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}) })).json();
    expect(await call('POST', '/clock', { set: '2030-01-01T00:00:00Z' })).toEqual({ now: '2030-01-01T00:00:00.000Z', frozen: true });
    expect(await call('POST', '/clock', { unfreeze: true })).toMatchObject({ frozen: false });
    expect(await call('POST', '/clock', { freeze: true })).toMatchObject({ frozen: true });
    const offset = (await call('POST', '/clock', { offsetMs: -86_400_000 })) as { now: string };
    expect(Math.abs(Date.parse(offset.now) - (Date.now() - 86_400_000))).toBeLessThan(5_000);
    expect((await fetch(`${control}/clock`, { method: 'POST', body: '{"bogus":1}' })).status).toBe(400);
    // A used nonce is forgotten after reset, and the clock runs at real time again.
    sandbox.clock.freeze(T0);
    const nonce = freshNonce();
    expect((await post(sandbox, '/v1/apk/upgrade', '{"apkKey":"apk-basic","versionCode":1}', nonce)).envelope.code).toBe(Code.OK);
    const state = (await call('POST', '/reset')) as { frozen: boolean; now: string };
    expect(state.frozen).toBe(false);
    expect(Math.abs(Date.parse(state.now) - Date.now())).toBeLessThan(5_000);
    sandbox.clock.freeze(T0);
    expect((await post(sandbox, '/v1/apk/upgrade', '{"apkKey":"apk-basic","versionCode":1}', nonce)).envelope.code).toBe(Code.OK);
  });
});

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; child: ReturnType<typeof spawn> }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/main.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d.toString();
      if (stdout.includes('\n') && args.includes('--port')) resolve({ code: null, stdout, stderr, child });
    });
    child.stderr.on('data', (d) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr, child }));
  });
}

describe('cli', () => {
  it('cli > --list-faults prints one line per fault; an unknown fault exits 2 naming it', async () => {
    const [list, bad] = await Promise.all([runCli(['--list-faults']), runCli(['--fault', 'no-such-fault'])]);
    expect(list.code).toBe(0);
    expect(list.stdout.trim().split('\n')[0]).toMatch(/^accept-any-signature\s{2,}\S/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no-such-fault');
    expect(bad.stderr).toContain('--list-faults');
  });

  it('cli > --list-faults --json prints one JSON array of name, rule, stage, description', async () => {
    const list = await runCli(['--list-faults', '--json']);
    expect(list.code).toBe(0);
    const faults = JSON.parse(list.stdout) as Array<Record<string, string>>;
    expect(faults.length).toBe(FAULTS.length);
    expect(Object.keys(faults[0]!).sort()).toEqual(['description', 'name', 'rule', 'stage']);
  });

  it('cli > conflicting faults exit 2 naming both', async () => {
    const bad = await runCli(['--fault', 'accept-any-content-type', '--fault', 'content-type-exact']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/accept-any-content-type.*content-type-exact/);
  });

  it('cli > prints one listening line, with the control URL, and exits 0 on SIGTERM', async () => {
    const run = await runCli(['--port', '0', '--control-port', '0'], { SANDBOX_FAULTS: 'forget-nonces' });
    expect(run.stdout).toMatch(/^sandbox listening on http:\/\/127\.0\.0\.1:\d+ control http:\/\/127\.0\.0\.1:\d+\n$/);
    const exited = new Promise<number | null>((resolve) => run.child.on('exit', resolve));
    run.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
