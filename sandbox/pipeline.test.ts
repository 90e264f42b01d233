import { describe, expect, it } from 'vitest';
import { CODES, Code } from '../lib/spec/index.ts';
import { CHECKS, STAGES, isJsonContentType } from './pipeline.ts';
import { firstHeader, headers, httpStatus } from './stages.ts';
import type { RequestState } from './exchange.ts';
import { canonicalBytes } from '../lib/signing/index.ts';
import { md5 } from '../lib/signing/node.ts';
import { MAIN_KEY, T0, exchange, freshNonce, send, testPipeline } from './testing.ts';

const apk = (extra: object = {}) => ({ apkKey: 'apk-basic', versionCode: 1, ...extra });

describe('pipeline stages (REFERENCE §4.3 order)', () => {
  const { pipeline } = testPipeline();

  it('order > checks are named in the contract order, then respond', () => {
    expect(CHECKS).toEqual(['route', 'method', 'contentType', 'target', 'headers', 'window', 'accessKey', 'signature', 'nonce', 'parse', 'validate', 'business']);
    expect(STAGES).toEqual([...CHECKS, 'respond']);
    expect(pipeline.table.order).toEqual(CHECKS);
  });

  describe('route', () => {
    it.each([
      ['/v1/apk/upgrad', Code.METHOD_NOT_FOUND, 404],
      ['/v1/apk/download', Code.METHOD_NOT_FOUND, 404],
      ['/v1/apk/upgrade//', Code.METHOD_NOT_FOUND, 404],
      ['/v1//apk/upgrade', Code.METHOD_NOT_FOUND, 404],
      ['/v1/APK/upgrade', Code.METHOD_NOT_FOUND, 404],
      ['/v1/apk/./upgrade', Code.METHOD_NOT_FOUND, 404],
      ['/', Code.REQUEST_NOT_FOUND, 404],
      ['/v2/apk/upgrade', Code.REQUEST_NOT_FOUND, 404],
      ['/v1', Code.REQUEST_NOT_FOUND, 404],
    ])('route > %s → %s', async (path, code, status) => {
      const reply = await send(pipeline, { path, method: 'GET', contentType: null, headers: { 'X-Nonce': undefined } });
      expect([reply.status, reply.code, reply.stage]).toEqual([status, code, 'route']);
    });
    it('route > one trailing slash routes (and is signed)', async () => {
      expect((await send(pipeline, { path: '/v1/apk/upgrade/', body: apk() })).code).toBe(Code.OK);
    });
    it('route > signed without the slash, sent with it → 401002', async () => {
      expect((await send(pipeline, { path: '/v1/apk/upgrade/', signedTarget: '/v1/apk/upgrade', body: apk() })).code).toBe(Code.SIGNATURE_FAILED);
    });
  });

  describe('method', () => {
    it.each(['GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'])('method > %s → 400001', async (method) => {
      const reply = await send(pipeline, { method, body: apk(), contentType: null });
      expect([reply.status, reply.code, reply.stage]).toEqual([400, Code.ILLEGAL_REQUEST, 'method']);
    });
  });

  describe('contentType', () => {
    it.each([
      [null, Code.ILLEGAL_REQUEST],
      ['text/plain', Code.ILLEGAL_REQUEST],
      ['application/jsonx', Code.ILLEGAL_REQUEST],
      ['application/x-www-form-urlencoded', Code.ILLEGAL_REQUEST],
      ['application/json', Code.OK],
      ['Application/JSON', Code.OK],
      ['application/json; charset=utf-8', Code.OK],
      ['application/json;charset=UTF-8', Code.OK],
    ])('contentType > %s → %s', async (contentType, code) => {
      expect((await send(pipeline, { body: apk(), contentType })).code).toBe(code);
    });
    it('contentType > comes before signing headers', async () => {
      const reply = await send(pipeline, { body: apk(), contentType: 'text/plain', headers: { 'X-Nonce': undefined } });
      expect(reply.stage).toBe('contentType');
    });
    it('isJsonContentType > unit', () => {
      expect(isJsonContentType(' application/json ; q=1')).toBe(true);
      expect(isJsonContentType(undefined)).toBe(false);
    });
  });

  describe('target', () => {
    it('target > a bad percent-escape → 400001 before headers', async () => {
      const reply = await send(pipeline, { target: '/v1/apk/upgrade?q=%zz', signedTarget: '/v1/apk/upgrade', body: apk(), headers: { 'X-Nonce': undefined } });
      expect([reply.code, reply.stage]).toEqual([Code.ILLEGAL_REQUEST, 'target']);
    });
    it('target > the query is signed decoded: + and %20 sign alike', async () => {
      expect((await send(pipeline, { target: '/v1/apk/upgrade?q=a+b', signedTarget: '/v1/apk/upgrade?q=a%20b', body: apk() })).code).toBe(Code.OK);
    });
    it('target > signing the still-encoded query → 401002', async () => {
      const call = exchange({ target: '/v1/apk/upgrade?q=a%20b', body: apk() });
      // Sign the still-encoded form by hand (%2520 decodes to %20): the sandbox decodes once, so this mismatches.
      const h = Object.fromEntries(call.rawHeaders.flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]!]])));
      const bytes = canonicalBytes({ method: 'POST', target: '/v1/apk/upgrade?q=a%2520b', body: JSON.stringify(apk()), nonce: h['X-Nonce']!, secretKey: MAIN_KEY.secretKey, timestamp: h['X-Timestamp']! });
      const reply = await send(pipeline, { target: '/v1/apk/upgrade?q=a%20b', body: apk(), nonce: h['X-Nonce'], timestamp: h['X-Timestamp'], signature: md5(bytes) });
      expect(reply.code).toBe(Code.SIGNATURE_FAILED);
    });
    it('target > a trailing & in the query is trimmed from the signed string', async () => {
      expect((await send(pipeline, { target: '/v1/apk/upgrade?a=1&', body: apk() })).code).toBe(Code.OK);
    });
  });

  describe('headers', () => {
    it.each([
      ['X-Timestamp missing', { 'X-Timestamp': undefined }],
      ['X-Nonce missing', { 'X-Nonce': undefined }],
      ['X-AccessKey missing', { 'X-AccessKey': undefined }],
      ['X-Signature missing', { 'X-Signature': undefined }],
      ['X-Signature empty', { 'X-Signature': '' }],
      ['timestamp with a space', { 'X-Timestamp': '2025-02-17 02:34:55Z' }],
      ['timestamp without offset', { 'X-Timestamp': '2025-02-17T02:34:55' }],
      ['timestamp +0800', { 'X-Timestamp': '2025-02-17T10:34:55+0800' }],
      ['timestamp lowercase', { 'X-Timestamp': '2025-02-17t02:34:55z' }],
      ['timestamp epoch', { 'X-Timestamp': '1739759695' }],
      ['timestamp hour 24', { 'X-Timestamp': '2025-02-17T24:00:00Z' }],
      ['nonce of 15', { 'X-Nonce': 'abcdefabcdefabc' }],
      ['nonce of 129', { 'X-Nonce': 'a'.repeat(129) }],
      ['nonce with a space', { 'X-Nonce': 'abcdefab cdefabcd' }],
      ['nonce non-ASCII', { 'X-Nonce': 'abcdefabcdefabcdé' }],
    ])('headers > %s → 400004', async (_name, headers) => {
      const reply = await send(pipeline, { body: apk(), headers });
      expect([reply.status, reply.code, reply.stage]).toEqual([400, Code.INVALID_HEADER, 'headers']);
    });
    it('headers > names are case-insensitive (SDK spelling x-Nonce)', async () => {
      const call = exchange({ body: apk() });
      const raw = call.rawHeaders.map((v, i) => (i % 2 === 0 ? v.replace(/^X-/, 'x-') : v));
      expect((await pipeline.handle({ ...call, rawHeaders: raw })).code).toBe(Code.OK);
    });
    it('headers > a repeated header uses its first value', async () => {
      const reply = await send(pipeline, { body: apk(), extraRawHeaders: ['x-nonce', 'ffffffffffffffffffff'] });
      expect(reply.code).toBe(Code.OK);
    });
    it('headers > decisions: names case-insensitive, first value wins', () => {
      const x = {} as RequestState;
      expect(['X-NONCE', 'x-accesskey', 'X-Signature', 'Content-Type', 'X-Nonce-Extra'].map((n) => headers.slotOf(x, n))).toEqual(['nonce', 'accessKey', 'signature', undefined, undefined]);
      expect(headers.repeated(x, 'a', 'b')).toBe('a');
      expect(firstHeader(['X-NONCE', 'a', 'content-TYPE', 'application/json', 'Content-Type', 'text/plain'], 'content-type')).toBe('application/json');
    });
    it('headers > a nonce of 16 and of 128 visible characters pass', async () => {
      expect((await send(pipeline, { body: apk(), nonce: '!~'.repeat(8) })).code).toBe(Code.OK);
      expect((await send(pipeline, { body: apk(), nonce: `${freshNonce()}${'z'.repeat(112)}` })).code).toBe(Code.OK);
    });
  });

  describe('window', () => {
    const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString().replace('.000Z', 'Z');
    it.each([
      ['-5:00', -300_000, Code.OK],
      ['+5:00', 300_000, Code.OK],
      ['-5:01', -301_000, Code.AUTH_FAILED],
      ['+5:01', 301_000, Code.AUTH_FAILED],
      ['+5:00.001', 300_001, Code.AUTH_FAILED],
    ])('window > %s', async (_name, offset, code) => {
      const reply = await send(pipeline, { body: apk(), timestamp: at(offset) });
      expect(reply.code).toBe(code);
    });
    it('window > an offset timestamp is compared as the instant it names', async () => {
      expect((await send(pipeline, { body: apk(), timestamp: '2025-02-17T10:34:55+08:00' })).code).toBe(Code.OK);
    });
    it('window > is configurable', async () => {
      const { pipeline: narrow } = testPipeline({ windowSeconds: 60 });
      expect((await send(narrow, { body: apk(), timestamp: at(-61_000) })).code).toBe(Code.AUTH_FAILED);
      expect((await send(narrow, { body: apk(), timestamp: at(-60_000) })).code).toBe(Code.OK);
    });
    it('window > comes before the access key', async () => {
      const reply = await send(pipeline, { body: apk(), timestamp: at(-600_000), accessKey: 'nope' });
      expect(reply.stage).toBe('window');
    });
  });

  describe('accessKey', () => {
    it('accessKey > unknown → 401001', async () => {
      const reply = await send(pipeline, { body: apk(), accessKey: 'ak-unknown' });
      expect([reply.status, reply.code, reply.stage]).toEqual([401, Code.AUTH_FAILED, 'accessKey']);
    });
    it('accessKey > disabled → 401001', async () => {
      const reply = await send(pipeline, { body: apk(), accessKey: 'ak-sandbox-disabled', secretKey: 'test-secret-DO-NOT-USE-0003' });
      expect([reply.code, reply.stage]).toEqual([Code.AUTH_FAILED, 'accessKey']);
    });
    it('accessKey > the second pair works', async () => {
      expect((await send(pipeline, { body: apk(), accessKey: 'ak-sandbox-0002', secretKey: 'test-secret-DO-NOT-USE-0002' })).code).toBe(Code.OK);
    });
  });

  describe('signature', () => {
    it('signature > vector V1 passes end to end with the clock pinned', async () => {
      const body = '{"apkKey":"isVZBUvkFhv6oHxk_X-D0Q","versionCode":1,"appointVersionCode":0,"devModelKey":"stv1","devKey":"LOYlLXNy7w"}';
      const reply = await send(pipeline, { body, nonce: 'fc812cc0b9b51e8c', timestamp: '2025-02-17T02:34:55Z', signature: 'a3b35614fce8d1fcb915d6789ea41369' });
      expect(reply.code).toBe(Code.OK);
    });
    it.each([
      ['tampered body', { signedBody: JSON.stringify(apk({ versionCode: 2 })) }],
      ['wrong secret', { secretKey: 'wrong' }],
      ['uppercase hex', { signature: 'A3B35614FCE8D1FCB915D6789EA41369' }],
      ['tampered path', { signedTarget: '/v1/file/upgrade' }],
      ['tampered query', { target: '/v1/apk/upgrade?a=1', signedTarget: '/v1/apk/upgrade?a=2' }],
    ])('signature > %s → 401002', async (_name, call) => {
      const reply = await send(pipeline, { body: apk(), ...call });
      expect([reply.status, reply.code, reply.stage]).toEqual([401, Code.SIGNATURE_FAILED, 'signature']);
    });
    it('signature > uppercase of the right signature → 401002', async () => {
      const call = exchange({ body: apk() });
      const raw = [...call.rawHeaders];
      const i = raw.indexOf('X-Signature');
      raw[i + 1] = raw[i + 1]!.toUpperCase();
      expect((await pipeline.handle({ ...call, rawHeaders: raw })).code).toBe(Code.SIGNATURE_FAILED);
    });
    it('signature > a body over 1 MiB → 400005 without recording the nonce', async () => {
      const nonce = freshNonce();
      const big = `{"apkKey":"apk-basic","versionCode":1,"pad":"${'x'.repeat(1_048_576)}"}`;
      const reply = await send(pipeline, { body: big, nonce });
      expect([reply.code, reply.stage]).toEqual([Code.INVALID_BODY, 'signature']);
      expect((await send(pipeline, { body: apk(), nonce })).code).toBe(Code.OK);
    });
    it('signature > exactly 1 MiB is read and signed', async () => {
      const head = '{"apkKey":"apk-basic","versionCode":1,"pad":"';
      const body = `${head}${'x'.repeat(1_048_576 - head.length - 2)}"}`;
      expect(Buffer.byteLength(body)).toBe(1_048_576);
      expect((await send(pipeline, { body })).code).toBe(Code.OK);
    });
    it('signature > non-ASCII body signed as raw UTF-8, and its \\u-escaped twin signed as sent', async () => {
      expect((await send(pipeline, { body: '{"apkKey":"apk-basic","versionCode":1,"devKey":"grüße"}' })).code).toBe(Code.OK);
      expect((await send(pipeline, { body: '{"apkKey":"apk-basic","versionCode":1,"devKey":"gr\\u00fc\\u00dfe"}' })).code).toBe(Code.OK);
    });
  });

  describe('nonce', () => {
    it('nonce > reuse → 401001, across access keys', async () => {
      const nonce = freshNonce();
      expect((await send(pipeline, { body: apk(), nonce })).code).toBe(Code.OK);
      const again = await send(pipeline, { body: apk(), nonce, accessKey: 'ak-sandbox-0002', secretKey: 'test-secret-DO-NOT-USE-0002' });
      expect([again.code, again.stage]).toEqual([Code.AUTH_FAILED, 'nonce']);
    });
    it('nonce > a forged request does not burn the nonce', async () => {
      const nonce = freshNonce();
      expect((await send(pipeline, { body: apk(), nonce, secretKey: 'forged' })).code).toBe(Code.SIGNATURE_FAILED);
      expect((await send(pipeline, { body: apk(), nonce })).code).toBe(Code.OK);
    });
    it('nonce > stays consumed when a later step fails', async () => {
      const nonce = freshNonce();
      expect((await send(pipeline, { body: '[]', nonce })).code).toBe(Code.INVALID_BODY);
      expect((await send(pipeline, { body: apk(), nonce })).code).toBe(Code.AUTH_FAILED);
    });
    it('nonce > remembered for twice the window, then forgotten', async () => {
      const { pipeline: p, clock } = testPipeline();
      const nonce = freshNonce();
      const ts = new Date(T0 + 300_000).toISOString();
      expect((await send(p, { body: apk(), nonce, timestamp: ts })).code).toBe(Code.OK);
      clock.set(T0 + 590_000);
      expect((await send(p, { body: apk(), nonce, timestamp: ts })).code).toBe(Code.AUTH_FAILED);
      clock.set(T0 + 11 * 60_000);
      expect(p.nonces.has(nonce, clock.now())).toBe(false);
    });
  });

  describe('parse', () => {
    it.each([
      ['empty', ''],
      ['not JSON', '{"apkKey":'],
      ['array', '[]'],
      ['number', '1'],
      ['string', '"x"'],
      ['null', 'null'],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
      ['BOM', '\ufeff{"apkKey":"apk-basic","versionCode":1}'],
    ])('parse > %s → 400005', async (_name, body) => {
      const reply = await send(pipeline, { body });
      expect([reply.status, reply.code, reply.stage]).toEqual([400, Code.INVALID_BODY, 'parse']);
    });
  });

  describe('validate', () => {
    it.each([
      ['apkKey missing', { versionCode: 1 }, Code.MISSING_PARAMETER],
      ['versionCode missing', { apkKey: 'apk-basic' }, Code.MISSING_PARAMETER],
      ['key case matters', { apkKey: 'apk-basic', VersionCode: 1 }, Code.MISSING_PARAMETER],
      ['missing beats wrong type', { apkKey: 5 }, Code.MISSING_PARAMETER],
      ['versionCode string', apk({ versionCode: '1' }), Code.INVALID_PARAMETER],
      ['versionCode 0', apk({ versionCode: 0 }), Code.INVALID_PARAMETER],
      ['versionCode null', apk({ versionCode: null }), Code.INVALID_PARAMETER],
      ['devKey null', apk({ devKey: null }), Code.INVALID_PARAMETER],
      ['devKey number', apk({ devKey: 1 }), Code.INVALID_PARAMETER],
      ['appointVersionCode -1', apk({ appointVersionCode: -1 }), Code.INVALID_PARAMETER],
      ['apkKey empty', apk({ apkKey: '' }), Code.INVALID_PARAMETER],
      ['unknown keys ignored', apk({ patchAlgo: 1, extra: [1.5] }), Code.OK],
    ])('validate > %s', async (_name, body, code) => {
      expect((await send(pipeline, { body })).code).toBe(code);
    });
    it.each([
      ['1.0', '{"apkKey":"apk-basic","versionCode":1.0}'],
      ['1e0', '{"apkKey":"apk-basic","versionCode":1e0}'],
      ['1.5', '{"apkKey":"apk-basic","versionCode":1.5}'],
      ['int64 overflow', '{"apkKey":"apk-basic","versionCode":9223372036854775808}'],
      ['appoint 0.0', '{"apkKey":"apk-basic","versionCode":1,"appointVersionCode":0.0}'],
      ['duplicate key, last bad', '{"apkKey":"apk-basic","versionCode":1,"versionCode":2.0}'],
    ])('validate > integer literal %s → 400003', async (_name, body) => {
      expect((await send(pipeline, { body })).code).toBe(Code.INVALID_PARAMETER);
    });
    it('validate > duplicate keys: the last one wins', async () => {
      expect((await send(pipeline, { body: '{"apkKey":"apk-basic","versionCode":1.5,"versionCode":1}' })).code).toBe(Code.OK);
      expect((await send(pipeline, { body: '{"apkKey":"apk-basic","versionCode":1,"versionCode":2}' })).code).toBe(Code.LATEST);
    });
    it('validate > int64 max is a valid literal', async () => {
      expect((await send(pipeline, { body: '{"apkKey":"apk-basic","versionCode":9223372036854775807}' })).code).toBe(Code.LATEST);
    });
    it.each([
      ['lnx arch ""', '/v1/lnx/upgrade', { lnxKey: 'lnx-basic', versionCode: 1, arch: '' }, Code.INVALID_PARAMETER],
      ['lnx arch missing', '/v1/lnx/upgrade', { lnxKey: 'lnx-basic', versionCode: 1 }, Code.MISSING_PARAMETER],
      ['win arch ""', '/v1/win/upgrade', { winKey: 'win-basic', versionCode: 1, arch: '' }, Code.OK],
      ['tauri bad semver', '/v1/tauri/version', { tauriKey: 'tauri-basic', versionName: '1.2', target: 'windows', arch: 'x86_64' }, Code.INVALID_PARAMETER],
      ['tauri minor > 999', '/v1/tauri/version', { tauriKey: 'tauri-basic', versionName: '1.1000.0', target: 'windows', arch: 'x86_64' }, Code.INVALID_PARAMETER],
      ['report app_start without launchTime', '/v1/app/report', { eventType: 'app_start', timestamp: '2025-02-17T02:34:55Z', appKey: 'apk-basic', eventData: {} }, Code.MISSING_PARAMETER],
      ['report bad launchTime', '/v1/app/report', { eventType: 'app_start', timestamp: '2025-02-17T02:34:55Z', appKey: 'apk-basic', eventData: { launchTime: 'yesterday' } }, Code.INVALID_PARAMETER],
      ['report launchTime ignored on download', '/v1/app/report', { eventType: 'app_upgrade_download', timestamp: '2025-02-17T02:34:55Z', appKey: 'apk-basic', eventData: { launchTime: '' } }, Code.LATEST],
      ['report bad event type', '/v1/app/report', { eventType: 'app_stop', timestamp: '2025-02-17T02:34:55Z', appKey: 'apk-basic' }, Code.INVALID_PARAMETER],
      ['report bad timestamp', '/v1/app/report', { eventType: 'app_upgrade_upgrade', timestamp: '2025-02-30T02:34:55Z', appKey: 'apk-basic' }, Code.INVALID_PARAMETER],
      ['report eventData.code float', '/v1/app/report', '{"eventType":"app_upgrade_upgrade","timestamp":"2025-02-17T02:34:55Z","appKey":"apk-basic","eventData":{"code":1.5}}', Code.INVALID_PARAMETER],
    ])('validate > %s', async (_name, path, body, code) => {
      expect((await send(pipeline, { path, body })).code).toBe(code);
    });
  });

  describe('business and envelope', () => {
    it('envelope > code 200 with data, JSON content type', async () => {
      const reply = await send(pipeline, { body: apk() });
      expect([reply.status, reply.code, reply.contentType]).toEqual([200, Code.OK, 'application/json; charset=utf-8']);
      expect(reply.data).toMatchObject({ apkKey: 'apk-basic', versionCode: 2, upgradeType: 1 });
    });
    it('envelope > the status rule (code / 1000; 200 for 0 and 200) is the status every code is documented with', () => {
      for (const [code, facts] of Object.entries(CODES)) expect(httpStatus(Number(code))).toBe(facts.httpStatus);
    });
    it('envelope > msg is the code\'s meaning from the spec, then the detail', async () => {
      const answer = await pipeline.handle(exchange({ body: apk({ apkKey: 'nope' }) }));
      expect((JSON.parse(answer.body) as { msg: string }).msg).toMatch(new RegExp(`^${CODES[Code.RESOURCE_NOT_FOUND].meaning}: .*nope`));
    });
    it('envelope > errors carry data null and status code/1000', async () => {
      const reply = await send(pipeline, { body: apk({ apkKey: 'nope' }) });
      expect([reply.status, reply.code, reply.data, reply.stage]).toEqual([404, Code.RESOURCE_NOT_FOUND, null, 'business']);
    });
    it('envelope > 500001 for a failInternally app; 500002 for inconsistent data', async () => {
      expect((await send(pipeline, { body: apk({ apkKey: 'apk-fail-internal' }) })).status).toBe(500);
      expect((await send(pipeline, { body: apk({ apkKey: 'apk-fail-internal' }) })).code).toBe(Code.INTERNAL_ERROR);
      expect((await send(pipeline, { body: apk({ apkKey: 'apk-inconsistent-missing-version' }) })).code).toBe(Code.DATA_INVALID);
    });
    it('robustness > a throwing body source becomes 500001, not a crash', async () => {
      const call = exchange({ body: apk() });
      const answer = await pipeline.handle({ ...call, readBody: () => { throw new Error('boom'); } });
      expect([answer.status, answer.code]).toEqual([500, Code.INTERNAL_ERROR]);
      expect(answer.body).not.toContain('boom');
    });
  });
});
