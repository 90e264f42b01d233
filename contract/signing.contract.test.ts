// Signing (the signature rules the pages link to, carried in the spec's introduction), table-driven
// over every operation: a signature that does not match the request is rejected with 401002, and each
// detail of the canonical string is signed as documented (a correctly signed request of each form is
// accepted; the same request signed the wrong way is not).
import { describe } from 'vitest';
import { timestamp } from '../lib/signing/index.ts';
import { Code, OPERATIONS } from '../lib/spec/index.ts';
import type { PostPath } from '../lib/client/index.ts';
import { check, expectCode, expectEarlier } from './support/checks.ts';
import { bodyBytes } from './support/exchange.ts';
import { withUnknownFields } from './support/bodies.ts';
import { fx, okBody, send, test, uniqueNonce, use } from './support/context.ts';

const MISMATCH = { rule: 'signing.signature-verified', codeRule: 'signing.mismatch-code' } as const;
const success = (kind: string) => (kind === 'report' ? Code.LATEST : Code.OK);

describe('signing', () => {
  for (const op of OPERATIONS) {
    const path = op.path as PostPath;
    const ok = success(op.kind);
    /** A path of another operation, to sign instead of the real one. */
    const otherPath = op.path === '/v1/file/upgrade' ? '/v1/apk/upgrade' : '/v1/file/upgrade';

    describe(`POST ${op.path}`, () => {
      test('signing.signature-verified', 'a signature made with another secret is rejected with 401002', { op }, async (ctx) => {
        expectCode(await send({ target: path, body: okBody(ctx, path), sign: { secretKey: 'contract-wrong-secret' } }), Code.SIGNATURE_FAILED, MISMATCH);
      });
      test('signing.signature-verified', 'a body changed after signing is rejected with 401002', { op }, async (ctx) => {
        const body = okBody(ctx, path);
        const ex = await send({ target: path, body: withUnknownFields(body, { contractTamper: 'changed after signing' }), sign: { body: bodyBytes(body) } });
        expectCode(ex, Code.SIGNATURE_FAILED, MISMATCH);
      });
      test('signing.signature-verified', 'a request signed for another path is rejected with 401002', { op }, async (ctx) => {
        expectCode(await send({ target: path, body: okBody(ctx, path), sign: { target: otherPath } }), Code.SIGNATURE_FAILED, MISMATCH);
      });
      test('signing.signature-verified', 'a query string changed after signing is rejected with 401002', { op }, async (ctx) => {
        const ex = await send({ target: `${path}?channel=beta`, body: okBody(ctx, path), sign: { target: `${path}?channel=stable` } });
        expectCode(ex, Code.SIGNATURE_FAILED, MISMATCH);
      });
      test('signing.signature-verified', 'X-Timestamp changed after signing is rejected with 401002', { op }, async (ctx) => {
        const now = Date.now();
        const ex = await send({ target: path, body: okBody(ctx, path), sign: { timestamp: timestamp({ now, skewSeconds: -2 }) }, replace: { 'X-Timestamp': timestamp({ now, skewSeconds: -1 }) } });
        expectCode(ex, Code.SIGNATURE_FAILED, MISMATCH);
      });
      test('signing.signature-verified', 'X-Nonce changed after signing is rejected with 401002', { op }, async (ctx) => {
        const ex = await send({ target: path, body: okBody(ctx, path), sign: { nonce: uniqueNonce('signed') }, replace: { 'X-Nonce': uniqueNonce('sent') } });
        expectCode(ex, Code.SIGNATURE_FAILED, MISMATCH);
      });
      test('signing.access-key-bound', 'signed with one pair and sent under another access key, it is rejected with 401002', { op }, async (ctx) => {
        const second = use(ctx, fx.secondAccessKey);
        const ex = await send({ target: path, body: okBody(ctx, path), replace: { 'X-AccessKey': second } });
        expectCode(ex, Code.SIGNATURE_FAILED, { rule: 'signing.access-key-bound', codeRule: 'signing.mismatch-code' });
      });
      test('signing.lowercase-hex', 'the right signature in uppercase hex is rejected with 401002', { op }, async (ctx) => {
        const ex = await send({ target: path, body: okBody(ctx, path), sign: { transform: (s) => s.toUpperCase() } });
        expectCode(ex, Code.SIGNATURE_FAILED, { rule: 'signing.lowercase-hex', codeRule: 'signing.mismatch-code' });
      });
      test('signing.empty-body-part', 'an empty body is signed with `body=`: 400005 when signed so, 401002 when the part is left out', { op }, async () => {
        expectCode(await send({ target: path, body: '' }), Code.INVALID_BODY, { rule: 'signing.empty-body-part' });
        // Signed so, the request above got as far as its body; signed without the part it must stop at the
        // signature: 400005 here would mean the body was judged first.
        const withoutPart = await send({ target: path, body: '', sign: { method: 'GET' } });
        expectEarlier(withoutPart, Code.SIGNATURE_FAILED, Code.INVALID_BODY, { rule: 'order.first-failing-check', codeRule: 'signing.mismatch-code' });
      });
      test('signing.exact-body-bytes', 'a non-ASCII body is signed as sent: raw UTF-8 and \\u escapes each accepted, never signed as the other', { op }, async (ctx) => {
        const raw = JSON.stringify(withUnknownFields(okBody(ctx, path), { contractNote: 'Grüße, 设备 🚀' }));
        const escaped = raw.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
        check(raw !== escaped, 'signing.exact-body-bytes', 'fixture', 'the two bodies differ', 'different bytes', 'identical bytes');
        expectCode(await send({ target: path, body: raw }), ok, { rule: 'signing.exact-body-bytes' });
        expectCode(await send({ target: path, body: escaped }), ok, { rule: 'signing.exact-body-bytes' });
        expectCode(await send({ target: path, body: raw, sign: { body: escaped } }), Code.SIGNATURE_FAILED, { rule: 'signing.exact-body-bytes' });
      });
      test('signing.query-covered', 'a request with a query string, signed over it, is accepted; signed without it, rejected', { op }, async (ctx) => {
        expectCode(await send({ target: `${path}?channel=beta`, body: okBody(ctx, path) }), ok, { rule: 'signing.query-covered' });
        expectCode(await send({ target: `${path}?channel=beta`, body: okBody(ctx, path), sign: { target: path } }), Code.SIGNATURE_FAILED, { rule: 'signing.query-covered' });
      });
      test('signing.url-decoded', 'the url is signed decoded: `+` and `%20` sign the same, the encoded form does not; trailing `&` are trimmed', { op }, async (ctx) => {
        expectCode(await send({ target: `${path}?q=a+b`, body: okBody(ctx, path), sign: { target: `${path}?q=a%20b` } }), ok, { rule: 'signing.url-decoded' });
        expectCode(await send({ target: `${path}?q=a%20b`, body: okBody(ctx, path), sign: { target: `${path}?q=a%2520b` } }), Code.SIGNATURE_FAILED, { rule: 'signing.url-decoded' });
        expectCode(await send({ target: `${path}?a=1&`, body: okBody(ctx, path), sign: { target: `${path}?a=1` } }), ok, { rule: 'signing.url-decoded' });
      });
      test('signing.trailing-slash-signed', 'a trailing slash is part of the signed url: signed with it accepted, signed without it rejected', { op }, async (ctx) => {
        expectCode(await send({ target: `${path}/`, body: okBody(ctx, path) }), ok, { rule: 'signing.trailing-slash-signed' });
        expectCode(await send({ target: `${path}/`, body: okBody(ctx, path), sign: { target: path } }), Code.SIGNATURE_FAILED, { rule: 'signing.trailing-slash-signed' });
      });
      test('signing.header-names-case-insensitive', 'signing header names are case-insensitive (lowercase, and the SDKs\' x-Nonce spelling)', { op }, async (ctx) => {
        expectCode(await send({ target: path, body: okBody(ctx, path), headerCase: 'lower' }), ok, { rule: 'signing.header-names-case-insensitive' });
        expectCode(await send({ target: path, body: okBody(ctx, path), headerCase: 'sdk' }), ok, { rule: 'signing.header-names-case-insensitive' });
      });
      test('signing.repeated-header-first', 'a repeated signing header uses its first value', { op }, async (ctx) => {
        expectCode(await send({ target: path, body: okBody(ctx, path), headers: [['X-Nonce', uniqueNonce('second')]] }), ok, { rule: 'signing.repeated-header-first' });
      });
    });
  }
});
