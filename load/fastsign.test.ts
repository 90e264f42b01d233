// The load generator's fast signing path must agree with the rules: every vector in
// fixtures/signing/vectors.json, and lib/signing on generated inputs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNodeSigner } from '../lib/signing/node.ts';
import { nonceWellFormed, parseTimestamp } from '../lib/signing/index.ts';
import { createFastSigner, createNonceSource, isoTimestamp } from './fastsign.ts';

interface Vector {
  id: string;
  input: { method: string; target: string; body: string; bodyHex?: string; nonce: string; timestamp: string; secretKey: string };
  expected: { signature: string };
}

const vectors = (JSON.parse(readFileSync('fixtures/signing/vectors.json', 'utf8')) as { vectors: Vector[] }).vectors;

describe('load fast signing', () => {
  it('load fast signing > matches every signing vector', () => {
    expect(vectors.length).toBeGreaterThan(20);
    for (const v of vectors) {
      const signer = createFastSigner({ accessKey: 'ak', secretKey: v.input.secretKey });
      const body = v.input.bodyHex === undefined ? v.input.body : Buffer.from(v.input.bodyHex, 'hex');
      expect(signer.signature(v.input.method, v.input.target, body, v.input.nonce, v.input.timestamp), v.id).toBe(v.expected.signature);
    }
  });

  it('load fast signing > agrees with lib/signing on generated requests, cached templates included', () => {
    const slow = createNodeSigner();
    const fast = createFastSigner({ accessKey: 'ak-1', secretKey: 'sécret&=x' });
    const targets = ['/v1/apk/upgrade', '/v1/url/upgrade?q=a+b&r=%2F&', '/v1/file/version/'];
    const bodies = ['{}', '', '{"k":"ü&=","n":1}'];
    for (let i = 0; i < 30; i++) {
      const target = targets[i % 3]!;
      const body = bodies[Math.floor(i / 3) % 3]!;
      const headers = fast.sign('POST', target, body);
      const expected = slow.sign({ method: 'POST', target, body, accessKey: 'ak-1', secretKey: 'sécret&=x', nonce: headers['X-Nonce'], timestamp: headers['X-Timestamp'] });
      expect(headers).toEqual(expected.headers);
    }
  });

  it('load fast signing > a body, secret or url holding the text of a placeholder still signs as lib/signing', () => {
    const secretKey = 'k\0timestamp0\0';
    const slow = createNodeSigner();
    const fast = createFastSigner({ accessKey: 'ak', secretKey });
    for (const [target, body] of [
      ['/p', '{"a":"\0nonce0\0\0nonce1\0"}'],
      ['/p?x=%00nonce0%00&', ''],
      ['/p', Buffer.from('\0timestamp1\0&nonce=')],
    ] as const) {
      const headers = fast.sign('POST', target, body);
      const expected = slow.sign({ method: 'POST', target, body, accessKey: 'ak', secretKey, nonce: headers['X-Nonce'], timestamp: headers['X-Timestamp'] });
      expect(headers, target).toEqual(expected.headers);
    }
  });

  it('load fast signing > nonces are well formed and unique; timestamps parse', () => {
    const next = createNonceSource();
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(next());
    expect(seen.size).toBe(20_000);
    for (const n of [...seen].slice(0, 50)) {
      expect(n).toMatch(/^[0-9a-f]{32}$/);
      expect(nonceWellFormed(n)).toBe(true);
    }
    expect(isoTimestamp(Date.UTC(2025, 1, 17, 2, 34, 55))).toBe('2025-02-17T02:34:55Z');
    expect(parseTimestamp(isoTimestamp(Date.UTC(2025, 1, 17, 2, 34, 55, 123)))).toEqual({ epochSeconds: 1739759695, nanos: 123_000_000 });
  });
});
