// Every example in the bundle (request bodies, responses, header parameters) validates against
// its schema with Ajv draft 2020-12 + ajv-formats, independently of Redocly; every request example
// names the response example it gets (`x-response`); and deliberately broken copies fail, so the
// checks can fail.
import { describe, expect, it } from 'vitest';
import {
  type Json,
  type JsonObject,
  OPERATIONS,
  at,
  deref,
  formatErrors,
  operationNodes,
  pointerOf,
  requestSchemaPointer,
  responseSchemaPointer,
  specValidators,
} from '../lib/spec/index.ts';
import { namedExamples, requestExamples, responseExamples } from './support/examples.ts';

const spec = specValidators();
const { bundle } = spec;
const ops = operationNodes(bundle);

interface ExampleCase {
  name: string;
  schemaPointer: string;
  value: unknown;
}

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const errorText = (errors: Parameters<typeof formatErrors>[0]) => formatErrors(errors).join('; ');

/** A response's schema pointer; every response of this spec has a JSON body. */
function responseSchema(path: string, status: number | string): string {
  const pointer = responseSchemaPointer(bundle, path, status);
  if (pointer === null) throw new Error(`POST ${path} ${status} has no JSON schema`);
  return pointer;
}

function collectExamples(): ExampleCase[] {
  const cases: ExampleCase[] = [];
  for (const op of ops) {
    const reqSchema = requestSchemaPointer(op.path, op.method);
    for (const { key, value } of namedExamples(bundle, reqSchema.replace(/\/schema$/, ''))) {
      cases.push({ name: `${op.operationId} > request > ${key}`, schemaPointer: reqSchema, value });
    }
    for (const { status, key, schemaPointer, value } of responseExamples(bundle, op)) {
      cases.push({ name: `${op.operationId} > ${status} > ${key}`, schemaPointer, value });
    }
    const params = Array.isArray(op.operation.parameters) ? op.operation.parameters : [];
    params.forEach((raw, i) => {
      const { node, pointer } = deref(bundle, raw, `${op.pointer}/parameters/${i}`);
      if (isObject(node) && node.example !== undefined) {
        cases.push({ name: `${op.operationId} > header ${String(node.name)}`, schemaPointer: `${pointer}/schema`, value: node.example });
      }
    });
  }
  return cases;
}

const cases = collectExamples();

describe('examples > every example validates against its schema', () => {
  it('finds examples for every operation of the generated module', () => {
    expect(ops.map((op) => op.operationId)).toEqual(OPERATIONS.map((op) => op.id));
    for (const op of ops) {
      expect(cases.filter((c) => c.name.startsWith(`${op.operationId} > request`)).length, op.operationId).toBeGreaterThan(0);
      expect(cases.filter((c) => c.name.startsWith(`${op.operationId} > 200`)).length, op.operationId).toBeGreaterThan(0);
    }
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(c.value, 'example has a value').not.toBeUndefined();
    const { valid, errors } = spec.validate(c.schemaPointer, c.value);
    expect(valid, errorText(errors)).toBe(true);
  });
});

describe('examples > every business code a response allows has a named example', () => {
  for (const op of ops) {
    const responses = op.operation.responses;
    for (const status of Object.keys(isObject(responses) ? responses : {})) {
      it(`${op.operationId} > ${status}`, () => {
        const schemaPointer = responseSchema(op.path, status);
        const schema = deref(bundle, at(bundle, schemaPointer), schemaPointer).node;
        const code = isObject(schema) && isObject(schema.properties) ? schema.properties.code : undefined;
        const allowed = isObject(code) && Array.isArray(code.enum) ? code.enum : [];
        expect(allowed.length).toBeGreaterThan(0);
        const shown = new Set(
          namedExamples(bundle, schemaPointer.replace(/\/schema$/, '')).map(({ value }) => (isObject(value) ? value.code : undefined)),
        );
        for (const c of allowed) expect(shown.has(c), `code ${String(c)} has an example`).toBe(true);
      });
    }
  }
});

