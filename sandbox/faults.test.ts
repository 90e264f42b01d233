// One test per fault: the same scenario, run against a clean pipeline and against one with the fault
// on, must observe the documented rule and its breach respectively. Then the catalogue itself: each
// fault names a real rule and a real stage, and modifies that stage only.
import { describe, expect, it } from 'vitest';
import { isRuleId } from '../contract/rules.ts';
import { Code } from '../lib/spec/index.ts';
import { FAULTS, FAULT_NAMES, listFaults, listFaultsJson, parseFaults, tableWith, type Fault } from './faults.ts';
import { REFERENCE_TABLE, STAGES, type Pipeline } from './pipeline.ts';
import { T0, exchange, freshNonce, send, testPipeline, type Call, type Reply } from './testing.ts';

type Observe = (p: Pipeline) => Promise<unknown>;

const apk = (extra: object = {}) => ({ apkKey: 'apk-basic', versionCode: 1, ...extra });
const report = (extra: object = {}) => ({ eventType: 'app_upgrade_download', timestamp: '2025-02-17T02:34:55Z', appKey: 'apk-basic', ...extra });
const UNSIGNED = { 'X-Timestamp': undefined, 'X-Nonce': undefined, 'X-AccessKey': undefined, 'X-Signature': undefined };
const codeOf = (call: Call): Observe => async (p) => (await send(p, call)).code;
const dataOf = (call: Call, pick: (r: Reply) => unknown): Observe => async (p) => pick(await send(p, call));
const field = (name: string) => (r: Reply) => (r.data as Record<string, unknown> | null)?.[name];
const raw = (call: Call, pick: (a: { status: number; code: number; contentType: string; body: string }) => unknown): Observe => async (p) => pick(await p.handle(exchange(call)));
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
const concurrentSuccesses = (calls: Call[]): Observe => async (p) => (await Promise.all(calls.map((call) => send(p, call)))).filter((r) => r.code === Code.OK).length;

