// One test per fault switch: the same scenario, run against a clean pipeline and against one with
// the fault on, must observe the documented rule and its breach respectively.
import { describe, expect, it } from 'vitest';
import { Code } from './codes.ts';
import { FAULTS, FAULT_NAMES, listFaults, parseFaults, type FaultName } from './faults.ts';
import type { Pipeline } from './pipeline.ts';
import { T0, exchange, freshNonce, send, testPipeline, type Call, type Reply } from './testing.ts';

type Observe = (p: Pipeline) => Promise<unknown>;

const apk = (extra: object = {}) => ({ apkKey: 'apk-basic', versionCode: 1, ...extra });
const codeOf = (call: Call): Observe => async (p) => (await send(p, call)).code;
const dataOf = (call: Call, pick: (r: Reply) => unknown): Observe => async (p) => pick(await send(p, call));
const stamp = (offsetMs: number) => new Date(T0 + offsetMs).toISOString().replace('.000Z', 'Z');
const sequence = (calls: Call[]): Observe => async (p) => {
  const codes: number[] = [];
  for (const call of calls) codes.push((await send(p, call)).code);
  return codes;
};
const sameNonceTwice = (first: Call, second: Call): Observe => async (p) => {
  const nonce = freshNonce();
  await send(p, { ...first, nonce });
  return (await send(p, { ...second, nonce })).code;
};

