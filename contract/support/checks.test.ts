// The named checks can fail: each is shown to reject what it should, with the rule it reports, and
// to pass a conforming answer. (Unit test: synthetic exchanges, no target.)
import { describe, expect, it } from 'vitest';
import type { RawResponse } from '../../lib/client/raw.ts';
import { ContractFailure, contentType, documentedStatus, expectCode, jsonEnvelope, schemaConformance, statusMatchesCode } from './checks.ts';
import type { Exchange } from './exchange.ts';

function synthetic(status: number, body: unknown, options: { path?: string; method?: string; contentType?: string; violations?: Exchange['violations']; undocumented?: boolean } = {}): Exchange {
  const bodyText = typeof body === 'string' ? body : JSON.stringify(body);
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    json = undefined;
  }
  const response: RawResponse = {
    status,
    headers: { 'content-type': options.contentType ?? 'application/json; charset=utf-8' },
    rawHeaders: [],
    bodyText,
    bodyBytes: new Uint8Array(Buffer.from(bodyText)),
    json,
    durationMs: 0,
  };
  const path = options.path ?? '/v1/apk/upgrade';
  return {
    ...(options.undocumented ? {} : { operation: path }),
    request: { method: options.method ?? 'POST', target: path, url: `http://127.0.0.1${path}`, headers: [], body: '{}', bodyBytes: 2, route: 'direct' },
    response,
    violations: options.violations ?? [],
  };
}

function failureOf(fn: () => void): ContractFailure {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ContractFailure);
    expect((error as ContractFailure).message).toMatch(/\nExpected: .+\nReceived: .+/);
    return error as ContractFailure;
  }
  throw new Error('the check should have failed');
}

const upgradeData = { apkKey: 'a', packageName: 'p', versionName: 'v', versionCode: 2, urlPath: 'u', urlFileSize: 1, urlFileMd5: '', upgradeType: 1, promptUpgradeContent: '' };

describe('checks', () => {
  it('an answer that is not a JSON envelope fails envelope.json-body', () => {
    expect(failureOf(() => jsonEnvelope(synthetic(404, 'Not Found', { contentType: 'text/plain' }))).rule).toBe('envelope.json-body');
    expect(failureOf(() => jsonEnvelope(synthetic(200, { msg: 'no code' }))).rule).toBe('envelope.json-body');
    jsonEnvelope(synthetic(200, { code: 0, msg: '' }));
  });
  it('an undocumented status fails envelope.documented-status, also off the documented routes', () => {
    expect(failureOf(() => documentedStatus(synthetic(418, { code: 418000, msg: '' }))).rule).toBe('envelope.documented-status');
    expect(failureOf(() => documentedStatus(synthetic(429, { code: 429001, msg: '' }, { path: '/v1/apk/version' }))).rule).toBe('envelope.documented-status');
    expect(failureOf(() => documentedStatus(synthetic(405, { code: 405001, msg: '' }, { path: '/v1/nope', undocumented: true }))).rule).toBe('envelope.documented-status');
    documentedStatus(synthetic(404, { code: 404003, msg: '' }, { path: '/v1/nope', undocumented: true }));
  });
  it('a status outside the code\'s family fails envelope.http-status-matches-code', () => {
    expect(failureOf(() => statusMatchesCode(synthetic(200, { code: 401002, msg: '' }))).rule).toBe('envelope.http-status-matches-code');
    expect(failureOf(() => statusMatchesCode(synthetic(400, { code: 0, msg: '' }))).rule).toBe('envelope.http-status-matches-code');
    statusMatchesCode(synthetic(429, { code: 429001, msg: '' }));
  });
  it('a non-JSON Content-Type fails envelope.content-type', () => {
    expect(failureOf(() => contentType(synthetic(400, { code: 400001, msg: '' }, { contentType: 'text/plain' }))).rule).toBe('envelope.content-type');
    contentType(synthetic(400, { code: 400001, msg: '' }));
  });
  it('bad data on a success answer fails response.data-schema; a bad envelope fails envelope.shape', () => {
    expect(failureOf(() => schemaConformance(synthetic(200, { code: 200, msg: '', data: { ...upgradeData, versionCode: '2' } }))).rule).toBe('response.data-schema');
    expect(failureOf(() => schemaConformance(synthetic(200, { code: 200, msg: '', data: null }))).rule).toBe('response.data-schema');
    expect(failureOf(() => schemaConformance(synthetic(401, { code: 401002 }))).rule).toBe('envelope.shape');
    expect(failureOf(() => schemaConformance(synthetic(401, { code: 404001, msg: '' }))).rule).toBe('envelope.shape');
    expect(failureOf(() => schemaConformance(synthetic(404, { error: 'not found' }, { path: '/v1/nope', undocumented: true }))).rule).toBe('envelope.shape');
    schemaConformance(synthetic(200, { code: 200, msg: '', data: upgradeData }));
    schemaConformance(synthetic(200, { code: 0, msg: '', data: null }));
    schemaConformance(synthetic(404, { code: 404003, msg: '', data: null }, { path: '/v1/nope', undocumented: true }));
  });
  it('a response violation reported by Prism fails by where it points; request violations are ignored', () => {
    const dataViolation = { location: ['response', 'body', 'data', 'versionCode'], severity: 'Error', message: 'must be integer' };
    expect(failureOf(() => schemaConformance(synthetic(200, { code: 200, msg: '', data: upgradeData }, { violations: [dataViolation] }))).rule).toBe('response.data-schema');
    const envelopeViolation = { location: ['response', 'body', 'code'], severity: 'Error', message: 'must be integer' };
    expect(failureOf(() => schemaConformance(synthetic(200, { code: 0, msg: '' }, { violations: [envelopeViolation] }))).rule).toBe('envelope.shape');
    schemaConformance(synthetic(400, { code: 400002, msg: '' }, { violations: [{ location: ['request', 'body'], severity: 'Error', message: 'missing apkKey' }] }));
  });
  it('expectCode checks in a fixed order: envelope, documented status, outcome, exact code, status for the code, Content-Type, schema', () => {
    const rules = { rule: 'signing.signature-verified', codeRule: 'signing.mismatch-code' } as const;
    expect(failureOf(() => expectCode(synthetic(200, { code: 200, msg: '', data: upgradeData }), 401002, rules)).rule).toBe('signing.signature-verified');
    expect(failureOf(() => expectCode(synthetic(401, { code: 401001, msg: '' }), 401002, rules)).rule).toBe('signing.mismatch-code');
    expect(failureOf(() => expectCode(synthetic(200, { code: 401002, msg: '' }), 401002, rules)).rule).toBe('envelope.http-status-matches-code');
    expect(failureOf(() => expectCode(synthetic(401, { code: 401002, msg: '' }, { contentType: 'text/plain' }), 401002, rules)).rule).toBe('envelope.content-type');
    expect(failureOf(() => expectCode(synthetic(403, { code: 403001, msg: '' }), 401002, rules)).rule).toBe('envelope.documented-status');
    expect(failureOf(() => expectCode(synthetic(401, '401002 Signature verification failed', { contentType: 'text/plain' }), 401002, rules)).rule).toBe('envelope.json-body');
    expectCode(synthetic(401, { code: 401002, msg: '', data: null }), 401002, rules);
  });
});
