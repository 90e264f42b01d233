// Signing rules (REFERENCE §3), table-driven over every signed operation.
import { describe } from 'vitest';
import { timestamp } from '../lib/signing/index.ts';
import { expectAnswer, check } from './support/checks.ts';
import { fixture, fx, rule, send } from './support/context.ts';
import { bodyBytes } from './support/exchange.ts';
import { OPERATIONS, type Operation } from './support/operations.ts';

const SIGNED = ['verifiesSignatures', 'hasFixtures'] as const;

/** A second, different body for the same operation (still valid, so only the signature differs). */
function otherBody(op: Operation): Record<string, unknown> {
  const body = op.okBody(fx);
  return { ...body, contractTamper: 'changed after signing' };
}

/** A path of another signed operation, to sign instead of the real one. */
function otherPath(op: Operation): string {
  return op.path === '/v1/file/upgrade' ? '/v1/apk/upgrade' : '/v1/file/upgrade';
}

const freshNonce = () => `contract${Math.random().toString(16).slice(2).padEnd(24, '0')}`;

describe('signing', () => {
  for (const op of OPERATIONS) {
    describe(`POST ${op.path}`, () => {
      rule('a correctly signed request is accepted', { needs: ['hasFixtures'] }, async () => {
        const ex = await send({ target: op.path, body: op.okBody(fx) });
        expectAnswer(ex, op.okCode);
      });

      rule('tampered body is rejected with 401002', { needs: SIGNED }, async () => {
        const ex = await send({ target: op.path, body: otherBody(op), sign: { body: bodyBytes(op.okBody(fx)) } });
        expectAnswer(ex, 401002);
      });

      rule('tampered path is rejected with 401002', { needs: SIGNED }, async () => {
        const ex = await send({ target: op.path, body: op.okBody(fx), sign: { target: otherPath(op) } });
        expectAnswer(ex, 401002);
      });

      rule('tampered query string is rejected with 401002', { needs: SIGNED }, async () => {
        const ex = await send({ target: `${op.path}?channel=beta`, body: op.okBody(fx), sign: { target: `${op.path}?channel=stable` } });
        expectAnswer(ex, 401002);
      });

      rule('tampered timestamp is rejected with 401002', { needs: SIGNED }, async () => {
        const now = Date.now();
        const ex = await send({
          target: op.path,
          body: op.okBody(fx),
          sign: { timestamp: timestamp({ now, skewSeconds: -2 }) },
          replace: { 'X-Timestamp': timestamp({ now, skewSeconds: -1 }) },
        });
        expectAnswer(ex, 401002);
      });

      rule('tampered nonce is rejected with 401002', { needs: SIGNED }, async () => {
        const ex = await send({ target: op.path, body: op.okBody(fx), sign: { nonce: freshNonce() }, replace: { 'X-Nonce': freshNonce() } });
        expectAnswer(ex, 401002);
      });

      rule('tampered access key is rejected with 401002', { needs: SIGNED }, async (ctx) => {
        const second = fixture<string>(ctx, 'secondAccessKey');
        // Signed with the main secret but sent under another (valid) key, whose secret differs.
        const ex = await send({ target: op.path, body: op.okBody(fx), replace: { 'X-AccessKey': second } });
        expectAnswer(ex, 401002);
      });

      rule('a signature made with another secret is rejected with 401002', { needs: SIGNED }, async () => {
        const ex = await send({ target: op.path, body: op.okBody(fx), sign: { secretKey: 'contract-wrong-secret' } });
        expectAnswer(ex, 401002);
      });

      rule('an uppercase-hex signature is rejected with 401002', { needs: SIGNED }, async () => {
        const ex = await send({ target: op.path, body: op.okBody(fx), sign: { transform: (s) => s.toUpperCase() } });
        expectAnswer(ex, 401002);
      });

      for (const header of ['X-Timestamp', 'X-Nonce', 'X-AccessKey', 'X-Signature']) {
        rule(`missing ${header} is rejected with 400004`, { needs: ['verifiesSignatures'] }, async () => {
          const ex = await send({ target: op.path, body: op.okBody(fx), omit: [header] });
          expectAnswer(ex, 400004);
        });
      }

      rule('header names are case-insensitive (lowercase and the SDKs\' x-Nonce spelling)', { needs: SIGNED }, async () => {
        const lower = await send({ target: op.path, body: op.okBody(fx), headerCase: 'lower' });
        expectAnswer(lower, op.okCode);
        const sdk = await send({ target: op.path, body: op.okBody(fx), headerCase: 'sdk' });
        expectAnswer(sdk, op.okCode);
      });

      rule('a repeated signing header uses its first value', { needs: SIGNED }, async () => {
        const ex = await send({ target: op.path, body: op.okBody(fx), headers: [['X-Nonce', freshNonce()]] });
        expectAnswer(ex, op.okCode);
      });

      rule('an empty body is signed with `body=`: 400005 when signed so, 401002 when the part is left out', { needs: SIGNED }, async () => {
        const withPart = await send({ target: op.path, body: '' });
        expectAnswer(withPart, 400005);
        const withoutPart = await send({ target: op.path, body: '', sign: { method: 'GET' } });
        expectAnswer(withoutPart, 401002);
      });

      rule('a non-ASCII body is signed as its raw UTF-8 bytes, and its \\u-escaped form as sent', { needs: SIGNED }, async () => {
        const raw = JSON.stringify({ ...op.okBody(fx), contractNote: 'Grüße, 设备 🚀' });
        const escaped = raw.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
        check(raw !== escaped, 'fixture', 'the two bodies differ', 'different bytes', 'identical bytes');
        expectAnswer(await send({ target: op.path, body: raw }), op.okCode);
        expectAnswer(await send({ target: op.path, body: escaped }), op.okCode);
        // Signed over the escaped form but sent raw: a different byte string, so a different signature.
        expectAnswer(await send({ target: op.path, body: raw, sign: { body: escaped } }), 401002);
      });

      rule('the query string is signed decoded: `+` and `%20` sign the same, the encoded form does not', { needs: SIGNED }, async () => {
        const plus = await send({ target: `${op.path}?q=a+b`, body: op.okBody(fx), sign: { target: `${op.path}?q=a%20b` } });
        expectAnswer(plus, op.okCode);
        // Hashing the still-encoded `%20` (signing a target that decodes to it) must fail.
        const encoded = await send({ target: `${op.path}?q=a%20b`, body: op.okBody(fx), sign: { target: `${op.path}?q=a%2520b` } });
        expectAnswer(encoded, 401002);
        // Trailing `&`s of the canonical string are trimmed.
        const trailing = await send({ target: `${op.path}?a=1&`, body: op.okBody(fx), sign: { target: `${op.path}?a=1` } });
        expectAnswer(trailing, op.okCode);
      });

      rule('a trailing slash routes to the endpoint and is part of the signed url', { needs: SIGNED }, async () => {
        const signedWith = await send({ target: `${op.path}/`, body: op.okBody(fx) });
        expectAnswer(signedWith, op.okCode);
        const signedWithout = await send({ target: `${op.path}/`, body: op.okBody(fx), sign: { target: op.path } });
        expectAnswer(signedWithout, 401002);
      });
    });
  }
});
