import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign, verify } from '../signing/index.ts';
import { md5 } from '../signing/node.ts';
import { ClientConfigError, clientFromEnv, createUpgradeLinkClient, type CallRecord } from './index.ts';

const SECRET = 'test-secret-DO-NOT-USE-0001';
const V1_NOW = Date.UTC(2025, 1, 17, 2, 34, 55);
const V1_BODY = { apkKey: 'isVZBUvkFhv6oHxk_X-D0Q', versionCode: 1, appointVersionCode: 0, devModelKey: 'stv1', devKey: 'LOYlLXNy7w' };

function recordingFetch(respond: (req: Request) => Response | Promise<Response> = () => jsonResponse(200, { code: 0, msg: '', data: null })) {
  const requests: Array<{ request: Request; bodyText: string }> = [];
  const fetch = async (request: Request) => {
    requests.push({ request, bodyText: await request.clone().text() });
    return respond(request);
  };
  return { fetch, requests };
}

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers } });
}

describe('createUpgradeLinkClient (injected fetch)', () => {
  it('signs V1: pinned clock and nonce, compact JSON body in insertion order', async () => {
    const { fetch, requests } = recordingFetch();
    const client = createUpgradeLinkClient({
      baseUrl: 'http://sandbox.test',
      accessKey: 'ak-test',
      secretKey: SECRET,
      fetch,
      now: () => V1_NOW,
      nonce: () => 'fc812cc0b9b51e8c',
    });
    await client.post('/v1/apk/upgrade', V1_BODY);
    const { request, bodyText } = requests[0]!;
    expect(bodyText).toBe(JSON.stringify(V1_BODY));
    expect(request.method).toBe('POST');
    expect(request.url).toBe('http://sandbox.test/v1/apk/upgrade');
    expect(request.headers.get('content-type')).toBe('application/json');
    expect(request.headers.get('x-timestamp')).toBe('2025-02-17T02:34:55Z');
    expect(request.headers.get('x-nonce')).toBe('fc812cc0b9b51e8c');
    expect(request.headers.get('x-accesskey')).toBe('ak-test');
    expect(request.headers.get('x-signature')).toBe('a3b35614fce8d1fcb915d6789ea41369');
  });

  it('returns status, parsed body and lowercase headers, and records the exchange', async () => {
    const envelope = { code: 200, msg: 'ok', data: { apkKey: 'k', versionCode: 2 } };
    const { fetch } = recordingFetch(() => jsonResponse(200, envelope, { 'X-Trace': 't1' }));
    const seen: CallRecord[] = [];
    const client = createUpgradeLinkClient({ baseUrl: 'http://sandbox.test', accessKey: 'ak', secretKey: SECRET, fetch, onExchange: (e) => seen.push(e) });
    expect(client.lastExchange).toBeUndefined();
    const res = await client.post('/v1/apk/upgrade', { apkKey: 'k', versionCode: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(envelope);
    expect(res.headers['x-trace']).toBe('t1');
    expect(seen).toHaveLength(1);
    expect(res.exchange).toBe(seen[0]);
    expect(client.lastExchange).toBe(seen[0]);
    const ex = res.exchange;
    expect(ex.request.method).toBe('POST');
    expect(ex.request.url).toBe('http://sandbox.test/v1/apk/upgrade');
    expect(ex.request.target).toBe('/v1/apk/upgrade');
    expect(ex.request.bodyText).toBe('{"apkKey":"k","versionCode":1}');
    expect(ex.request.headers.map(([k]) => k)).toEqual(expect.arrayContaining(['x-timestamp', 'x-nonce', 'x-accesskey', 'x-signature']));
    expect(ex.request.canonical).toMatch(/^body=\{"apkKey":"k","versionCode":1\}&nonce=[0-9a-f]{32}&secretKey=\*{8}&timestamp=.+&url=\/v1\/apk\/upgrade$/);
    expect(ex.response).toEqual({ status: 200, headers: expect.objectContaining({ 'x-trace': 't1' }), bodyText: JSON.stringify(envelope) });
    expect(ex.durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(ex)).not.toContain(SECRET);
  });

  it('error statuses and non-JSON bodies do not throw', async () => {
    const { fetch } = recordingFetch(() => new Response('plain 404', { status: 404, headers: { 'Content-Type': 'text/plain' } }));
    const client = createUpgradeLinkClient({ baseUrl: 'http://sandbox.test', accessKey: 'ak', secretKey: SECRET, fetch });
    const res = await client.post('/v1/apk/upgrade', { apkKey: 'k', versionCode: 1 });
    expect(res.status).toBe(404);
    expect(res.body).toBeUndefined();
    expect(res.exchange.response?.bodyText).toBe('plain 404');
    const err = await createUpgradeLinkClient({
      baseUrl: 'http://sandbox.test',
      accessKey: 'ak',
      secretKey: SECRET,
      fetch: async () => jsonResponse(401, { code: 401002, msg: 'signature', data: null }),
    }).post('/v1/apk/upgrade', { apkKey: 'k', versionCode: 1 });
    expect(err.status).toBe(401);
    expect(err.body).toMatchObject({ code: 401002 });
  });

  it('bodyText > sends and signs exactly the given text', async () => {
    const { fetch, requests } = recordingFetch();
    const client = createUpgradeLinkClient({ baseUrl: 'http://sandbox.test', accessKey: 'ak', secretKey: SECRET, fetch, now: () => V1_NOW, nonce: () => 'n'.repeat(16) });
    const text = '{ "apkKey": "\\u00fc", "versionCode": 1 }';
    await client.post('/v1/apk/upgrade', { apkKey: 'ü', versionCode: 1 }, { bodyText: text });
    expect(requests[0]!.bodyText).toBe(text);
    const expected = sign({ method: 'POST', target: '/v1/apk/upgrade', body: text, nonce: 'n'.repeat(16), secretKey: SECRET, timestamp: '2025-02-17T02:34:55Z' }, md5);
    expect(requests[0]!.request.headers.get('x-signature')).toBe(expected);
  });

  it('headers > an X-Nonce or X-Timestamp given by the caller is kept and signed; X-Signature given is sent as is', async () => {
    const { fetch, requests } = recordingFetch();
    const client = createUpgradeLinkClient({ baseUrl: 'http://sandbox.test', accessKey: 'ak', secretKey: SECRET, fetch });
    await client.post('/v1/apk/upgrade', V1_BODY, { headers: { 'X-Nonce': 'fc812cc0b9b51e8c', 'X-Timestamp': '2025-02-17T02:34:55Z' } });
    expect(requests[0]!.request.headers.get('x-signature')).toBe('a3b35614fce8d1fcb915d6789ea41369');
    await client.post('/v1/apk/upgrade', V1_BODY, { headers: { 'X-Signature': 'A3B35614FCE8D1FCB915D6789EA41369' } });
    expect(requests[1]!.request.headers.get('x-signature')).toBe('A3B35614FCE8D1FCB915D6789EA41369');
  });

  it('timestamp > injected formatter (e.g. +08:00)', async () => {
    const { fetch, requests } = recordingFetch();
    const client = createUpgradeLinkClient({
      baseUrl: 'http://sandbox.test',
      accessKey: 'ak',
      secretKey: SECRET,
      fetch,
      now: () => V1_NOW,
      timestamp: (ms) => new Date(ms + 8 * 3600_000).toISOString().replace(/\.\d{3}Z$/, '+08:00'),
    });
    await client.post('/v1/apk/upgrade', V1_BODY);
    expect(requests[0]!.request.headers.get('x-timestamp')).toBe('2025-02-17T10:34:55+08:00');
  });

  it('a base URL with a path prefix is part of the signed url', async () => {
    const { fetch, requests } = recordingFetch();
    const client = createUpgradeLinkClient({ baseUrl: 'http://gw.test/api/', accessKey: 'ak', secretKey: SECRET, fetch, now: () => V1_NOW, nonce: () => 'fc812cc0b9b51e8c' });
    const res = await client.post('/v1/apk/upgrade', V1_BODY);
    expect(requests[0]!.request.url).toBe('http://gw.test/api/v1/apk/upgrade');
    expect(res.exchange.request.canonical.endsWith('&url=/api/v1/apk/upgrade')).toBe(true);
  });

  it('fetch failure > rejects and still reports the exchange with the error', async () => {
    const seen: CallRecord[] = [];
    const client = createUpgradeLinkClient({
      baseUrl: 'http://sandbox.test',
      accessKey: 'ak',
      secretKey: SECRET,
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
      onExchange: (e) => seen.push(e),
    });
    await expect(client.post('/v1/apk/upgrade', V1_BODY)).rejects.toThrow('fetch failed');
    expect(seen[0]?.error).toContain('fetch failed');
    expect(seen[0]?.response).toBeUndefined();
  });

  it('the openapi-fetch client is exposed with signing installed', async () => {
    const { fetch, requests } = recordingFetch();
    const client = createUpgradeLinkClient({ baseUrl: 'http://sandbox.test', accessKey: 'ak', secretKey: SECRET, fetch, now: () => V1_NOW, nonce: () => 'fc812cc0b9b51e8c' });
    const { data, response } = await client.fetchClient.POST('/v1/apk/upgrade', { body: V1_BODY });
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ code: 0 });
    expect(requests[0]!.request.headers.get('x-signature')).toBe('a3b35614fce8d1fcb915d6789ea41369');
  });

  it('rejects missing options', () => {
    expect(() => createUpgradeLinkClient({ baseUrl: '', accessKey: 'a', secretKey: 's' })).toThrow(/baseUrl/);
    expect(() => createUpgradeLinkClient({ baseUrl: 'http://x', accessKey: '', secretKey: 's' })).toThrow(/accessKey/);
    expect(() => createUpgradeLinkClient({ baseUrl: 'http://x', accessKey: 'a', secretKey: '' })).toThrow(/secretKey/);
  });
});

