// Authentication (every page: the four signing headers are required; 400004 "Invalid headers",
// 401001 "Authentication failed"): requests without credentials, with a header missing or empty,
// with debug-style headers instead of a signature, and with unknown or disabled access keys never
// get a business success.
import { describe } from 'vitest';
import { Code, OPERATIONS } from '../lib/spec/index.ts';
import type { PostPath } from '../lib/client/index.ts';
import { expectCode, expectRejected } from './support/checks.ts';
import { fx, okBody, operation, send, target, test, use } from './support/context.ts';

const SIGNING_HEADERS = ['X-Timestamp', 'X-Nonce', 'X-AccessKey', 'X-Signature'] as const;

describe('auth', () => {
  for (const op of OPERATIONS) {
    const path = op.path as PostPath;
    describe(`POST ${op.path}`, () => {
      test('auth.signing-headers-required', 'a request with no signing headers at all is rejected with 400004', { op }, async (ctx) => {
        const ex = await send({ target: path, body: okBody(ctx, path), sign: false });
        expectCode(ex, Code.INVALID_HEADER, { rule: 'auth.signing-headers-required', codeRule: 'auth.missing-header-code' });
      });
      for (const header of SIGNING_HEADERS) {
        test('auth.signing-headers-required', `a request without ${header} is rejected with 400004`, { op }, async (ctx) => {
          const ex = await send({ target: path, body: okBody(ctx, path), omit: [header] });
          expectCode(ex, Code.INVALID_HEADER, { rule: 'auth.signing-headers-required', codeRule: 'auth.missing-header-code' });
        });
      }
    });
  }

  describe('POST /v1/apk/upgrade', () => {
    const op = operation('/v1/apk/upgrade');
    for (const header of SIGNING_HEADERS) {
      test('auth.signing-headers-required', `an empty ${header} is rejected with 400004`, { op }, async (ctx) => {
        const ex = await send({ target: op.path, body: okBody(ctx, '/v1/apk/upgrade'), replace: { [header]: '' } });
        expectCode(ex, Code.INVALID_HEADER, { rule: 'auth.signing-headers-required', codeRule: 'auth.missing-header-code' });
      });
    }

    // Debug-style headers (the default names, plus any the target file adds), each with the values a
    // back door would test for: `1`, `true` and the header's own name. Sent once with no signing
    // headers at all and once with a wrong signature: neither may get a business success.
    for (const { name, values } of target.debugHeaders) {
      test('auth.debug-headers-ignored', `a "${name}" header opens no door (no credentials, or a wrong signature)`, { op }, async (ctx) => {
        const body = okBody(ctx, '/v1/apk/upgrade');
        for (const value of values) {
          expectRejected(await send({ target: op.path, body, sign: false, headers: [[name, value]] }), 'auth.debug-headers-ignored');
          expectRejected(await send({ target: op.path, body, sign: { secretKey: 'contract-wrong-secret' }, headers: [[name, value]] }), 'auth.debug-headers-ignored');
        }
      });
    }

    test('auth.unknown-access-key', 'an unknown access key is rejected with 401001, even signed with a valid secret', { op }, async (ctx) => {
      const ex = await send({ target: op.path, body: okBody(ctx, '/v1/apk/upgrade'), sign: { accessKey: 'contract-unknown-access-key' } });
      expectCode(ex, Code.AUTH_FAILED, { rule: 'auth.unknown-access-key' });
    });
    test('auth.disabled-access-key', 'a disabled access key is rejected with 401001, even when correctly signed', { op }, async (ctx) => {
      const disabled = use(ctx, fx.disabledAccessKey);
      const ex = await send({ target: op.path, body: okBody(ctx, '/v1/apk/upgrade'), sign: { accessKey: disabled.accessKey, secretKey: disabled.secretKey } });
      expectCode(ex, Code.AUTH_FAILED, { rule: 'auth.disabled-access-key' });
    });
  });
});
