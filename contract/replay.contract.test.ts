// Replay protection (every page: "Server validates timestamp difference … ±5 minutes", "Server checks
// if Nonce value already exists"), the parts that need no clock movement: timestamp format, nonce form,
// single use. The ±5:00/±5:01 window tests move the sandbox clock and live in clock.contract.test.ts.
import { describe } from 'vitest';
import { timestamp } from '../lib/signing/index.ts';
import { Code } from '../lib/spec/index.ts';
import type { PostPath } from '../lib/client/index.ts';
import { bodyCode, check, expectCode } from './support/checks.ts';
import { without } from './support/bodies.ts';
import { okBody, operation, send, sendAll, test, uniqueNonce } from './support/context.ts';

/** Rejected with 400004. Each is signed verbatim, so only the format is at fault. */
const MALFORMED_TIMESTAMPS: Array<[string, (now: number) => string]> = [
  ['no offset', (now) => timestamp({ now }).replace('Z', '').replace(/\.\d+$/, '')],
  ['a space for T', (now) => timestamp({ now, offset: 480 }).replace('T', ' ')],
  ['epoch seconds', (now) => String(Math.floor(now / 1000))],
  ['an offset without a colon (+0800)', (now) => timestamp({ now, offset: 480 }).replace(/\+08:00$/, '+0800')],
  ['an hour-only offset (+08)', (now) => timestamp({ now, offset: 480 }).replace(/\+08:00$/, '+08')],
  ['an HTTP date', (now) => new Date(now).toUTCString()],
  ['a date only', (now) => timestamp({ now }).slice(0, 10)],
  ['month 13', (now) => timestamp({ now, milliseconds: false }).replace(/^(\d{4})-\d{2}/, '$1-13')],
  ['hour 24', (now) => timestamp({ now, milliseconds: false }).replace(/T\d{2}/, 'T24')],
  ['second 60', (now) => timestamp({ now, milliseconds: false }).replace(/:\d{2}Z$/, ':60Z')],
];

const SEED_OPERATIONS = ['/v1/file/upgrade', '/v1/apk/upgrade', '/v1/lnx/upgrade', '/v1/file/version'] as const;
const SINGLE_USE = { rule: 'replay.nonce-single-use', codeRule: 'replay.nonce-reuse-code' } as const;

