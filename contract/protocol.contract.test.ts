// Protocol: methods, Content-Type, the request target, routing, and the check order (which of two
// faults decides the answer).
import { describe } from 'vitest';
import { Code, OPERATIONS } from '../lib/spec/index.ts';
import type { PostPath } from '../lib/client/index.ts';
import { check, expectCode, expectEarlier, expectRouted } from './support/checks.ts';
import { okBody, operation, send, test } from './support/context.ts';

describe('protocol', () => {
  const op = operation('/v1/apk/upgrade');
  const path = '/v1/apk/upgrade' as const;

  describe('POST /v1/apk/upgrade', () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      test('protocol.post-only', `${method} on a signed route is rejected with 400001`, { op }, async (ctx) => {
        expectCode(await send({ target: path, method, body: okBody(ctx, path) }), Code.ILLEGAL_REQUEST, { rule: 'protocol.post-only' });
      });
    }
    // A HEAD answer has no body: its status is all there is to judge, so a server that sends every error
    // with HTTP 200 (already a finding of the other tests) cannot be told from one that accepts HEAD.
    test('protocol.post-only', 'HEAD on a signed route is answered HTTP 400 with no body', { op, after: ['envelope.http-status-matches-code'] }, async () => {
      expectCode(await send({ target: path, method: 'HEAD' }), Code.ILLEGAL_REQUEST, { rule: 'protocol.post-only' });
    });
    test('protocol.post-only', 'an OPTIONS preflight gets 400001 and no CORS headers', { op }, async () => {
      const ex = await send({ target: path, method: 'OPTIONS', sign: false, contentType: null, headers: [['Origin', 'https://app.example'], ['Access-Control-Request-Method', 'POST']] });
      expectCode(ex, Code.ILLEGAL_REQUEST, { rule: 'protocol.post-only' });
      const cors = Object.keys(ex.response.headers).filter((h) => h.startsWith('access-control-'));
      check(cors.length === 0, 'protocol.post-only', 'no_cors', 'no CORS headers', 'no Access-Control-* headers', cors.join(', '));
    });

    test('protocol.content-type-required', 'a request without Content-Type is rejected with 400001', { op }, async (ctx) => {
      expectCode(await send({ target: path, body: okBody(ctx, path), contentType: null }), Code.ILLEGAL_REQUEST, { rule: 'protocol.content-type-required' });
    });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp']) {
      test('protocol.content-type-required', `Content-Type ${type} is rejected with 400001`, { op }, async (ctx) => {
        expectCode(await send({ target: path, body: okBody(ctx, path), contentType: type }), Code.ILLEGAL_REQUEST, { rule: 'protocol.content-type-required' });
      });
    }
    for (const type of ['application/json; charset=utf-8', 'Application/JSON']) {
      test('protocol.content-type-params', `Content-Type ${type} is accepted`, { op }, async (ctx) => {
        expectCode(await send({ target: path, body: okBody(ctx, path), contentType: type }), Code.OK, { rule: 'protocol.content-type-params' });
      });
    }
    test('protocol.target-decodes', 'a bad % escape in the request target is rejected with 400001', { op }, async (ctx) => {
      // Signing the undecodable target is impossible, so it is signed without its query: the target check comes first.
      expectCode(await send({ target: `${path}?q=%zz`, body: okBody(ctx, path), sign: { target: path } }), Code.ILLEGAL_REQUEST, { rule: 'protocol.target-decodes' });
    });
  });

  for (const o of OPERATIONS) {
    const p = o.path as PostPath;
    describe(`POST ${o.path}`, () => {
      // Whether it is then signed right is signing.trailing-slash-signed's business: here, only that it is routed.
      test('routing.trailing-slash', 'the path with one trailing slash reaches the endpoint (not 404003)', { op: o }, async (ctx) => {
        expectRouted(await send({ target: `${p}/`, body: okBody(ctx, p) }), 'routing.trailing-slash');
      });
    });
  }

  describe('unknown routes', () => {
    const under: Array<[string, string]> = [
      ['POST', '/v1/apk/upgrad'],
      ['GET', '/v1/apk/download'],
      ['POST', '/v1/apk//upgrade'],
      ['POST', '/v1/APK/upgrade'],
      ['POST', '/v1/apk/./upgrade'],
      ['POST', '/v1/apk/upgrade//'],
    ];
    for (const [method, target] of under) {
      test('routing.unknown-path', `${method} ${target} (under /v1/) is answered 404003`, {}, async (ctx) => {
        expectCode(await send({ target, method, body: method === 'GET' ? undefined : okBody(ctx, path) }), Code.METHOD_NOT_FOUND, { rule: 'routing.unknown-path' });
      });
    }
    for (const [method, target] of [['GET', '/'], ['POST', '/v2/apk/upgrade'], ['POST', '/apk/upgrade']] as const) {
      test('routing.unknown-path', `${method} ${target} (outside /v1/) is answered 404004`, {}, async (ctx) => {
        expectCode(await send({ target, method, body: method === 'GET' ? undefined : okBody(ctx, path) }), Code.REQUEST_NOT_FOUND, { rule: 'routing.unknown-path' });
      });
    }
  });

  describe('check order', () => {
    const ORDER = 'order.first-failing-check' as const;
    test(ORDER, 'an unknown path beats a wrong method: GET /v1/apk/upgrad → 404003, not 400001', {}, async () => {
      expectEarlier(await send({ target: '/v1/apk/upgrad', method: 'GET' }), Code.METHOD_NOT_FOUND, Code.ILLEGAL_REQUEST, { rule: ORDER, codeRule: 'routing.unknown-path' });
    });
    test(ORDER, 'a wrong method beats a missing signature: GET unsigned → 400001, not 400004', { op }, async () => {
      expectEarlier(await send({ target: path, method: 'GET', sign: false }), Code.ILLEGAL_REQUEST, Code.INVALID_HEADER, { rule: ORDER, codeRule: 'protocol.post-only' });
    });
    test(ORDER, 'the content type beats a missing header: text/plain unsigned → 400001, not 400004', { op }, async (ctx) => {
      expectEarlier(await send({ target: path, body: okBody(ctx, path), contentType: 'text/plain', sign: false }), Code.ILLEGAL_REQUEST, Code.INVALID_HEADER, { rule: ORDER, codeRule: 'protocol.content-type-required' });
    });
    test(ORDER, 'a missing header beats a malformed body → 400004, not 400005', { op }, async () => {
      expectEarlier(await send({ target: path, body: '{bad', omit: ['X-Nonce'] }), Code.INVALID_HEADER, Code.INVALID_BODY, { rule: ORDER, codeRule: 'auth.missing-header-code' });
    });
    test(ORDER, 'a malformed header beats the window: a 15-character nonce on a stale timestamp → 400004, not 401001', { op }, async (ctx) => {
      const ex = await send({ target: path, body: okBody(ctx, path), sign: { nonce: 'abcdef012345678', timestamp: '2020-01-01T00:00:00Z' } });
      expectEarlier(ex, Code.INVALID_HEADER, Code.AUTH_FAILED, { rule: ORDER, codeRule: 'replay.nonce-min-length' });
    });
    test(ORDER, 'the window beats the signature: a stale timestamp with a wrong signature → 401001, not 401002', { op }, async (ctx) => {
      const ex = await send({ target: path, body: okBody(ctx, path), sign: { secretKey: 'contract-wrong-secret', timestamp: '2020-01-01T00:00:00Z' } });
      expectEarlier(ex, Code.AUTH_FAILED, Code.SIGNATURE_FAILED, { rule: ORDER, codeRule: 'replay.timestamp-window' });
    });
    test(ORDER, 'the access key beats the signature: an unknown key with a wrong signature → 401001, not 401002', { op }, async (ctx) => {
      const ex = await send({ target: path, body: okBody(ctx, path), sign: { accessKey: 'contract-unknown-access-key', secretKey: 'contract-wrong-secret' } });
      expectEarlier(ex, Code.AUTH_FAILED, Code.SIGNATURE_FAILED, { rule: ORDER, codeRule: 'auth.unknown-access-key' });
    });
    test(ORDER, 'the signature beats a malformed body: a bad signature over bad JSON → 401002, not 400005', { op }, async () => {
      expectEarlier(await send({ target: path, body: '{bad', sign: { secretKey: 'not-the-secret' } }), Code.SIGNATURE_FAILED, Code.INVALID_BODY, { rule: ORDER, codeRule: 'signing.mismatch-code' });
    });
    test(ORDER, 'the body parse beats validation: malformed JSON → 400005, not 400002', { op }, async () => {
      expectEarlier(await send({ target: path, body: '{"versionCode":1' }), Code.INVALID_BODY, Code.MISSING_PARAMETER, { rule: ORDER, codeRule: 'body.invalid-body' });
    });
  });
});