describe('createUpgradeLinkClient (real HTTP)', () => {
  let server: http.Server;
  let baseUrl: string;
  const verdicts: Array<{ ok: boolean; url: string; body: string }> = [];

  beforeAll(async () => {
    // A minimal verifier written without lib/signing: it hashes the raw bytes it received.
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const url = Buffer.from(decodeURIComponent(req.url!.replace(/\+/g, ' ')), 'utf8');
        const canonical = Buffer.concat([
          Buffer.from(`body=`),
          body,
          Buffer.from(`&nonce=${req.headers['x-nonce']}&secretKey=${SECRET}&timestamp=${req.headers['x-timestamp']}&url=`),
          url,
        ]);
        const expected = createHash('md5').update(canonical).digest('hex');
        const ok = verify(expected, String(req.headers['x-signature']));
        verdicts.push({ ok, url: req.url!, body: body.toString('utf8') });
        res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(ok ? { code: 0, msg: 'ok', data: null } : { code: 401002, msg: 'signature', data: null }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('a server hashing the received bytes accepts the signature, non-ASCII body included', async () => {
    const client = createUpgradeLinkClient({ baseUrl, accessKey: 'ak', secretKey: SECRET });
    const res = await client.post('/v1/apk/upgrade', { apkKey: 'ü-你好', versionCode: 1, devKey: 'a&b=c' });
    expect(res.status).toBe(200);
    expect(verdicts.at(-1)).toEqual({ ok: true, url: '/v1/apk/upgrade', body: '{"apkKey":"ü-你好","versionCode":1,"devKey":"a&b=c"}' });
  });

  it('clientFromEnv builds a working client', async () => {
    const client = clientFromEnv({ UPGRADELINK_BASE_URL: baseUrl, UPGRADELINK_ACCESS_KEY: 'ak', UPGRADELINK_SECRET_KEY: SECRET });
    const res = await client.post('/v1/file/upgrade', { fileKey: 'f', versionCode: 1 });
    expect(res.status).toBe(200);
    expect(client.baseUrl).toBe(baseUrl);
  });
});

describe('clientFromEnv', () => {
  it.each([
    [{}, 'UPGRADELINK_BASE_URL, UPGRADELINK_ACCESS_KEY, UPGRADELINK_SECRET_KEY are not set'],
    [{ UPGRADELINK_BASE_URL: 'http://x', UPGRADELINK_ACCESS_KEY: 'a' }, 'UPGRADELINK_SECRET_KEY is not set'],
    [{ UPGRADELINK_BASE_URL: 'http://x', UPGRADELINK_SECRET_KEY: 's' }, 'UPGRADELINK_ACCESS_KEY is not set'],
    [{ UPGRADELINK_BASE_URL: '', UPGRADELINK_ACCESS_KEY: 'a', UPGRADELINK_SECRET_KEY: 's' }, 'UPGRADELINK_BASE_URL is not set'],
  ])('%j → %s', (env, message) => {
    expect(() => clientFromEnv(env)).toThrow(ClientConfigError);
    expect(() => clientFromEnv(env)).toThrow(message);
  });

  it('overrides stand in for variables', () => {
    const client = clientFromEnv({ UPGRADELINK_ACCESS_KEY: 'a', UPGRADELINK_SECRET_KEY: 's' }, { baseUrl: 'http://override' });
    expect(client.baseUrl).toBe('http://override');
  });
});
