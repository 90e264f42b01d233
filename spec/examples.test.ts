// Every example in the bundle (request bodies, responses, header parameters) validates against
// its schema with Ajv draft 2020-12 + ajv-formats, independently of Redocly; and deliberately
// broken copies fail, so the check can fail.
import { describe, expect, it } from 'vitest';
import {
  type Json,
  type JsonObject,
  at,
  createSpecValidator,
  deref,
  escapePointer,
  formatErrors,
  operations,
  pointerOf,
  requestSchemaPointer,
  responseSchemaPointer,
} from './support/openapi.ts';

const spec = createSpecValidator();
const { bundle } = spec;

interface ExampleCase {
  name: string;
  schemaPointer: string;
  value: unknown;
}

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function namedExamples(mediaPointer: string): { key: string; value: Json | undefined }[] {
  const media = at(bundle, mediaPointer);
  if (!isObject(media) || !isObject(media.examples)) return [];
  return Object.entries(media.examples).map(([key, raw]) => {
    const { node } = deref(bundle, raw, `${mediaPointer}/examples/${escapePointer(key)}`);
    return { key, value: isObject(node) ? node.value : undefined };
  });
}

function collectExamples(): ExampleCase[] {
  const cases: ExampleCase[] = [];
  for (const op of operations(bundle)) {
    const reqSchema = requestSchemaPointer(op.path, op.method);
    const reqMedia = reqSchema.replace(/\/schema$/, '');
    for (const { key, value } of namedExamples(reqMedia)) {
      cases.push({ name: `${op.operationId} > request > ${key}`, schemaPointer: reqSchema, value });
    }
    const responses = op.operation.responses;
    for (const status of Object.keys(isObject(responses) ? responses : {})) {
      const schemaPointer = responseSchemaPointer(bundle, op.path, status, op.method);
      for (const { key, value } of namedExamples(schemaPointer.replace(/\/schema$/, ''))) {
        cases.push({ name: `${op.operationId} > ${status} > ${key}`, schemaPointer, value });
      }
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
  it('finds examples for every operation', () => {
    const ops = operations(bundle);
    expect(ops.length).toBe(17);
    for (const op of ops) {
      expect(cases.filter((c) => c.name.startsWith(`${op.operationId} > request`)).length, op.operationId).toBeGreaterThan(0);
      expect(cases.filter((c) => c.name.startsWith(`${op.operationId} > 200`)).length, op.operationId).toBeGreaterThan(0);
    }
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(c.value, 'example has a value').not.toBeUndefined();
    const { valid, errors } = spec.validate(c.schemaPointer, c.value);
    expect(valid, formatErrors(errors)).toBe(true);
  });
});

describe('examples > every business code a response allows has a named example', () => {
  for (const op of operations(bundle)) {
    const responses = op.operation.responses;
    for (const status of Object.keys(isObject(responses) ? responses : {})) {
      it(`${op.operationId} > ${status}`, () => {
        const schemaPointer = responseSchemaPointer(bundle, op.path, status, op.method);
        const schema = deref(bundle, at(bundle, schemaPointer), schemaPointer).node;
        const code = isObject(schema) && isObject(schema.properties) ? schema.properties.code : undefined;
        const allowed = isObject(code) && Array.isArray(code.enum) ? code.enum : [];
        expect(allowed.length).toBeGreaterThan(0);
        const shown = new Set(
          namedExamples(schemaPointer.replace(/\/schema$/, '')).map(({ value }) => (isObject(value) ? value.code : undefined)),
        );
        for (const c of allowed) expect(shown.has(c), `code ${String(c)} has an example`).toBe(true);
      });
    }
  }
});

// Each row: a valid value, then one deviation. Proves the schemas (and this harness) reject what
// the contract rejects, and accept what it explicitly allows.
const apkReq = requestSchemaPointer('/v1/apk/upgrade');
const apk200 = responseSchemaPointer(bundle, '/v1/apk/upgrade', 200);
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
  ['response > 400 with data null', responseSchemaPointer(bundle, '/v1/apk/upgrade', 400), { code: 400003, msg: '', data: null }, true],
  ['response > 400 without data', responseSchemaPointer(bundle, '/v1/apk/upgrade', 400), { code: 400003, msg: '', docs: 'd', traceId: '' }, true],
  ['response > 400 with code 401001', responseSchemaPointer(bundle, '/v1/apk/upgrade', 400), { code: 401001, msg: '' }, false],
  ['response > version code 0', responseSchemaPointer(bundle, '/v1/file/version', 200), { code: 0, msg: '', data: null }, false],
  ['response > file version without packageName', responseSchemaPointer(bundle, '/v1/file/version', 200), { code: 200, msg: '', data: { fileKey: 'k', versionName: 'v', versionCode: 1, description: '' } }, true],
  ['response > tauri production spelling', responseSchemaPointer(bundle, '/v1/tauri/version', 200), { code: 200, msg: '', data: { tauriKey: 'k', Target: 't', Arch: 'a', versionName: '1.0.0', versionCode: 1000000, description: '' } }, true],
  ['response > tauri without target', responseSchemaPointer(bundle, '/v1/tauri/version', 200), { code: 200, msg: '', data: { tauriKey: 'k', versionName: '1.0.0', versionCode: 1000000, description: '' } }, false],
  ['response > report data is free', responseSchemaPointer(bundle, '/v1/app/report', 200), { code: 0, msg: '', data: '' }, true],
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
    expect(valid, expected ? formatErrors(errors) : 'expected a validation error').toBe(expected);
  });

  it('a broken copy of a bundle example fails', () => {
    const good = cases.find((c) => c.name === 'apkUpgrade > 200 > code200');
    expect(good).toBeDefined();
    const broken = structuredClone(good!.value) as { data: Record<string, unknown> };
    broken.data.versionCode = '2';
    expect(spec.validate(good!.schemaPointer, good!.value).valid).toBe(true);
    const result = spec.validate(good!.schemaPointer, broken);
    expect(result.valid).toBe(false);
    expect(formatErrors(result.errors)).toContain('/data/versionCode');
  });
});