describe('examples > every request example names the response example it gets (x-response)', () => {
  const requests = requestExamples(bundle);

  it.each(requests.map((r) => [`${r.operationId} > ${r.key}`, r] as const))('%s', (_name, r) => {
    expect(r.problem).toBeNull();
    const answer = r.response?.value;
    expect(isObject(answer) ? typeof answer.code : 'not an envelope', 'the paired example is an envelope with a code').toBe('number');
  });

  it('a missing, unknown or ambiguous x-response is reported', () => {
    const broken = structuredClone(bundle);
    const examples = broken.components.examples as Record<string, JsonObject>;
    delete examples.ApkUpgradeRequestFull!['x-response'];
    examples.ApkUpgradeRequestMinimal!['x-response'] = 'code201';
    // A second `code0` under every operation's 400: the key no longer names one response.
    const badRequest = at(broken, pointerOf('components', 'responses', 'BadRequest', 'content', 'application/json', 'examples')) as JsonObject;
    badRequest.code0 = { $ref: '#/components/examples/BadRequest400001' };
    const problems = Object.fromEntries(
      requestExamples(broken)
        .filter((r) => r.operationId === 'apkUpgrade' || r.operationId === 'appReport')
        .map((r) => [`${r.operationId} > ${r.key}`, r.problem]),
    );
    expect(problems['apkUpgrade > full']).toMatch(/has no x-response/);
    expect(problems['apkUpgrade > minimal']).toMatch(/x-response code201 names no response example of apkUpgrade/);
    expect(problems['appReport > appStart']).toMatch(/x-response code0 is ambiguous: a response example of HTTP 200 and 400/);
    expect(requestExamples(bundle).every((r) => r.problem === null)).toBe(true);
  });
});

// Each row: a valid value, then one deviation. Proves the schemas (and this harness) reject what
// the contract rejects, and accept what it explicitly allows.
const apkReq = requestSchemaPointer('/v1/apk/upgrade');
const apk200 = responseSchema('/v1/apk/upgrade', 200);
const apkData = {
  apkKey: 'k', packageName: 'com.a.c', versionName: 'v2', versionCode: 2, urlPath: 'http://file.com/2.apk',
  urlFileSize: 7213, urlFileMd5: '', upgradeType: 1, promptUpgradeContent: 'p',
};
const zeroData = { apkKey: '', packageName: '', versionName: '', versionCode: 0, urlPath: '', urlFileSize: 0, urlFileMd5: '', upgradeType: 0, promptUpgradeContent: '' };
const header = (name: string) => pointerOf('components', 'parameters', name, 'schema');

