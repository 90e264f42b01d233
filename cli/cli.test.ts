// Runs bin/upgradelink-contract.mjs as a child process, as a user would.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/upgradelink-contract.mjs', import.meta.url));
const SECRET = 'test-secret-DO-NOT-USE-0001';
const N = 'fc812cc0b9b51e8c';
const T = '2025-02-17T02:34:55Z';
const V1_BODY =
  '{"apkKey":"isVZBUvkFhv6oHxk_X-D0Q","versionCode":1,"appointVersionCode":0,"devModelKey":"stv1","devKey":"LOYlLXNy7w"}';
const V1_SIG = 'a3b35614fce8d1fcb915d6789ea41369';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const outputs: Run[] = [];

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('UPGRADELINK_')) env[k] = v;
  return env;
}

function run(args: string[], env: Record<string, string> = { UPGRADELINK_SECRET_KEY: SECRET }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...baseEnv(), ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const result = { code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr };
      outputs.push(result);
      resolve(result);
    });
  });
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');
/** A canonical string written out by hand (independent of lib/signing). */
const canon = (o: { body?: string | null; nonce?: string; secret?: string; ts?: string; url: string }) =>
  `${o.body === null ? '' : `body=${o.body ?? ''}&`}nonce=${o.nonce ?? N}&secretKey=${o.secret ?? SECRET}&timestamp=${o.ts ?? T}&url=${o.url}`;

const V1_ARGS = ['--method', 'POST', '--url', '/v1/apk/upgrade', '--body', V1_BODY, '--access-key', 'ak-test', '--nonce', N, '--timestamp', T];

afterAll(() => {
  // Whatever each command printed, the secret never appeared.
  for (const r of outputs) {
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).not.toContain(SECRET);
  }
});

describe('sign', () => {
  it('--json reproduces V1', async () => {
    const r = await run(['sign', ...V1_ARGS, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.signature).toBe(V1_SIG);
    expect(out.headers).toEqual({
      'Content-Type': 'application/json',
      'X-Timestamp': T,
      'X-Nonce': N,
      'X-AccessKey': 'ak-test',
      'X-Signature': V1_SIG,
    });
    expect(out.canonical).toBe(canon({ body: V1_BODY, secret: '********', url: '/v1/apk/upgrade' }));
    expect(out.curl).toContain(`-H 'X-Signature: ${V1_SIG}'`);
  });

  it('human output: masked canonical, signature, headers and a curl command', async () => {
    const r = await run(['sign', ...V1_ARGS]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`canonical: ${canon({ body: V1_BODY, secret: '********', url: '/v1/apk/upgrade' })}`);
    expect(r.stdout).toContain(`signature: ${V1_SIG}`);
    expect(r.stdout).toContain(`  X-Signature: ${V1_SIG}`);
    expect(r.stdout).toContain(
      `curl -sS -X POST 'http://127.0.0.1:8787/v1/apk/upgrade' -H 'Content-Type: application/json' -H 'X-Timestamp: ${T}' -H 'X-Nonce: ${N}' -H 'X-AccessKey: ak-test' -H 'X-Signature: ${V1_SIG}' --data-binary '${V1_BODY}'`,
    );
  });

  it('--secret-file and --body-file give the same result; a full --url sets the host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulc-'));
    writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
    writeFileSync(join(dir, 'body.json'), V1_BODY);
    const r = await run(
      ['sign', '--method', 'POST', '--url', 'http://sandbox.test:9000/v1/apk/upgrade', '--body-file', join(dir, 'body.json'), '--access-key', 'ak-test', '--nonce', N, '--timestamp', T, '--secret-file', join(dir, 'secret'), '--json'],
      {},
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.signature).toBe(V1_SIG);
    expect(out.curl).toContain(`'http://sandbox.test:9000/v1/apk/upgrade'`);
    expect(out.curl).toContain(`--data-binary @'${join(dir, 'body.json')}'`);
  });

  it('GET needs no body and has no body part', async () => {
    const r = await run(['sign', '--method', 'GET', '--url', '/v1/apk/upgrade?a=1', '--access-key', 'ak', '--nonce', N, '--timestamp', T, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).signature).toBe(md5(canon({ body: null, url: '/v1/apk/upgrade?a=1' })));
  });

  it('quotes single quotes in the curl body', async () => {
    const r = await run(['sign', '--method', 'POST', '--url', '/p', '--body', `{"a":"it's"}`, '--access-key', 'ak', '--json']);
    expect(JSON.parse(r.stdout).curl).toContain(`--data-binary '{"a":"it'\\''s"}'`);
  });
});

