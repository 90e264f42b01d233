// Request validation: required fields (400002), types and ranges (400003), and the body itself
// (400005), table-driven over the operations each rule applies to. What the pages state (required
// fields, field types) is major; the project's own choices (null, int64 literals, ranges, enums) are
// advisory findings.
import { describe } from 'vitest';
import { Code, OPERATIONS, type Operation } from '../lib/spec/index.ts';
import type { PostPath } from '../lib/client/index.ts';
import { check, expectCode } from './support/checks.ts';
import { patch, withUnknownFields, without } from './support/bodies.ts';
import { okBody, operation, send, test } from './support/context.ts';
import type { RuleId } from './rules.ts';

/** Raw JSON with one field's value replaced by a literal JSON.stringify cannot write (1.0, 1e3, …). */
function withLiteral(body: object, field: string, literal: string): string {
  const marker = '"__contract_literal__"';
  return JSON.stringify({ ...body, [field]: '__contract_literal__' }).replace(marker, literal);
}

const hasVersionCode = (o: Operation) => (o.integerFields as readonly string[]).includes('versionCode');

describe('validation', () => {
  for (const op of OPERATIONS) {
    const path = op.path as PostPath;
    describe(`POST ${op.path}`, () => {
      for (const field of op.required) {
        test('validation.required-fields', `without ${field} it is rejected with 400002`, { op }, async (ctx) => {
          expectCode(await send({ target: path, body: without(okBody(ctx, path), field) }), Code.MISSING_PARAMETER, { rule: 'validation.required-fields' });
        });
      }
      test('validation.empty-key', `an empty ${op.keyField} is rejected with 400003`, { op }, async (ctx) => {
        expectCode(await send({ target: path, body: { ...okBody(ctx, path), [op.keyField]: '' } }), Code.INVALID_PARAMETER, { rule: 'validation.empty-key' });
      });
      test('validation.null-invalid', `${op.keyField} null is rejected with 400003`, { op }, async (ctx) => {
        expectCode(await send({ target: path, body: { ...okBody(ctx, path), [op.keyField]: null } }), Code.INVALID_PARAMETER, { rule: 'validation.null-invalid' });
      });
      test('validation.field-types', `a number for ${op.keyField} is rejected with 400003`, { op }, async (ctx) => {
        expectCode(await send({ target: path, body: { ...okBody(ctx, path), [op.keyField]: 12345 } }), Code.INVALID_PARAMETER, { rule: 'validation.field-types' });
      });

      if (hasVersionCode(op)) {
        const wrongTypes: Array<[string, string]> = [['a string ("1")', '"1"'], ['a boolean', 'true'], ['an array', '[1]']];
        for (const [name, literal] of wrongTypes) {
          test('validation.field-types', `versionCode as ${name} is rejected with 400003`, { op }, async (ctx) => {
            expectCode(await send({ target: path, body: withLiteral(okBody(ctx, path), 'versionCode', literal) }), Code.INVALID_PARAMETER, { rule: 'validation.field-types' });
          });
        }
        const literals: Array<[string, string]> = [['a float (1.5)', '1.5'], ['1.0', '1.0'], ['an exponent (1e3)', '1e3'], ['a value past int64 (9223372036854775808)', '9223372036854775808']];
        for (const [name, literal] of literals) {
          test('validation.int64-literals', `versionCode as ${name} is rejected with 400003`, { op }, async (ctx) => {
            expectCode(await send({ target: path, body: withLiteral(okBody(ctx, path), 'versionCode', literal) }), Code.INVALID_PARAMETER, { rule: 'validation.int64-literals' });
          });
        }
        test('validation.null-invalid', 'versionCode null is rejected with 400003', { op }, async (ctx) => {
          expectCode(await send({ target: path, body: withLiteral(okBody(ctx, path), 'versionCode', 'null') }), Code.INVALID_PARAMETER, { rule: 'validation.null-invalid' });
        });
        test('validation.version-code-positive', 'versionCode 0 is rejected with 400003', { op }, async (ctx) => {
          expectCode(await send({ target: path, body: { ...okBody(ctx, path), versionCode: 0 } }), Code.INVALID_PARAMETER, { rule: 'validation.version-code-positive' });
        });
      }
      if (op.kind === 'upgrade') {
        test('validation.appoint-non-negative', 'appointVersionCode -1 is rejected with 400003', { op }, async (ctx) => {
          expectCode(await send({ target: path, body: { ...okBody(ctx, path), appointVersionCode: -1 } }), Code.INVALID_PARAMETER, { rule: 'validation.appoint-non-negative' });
        });
        test('validation.field-types', 'devKey as a number is rejected with 400003', { op }, async (ctx) => {
          expectCode(await send({ target: path, body: patch(okBody(ctx, path), { devKey: 42 }) }), Code.INVALID_PARAMETER, { rule: 'validation.field-types' });
        });
        test('validation.null-invalid', 'devModelKey null (an optional field) is rejected with 400003', { op }, async (ctx) => {
          expectCode(await send({ target: path, body: patch(okBody(ctx, path), { devModelKey: null }) }), Code.INVALID_PARAMETER, { rule: 'validation.null-invalid' });
        });
      }
      if (op.archValues.length > 0) {
        for (const arch of ['x86', 'X64', ...((op.archValues as readonly string[]).includes('') ? [] : [''])]) {
          test('validation.arch-enum', `arch ${JSON.stringify(arch)} is rejected with 400003`, { op }, async (ctx) => {
            expectCode(await send({ target: path, body: { ...okBody(ctx, path), arch } }), Code.INVALID_PARAMETER, { rule: 'validation.arch-enum' });
          });
        }
      }
      if (op.family === 'tauri' || op.family === 'electron') {
        for (const name of ['1.2', '1.2.3.4', '1.1000.0', 'v01.2.3', 'latest']) {
          test('validation.semver-version-name', `versionName ${JSON.stringify(name)} (not MAJOR.MINOR.PATCH) is rejected with 400003`, { op }, async (ctx) => {
            expectCode(await send({ target: path, body: { ...okBody(ctx, path), versionName: name } }), Code.INVALID_PARAMETER, { rule: 'validation.semver-version-name' });
          });
        }
      }
    });
  }

  const apk = operation('/v1/apk/upgrade');
  const report = operation('/v1/app/report');
  describe('POST /v1/apk/upgrade', () => {
    test('validation.required-fields', 'field names are case-sensitive: VersionCode does not count as versionCode (400002)', { op: apk }, async (ctx) => {
      const body = withUnknownFields(without(okBody(ctx, '/v1/apk/upgrade'), 'versionCode'), { VersionCode: 1 });
      expectCode(await send({ target: apk.path, body }), Code.MISSING_PARAMETER, { rule: 'validation.required-fields' });
    });
    test('validation.missing-before-invalid', 'one field missing and another of the wrong type gives 400002', { op: apk }, async () => {
      expectCode(await send({ target: apk.path, body: { versionCode: 'one' } }), Code.MISSING_PARAMETER, { rule: 'validation.missing-before-invalid' });
    });

    const BODY = { rule: 'body.invalid-body' } as const;
    const bad: Array<[string, string | Uint8Array]> = [
      ['malformed JSON', '{"apkKey":"apk-basic",'],
      ['a JSON array', '[]'],
      ['a JSON number', '1'],
      ['a JSON string', '"x"'],
      ['JSON null', 'null'],
      ['an empty body', ''],
      ['invalid UTF-8', Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ];
    for (const [name, body] of bad) {
      // An empty body is signed as `body=`: a server that signs it otherwise refuses it before reading it.
      const after: RuleId[] = body === '' ? ['signing.empty-body-part'] : [];
      test('body.invalid-body', `${name} is rejected with 400005`, { op: apk, after }, async () => {
        expectCode(await send({ target: apk.path, body }), Code.INVALID_BODY, BODY);
      });
    }
    const LIMIT = { rule: 'body.size-limit' } as const;
    test('body.size-limit', 'a body of 1 048 577 bytes (over 1 MiB) is rejected with 400005', { op: apk }, async (ctx) => {
      const base = JSON.stringify({ ...okBody(ctx, '/v1/apk/upgrade'), padding: '' });
      const body = base.replace('"padding":""', `"padding":"${'x'.repeat(1_048_577 - base.length)}"`);
      check(Buffer.byteLength(body) === 1_048_577, 'body.size-limit', 'fixture', 'body size', '1048577 bytes', `${Buffer.byteLength(body)} bytes`);
      expectCode(await send({ target: apk.path, body }), Code.INVALID_BODY, LIMIT);
    });
    test('body.size-limit', 'a body of exactly 1 MiB is accepted', { op: apk }, async (ctx) => {
      const base = JSON.stringify({ ...okBody(ctx, '/v1/apk/upgrade'), padding: '' });
      const body = base.replace('"padding":""', `"padding":"${'x'.repeat(1_048_576 - base.length)}"`);
      expectCode(await send({ target: apk.path, body }), Code.OK, LIMIT);
    });
    test('body.size-limit', 'a chunked body over 1 MiB (no Content-Length) is rejected with 400005; a small chunked one is accepted', { op: apk }, async (ctx) => {
      const big = JSON.stringify({ ...okBody(ctx, '/v1/apk/upgrade'), padding: 'x'.repeat(1_100_000) });
      expectCode(await send({ target: apk.path, body: big, chunkSize: 65_536 }), Code.INVALID_BODY, LIMIT);
      expectCode(await send({ target: apk.path, body: okBody(ctx, '/v1/apk/upgrade'), chunkSize: 16 }), Code.OK, LIMIT);
    });
  });

  describe('POST /v1/app/report', () => {
    test('validation.missing-before-invalid', 'an app_start report without eventData.launchTime is rejected with 400002', { op: report }, async (ctx) => {
      expectCode(await send({ target: report.path, body: { ...okBody(ctx, '/v1/app/report'), eventType: 'app_start', eventData: {} } }), Code.MISSING_PARAMETER, { rule: 'validation.missing-before-invalid' });
    });
    const cases: Array<[string, Record<string, unknown>]> = [
      ['an unknown eventType', { eventType: 'app_crash' }],
      ['an unparsable timestamp', { timestamp: '2025-02-17 10:34:55' }],
      ['eventData that is not an object', { eventData: 'none' }],
      ['an app_start launchTime that is not RFC3339', { eventType: 'app_start', eventData: { launchTime: 'yesterday' } }],
      ['eventData.versionCode as a string', { eventData: { versionCode: '2' } }],
    ];
    for (const [name, changes] of cases) {
      test('validation.report-fields', `a report with ${name} is rejected with 400003`, { op: report }, async (ctx) => {
        expectCode(await send({ target: report.path, body: patch(okBody(ctx, '/v1/app/report'), changes) }), Code.INVALID_PARAMETER, { rule: 'validation.report-fields' });
      });
    }
  });
});