const modifiers: [string, string, unknown, boolean][] = [
  ['request > seed body is valid', apkReq, { apkKey: 'k', versionCode: 1, appointVersionCode: 0, devModelKey: 'stv1', devKey: 'x' }, true],
  ['request > unknown keys are allowed', apkReq, { apkKey: 'k', versionCode: 1, patchAlgo: 1 }, true],
  ['request > missing apkKey', apkReq, { versionCode: 1 }, false],
  ['request > empty apkKey', apkReq, { apkKey: '', versionCode: 1 }, false],
  ['request > versionCode 0', apkReq, { apkKey: 'k', versionCode: 0 }, false],
  ['request > versionCode as string', apkReq, { apkKey: 'k', versionCode: '1' }, false],
  ['request > versionCode float', apkReq, { apkKey: 'k', versionCode: 1.5 }, false],
  ['request > appointVersionCode -1', apkReq, { apkKey: 'k', versionCode: 1, appointVersionCode: -1 }, false],
  ['request > null optional field', apkReq, { apkKey: 'k', versionCode: 1, devKey: null }, false],
  ['request > devKey ""', apkReq, { apkKey: 'k', versionCode: 1, devKey: '' }, true],
  ['request > lnx arch ""', requestSchemaPointer('/v1/lnx/upgrade'), { lnxKey: 'k', versionCode: 1, arch: '' }, false],
  ['request > lnx arch missing', requestSchemaPointer('/v1/lnx/upgrade'), { lnxKey: 'k', versionCode: 1 }, false],
  ['request > win arch ""', requestSchemaPointer('/v1/win/upgrade'), { winKey: 'k', versionCode: 1, arch: '' }, true],
  ['request > win arch omitted', requestSchemaPointer('/v1/win/upgrade'), { winKey: 'k', versionCode: 1 }, true],
  ['request > tauri semver with v', requestSchemaPointer('/v1/tauri/version'), { tauriKey: 'k', versionName: 'v1.2.3', target: 't', arch: 'a' }, true],
  ['request > tauri bad semver', requestSchemaPointer('/v1/tauri/version'), { tauriKey: 'k', versionName: '1.2', target: 't', arch: 'a' }, false],
  ['request > tauri minor over 999', requestSchemaPointer('/v1/tauri/version'), { tauriKey: 'k', versionName: '1.1000.0', target: 't', arch: 'a' }, false],
  ['request > report bad eventType', requestSchemaPointer('/v1/app/report'), { eventType: 'x', timestamp: '2025-02-17T02:34:55Z', appKey: 'k' }, false],
  ['request > report app_start without launchTime', requestSchemaPointer('/v1/app/report'), { eventType: 'app_start', timestamp: '2025-02-17T02:34:55Z', appKey: 'k' }, false],
  ['request > report other event, launchTime ""', requestSchemaPointer('/v1/app/report'), { eventType: 'app_upgrade_upgrade', timestamp: '2025-02-17T02:34:55Z', appKey: 'k', eventData: { launchTime: '' } }, true],
  ['request > report timestamp without offset', requestSchemaPointer('/v1/app/report'), { eventType: 'app_upgrade_upgrade', timestamp: '2025-02-17T10:34:55', appKey: 'k' }, false],
  ['response > code 200 with data', apk200, { code: 200, msg: 'ok', data: apkData }, true],
  ['response > extra envelope keys', apk200, { code: 200, msg: '', data: apkData, docs: 'd', traceId: 't', other: 1 }, true],
  ['response > code 0, zero-value data', apk200, { code: 0, msg: '', data: zeroData }, true],
  ['response > code 0, data null', apk200, { code: 0, msg: '', data: null }, true],
  ['response > code 200, data null', apk200, { code: 200, msg: '', data: null }, false],
  ['response > code 200, upgradeType 0', apk200, { code: 200, msg: '', data: { ...apkData, upgradeType: 0 } }, false],
  ['response > urlFileSize as string', apk200, { code: 200, msg: '', data: { ...apkData, urlFileSize: '7213' } }, false],
  ['response > code 404001 on HTTP 200', apk200, { code: 404001, msg: '', data: null }, false],
  ['response > msg missing', apk200, { code: 200, data: apkData }, false],
  ['response > 400 with data null', responseSchema('/v1/apk/upgrade', 400), { code: 400003, msg: '', data: null }, true],
  ['response > 400 without data', responseSchema('/v1/apk/upgrade', 400), { code: 400003, msg: '', docs: 'd', traceId: '' }, true],
  ['response > 400 with code 401001', responseSchema('/v1/apk/upgrade', 400), { code: 401001, msg: '' }, false],
  ['response > version code 0', responseSchema('/v1/file/version', 200), { code: 0, msg: '', data: null }, false],
  ['response > file version without packageName', responseSchema('/v1/file/version', 200), { code: 200, msg: '', data: { fileKey: 'k', versionName: 'v', versionCode: 1, description: '' } }, true],
  ['response > tauri production spelling', responseSchema('/v1/tauri/version', 200), { code: 200, msg: '', data: { tauriKey: 'k', Target: 't', Arch: 'a', versionName: '1.0.0', versionCode: 1000000, description: '' } }, true],
  ['response > tauri without target', responseSchema('/v1/tauri/version', 200), { code: 200, msg: '', data: { tauriKey: 'k', versionName: '1.0.0', versionCode: 1000000, description: '' } }, false],
  ['response > report data is free', responseSchema('/v1/app/report', 200), { code: 0, msg: '', data: '' }, true],
  ['header > X-Signature uppercase', header('XSignature'), '3603437250C2DF51FC46426AC79D8995', false],
  ['header > X-Nonce 15 characters', header('XNonce'), 'fc812cc0b9b51e8', false],
  ['header > X-Timestamp with fraction', header('XTimestamp'), '2025-02-17T02:34:55.123456789-05:00', true],
  ['header > X-Timestamp with space', header('XTimestamp'), '2025-02-17 10:34:55+08:00', false],
  ['header > X-Timestamp lowercase t/z', header('XTimestamp'), '2025-02-17t02:34:55z', false],
  ['header > X-Timestamp offset +0800', header('XTimestamp'), '2025-02-17T10:34:55+0800', false],
  ['header > X-Timestamp month 13', header('XTimestamp'), '2025-13-01T10:34:55Z', false],
  ['header > X-Timestamp Feb 30', header('XTimestamp'), '2025-02-30T10:34:55Z', false],
];

describe('examples > schemas reject deviations (the check can fail)', () => {
  it.each(modifiers)('%s', (_name, pointer, value, expected) => {
    const { valid, errors } = spec.validate(pointer, value);
    expect(valid, expected ? errorText(errors) : 'expected a validation error').toBe(expected);
  });

  it('a broken copy of a bundle example fails', () => {
    const good = cases.find((c) => c.name === 'apkUpgrade > 200 > code200');
    expect(good).toBeDefined();
    const broken = structuredClone(good!.value) as { data: Record<string, unknown> };
    broken.data.versionCode = '2';
    expect(spec.validate(good!.schemaPointer, good!.value).valid).toBe(true);
    const result = spec.validate(good!.schemaPointer, broken);
    expect(result.valid).toBe(false);
    expect(formatErrors(result.errors)).toContain('body.data.versionCode must be integer');
  });
});
