import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nonceWellFormed, parseTimestamp, withinWindow } from '../signing/index.ts';
import { sendRaw, signedHeaders } from './raw.ts';

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
}

let server: http.Server;
let baseUrl: string;
const seen: Seen[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body });
      if (req.url === '/text') {
        res.writeHead(404, { 'Content-Type': 'text/plain', 'X-Dup': 'a' });
        res.end('not found');
        return;
      }
      if (req.url === '/empty') {
        res.writeHead(204);
        res.end();
        return;
      }
      res.writeHead(200, [
        ['Content-Type', 'application/json; charset=utf-8'],
        ['X-Dup', 'one'],
        ['x-dup', 'two'],
      ]);
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ code: 0, msg: 'ok', data: { bodyHex: body.toString('hex') } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const lastSeen = () => seen[seen.length - 1]!;
const pairs = (raw: string[]) => raw.flatMap((v, i) => (i % 2 === 0 ? [[v, raw[i + 1]!] as const] : []));

describe('sendRaw', () => {
  it('request line > the target goes out verbatim (// paths, bad escapes, +, trailing & and /)', async () => {
    for (const target of ['//v1/apk/upgrade', '/v1/apk/upgrade/?q=%zz+a&', '/v1/./apk/../upgrade', '/v1/apk/upgrade?%E4%BD%A0']) {
      await sendRaw({ baseUrl, method: 'POST', target, body: '{}' });
      expect(lastSeen().url, target).toBe(target);
    }
  });

  it('headers > names keep their case and order, duplicates are kept', async () => {
    await sendRaw({
      baseUrl,
      method: 'POST',
      target: '/h',
      headers: [
        ['x-timestamp', 't'],
        ['X-NONCE', 'n1'],
        ['X-Nonce', 'n2'],
        ['content-type', 'application/json'],
      ],
      body: '{}',
    });
    expect(pairs(lastSeen().rawHeaders)).toEqual([
      ['Host', new URL(baseUrl).host],
      ['x-timestamp', 't'],
      ['X-NONCE', 'n1'],
      ['X-Nonce', 'n2'],
      ['content-type', 'application/json'],
      ['Content-Length', '2'],
      ['Connection', 'close'],
    ]);
  });

  it('headers > a plain object is sent in insertion order', async () => {
    await sendRaw({ baseUrl, method: 'POST', target: '/h', headers: { B: '2', a: '1' }, body: '' });
    expect(pairs(lastSeen().rawHeaders).map(([k]) => k)).toEqual(['Host', 'B', 'a', 'Content-Length', 'Connection']);
    expect(pairs(lastSeen().rawHeaders)).toContainEqual(['Content-Length', '0']);
  });

  it('headers > given Host and Content-Length are not duplicated; addDefaultHeaders: false adds none', async () => {
    await sendRaw({ baseUrl, method: 'POST', target: '/h', headers: [['host', 'example.test'], ['content-length', '2']], body: '{}' });
    expect(pairs(lastSeen().rawHeaders).map(([k]) => k)).toEqual(['host', 'content-length', 'Connection']);
    await sendRaw({ baseUrl, method: 'GET', target: '/h', headers: [['Host', 'h']], addDefaultHeaders: false });
    expect(pairs(lastSeen().rawHeaders).map(([k]) => k)).toEqual(['Host', 'Connection']);
  });

  it('body > bytes are sent exactly, including invalid UTF-8', async () => {
    const bytes = Uint8Array.from([0x7b, 0xff, 0xc3, 0xbc, 0x7d]);
    const res = await sendRaw({ baseUrl, method: 'POST', target: '/b', body: bytes });
    expect(lastSeen().body.toString('hex')).toBe('7bffc3bc7d');
    expect(res.json).toEqual({ code: 0, msg: 'ok', data: { bodyHex: '7bffc3bc7d' } });
  });

  it('body > a string is sent as UTF-8', async () => {
    await sendRaw({ baseUrl, method: 'POST', target: '/b', body: '{"k":"ü"}' });
    expect(lastSeen().body.toString('hex')).toBe(Buffer.from('{"k":"ü"}').toString('hex'));
  });

  it('body > chunked transfer encoding on request', async () => {
    await sendRaw({ baseUrl, method: 'POST', target: '/c', body: '{"a":12345}', chunkSize: 3 });
    const headers = pairs(lastSeen().rawHeaders);
    expect(headers).toContainEqual(['Transfer-Encoding', 'chunked']);
    expect(headers.some(([k]) => k.toLowerCase() === 'content-length')).toBe(false);
    expect(lastSeen().body.toString()).toBe('{"a":12345}');
  });

  it('method > any token; node:http uppercases it', async () => {
    await sendRaw({ baseUrl, method: 'PROPFIND', target: '/m' });
    expect(lastSeen().method).toBe('PROPFIND');
    await sendRaw({ baseUrl, method: 'delete', target: '/m' });
    expect(lastSeen().method).toBe('DELETE');
  });

  it('response > status, lowercase joined headers, raw headers, body text, parsed json, duration', async () => {
    const res = await sendRaw({ baseUrl, method: 'POST', target: '/r', body: '{}' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['x-dup']).toBe('one, two');
    expect(res.rawHeaders).toContainEqual(['X-Dup', 'one']);
    expect(res.rawHeaders).toContainEqual(['x-dup', 'two']);
    expect(JSON.parse(res.bodyText)).toEqual(res.json);
    expect(res.durationMs).toBeGreaterThan(0);
  });

  it('response > non-JSON and empty bodies give json undefined', async () => {
    const text = await sendRaw({ baseUrl, method: 'POST', target: '/text', body: '{}' });
    expect(text.status).toBe(404);
    expect(text.bodyText).toBe('not found');
    expect(text.json).toBeUndefined();
    const empty = await sendRaw({ baseUrl, method: 'POST', target: '/empty', body: '{}' });
    expect(empty.status).toBe(204);
    expect(empty.bodyText).toBe('');
    expect(empty.json).toBeUndefined();
    const head = await sendRaw({ baseUrl, method: 'HEAD', target: '/r' });
    expect(head.status).toBe(200);
    expect(head.bodyText).toBe('');
  });

  it('errors > connection refused rejects; a bad scheme rejects', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(sendRaw({ baseUrl: `http://127.0.0.1:${port}`, method: 'POST', target: '/' })).rejects.toThrow();
    await expect(sendRaw({ baseUrl: 'ftp://127.0.0.1', method: 'POST', target: '/' })).rejects.toThrow(/http/);
  });
});

