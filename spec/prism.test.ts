// The bundle works as a Prism mock: `prism mock generated/openapi.yaml` starts (loopback only)
// and answers a signed-looking POST /v1/apk/upgrade with the code-200 example, which conforms to
// the spec. Prism's log goes to reports/prism-mock.log.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, createSpecValidator, formatErrors, responseSchemaPointer } from './support/openapi.ts';

const LOG = join(ROOT, 'reports', 'prism-mock.log');
let prism: ChildProcess | undefined;
let baseUrl = '';

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  mkdirSync(join(ROOT, 'reports'), { recursive: true });
  const log = createWriteStream(LOG);
  prism = spawn(join(ROOT, 'node_modules', '.bin', 'prism'), ['mock', join(ROOT, 'generated', 'openapi.yaml'), '-h', '127.0.0.1', '-p', String(port)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`prism did not start within 45 s; see ${LOG}`)), 45_000);
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (chunk.toString().includes('Prism is listening')) {
        clearTimeout(timer);
        ready();
      }
    };
    prism!.stdout!.on('data', onData);
    prism!.stderr!.on('data', onData);
    prism!.once('exit', (code) => fail(new Error(`prism exited with ${code}; see ${LOG}`)));
  });
}, 60_000);

afterAll(() => {
  prism?.kill('SIGTERM');
});

const headers = {
  'Content-Type': 'application/json',
  'X-Timestamp': '2025-02-17T02:34:55Z',
  'X-Nonce': 'fc812cc0b9b51e8c',
  'X-AccessKey': 'mui2W50H1j-OC4xD6PgQag',
  'X-Signature': 'a3b35614fce8d1fcb915d6789ea41369',
};

describe('prism mock of the bundle', () => {
  it('answers POST /v1/apk/upgrade with the code-200 example', async () => {
    const response = await fetch(`${baseUrl}/v1/apk/upgrade`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ apkKey: 'isVZBUvkFhv6oHxk_X-D0Q', versionCode: 1 }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { code: number };
    expect(body.code).toBe(200);
    const spec = createSpecValidator();
    const { valid, errors } = spec.validate(responseSchemaPointer(spec.bundle, '/v1/apk/upgrade', 200), body);
    expect(valid, formatErrors(errors)).toBe(true);
  });

  it('rejects a request without the signing headers', async () => {
    const response = await fetch(`${baseUrl}/v1/apk/upgrade`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apkKey: 'isVZBUvkFhv6oHxk_X-D0Q', versionCode: 1 }),
    });
    expect([400, 401, 422]).toContain(response.status);
  });
});
