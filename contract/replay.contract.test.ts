// Replay protection (REFERENCE §4.1–4.2) that needs no clock movement: timestamp format, nonce form
// and single use. The ±5:00/±5:01 window tests move the sandbox clock and live in clock.contract.test.ts.
import { describe } from 'vitest';
import { timestamp } from '../lib/signing/index.ts';
import { bodyCode, check, expectAnswer } from './support/checks.ts';
import { fx, rule, send, sendAll } from './support/context.ts';
import { operation, SEED_PATHS } from './support/operations.ts';

const REPLAY = ['rejectsReplays', 'verifiesSignatures', 'hasFixtures'] as const;
let counter = 0;
const uniqueNonce = (label: string) => `${label}-${process.pid}-${Date.now()}-${counter++}`.padEnd(16, '0');

/** REFERENCE §4.1: rejected with 400004. Each is signed verbatim, so only the format is at fault. */
const MALFORMED_TIMESTAMPS: Array<[string, (now: number) => string]> = [
  ['no offset', (now) => timestamp({ now }).replace('Z', '').replace(/\.\d+$/, '')],
  ['a space for T', (now) => timestamp({ now, offset: 480 }).replace('T', ' ')],
  ['epoch seconds', (now) => String(Math.floor(now / 1000))],
  ['offset without a colon (+0800)', (now) => timestamp({ now, offset: 480 }).replace(/\+08:00$/, '+0800')],
  ['hour-only offset (+08)', (now) => timestamp({ now, offset: 480 }).replace(/\+08:00$/, '+08')],
  ['lowercase t and z', (now) => timestamp({ now, milliseconds: false }).replace('T', 't').replace('Z', 'z')],
  ['an HTTP date', (now) => new Date(now).toUTCString()],
  ['a date only', (now) => timestamp({ now }).slice(0, 10)],
  ['month 13', (now) => timestamp({ now, milliseconds: false }).replace(/^(\d{4})-\d{2}/, '$1-13')],
  ['hour 24', (now) => timestamp({ now, milliseconds: false }).replace(/T\d{2}/, 'T24')],
  ['second 60', (now) => timestamp({ now, milliseconds: false }).replace(/:\d{2}Z$/, ':60Z')],
];

/** REFERENCE §4.1: accepted forms (all stamped now, so inside the window). */
const ACCEPTED_TIMESTAMPS: Array<[string, (now: number) => string]> = [
  ['UTC with Z, no fraction', (now) => timestamp({ now, milliseconds: false })],
  ['UTC with milliseconds', (now) => timestamp({ now, milliseconds: true })],
  ['local time with +08:00', (now) => timestamp({ now, offset: 480, milliseconds: false })],
  ['local time with -05:00 and nanoseconds', (now) => timestamp({ now, offset: -300, milliseconds: true }).replace(/(\.\d{3})/, '$1456789')],
  ['+00:00 instead of Z', (now) => timestamp({ now, milliseconds: false }).replace('Z', '+00:00')],
];

