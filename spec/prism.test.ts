// The bundle works as a Prism mock: `prism mock generated/openapi.yaml` starts (loopback only)
// and answers a signed-looking POST /v1/apk/upgrade with the code-200 example, which conforms to
// the spec. Prism's log goes to reports/prism-mock.log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseLauncher, type RunningService } from '../harness/index.ts';
import { formatErrors, responseSchemaPointer, specValidators } from '../lib/spec/index.ts';

let prism: RunningService | undefined;
let baseUrl = '';

beforeAll(async () => {
  // A local process: this checks the bundle, not where Prism runs (harness/ tests the container path).
  const launcher = await chooseLauncher({ choice: 'process', needs: { prism: true } });
  prism = await launcher.startPrism({ mode: 'mock', timeoutMs: 45_000 });
  baseUrl = prism.url;
}, 60_000);

afterAll(async () => {
  await prism?.stop();
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
    const spec = specValidators();
    const schema = responseSchemaPointer(spec.bundle, '/v1/apk/upgrade', 200);
    expect(schema).not.toBeNull();
    const { valid, errors } = spec.validate(schema!, body);
    expect(valid, formatErrors(errors).join('; ')).toBe(true);
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