describe('signedHeaders', () => {
  const V1_BODY =
    '{"apkKey":"isVZBUvkFhv6oHxk_X-D0Q","versionCode":1,"appointVersionCode":0,"devModelKey":"stv1","devKey":"LOYlLXNy7w"}';

  it('reproduces V1, headers in wire order', () => {
    const headers = signedHeaders({
      method: 'POST',
      target: '/v1/apk/upgrade',
      body: V1_BODY,
      accessKey: 'ak',
      secretKey: 'test-secret-DO-NOT-USE-0001',
      nonce: 'fc812cc0b9b51e8c',
      timestamp: '2025-02-17T02:34:55Z',
    });
    expect(Object.entries(headers)).toEqual([
      ['X-Timestamp', '2025-02-17T02:34:55Z'],
      ['X-Nonce', 'fc812cc0b9b51e8c'],
      ['X-AccessKey', 'ak'],
      ['X-Signature', 'a3b35614fce8d1fcb915d6789ea41369'],
    ]);
  });

  it('signs bytes the same as the equivalent string', () => {
    const common = { method: 'POST', target: '/p', accessKey: 'a', secretKey: 's', nonce: 'n'.repeat(16), timestamp: '2025-02-17T02:34:55Z' };
    expect(signedHeaders({ ...common, body: Buffer.from('{"k":"ü"}') })).toEqual(signedHeaders({ ...common, body: '{"k":"ü"}' }));
  });

  it('defaults to a fresh 32-hex nonce and the current time', () => {
    const a = signedHeaders({ method: 'POST', target: '/p', body: '{}', accessKey: 'a', secretKey: 's' });
    const b = signedHeaders({ method: 'POST', target: '/p', body: '{}', accessKey: 'a', secretKey: 's' });
    expect(a['X-Nonce']).toMatch(/^[0-9a-f]{32}$/);
    expect(nonceWellFormed(a['X-Nonce'])).toBe(true);
    expect(a['X-Nonce']).not.toBe(b['X-Nonce']);
    expect(withinWindow(parseTimestamp(a['X-Timestamp'])!, Date.now())).toBe(true);
  });

  it('takes an injected clock', () => {
    const h = signedHeaders({ method: 'POST', target: '/p', body: '', accessKey: 'a', secretKey: 's', now: () => Date.UTC(2025, 1, 17, 2, 34, 55, 123) });
    expect(h['X-Timestamp']).toBe('2025-02-17T02:34:55.123Z');
  });

  it('sendRaw + signedHeaders > the server sees a signature over exactly what was sent', async () => {
    const target = '/v1/url/upgrade?q=a+b&';
    const body = '{"urlKey":"ü","versionCode":1}';
    const headers = signedHeaders({ method: 'POST', target, body, accessKey: 'a', secretKey: 'sec', nonce: 'f'.repeat(16), timestamp: '2025-02-17T02:34:55Z' });
    await sendRaw({ baseUrl, method: 'POST', target, headers: [['Content-Type', 'application/json'], ...Object.entries(headers)], body });
    const got = lastSeen();
    const { createHash } = await import('node:crypto');
    // Independent of lib/signing: the canonical string written out by hand.
    const canonical = `body=${got.body.toString()}&nonce=${'f'.repeat(16)}&secretKey=sec&timestamp=2025-02-17T02:34:55Z&url=/v1/url/upgrade?q=a b`;
    const expected = createHash('md5').update(canonical, 'utf8').digest('hex');
    expect(pairs(got.rawHeaders)).toContainEqual(['X-Signature', expected]);
  });
});