describe('replay', () => {
  const op = operation('/v1/apk/upgrade');

  describe('timestamp format', () => {
    for (const [name, make] of MALFORMED_TIMESTAMPS) {
      rule(`X-Timestamp with ${name} is rejected with 400004`, { needs: ['verifiesSignatures'] }, async () => {
        const ex = await send({ target: op.path, body: op.okBody(fx), sign: { timestamp: make(Date.now()) } });
        expectAnswer(ex, 400004);
      });
    }
    rule('an empty X-Timestamp is rejected with 400004', { needs: ['verifiesSignatures'] }, async () => {
      const ex = await send({ target: op.path, body: op.okBody(fx), sign: { timestamp: '' } });
      expectAnswer(ex, 400004);
    });
    for (const [name, make] of ACCEPTED_TIMESTAMPS) {
      rule(`X-Timestamp as ${name} is accepted`, { needs: REPLAY }, async () => {
        const ex = await send({ target: op.path, body: op.okBody(fx), sign: { timestamp: make(Date.now()) } });
        expectAnswer(ex, 200);
      });
    }
  });

  describe('nonce form', () => {
    rule('a nonce of 15 characters is rejected with 400004', { needs: ['verifiesSignatures'] }, async () => {
      const ex = await send({ target: op.path, body: op.okBody(fx), sign: { nonce: 'abcdef0123456789'.slice(0, 15) } });
      expectAnswer(ex, 400004);
    });
    rule('a nonce of exactly 16 characters is accepted', { needs: REPLAY }, async () => {
      const ex = await send({ target: op.path, body: op.okBody(fx), sign: { nonce: uniqueNonce('n16').slice(-16) } });
      expectAnswer(ex, 200);
    });
    rule('a nonce of 128 characters is accepted, 129 is rejected with 400004', { needs: REPLAY }, async () => {
      const base = uniqueNonce('n128');
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { nonce: base.padEnd(128, 'x') } }), 200);
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { nonce: base.padEnd(129, 'y') } }), 400004);
    });
    rule('a nonce with a space (outside visible ASCII) is rejected with 400004', { needs: ['verifiesSignatures'] }, async () => {
      const ex = await send({ target: op.path, body: op.okBody(fx), sign: { nonce: 'abcdefgh 12345678' } });
      expectAnswer(ex, 400004);
    });
  });

  describe('nonce reuse', () => {
    for (const path of SEED_PATHS) {
      rule(`POST ${path}: a reused nonce is rejected with 401001`, { needs: REPLAY }, async () => {
        const o = operation(path);
        const nonce = uniqueNonce('reuse');
        expectAnswer(await send({ target: o.path, body: o.okBody(fx), sign: { nonce } }), o.okCode);
        // A new, valid signature over a new timestamp: only the nonce repeats.
        const again = await send({ target: o.path, body: o.okBody(fx), sign: { nonce, timestamp: timestamp({ now: Date.now(), skewSeconds: 1 }) } });
        expectAnswer(again, 401001);
      });
    }

    rule('a nonce is global across endpoints: reused on another path it is rejected with 401001', { needs: REPLAY }, async () => {
      const nonce = uniqueNonce('cross');
      const other = operation('/v1/file/upgrade');
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { nonce } }), 200);
      expectAnswer(await send({ target: other.path, body: other.okBody(fx), sign: { nonce } }), 401001);
    });

    rule('a forged request does not burn its nonce (recorded only after the signature verifies)', { needs: REPLAY }, async () => {
      const nonce = uniqueNonce('forged');
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { nonce, secretKey: 'forger-does-not-know-it' } }), 401002);
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { nonce } }), 200);
    });

    rule('a nonce stays consumed when a later check fails (400002), so the retry is rejected with 401001', { needs: REPLAY }, async () => {
      const nonce = uniqueNonce('burned');
      expectAnswer(await send({ target: op.path, body: { versionCode: 1 }, sign: { nonce } }), 400002);
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { nonce } }), 401001);
    });

    rule('a nonce stays consumed when the app is unknown (404001)', { needs: REPLAY }, async () => {
      const nonce = uniqueNonce('burned404');
      expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), apkKey: 'contract-unknown-app' }, sign: { nonce } }), 404001);
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { nonce } }), 401001);
    });

    rule('a body over 1 MiB is refused before the nonce is recorded', { needs: REPLAY }, async () => {
      const nonce = uniqueNonce('big');
      const big = JSON.stringify({ ...op.okBody(fx), padding: 'x'.repeat(1_048_576) });
      expectAnswer(await send({ target: op.path, body: big, sign: { nonce } }), 400005);
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { nonce } }), 200);
    });

    rule('50 concurrent requests with one nonce: exactly one is accepted, the rest get 401001', { needs: REPLAY }, async () => {
      const nonce = uniqueNonce('burst');
      const ts = timestamp({ now: Date.now() });
      const answers = await sendAll(Array.from({ length: 50 }, () => ({ target: op.path, body: op.okBody(fx), sign: { nonce, timestamp: ts } })));
      const accepted = answers.filter((a) => bodyCode(a) === 200);
      const replayed = answers.filter((a) => bodyCode(a) === 401001);
      check(accepted.length === 1, 'nonce_atomic', 'one nonce, 50 concurrent requests', 'exactly 1 accepted, 49 × 401001', `${accepted.length} accepted, ${replayed.length} × 401001, codes ${JSON.stringify(answers.map(bodyCode))}`);
      check(replayed.length === 49, 'nonce_atomic', 'one nonce, 50 concurrent requests', '49 × 401001', `${replayed.length} × 401001`);
      for (const a of answers) expectAnswer(a, bodyCode(a) === 200 ? 200 : 401001);
    });
  });
});