const SCENARIOS: Record<string, { observe: Observe; rule: unknown; broken: unknown }> = {
  'accept-any-signature': { observe: codeOf({ body: apk(), signature: 'f'.repeat(32) }), rule: Code.SIGNATURE_FAILED, broken: Code.OK },
  'unsigned-body': { observe: codeOf({ body: apk() }), rule: Code.OK, broken: Code.SIGNATURE_FAILED },
  'unsigned-query': { observe: codeOf({ target: '/v1/apk/upgrade?a=1', body: apk() }), rule: Code.OK, broken: Code.SIGNATURE_FAILED },
  'uppercase-signature-accepted': {
    observe: async (p) => {
      const call = exchange({ body: apk() });
      const rawHeaders = [...call.rawHeaders];
      rawHeaders[rawHeaders.indexOf('X-Signature') + 1] = rawHeaders[rawHeaders.indexOf('X-Signature') + 1]!.toUpperCase();
      return (await p.handle({ ...call, rawHeaders })).code;
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
  'chunked-bodies-hang': {
    // Whether an answer comes within 200 ms: the in-process exchange says it is chunked by its header.
    observe: async (p) => {
      const call = exchange({ body: apk(), extraRawHeaders: ['Transfer-Encoding', 'chunked'] });
      const answered = p.handle(call).then(() => 'answered');
      return Promise.race([answered, new Promise((resolve) => setTimeout(() => resolve('no answer'), 200))]);
    },
    rule: 'answered',
    broken: 'no answer',
  },
  'accept-missing-required': { observe: codeOf({ body: { versionCode: 1 } }), rule: Code.MISSING_PARAMETER, broken: Code.RESOURCE_NOT_FOUND },
  'accept-wrong-type': { observe: codeOf({ body: apk({ versionCode: '1' }) }), rule: Code.INVALID_PARAMETER, broken: Code.OK },
  'errors-http-200': { observe: dataOf({ body: apk({ apkKey: 'nope' }) }, (r) => r.status), rule: 404, broken: 200 },
  'errors-plain-text': {
    observe: dataOf({ body: apk({ apkKey: 'nope' }) }, (r) => r.contentType),
    rule: 'application/json; charset=utf-8',
    broken: 'text/plain; charset=utf-8',
  },
  'wrong-field-type': { observe: dataOf({ body: apk() }, (r) => typeof field('versionCode')(r)), rule: 'number', broken: 'string' },
  'latest-code-200': { observe: codeOf({ body: apk({ versionCode: 2 }) }), rule: Code.LATEST, broken: Code.OK },
  'upgrade-data-null': { observe: dataOf({ body: apk() }, (r) => r.data === null), rule: false, broken: true },
  'upgrade-type-always-prompt': { observe: dataOf({ body: apk({ apkKey: 'apk-forced' }) }, field('upgradeType')), rule: 3, broken: 1 },
  'ignore-begin-end-times': {
    observe: dataOf({ path: '/v1/file/upgrade', body: { fileKey: 'file-begin-end', versionCode: 1 } }, field('versionCode')),
    rule: 2,
    broken: 4,
  },
  'ignore-appoint-version': { observe: dataOf({ body: apk({ apkKey: 'apk-appoint', appointVersionCode: 3 }) }, field('versionCode')), rule: 3, broken: 4 },
  'oldest-strategy-first': { observe: dataOf({ body: apk({ apkKey: 'apk-appoint' }) }, field('versionCode')), rule: 4, broken: 2 },
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
    observe: async (p) => (await concurrentSuccesses(Array.from({ length: 20 }, () => ({ body: apk({ apkKey: 'apk-flow-day-concurrent-5' }) })))(p)) as number > 5,
    rule: false,
    broken: true,
  },
  'unknown-version-404001': {
    observe: codeOf({ path: '/v1/file/version', body: { fileKey: 'file-basic', versionCode: 3 } }),
    rule: Code.RECORD_NOT_FOUND,
    broken: Code.RESOURCE_NOT_FOUND,
  },

  'demand-undocumented-field': { observe: codeOf({ body: apk() }), rule: Code.OK, broken: Code.MISSING_PARAMETER },
  'unsigned-requests-trusted': {
    observe: sequence([{ body: apk(), headers: UNSIGNED }, { body: apk(), headers: { 'X-Signature': undefined } }]),
    rule: [Code.INVALID_HEADER, Code.INVALID_HEADER],
    broken: [Code.OK, Code.INVALID_HEADER],
  },
  'missing-header-401001': {
    observe: sequence([{ body: apk(), headers: { 'X-Nonce': undefined } }, { body: apk(), headers: { 'X-AccessKey': '' } }, { body: apk(), nonce: 'short' }]),
    rule: [Code.INVALID_HEADER, Code.INVALID_HEADER, Code.INVALID_HEADER],
    broken: [Code.AUTH_FAILED, Code.AUTH_FAILED, Code.INVALID_HEADER],
  },
  'debug-header-bypass': {
    observe: sequence([{ body: apk(), headers: { ...UNSIGNED, 'x-DEBUG': '1' } }, { body: apk(), secretKey: 'forged', headers: { 'X-Debug': '' } }]),
    rule: [Code.INVALID_HEADER, Code.SIGNATURE_FAILED],
    broken: [Code.OK, Code.OK],
  },
  'one-secret-for-all-keys': {
    observe: codeOf({ body: apk(), accessKey: 'ak-sandbox-0002', secretKey: 'test-secret-DO-NOT-USE-0001' }),
    rule: Code.SIGNATURE_FAILED,
    broken: Code.OK,
  },
  'empty-body-without-part': { observe: codeOf({ body: '' }), rule: Code.INVALID_BODY, broken: Code.SIGNATURE_FAILED },
  'url-not-decoded': {
    observe: sequence([{ target: '/v1/apk/upgrade?q=a+b', body: apk() }, { target: '/v1/apk/upgrade?q=a%20b', body: apk() }]),
    rule: [Code.OK, Code.OK],
    broken: [Code.SIGNATURE_FAILED, Code.SIGNATURE_FAILED],
  },
  'trailing-amp-kept': { observe: codeOf({ target: '/v1/apk/upgrade?a=1&&', body: apk() }), rule: Code.OK, broken: Code.SIGNATURE_FAILED },
  'slash-insensitive-signature': {
    observe: sequence([{ path: '/v1/apk/upgrade/', signedTarget: '/v1/apk/upgrade', body: apk() }, { path: '/v1/apk/upgrade/', body: apk() }]),
    rule: [Code.SIGNATURE_FAILED, Code.OK],
    broken: [Code.OK, Code.SIGNATURE_FAILED],
  },
  'body-reserialised': { observe: codeOf({ body: '{"apkKey": "apk-basic", "versionCode": 1}' }), rule: Code.OK, broken: Code.SIGNATURE_FAILED },
  'timestamp-any-format': {
    observe: sequence([{ body: apk(), timestamp: String(T0 / 1000) }, { body: apk(), timestamp: 'Mon, 17 Feb 2025 02:34:55 GMT' }, { body: apk(), timestamp: '1739000000' }]),
    rule: [Code.INVALID_HEADER, Code.INVALID_HEADER, Code.INVALID_HEADER],
    broken: [Code.OK, Code.OK, Code.AUTH_FAILED],
  },
  'timestamp-lowercase-accepted': { observe: codeOf({ body: apk(), timestamp: '2025-02-17t02:34:55z' }), rule: Code.INVALID_HEADER, broken: Code.OK },
  'nonce-form-unchecked': {
    observe: sequence([{ body: apk(), nonce: 'a'.repeat(129) }, { body: apk(), nonce: `${freshNonce()} x` }, { body: apk(), nonce: 'abc' }]),
    rule: [Code.INVALID_HEADER, Code.INVALID_HEADER, Code.INVALID_HEADER],
    broken: [Code.OK, Code.OK, Code.INVALID_HEADER],
  },
  'nonce-per-path': {
    observe: sameNonceTwice({ body: apk() }, { path: '/v1/file/upgrade', body: { fileKey: 'file-basic', versionCode: 1 } }),
    rule: Code.AUTH_FAILED,
    broken: Code.OK,
  },
  'nonce-reuse-400004': { observe: sameNonceTwice({ body: apk() }, { body: apk() }), rule: Code.AUTH_FAILED, broken: Code.INVALID_HEADER },
  'nonce-not-atomic': {
    observe: async (p) => {
      const nonce = freshNonce();
      return concurrentSuccesses(Array.from({ length: 10 }, () => ({ body: apk(), nonce })))(p);
    },
    rule: 1,
    broken: 10,
  },
  'any-method-accepted': { observe: codeOf({ body: apk(), method: 'PUT' }), rule: Code.ILLEGAL_REQUEST, broken: Code.OK },
  'content-type-exact': {
    observe: sequence([{ body: apk(), contentType: 'application/json; charset=utf-8' }, { body: apk(), contentType: 'Application/JSON' }, { body: apk() }]),
    rule: [Code.OK, Code.OK, Code.OK],
    broken: [Code.ILLEGAL_REQUEST, Code.ILLEGAL_REQUEST, Code.OK],
  },
  'bad-escape-accepted': {
    observe: codeOf({ target: '/v1/apk/upgrade?q=%zz', signedTarget: '/v1/apk/upgrade?q=%25zz', body: apk() }),
    rule: Code.ILLEGAL_REQUEST,
    broken: Code.OK,
  },
  'unknown-path-404001': {
    observe: sequence([{ path: '/v1/apk/upgrad', body: apk() }, { path: '/v2/apk/upgrade', body: apk() }]),
    rule: [Code.METHOD_NOT_FOUND, Code.REQUEST_NOT_FOUND],
    broken: [Code.RESOURCE_NOT_FOUND, Code.RESOURCE_NOT_FOUND],
  },
  'body-parsed-before-signature': { observe: codeOf({ body: '{"apkKey":', secretKey: 'wrong' }), rule: Code.SIGNATURE_FAILED, broken: Code.INVALID_BODY },
  'invalid-before-missing': { observe: codeOf({ body: { apkKey: 5 } }), rule: Code.MISSING_PARAMETER, broken: Code.INVALID_PARAMETER },
  'empty-key-accepted': { observe: codeOf({ body: apk({ apkKey: '' }) }), rule: Code.INVALID_PARAMETER, broken: Code.RESOURCE_NOT_FOUND },
  'null-as-absent': {
    observe: sequence([{ body: apk({ devKey: null }) }, { body: apk({ versionCode: null }) }]),
    rule: [Code.INVALID_PARAMETER, Code.INVALID_PARAMETER],
    broken: [Code.OK, Code.MISSING_PARAMETER],
  },
  'lenient-integer-literals': {
    observe: sequence(['1.0', '1e0', '1.5'].map((literal) => ({ body: `{"apkKey":"apk-basic","versionCode":${literal}}` }))),
    rule: [Code.INVALID_PARAMETER, Code.INVALID_PARAMETER, Code.INVALID_PARAMETER],
    broken: [Code.OK, Code.OK, Code.INVALID_PARAMETER],
  },
  'version-code-zero-accepted': { observe: codeOf({ body: apk({ versionCode: 0 }) }), rule: Code.INVALID_PARAMETER, broken: Code.OK },
  'negative-appoint-accepted': { observe: codeOf({ body: apk({ appointVersionCode: -1 }) }), rule: Code.INVALID_PARAMETER, broken: Code.OK },
  'arch-any-string': {
    observe: codeOf({ path: '/v1/lnx/upgrade', body: { lnxKey: 'lnx-basic', versionCode: 1, arch: 'x86' } }),
    rule: Code.INVALID_PARAMETER,
    broken: Code.LATEST,
  },
  'version-name-unchecked': {
    observe: codeOf({ path: '/v1/tauri/version', body: { tauriKey: 'tauri-basic', versionName: '1.2', target: 'windows', arch: 'x86_64' } }),
    rule: Code.INVALID_PARAMETER,
    broken: Code.RECORD_NOT_FOUND,
  },
  'report-fields-unchecked': {
    observe: sequence(
      [report({ eventType: 'app_crash' }), report({ timestamp: 'yesterday' }), report({ eventData: { versionCode: '2' } }), report({ eventType: 'app_start', eventData: {} })].map(
        (body) => ({ path: '/v1/app/report', body }),
      ),
    ),
    rule: [Code.INVALID_PARAMETER, Code.INVALID_PARAMETER, Code.INVALID_PARAMETER, Code.MISSING_PARAMETER],
    broken: [Code.LATEST, Code.LATEST, Code.LATEST, Code.MISSING_PARAMETER],
  },
  'unknown-app-latest': {
    observe: sequence([
      { body: apk({ apkKey: 'nope' }) },
      { path: '/v1/file/version', body: { fileKey: 'nope', versionCode: 1 } },
      { path: '/v1/app/report', body: report({ appKey: 'nope' }) },
    ]),
    rule: [Code.RESOURCE_NOT_FOUND, Code.RESOURCE_NOT_FOUND, Code.RESOURCE_NOT_FOUND],
    broken: [Code.LATEST, Code.RECORD_NOT_FOUND, Code.LATEST],
  },
  'internal-error-500002': { observe: codeOf({ body: apk({ apkKey: 'apk-fail-internal' }) }), rule: Code.INTERNAL_ERROR, broken: Code.DATA_INVALID },
  'inconsistent-data-skipped': {
    observe: sequence(['apk-inconsistent-upgrade-type', 'apk-inconsistent-missing-version', 'apk-inconsistent-flow-limit'].map((apkKey) => ({ body: apk({ apkKey }) }))),
    rule: [Code.DATA_INVALID, Code.DATA_INVALID, Code.DATA_INVALID],
    broken: [Code.LATEST, Code.LATEST, Code.LATEST],
  },
  'offer-key-not-echoed': { observe: dataOf({ body: apk() }, field('apkKey')), rule: 'apk-basic', broken: '' },
  'latest-data-describes-version': { observe: dataOf({ body: apk({ versionCode: 2 }) }, (r) => [r.code, field('versionCode')(r)]), rule: [Code.LATEST, 0], broken: [Code.LATEST, 2] },
  'version-lookup-newest': {
    observe: dataOf({ path: '/v1/file/version', body: { fileKey: 'file-basic', versionCode: 1 } }, field('versionCode')),
    rule: 1,
    broken: 2,
  },
  'appoint-falls-back-to-newest': {
    observe: dataOf({ body: apk({ apkKey: 'apk-appoint', appointVersionCode: 5 }) }, (r) => [r.code, field('versionCode')(r)]),
    rule: [Code.LATEST, 0],
    broken: [Code.OK, 4],
  },
  'win-empty-arch-matches-nothing': {
    observe: sequence([{ winKey: 'win-basic', versionCode: 1, arch: '' }, { winKey: 'win-basic', versionCode: 1 }].map((body) => ({ path: '/v1/win/upgrade', body }))),
    rule: [Code.OK, Code.OK],
    broken: [Code.LATEST, Code.OK],
  },
  'gray-not-atomic': {
    observe: concurrentSuccesses(Array.from({ length: 10 }, (_, i) => ({ body: apk({ apkKey: 'apk-gray-concurrent', devKey: `concurrent-${i}` }) }))),
    rule: 3,
    broken: 10,
  },
  'flow-limit-falls-back': {
    observe: async (p) => {
      const replies = [await send(p, { body: apk({ apkKey: 'apk-flow-no-fallback' }) }), await send(p, { body: apk({ apkKey: 'apk-flow-no-fallback' }) })];
      return replies.map((r) => (r.code === Code.OK ? field('versionCode')(r) : r.code));
    },
    rule: [3, Code.FLOW_LIMITED],
    broken: [3, 2],
  },
  'errors-not-json': {
    observe: raw({ body: apk({ apkKey: 'nope' }) }, (a) => [a.contentType, a.body.startsWith('{')]),
    rule: ['application/json; charset=utf-8', true],
    broken: ['text/plain; charset=utf-8', false],
  },
  'errors-without-msg': {
    observe: async (p) => [(await raw({ body: apk({ apkKey: 'nope' }) }, (a) => 'msg' in JSON.parse(a.body))(p)), await raw({ body: apk() }, (a) => 'msg' in JSON.parse(a.body))(p)],
    rule: [true, true],
    broken: [false, true],
  },
  'disabled-key-403': {
    observe: dataOf({ body: apk(), accessKey: 'ak-sandbox-disabled', secretKey: 'test-secret-DO-NOT-USE-0003' }, (r) => [r.status, r.code]),
    rule: [401, Code.AUTH_FAILED],
    broken: [403, 403_001],
  },
};

/** The fault switches the contract suite's mutation self-test has always had (their names stay). */
const ORIGINAL_41 = [
  'accept-any-signature', 'unsigned-body', 'unsigned-query', 'uppercase-signature-accepted', 'bad-signature-401001', 'wide-window',
  'no-past-window-check', 'no-future-window-check', 'window-exclusive', 'timestamp-offset-ignored', 'forget-nonces', 'nonce-before-signature',
  'nonce-unburned-on-error', 'nonce-length-unchecked', 'accept-unknown-access-key', 'accept-disabled-access-key', 'case-sensitive-headers',
  'repeated-header-last-wins', 'no-trailing-slash', 'accept-any-content-type', 'no-body-limit', 'malformed-json-500001', 'accept-missing-required',
  'accept-wrong-type', 'errors-http-200', 'errors-plain-text', 'wrong-field-type', 'latest-code-200', 'upgrade-data-null', 'upgrade-type-always-prompt',
  'ignore-begin-end-times', 'ignore-appoint-version', 'oldest-strategy-first', 'ignore-arch', 'ignore-device-targeting', 'ignore-gray-release',
  'gray-counts-requests', 'flow-limit-off-by-one', 'flow-limit-counts-latest', 'flow-limit-not-atomic', 'unknown-version-404001',
];

/** What a fault changed in the reference table: the stages, and the decisions of each, that are not the reference's. */
function changes(fault: Fault): { order: boolean; stages: Record<string, string[]> } {
  const table = fault.apply(REFERENCE_TABLE);
  const stages: Record<string, string[]> = {};
  for (const stage of STAGES) {
    const mine = table.stages[stage] as unknown as Record<string, unknown>;
    const reference = REFERENCE_TABLE.stages[stage] as unknown as Record<string, unknown>;
    if (mine === reference) continue;
    stages[stage] = [...new Set([...Object.keys(mine), ...Object.keys(reference)])].filter((key) => mine[key] !== reference[key]);
  }
  return { order: table.order.join() !== REFERENCE_TABLE.order.join(), stages };
}

describe('faults', () => {
  it('catalogue > names unique and kebab-case, one line each, every one covered here, the original 41 kept', () => {
    expect(new Set(FAULT_NAMES).size).toBe(FAULT_NAMES.length);
    for (const fault of FAULTS) {
      expect(fault.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(fault.description).not.toContain('\n');
    }
    expect(Object.keys(SCENARIOS).sort()).toEqual([...FAULT_NAMES].sort());
    expect(FAULT_NAMES.slice(0, ORIGINAL_41.length)).toEqual(ORIGINAL_41);
  });

  it('catalogue > every rule is an id of contract/rules.ts, every stage a stage of the pipeline', () => {
    expect(FAULTS.filter((f) => !isRuleId(f.rule)).map((f) => `${f.name}: ${f.rule}`)).toEqual([]);
    expect(FAULTS.flatMap((f) => (f.seenIn ?? []).filter((r) => !isRuleId(r)).map((r) => `${f.name} seen in ${r}`))).toEqual([]);
    expect(FAULTS.filter((f) => !(STAGES as readonly string[]).includes(f.stage)).map((f) => `${f.name}: ${f.stage}`)).toEqual([]);
  });

  it.each(FAULTS.map((f) => [f.name, f] as const))('%s > modifies its own stage only, and there one decision', (_name, fault) => {
    const changed = changes(fault);
    if (fault.decision === 'place') {
      // Only where the stage runs (and, to suit its new place, its run).
      const others = (order: readonly string[]) => order.filter((name) => name !== fault.stage);
      expect(fault.apply(REFERENCE_TABLE).order).not.toEqual(REFERENCE_TABLE.order);
      expect(others(fault.apply(REFERENCE_TABLE).order)).toEqual(others(REFERENCE_TABLE.order));
      expect(Object.entries(changed.stages).filter(([stage, keys]) => stage !== fault.stage || keys.some((key) => key !== 'run'))).toEqual([]);
    } else {
      expect(Object.keys(changed.stages)).toEqual([fault.stage]);
      expect(changed.order).toBe(false);
      expect(changed.stages[fault.stage]).toEqual([fault.decision]);
    }
  });

  it('conflicts > name known faults; combining them is refused in either order', () => {
    for (const fault of FAULTS) {
      for (const other of fault.conflicts ?? []) {
        const them = FAULTS.find((f) => f.name === other);
        expect(them, `${fault.name} conflicts with unknown ${other}`).toBeDefined();
        expect(() => parseFaults([fault.name, other])).toThrow(/cannot be combined/);
        expect(() => parseFaults([other, fault.name])).toThrow(/cannot be combined/);
      }
    }
  });

  it('parseFaults > names the unknown fault; returns faults in table order', () => {
    expect(() => parseFaults(['accept-any-signature', 'no-such-fault'])).toThrow(/no-such-fault/);
    expect(parseFaults([' forget-nonces ', '']).map((f) => f.name)).toEqual(['forget-nonces']);
    expect(parseFaults(['forget-nonces', 'accept-any-signature']).map((f) => f.name)).toEqual(['accept-any-signature', 'forget-nonces']);
    expect(tableWith([])).toBe(REFERENCE_TABLE);
  });

  it('listing > text: `name  description` per line; JSON: name, rule, stage, description', () => {
    expect(listFaults().split('\n')).toHaveLength(FAULTS.length);
    expect(listFaults().split('\n')[0]).toMatch(/^accept-any-signature\s{2,}any X-Signature/);
    const listed = JSON.parse(listFaultsJson()) as Array<Record<string, string>>;
    expect(listed).toHaveLength(FAULTS.length);
    expect(listed[0]).toEqual({ name: 'accept-any-signature', rule: 'signing.signature-verified', stage: 'signature', description: FAULTS[0]!.description });
  });

  it('composition > several faults at once each keep their effect', async () => {
    const { pipeline } = testPipeline({ faults: ['forget-nonces', 'accept-any-signature', 'errors-http-200'] });
    const nonce = freshNonce();
    expect((await send(pipeline, { body: apk(), nonce, signature: '0'.repeat(32) })).code).toBe(Code.OK);
    expect((await send(pipeline, { body: apk(), nonce, signature: '0'.repeat(32) })).code).toBe(Code.OK);
    expect((await send(pipeline, { body: apk({ apkKey: 'nope' }) })).status).toBe(200);
  });

  it.each(FAULT_NAMES)('%s > changes the behaviour it names', async (fault) => {
    const scenario = SCENARIOS[fault]!;
    const clean = testPipeline().pipeline;
    const faulty = testPipeline({ faults: [fault] }).pipeline;
    expect(await scenario.observe(clean)).toEqual(scenario.rule);
    expect(await scenario.observe(faulty)).toEqual(scenario.broken);
  });
});