describe('replay', () => {
  const op = operation('/v1/apk/upgrade');
  const path = '/v1/apk/upgrade' as const;

  describe('POST /v1/apk/upgrade', () => {
    for (const [name, make] of MALFORMED_TIMESTAMPS) {
      test('replay.timestamp-format', `X-Timestamp with ${name} is rejected with 400004`, { op }, async (ctx) => {
        expectCode(await send({ target: path, body: okBody(ctx, path), sign: { timestamp: make(Date.now()) } }), Code.INVALID_HEADER, { rule: 'replay.timestamp-format' });
      });
    }
    test('replay.timestamp-strict-form', 'X-Timestamp with a lowercase t and z is rejected with 400004', { op }, async (ctx) => {
      const stamp = timestamp({ now: Date.now(), milliseconds: false }).replace('T', 't').replace('Z', 'z');
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { timestamp: stamp } }), Code.INVALID_HEADER, { rule: 'replay.timestamp-strict-form' });
    });

    test('replay.nonce-min-length', 'a nonce of 15 characters is rejected with 400004; one of 16 is accepted', { op }, async (ctx) => {
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { nonce: 'abcdef0123456789'.slice(0, 15) } }), Code.INVALID_HEADER, { rule: 'replay.nonce-min-length' });
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { nonce: uniqueNonce('n16').slice(-16) } }), Code.OK, { rule: 'replay.nonce-min-length' });
    });
    test('replay.nonce-form', 'a nonce of 128 characters is accepted; 129, or one with a space, is rejected with 400004', { op }, async (ctx) => {
      const base = uniqueNonce('n128');
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { nonce: base.padEnd(128, 'x') } }), Code.OK, { rule: 'replay.nonce-form' });
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { nonce: base.padEnd(129, 'y') } }), Code.INVALID_HEADER, { rule: 'replay.nonce-form' });
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { nonce: 'abcdefgh 12345678' } }), Code.INVALID_HEADER, { rule: 'replay.nonce-form' });
    });

    test('replay.nonce-global', 'a nonce used on one endpoint is rejected on another (401001)', { op }, async (ctx) => {
      const nonce = uniqueNonce('cross');
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { nonce } }), Code.OK, { rule: 'replay.nonce-global' });
      expectCode(await send({ target: '/v1/file/upgrade', body: okBody(ctx, '/v1/file/upgrade'), sign: { nonce } }), Code.AUTH_FAILED, { rule: 'replay.nonce-global', codeRule: 'replay.nonce-reuse-code' });
    });
    test('replay.nonce-after-signature', 'a forged request does not burn its nonce (recorded only after the signature verifies)', { op }, async (ctx) => {
      const nonce = uniqueNonce('forged');
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { nonce, secretKey: 'forger-does-not-know-it' } }), Code.SIGNATURE_FAILED, { rule: 'replay.nonce-after-signature', codeRule: 'signing.mismatch-code' });
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { nonce } }), Code.OK, { rule: 'replay.nonce-after-signature' });
    });
    test('replay.nonce-after-signature', 'a body over 1 MiB is refused before its nonce is recorded', { op }, async (ctx) => {
      const nonce = uniqueNonce('big');
      const big = JSON.stringify({ ...okBody(ctx, path), padding: 'x'.repeat(1_048_576) });
      expectCode(await send({ target: path, body: big, sign: { nonce } }), Code.INVALID_BODY, { rule: 'replay.nonce-after-signature' });
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { nonce } }), Code.OK, { rule: 'replay.nonce-after-signature' });
    });
    test('replay.nonce-consumed-on-error', 'a nonce stays consumed when validation fails (400002): the retry is rejected with 401001', { op }, async (ctx) => {
      const nonce = uniqueNonce('burned');
      expectCode(await send({ target: path, body: without(okBody(ctx, path), 'apkKey'), sign: { nonce } }), Code.MISSING_PARAMETER, { rule: 'replay.nonce-consumed-on-error' });
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { nonce } }), Code.AUTH_FAILED, { rule: 'replay.nonce-consumed-on-error', codeRule: 'replay.nonce-reuse-code' });
    });
    test('replay.nonce-consumed-on-error', 'a nonce stays consumed when the app is unknown (404001)', { op }, async (ctx) => {
      const nonce = uniqueNonce('burned404');
      expectCode(await send({ target: path, body: { ...okBody(ctx, path), apkKey: 'contract-unknown-app' }, sign: { nonce } }), Code.RESOURCE_NOT_FOUND, { rule: 'replay.nonce-consumed-on-error' });
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { nonce } }), Code.AUTH_FAILED, { rule: 'replay.nonce-consumed-on-error', codeRule: 'replay.nonce-reuse-code' });
    });
    test('replay.nonce-atomic', '50 concurrent requests with one nonce: exactly one is accepted, the rest get 401001', { op, needs: ['bursts'] }, async (ctx) => {
      const nonce = uniqueNonce('burst');
      const ts = timestamp({ now: Date.now() });
      const body = okBody(ctx, path);
      const answers = await sendAll(Array.from({ length: 50 }, () => ({ target: path, body, sign: { nonce, timestamp: ts } })));
      const accepted = answers.filter((a) => bodyCode(a) === Code.OK);
      check(accepted.length === 1, 'replay.nonce-atomic', 'nonce_atomic', 'one nonce, 50 concurrent requests', 'exactly 1 accepted', `${accepted.length} accepted (codes ${JSON.stringify(answers.map(bodyCode))})`);
      for (const a of answers) expectCode(a, bodyCode(a) === Code.OK ? Code.OK : Code.AUTH_FAILED, { rule: 'replay.nonce-atomic', codeRule: 'replay.nonce-reuse-code' });
    });
  });

  for (const seedPath of SEED_OPERATIONS) {
    const seedOp = operation(seedPath);
    describe(`POST ${seedPath}`, () => {
      test('replay.nonce-single-use', 'a successful request replayed unchanged (same nonce, timestamp and signature) is rejected', { op: seedOp }, async (ctx) => {
        const body = okBody(ctx, seedPath);
        const pinned = { nonce: uniqueNonce('replay'), timestamp: timestamp({ now: Date.now() }) };
        expectCode(await send({ target: seedPath, body, sign: pinned }), Code.OK, SINGLE_USE);
        expectCode(await send({ target: seedPath, body, sign: pinned }), Code.AUTH_FAILED, SINGLE_USE);
      });
      test('replay.nonce-single-use', 'a used nonce in a newly signed request (new timestamp) is rejected with 401001', { op: seedOp }, async (ctx) => {
        const nonce = uniqueNonce('reuse');
        expectCode(await send({ target: seedPath, body: okBody(ctx, seedPath), sign: { nonce } }), Code.OK, SINGLE_USE);
        const again = await send({ target: seedPath, body: okBody(ctx, seedPath), sign: { nonce, timestamp: timestamp({ now: Date.now(), skewSeconds: 1 }) } });
        expectCode(again, Code.AUTH_FAILED, SINGLE_USE);
      });
    });
  }
});