const SCENARIOS: Record<FaultName, { observe: Observe; rule: unknown; broken: unknown }> = {
  'accept-any-signature': { observe: codeOf({ body: apk(), signature: 'f'.repeat(32) }), rule: Code.SIGNATURE_FAILED, broken: Code.OK },
  'unsigned-body': { observe: codeOf({ body: apk() }), rule: Code.OK, broken: Code.SIGNATURE_FAILED },
  'unsigned-query': { observe: codeOf({ target: '/v1/apk/upgrade?a=1', body: apk() }), rule: Code.OK, broken: Code.SIGNATURE_FAILED },
  'uppercase-signature-accepted': {
    observe: async (p) => {
      const call = exchange({ body: apk() });
      const raw = [...call.rawHeaders];
      raw[raw.indexOf('X-Signature') + 1] = raw[raw.indexOf('X-Signature') + 1]!.toUpperCase();
      return (await p.handle({ ...call, rawHeaders: raw })).code;
    },
    rule: Code.SIGNATURE_FAILED,
    broken: Code.OK,
  },
  'bad-signature-401001': { observe: codeOf({ body: apk(), secretKey: 'wrong' }), rule: Code.SIGNATURE_FAILED, broken: Code.AUTH_FAILED },
  'wide-window': { observe: codeOf({ body: apk(), timestamp: stamp(-400_000) }), rule: Code.AUTH_FAILED, broken: Code.OK },
  'no-past-window-check': { observe: codeOf({ body: apk(), timestamp: stamp(-3_600_000) }), rule: Code.AUTH_FAILED, broken: Code.OK },
  'no-future-window-check': { observe: codeOf({ body: apk(), timestamp: stamp(3_600_000) }), rule: Code.AUTH_FAILED, broken: Code.OK },
  'window-exclusive': { observe: codeOf({ body: apk(), timestamp: stamp(-300_000) }), rule: Code.OK, broken: Code.AUTH_FAILED },
  'timestamp-offset-ignored': { observe: codeOf({ body: apk(), timestamp: '2025-02-17T10:34:55+08:00' }), rule: Code.OK, broken: Code.AUTH_FAILED },
  'forget-nonces': { observe: sameNonceTwice({ body: apk() }, { body: apk() }), rule: Code.AUTH_FAILED, broken: Code.OK },
  'nonce-before-signature': { observe: sameNonceTwice({ body: apk(), secretKey: 'forged' }, { body: apk() }), rule: Code.OK, broken: Code.AUTH_FAILED },
  'nonce-unburned-on-error': { observe: sameNonceTwice({ body: '[]' }, { body: apk() }), rule: Code.AUTH_FAILED, broken: Code.OK },
  'nonce-length-unchecked': { observe: codeOf({ body: apk(), nonce: 'abc123' }), rule: Code.INVALID_HEADER, broken: Code.OK },
  'accept-unknown-access-key': { observe: codeOf({ body: apk(), accessKey: 'ak-nobody' }), rule: Code.AUTH_FAILED, broken: Code.OK },
  'accept-disabled-access-key': {
    observe: codeOf({ body: apk(), accessKey: 'ak-sandbox-disabled', secretKey: 'test-secret-DO-NOT-USE-0003' }),
    rule: Code.AUTH_FAILED,
    broken: Code.OK,
  },
  'case-sensitive-headers': {
    observe: async (p) => {
      const call = exchange({ body: apk() });
      return (await p.handle({ ...call, rawHeaders: call.rawHeaders.map((v, i) => (i % 2 ? v : v.replace(/^X-/, 'x-'))) })).code;
    },
    rule: Code.OK,
    broken: Code.INVALID_HEADER,
  },
  'repeated-header-last-wins': { observe: codeOf({ body: apk(), extraRawHeaders: ['X-Nonce', freshNonce()] }), rule: Code.OK, broken: Code.SIGNATURE_FAILED },
  'no-trailing-slash': { observe: codeOf({ path: '/v1/apk/upgrade/', body: apk() }), rule: Code.OK, broken: Code.METHOD_NOT_FOUND },
  'accept-any-content-type': { observe: codeOf({ body: apk(), contentType: 'text/plain' }), rule: Code.ILLEGAL_REQUEST, broken: Code.OK },
  'no-body-limit': { observe: codeOf({ body: apk({ pad: 'x'.repeat(1_100_000) }) }), rule: Code.INVALID_BODY, broken: Code.OK },
  'malformed-json-500001': { observe: codeOf({ body: '{"apkKey":' }), rule: Code.INVALID_BODY, broken: Code.INTERNAL_ERROR },
  'accept-missing-required': { observe: codeOf({ body: { versionCode: 1 } }), rule: Code.MISSING_PARAMETER, broken: Code.RESOURCE_NOT_FOUND },
  'accept-wrong-type': { observe: codeOf({ body: apk({ versionCode: '1' }) }), rule: Code.INVALID_PARAMETER, broken: Code.OK },
  'errors-http-200': { observe: dataOf({ body: apk({ apkKey: 'nope' }) }, (r) => r.status), rule: 404, broken: 200 },
  'errors-plain-text': {
    observe: dataOf({ body: apk({ apkKey: 'nope' }) }, (r) => r.contentType),
    rule: 'application/json; charset=utf-8',
    broken: 'text/plain; charset=utf-8',
  },
  'wrong-field-type': { observe: dataOf({ body: apk() }, (r) => typeof (r.data as { versionCode: unknown }).versionCode), rule: 'number', broken: 'string' },
  'latest-code-200': { observe: codeOf({ body: apk({ versionCode: 2 }) }), rule: Code.LATEST, broken: Code.OK },
  'upgrade-data-null': { observe: dataOf({ body: apk() }, (r) => r.data === null), rule: false, broken: true },
  'upgrade-type-always-prompt': {
    observe: dataOf({ body: apk({ apkKey: 'apk-forced' }) }, (r) => (r.data as { upgradeType: number }).upgradeType),
    rule: 3,
    broken: 1,
  },
  'ignore-begin-end-times': {
    observe: dataOf({ path: '/v1/file/upgrade', body: { fileKey: 'file-begin-end', versionCode: 1 } }, (r) => (r.data as { versionCode: number }).versionCode),
    rule: 2,
    broken: 4,
  },
  'ignore-appoint-version': {
    observe: dataOf({ body: apk({ apkKey: 'apk-appoint', appointVersionCode: 3 }) }, (r) => (r.data as { versionCode: number }).versionCode),
    rule: 3,
    broken: 4,
  },
  'oldest-strategy-first': {
    observe: dataOf({ body: apk({ apkKey: 'apk-appoint' }) }, (r) => (r.data as { versionCode: number }).versionCode),
    rule: 4,
    broken: 2,
  },
  'ignore-arch': {
    observe: codeOf({ path: '/v1/lnx/upgrade', body: { lnxKey: 'lnx-x64-only', versionCode: 1, arch: 'arm64' } }),
    rule: Code.LATEST,
    broken: Code.OK,
  },
  'ignore-device-targeting': { observe: codeOf({ body: apk({ apkKey: 'apk-model-targeted', devModelKey: 'stv1' }) }), rule: Code.LATEST, broken: Code.OK },
  'ignore-gray-release': {
    observe: sequence(['d1', 'd2'].map((devKey) => ({ body: apk({ apkKey: 'apk-gray-sticky', devKey }) }))),
    rule: [Code.OK, Code.LATEST],
    broken: [Code.OK, Code.OK],
  },
  'gray-counts-requests': {
    observe: sequence(['d1', 'd1', 'd2'].map((devKey) => ({ body: apk({ apkKey: 'apk-gray', devKey }) }))),
    rule: [Code.OK, Code.OK, Code.OK],
    broken: [Code.OK, Code.OK, Code.LATEST],
  },
  'flow-limit-off-by-one': {
    observe: sequence(Array.from({ length: 4 }, () => ({ body: apk({ apkKey: 'apk-flow-day-3' }) }))),
    rule: [Code.OK, Code.OK, Code.OK, Code.FLOW_LIMITED],
    broken: [Code.OK, Code.OK, Code.OK, Code.OK],
  },
  'flow-limit-counts-latest': {
    observe: sequence([apk({ apkKey: 'apk-flow-latest-not-counted', versionCode: 2 }), apk({ apkKey: 'apk-flow-latest-not-counted' })].map((body) => ({ body }))),
    rule: [Code.LATEST, Code.OK],
    broken: [Code.LATEST, Code.FLOW_LIMITED],
  },
  'flow-limit-not-atomic': {
    observe: async (p) => {
      const replies = await Promise.all(Array.from({ length: 20 }, () => send(p, { body: apk({ apkKey: 'apk-flow-day-concurrent-5' }) })));
      return replies.filter((r) => r.code === Code.OK).length > 5;
    },
    rule: false,
    broken: true,
  },
  'unknown-version-404001': {
    observe: codeOf({ path: '/v1/file/version', body: { fileKey: 'file-basic', versionCode: 3 } }),
    rule: Code.RECORD_NOT_FOUND,
    broken: Code.RESOURCE_NOT_FOUND,
  },
};

describe('faults', () => {
  it('catalogue > at least 25, kebab-case, one line each, all covered here', () => {
    expect(FAULT_NAMES.length).toBeGreaterThanOrEqual(25);
    for (const name of FAULT_NAMES) {
      expect(name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(FAULTS[name]).not.toContain('\n');
    }
    expect(Object.keys(SCENARIOS).sort()).toEqual([...FAULT_NAMES].sort());
    expect(listFaults().split('\n')).toHaveLength(FAULT_NAMES.length);
  });

  it('parseFaults > names the unknown fault', () => {
    expect(() => parseFaults(['accept-any-signature', 'no-such-fault'])).toThrow(/no-such-fault/);
    expect([...parseFaults([' forget-nonces ', ''])]).toEqual(['forget-nonces']);
  });

  it.each(FAULT_NAMES)('%s > changes the behaviour it names', async (fault) => {
    const scenario = SCENARIOS[fault];
    const clean = testPipeline().pipeline;
    const faulty = testPipeline({ faults: [fault] }).pipeline;
    expect(await scenario.observe(clean)).toEqual(scenario.rule);
    expect(await scenario.observe(faulty)).toEqual(scenario.broken);
  });
});