describe('usage errors name what is missing (exit 2)', () => {
  it.each([
    [['sign', '--url', '/p', '--body', '', '--access-key', 'k'], 'error: --method is required'],
    [['sign', '--method', 'POST', '--body', '', '--access-key', 'k'], 'error: --url is required'],
    [['sign', '--method', 'POST', '--url', '/p', '--body', ''], 'error: --access-key is required'],
    [['sign', '--method', 'POST', '--url', '/p', '--access-key', 'k'], 'error: --body or --body-file is required for POST'],
    [['sign', '--method', 'POST', '--url', '/p', '--access-key', 'k', '--body', 'x', '--body-file', 'f'], 'error: pass either --body or --body-file'],
    [['sign', '--method', 'POST', '--url', '/p', '--access-key', 'k', '--secret-file', '/nonexistent/secret', '--body', ''], 'error: cannot read --secret-file /nonexistent/secret'],
    [['sign', '--method', 'POST', '--url', '/p', '--access-key', 'k', '--body', '', '--bogus'], "error: Unknown option '--bogus'"],
    [['frobnicate'], 'error: unknown command "frobnicate"'],
    [['explain', '--url', '/p', '--body', '', '--header', 'X-Timestamp: t', '--header', 'X-Nonce: n'], "error: header X-Signature is required (pass --header 'X-Signature: …')"],
    [['explain', '--body', ''], 'error: --url is required'],
  ])('%j', async (args, message) => {
    const r = await run(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('no secret: names UPGRADELINK_SECRET_KEY and --secret-file', async () => {
    const r = await run(['sign', '--method', 'POST', '--url', '/p', '--body', '', '--access-key', 'k'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: UPGRADELINK_SECRET_KEY is not set (or pass --secret-file FILE)');
  });

  it('no command prints usage and exits 2; --help exits 0', async () => {
    expect((await run([])).code).toBe(2);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: upgradelink-contract');
  });
});

describe('call', () => {
  let server: http.Server;
  let baseUrl: string;
  const seen: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ url: req.url!, headers: req.headers, body });
        const expected = md5(canon({ body, nonce: String(req.headers['x-nonce']), ts: String(req.headers['x-timestamp']), url: decodeURIComponent(req.url!) }));
        const ok = expected === req.headers['x-signature'];
        res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(ok ? { code: 0, msg: 'ok', data: null } : { code: 401002, msg: 'bad signature', data: null }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends a signed request and prints status and body', async () => {
    const r = await run(['call', '--method', 'POST', '--url', '/v1/apk/upgrade', '--body', '{"apkKey":"ü","versionCode":1}', '--access-key', 'ak', '--base-url', baseUrl]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^HTTP 200\n/);
    expect(JSON.parse(r.stdout.slice('HTTP 200\n'.length))).toEqual({ code: 0, msg: 'ok', data: null });
    expect(seen.at(-1)!.body).toBe('{"apkKey":"ü","versionCode":1}');
    expect(seen.at(-1)!.headers['content-type']).toBe('application/json');
    expect(r.stderr).toContain(`> POST ${baseUrl}/v1/apk/upgrade`);
  });

  it('reads UPGRADELINK_BASE_URL; --json; extra --header sent after the signing headers', async () => {
    const r = await run(
      ['call', '--method', 'POST', '--url', '/v1/apk/upgrade?a=1', '--body', '{}', '--access-key', 'ak', '--header', 'X-Extra: 1', '--json'],
      { UPGRADELINK_SECRET_KEY: SECRET, UPGRADELINK_BASE_URL: baseUrl },
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.response.status).toBe(200);
    expect(out.response.json).toEqual({ code: 0, msg: 'ok', data: null });
    expect(Object.keys(out.request.headers)).toEqual(['Content-Type', 'X-Timestamp', 'X-Nonce', 'X-AccessKey', 'X-Signature', 'X-Extra']);
    expect(seen.at(-1)!.url).toBe('/v1/apk/upgrade?a=1');
  });

  it('a connection failure exits 1 with the URL', async () => {
    const r = await run(['call', '--method', 'POST', '--url', '/p', '--body', '{}', '--access-key', 'ak', '--base-url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: request to http://127.0.0.1:1/p failed');
  });
});

describe('explain names the mistake', () => {
  const UNICODE_RAW = '{"apkKey":"ü-你好","versionCode":1}';
  const UNICODE_ESCAPED = '{"apkKey":"\\u00fc-\\u4f60\\u597d","versionCode":1}';
  const v1 = JSON.parse(V1_BODY) as Record<string, unknown>;
  const sorted = Object.fromEntries(Object.keys(v1).sort().map((k) => [k, v1[k]]));

  const cases: Array<{ name: string; cause: string; url: string; body: string; ts?: string; signature: string; method?: string }> = [
    { name: 'pretty-printed body', cause: 'body-pretty-printed', url: '/v1/apk/upgrade', body: V1_BODY, signature: md5(canon({ body: JSON.stringify(v1, null, 2), url: '/v1/apk/upgrade' })) },
    { name: 'keys reordered', cause: 'body-keys-reordered', url: '/v1/apk/upgrade', body: V1_BODY, signature: md5(canon({ body: JSON.stringify(sorted), url: '/v1/apk/upgrade' })) },
    { name: 'signed with \\u escapes, sent raw', cause: 'body-escaped', url: '/v1/apk/upgrade', body: UNICODE_RAW, signature: md5(canon({ body: UNICODE_ESCAPED, url: '/v1/apk/upgrade' })) },
    { name: 'signed raw, sent with \\u escapes', cause: 'body-unescaped', url: '/v1/apk/upgrade', body: UNICODE_ESCAPED, signature: md5(canon({ body: UNICODE_RAW, url: '/v1/apk/upgrade' })) },
    { name: 'body= left out for an empty body', cause: 'body-left-out', url: '/v1/apk/upgrade', body: '', signature: md5(canon({ body: null, url: '/v1/apk/upgrade' })) },
    { name: 'query dropped', cause: 'query-dropped', url: '/v1/url/upgrade?channel=beta', body: '{}', signature: md5(canon({ body: '{}', url: '/v1/url/upgrade' })) },
    { name: 'url not decoded', cause: 'url-not-decoded', url: '/v1/url/upgrade?q=a%20b', body: '{}', signature: md5(canon({ body: '{}', url: '/v1/url/upgrade?q=a%20b' })) },
    { name: 'uppercase hex', cause: 'uppercase-hex', url: '/v1/apk/upgrade', body: V1_BODY, signature: V1_SIG.toUpperCase() },
    { name: 'timestamp changed after signing', cause: 'timestamp-changed', url: '/v1/apk/upgrade', body: V1_BODY, ts: '2025-02-17T02:34:57Z', signature: V1_SIG },
    { name: 'timestamp reformatted (Z signed, +08:00 sent)', cause: 'timestamp-reformatted', url: '/v1/apk/upgrade', body: V1_BODY, ts: '2025-02-17T10:34:55+08:00', signature: V1_SIG },
    { name: 'newline in the secret', cause: 'secret-whitespace', url: '/v1/apk/upgrade', body: V1_BODY, signature: md5(canon({ body: V1_BODY, secret: `${SECRET}\n`, url: '/v1/apk/upgrade' })) },
    {
      name: 'wrong field order',
      cause: 'field-order',
      url: '/v1/apk/upgrade',
      body: V1_BODY,
      signature: md5(`timestamp=${T}&nonce=${N}&body=${V1_BODY}&secretKey=${SECRET}&url=/v1/apk/upgrade`),
    },
    { name: 'trailing & not trimmed', cause: 'trailing-amp-not-trimmed', url: '/v1/url/upgrade?a=1&', body: '{}', signature: md5(canon({ body: '{}', url: '/v1/url/upgrade?a=1&' })) },
    { name: 'trailing slash', cause: 'url-trailing-slash', url: '/v1/apk/upgrade/', body: V1_BODY, signature: V1_SIG },
  ];

  it.concurrent.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const r = await run([
      'explain',
      '--url',
      c.url,
      '--method',
      c.method ?? 'POST',
      '--header',
      `X-Timestamp: ${c.ts ?? T}`,
      '--header',
      `X-Nonce: ${N}`,
      '--header',
      'X-AccessKey: ak-test',
      '--header',
      `X-Signature: ${c.signature}`,
      '--body',
      c.body,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.likelyCause).toBe(c.cause);
    expect(out.signatureCorrect).toBe(false);
    expect(out.matches[0].canonical).toContain('secretKey=********');
  });

  it('names at least six distinct mistakes', () => {
    expect(new Set(cases.map((c) => c.cause)).size).toBeGreaterThanOrEqual(6);
  });

  it('human output names the cause, then what was checked', async () => {
    const r = await run(['explain', '--url', '/v1/apk/upgrade/', '--header', `X-Timestamp: ${T}`, '--header', `X-Nonce: ${N}`, '--header', `X-Signature: ${V1_SIG}`, '--body', V1_BODY]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('likely cause: trailing slash added or removed [url-trailing-slash]');
    expect(r.stdout).toContain('checked:');
  });

  it('a correct signature is reported as correct', async () => {
    const r = await run(['explain', '--url', '/v1/apk/upgrade', '--header', `x-timestamp: ${T}`, '--header', `x-nonce: ${N}`, '--header', `x-signature: ${V1_SIG}`, '--body', V1_BODY, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ signatureCorrect: true, likelyCause: null, expectedSignature: V1_SIG });
  });

  it('when nothing matches it says so, lists the checks and exits 1', async () => {
    const args = ['explain', '--url', '/v1/apk/upgrade', '--header', `X-Timestamp: ${T}`, '--header', `X-Nonce: ${N}`, '--header', `X-Signature: ${'0'.repeat(32)}`, '--body', V1_BODY];
    const r = await run(args);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('No known mistake reproduces the received signature');
    expect(r.stdout).toContain('whitespace in the secret [secret-whitespace]');
    const json = JSON.parse((await run([...args, '--json'])).stdout);
    expect(json.likelyCause).toBeNull();
    expect(json.checked.length).toBeGreaterThanOrEqual(15);
  });
});
