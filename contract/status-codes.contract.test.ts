// Status codes (REFERENCE §5.2, §4.3, §7): each documented code where the target can produce it, the
// check order when a request has two faults, and the HTTP status == code family invariant (checked by
// expectAnswer on every answer of every test).
import { describe } from 'vitest';
import { expectAnswer, check } from './support/checks.ts';
import { fixture, fx, rule, send, target } from './support/context.ts';
import { OPERATIONS, UPGRADE_OPERATIONS, VERSION_OPERATIONS, operation, type Operation } from './support/operations.ts';

const VALIDATING = ['validatesRequests', 'verifiesSignatures'] as const;
const WITH_FIXTURES = ['validatesRequests', 'verifiesSignatures', 'hasFixtures'] as const;

function without(body: Record<string, unknown>, field: string): Record<string, unknown> {
  const copy = { ...body };
  delete copy[field];
  return copy;
}

/** Integer fields of an operation's body (REFERENCE §7: int64 plain literals). */
function integerFields(op: Operation): string[] {
  if (op.kind === 'upgrade') return ['versionCode', 'appointVersionCode'];
  if (op.kind === 'version' && op.family !== 'tauri' && op.family !== 'electron') return ['versionCode'];
  return [];
}

/** Raw JSON with one field's value replaced by a literal (for floats and exponents JSON.stringify cannot write). */
function withLiteral(body: Record<string, unknown>, field: string, literal: string): string {
  const marker = '"__contract_literal__"';
  return JSON.stringify({ ...body, [field]: '__contract_literal__' }).replace(marker, literal);
}

describe('status codes', () => {
  describe('400001 illegal request', () => {
    const op = operation('/v1/apk/upgrade');
    for (const method of ['GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      rule(`${method} on a signed route is rejected with 400001`, { needs: VALIDATING }, async () => {
        const ex = await send({ target: op.path, method, body: op.okBody(fx) });
        expectAnswer(ex, 400001);
      });
    }
    rule('HEAD on a signed route is answered HTTP 400 with no body', { needs: VALIDATING }, async () => {
      const ex = await send({ target: op.path, method: 'HEAD' });
      expectAnswer(ex, 400001);
    });
    rule('an OPTIONS preflight gets 400001 and no CORS headers', { needs: VALIDATING }, async () => {
      const ex = await send({
        target: op.path,
        method: 'OPTIONS',
        sign: false,
        contentType: null,
        headers: [['Origin', 'https://app.example'], ['Access-Control-Request-Method', 'POST']],
      });
      expectAnswer(ex, 400001);
      const cors = Object.keys(ex.response.headers).filter((h) => h.startsWith('access-control-'));
      check(cors.length === 0, 'no_cors', 'the sandbox sends no CORS headers', 'no Access-Control-* headers', cors.join(', '));
    });
    rule('a missing Content-Type is rejected with 400001', { needs: VALIDATING }, async () => {
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), contentType: null }), 400001);
    });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp']) {
      rule(`Content-Type ${type} is rejected with 400001`, { needs: VALIDATING }, async () => {
        expectAnswer(await send({ target: op.path, body: op.okBody(fx), contentType: type }), 400001);
      });
    }
    for (const type of ['application/json; charset=utf-8', 'Application/JSON']) {
      rule(`Content-Type ${type} is accepted`, { needs: WITH_FIXTURES }, async () => {
        expectAnswer(await send({ target: op.path, body: op.okBody(fx), contentType: type }), 200);
      });
    }
    rule('a bad % escape in the request target is rejected with 400001', { needs: VALIDATING }, async () => {
      // Signed over the same (undecodable) target is impossible, so sign the body alone: the check comes first.
      const ex = await send({ target: `${op.path}?q=%zz`, body: op.okBody(fx), sign: { target: op.path } });
      expectAnswer(ex, 400001);
    });
  });

  describe('400002 missing parameter', () => {
    for (const op of OPERATIONS) {
      for (const field of op.required) {
        rule(`POST ${op.path} without ${field} is rejected with 400002`, { needs: VALIDATING }, async () => {
          expectAnswer(await send({ target: op.path, body: without(op.okBody(fx), field) }), 400002);
        });
      }
    }
    rule('field names are case-sensitive: VersionCode does not count as versionCode (400002)', { needs: VALIDATING }, async () => {
      const op = operation('/v1/apk/upgrade');
      const body = without(op.okBody(fx), 'versionCode');
      expectAnswer(await send({ target: op.path, body: { ...body, VersionCode: 1 } }), 400002);
    });
    rule('an app_start report without eventData.launchTime is rejected with 400002', { needs: VALIDATING }, async () => {
      const op = operation('/v1/app/report');
      expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), eventType: 'app_start', eventData: {} } }), 400002);
    });
    rule('missing wins over invalid: one field missing and another of the wrong type gives 400002', { needs: VALIDATING }, async () => {
      const op = operation('/v1/apk/upgrade');
      expectAnswer(await send({ target: op.path, body: { versionCode: 'one' } }), 400002);
    });
  });

  describe('400003 invalid parameter', () => {
    for (const op of OPERATIONS) {
      rule(`POST ${op.path} with an empty ${op.keyField} is rejected with 400003`, { needs: VALIDATING }, async () => {
        expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), [op.keyField]: '' } }), 400003);
      });
      rule(`POST ${op.path} with ${op.keyField} null is rejected with 400003`, { needs: VALIDATING }, async () => {
        expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), [op.keyField]: null } }), 400003);
      });
      rule(`POST ${op.path} with a number for ${op.keyField} is rejected with 400003`, { needs: VALIDATING }, async () => {
        expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), [op.keyField]: 12345 } }), 400003);
      });
    }
    const intCases: Array<[string, string]> = [
      ['a string ("1")', '"1"'],
      ['a float (1.5)', '1.5'],
      ['a float written 1.0', '1.0'],
      ['an exponent (1e3)', '1e3'],
      ['a value past int64 (9223372036854775808)', '9223372036854775808'],
      ['a boolean', 'true'],
      ['an array', '[1]'],
      ['null', 'null'],
    ];
    for (const op of OPERATIONS.filter((o) => integerFields(o).length > 0)) {
      for (const [name, literal] of intCases) {
        rule(`POST ${op.path}: versionCode as ${name} is rejected with 400003`, { needs: VALIDATING }, async () => {
          expectAnswer(await send({ target: op.path, body: withLiteral(op.okBody(fx), 'versionCode', literal) }), 400003);
        });
      }
      rule(`POST ${op.path}: versionCode 0 (below 1) is rejected with 400003`, { needs: VALIDATING }, async () => {
        expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), versionCode: 0 } }), 400003);
      });
    }
    for (const op of UPGRADE_OPERATIONS) {
      rule(`POST ${op.path}: appointVersionCode -1 is rejected with 400003`, { needs: VALIDATING }, async () => {
        expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), appointVersionCode: -1 } }), 400003);
      });
      rule(`POST ${op.path}: devKey as a number is rejected with 400003`, { needs: VALIDATING }, async () => {
        expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), devKey: 42 } }), 400003);
      });
      rule(`POST ${op.path}: devModelKey null (optional fields too) is rejected with 400003`, { needs: VALIDATING }, async () => {
        expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), devModelKey: null } }), 400003);
      });
    }
    for (const op of OPERATIONS.filter((o) => o.arch !== 'none' && !(o.kind === 'upgrade' && o.arch === 'optional'))) {
      for (const arch of ['x86', '', 'X64']) {
        rule(`POST ${op.path}: arch ${JSON.stringify(arch)} is rejected with 400003`, { needs: VALIDATING }, async () => {
          expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), arch } }), 400003);
        });
      }
    }
    rule('POST /v1/win/upgrade: arch "x86" is rejected with 400003 (only "" means no filter)', { needs: VALIDATING }, async () => {
      const op = operation('/v1/win/upgrade');
      expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), arch: 'x86' } }), 400003);
    });
    for (const path of ['/v1/tauri/version', '/v1/electron/version']) {
      for (const name of ['1.2', '1.2.3.4', '1.1000.0', 'v01.2.3', 'latest']) {
        rule(`POST ${path}: versionName ${JSON.stringify(name)} (not MAJOR.MINOR.PATCH) is rejected with 400003`, { needs: VALIDATING }, async () => {
          const op = operation(path);
          expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), versionName: name } }), 400003);
        });
      }
    }
    const report = operation('/v1/app/report');
    const reportCases: Array<[string, Record<string, unknown>]> = [
      ['an unknown eventType', { eventType: 'app_crash' }],
      ['an unparsable timestamp', { timestamp: '2025-02-17 10:34:55' }],
      ['eventData that is not an object', { eventData: 'none' }],
      ['an app_start launchTime that is not RFC3339', { eventType: 'app_start', eventData: { launchTime: 'yesterday' } }],
      ['eventData.versionCode as a string', { eventData: { versionCode: '2' } }],
    ];
    for (const [name, patch] of reportCases) {
      rule(`POST /v1/app/report with ${name} is rejected with 400003`, { needs: VALIDATING }, async () => {
        expectAnswer(await send({ target: report.path, body: { ...report.okBody(fx), ...patch } }), 400003);
      });
    }
  });

  describe('400004 invalid header', () => {
    const op = operation('/v1/apk/upgrade');
    for (const header of ['X-Timestamp', 'X-Nonce', 'X-AccessKey', 'X-Signature']) {
      rule(`an empty ${header} is rejected with 400004`, { needs: ['verifiesSignatures'] }, async () => {
        expectAnswer(await send({ target: op.path, body: op.okBody(fx), replace: { [header]: '' } }), 400004);
      });
    }
  });

  describe('400005 invalid body', () => {
    const op = operation('/v1/apk/upgrade');
    const cases: Array<[string, string | Uint8Array]> = [
      ['malformed JSON', '{"apkKey":"apk-basic",'],
      ['a JSON array', '[]'],
      ['a JSON number', '1'],
      ['a JSON string', '"x"'],
      ['JSON null', 'null'],
      ['an empty body', ''],
      ['invalid UTF-8', Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ];
    for (const [name, body] of cases) {
      rule(`${name} is rejected with 400005`, { needs: VALIDATING }, async () => {
        expectAnswer(await send({ target: op.path, body }), 400005);
      });
    }
    rule('a body of 1 048 577 bytes (over 1 MiB) is rejected with 400005', { needs: VALIDATING }, async () => {
      const base = JSON.stringify({ ...op.okBody(fx), padding: '' });
      const body = base.replace('"padding":""', `"padding":"${'x'.repeat(1_048_577 - base.length)}"`);
      check(Buffer.byteLength(body) === 1_048_577, 'fixture', 'body size', '1048577 bytes', `${Buffer.byteLength(body)} bytes`);
      expectAnswer(await send({ target: op.path, body }), 400005);
    });
    rule('a body of exactly 1 MiB is accepted', { needs: WITH_FIXTURES }, async () => {
      const base = JSON.stringify({ ...op.okBody(fx), padding: '' });
      const body = base.replace('"padding":""', `"padding":"${'x'.repeat(1_048_576 - base.length)}"`);
      expectAnswer(await send({ target: op.path, body }), 200);
    });
    rule('a chunked body over 1 MiB (no Content-Length) is rejected with 400005', { needs: VALIDATING }, async () => {
      const body = JSON.stringify({ ...op.okBody(fx), padding: 'x'.repeat(1_100_000) });
      expectAnswer(await send({ target: op.path, body, chunkSize: 65_536 }), 400005);
    });
    rule('a small chunked body is accepted', { needs: WITH_FIXTURES }, async () => {
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), chunkSize: 16 }), 200);
    });
  });

  describe('401001 authentication failed', () => {
    const op = operation('/v1/apk/upgrade');
    rule('an unknown access key is rejected with 401001', { needs: ['verifiesSignatures'] }, async () => {
      // Signed with the main secret, so a server that ignores the key would accept it.
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { accessKey: 'contract-unknown-access-key' } }), 401001);
    });
    rule('a disabled access key is rejected with 401001, even when correctly signed', { needs: ['verifiesSignatures', 'hasDisabledAccessKey'] }, async (ctx) => {
      const disabled = fixture<{ accessKey: string; testSecretKey?: string }>(ctx, 'disabledAccessKey');
      const ex = await send({ target: op.path, body: op.okBody(fx), sign: { accessKey: disabled.accessKey, secretKey: disabled.testSecretKey ?? target.secretKey } });
      expectAnswer(ex, 401001);
    });
  });

  describe('404001 resource not found', () => {
    for (const op of OPERATIONS) {
      rule(`POST ${op.path} with an unknown ${op.keyField} is rejected with 404001`, { needs: WITH_FIXTURES }, async () => {
        expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), [op.keyField]: 'contract-unknown-app-key' } }), 404001);
      });
    }
    rule('an apkKey sent to /v1/file/upgrade is unknown in that family (404001)', { needs: WITH_FIXTURES }, async () => {
      const op = operation('/v1/file/upgrade');
      expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), fileKey: String(fx.apps.apk?.upgrading) } }), 404001);
    });
  });

  describe('404002 record not found', () => {
    for (const op of VERSION_OPERATIONS) {
      rule(`POST ${op.path} for a version the app does not have is rejected with 404002`, { needs: WITH_FIXTURES }, async () => {
        const body = op.okBody(fx);
        if ('versionName' in body) body.versionName = String(fx.apps[op.family]?.missingVersionName);
        else body.versionCode = fx.versions.missing;
        expectAnswer(await send({ target: op.path, body }), 404002);
      });
    }
    rule('POST /v1/lnx/version for an arch the version lacks is rejected with 404002', { needs: WITH_FIXTURES }, async (ctx) => {
      const app = fixture<string>(ctx, 'lnxArch.x64OnlyApp');
      expectAnswer(await send({ target: '/v1/lnx/version', body: { lnxKey: app, versionCode: fx.versions.next, arch: 'arm64' } }), 404002);
    });
  });

  describe('404003 / 404004 unknown routes', () => {
    const op = operation('/v1/apk/upgrade');
    const under: Array<[string, string]> = [
      ['POST', '/v1/apk/upgrad'],
      ['GET', '/v1/apk/download'],
      ['POST', '/v1/apk//upgrade'],
      ['POST', '/v1/APK/upgrade'],
      ['POST', '/v1/apk/./upgrade'],
      ['POST', '/v1/apk/upgrade//'],
    ];
    for (const [method, path] of under) {
      rule(`${method} ${path} (under /v1/) is answered 404003`, { needs: ['routesUnknownPaths'] }, async () => {
        expectAnswer(await send({ target: path, method, body: method === 'GET' ? undefined : op.okBody(fx) }), 404003);
      });
    }
    const outside: Array<[string, string]> = [
      ['GET', '/'],
      ['POST', '/v2/apk/upgrade'],
      ['POST', '/apk/upgrade'],
    ];
    for (const [method, path] of outside) {
      rule(`${method} ${path} (outside /v1/) is answered 404004`, { needs: ['routesUnknownPaths'] }, async () => {
        expectAnswer(await send({ target: path, method, body: method === 'GET' ? undefined : op.okBody(fx) }), 404004);
      });
    }
  });

  describe('500001 / 500002 server errors', () => {
    // Every operation, with its family's failing app in an otherwise valid body (report: any app's key).
    const failing: Array<[string, string, (app: string) => Record<string, unknown>]> = OPERATIONS.map((o) => [
      o.path,
      `failInternally.${o.kind === 'report' ? 'file' : o.family}`,
      (app: string) => ({ ...o.okBody(fx), [o.keyField]: app }),
    ]);
    for (const [path, key, body] of failing) {
      rule(`POST ${path} for an app flagged to fail internally is answered 500001`, { needs: ['hasFixtures', 'faultFixtures'] }, async (ctx) => {
        expectAnswer(await send({ target: path, body: body(fixture<string>(ctx, key)) }), 500001);
      });
    }
    const inconsistent: Array<[string, string]> = [
      ['a strategy whose target version is missing', 'missingVersion'],
      ['upgradeType outside 1–3', 'upgradeType'],
      ['a device-targeting type outside 0–2', 'targetingType'],
      ['a flow-rule dimension outside 1–4', 'flowDimension'],
      ['a flow limit below 1', 'flowLimit'],
      ['a gray limit below 1', 'grayLimit'],
    ];
    for (const [name, key] of inconsistent) {
      rule(`inconsistent fixture data (${name}) is answered 500002`, { needs: ['hasFixtures', 'faultFixtures'] }, async (ctx) => {
        const app = fixture<string>(ctx, `inconsistent.${key}`);
        expectAnswer(await send({ target: '/v1/apk/upgrade', body: { apkKey: app, versionCode: fx.versions.current, devKey: 'contract-device-500002' } }), 500002);
      });
    }
  });

  describe('check order (the first failing check decides)', () => {
    const op = operation('/v1/apk/upgrade');
    rule('unknown path beats wrong method: GET /v1/apk/upgrad → 404003', { needs: ['routesUnknownPaths'] }, async () => {
      expectAnswer(await send({ target: '/v1/apk/upgrad', method: 'GET' }), 404003);
    });
    rule('wrong method beats a missing signature: GET unsigned → 400001', { needs: VALIDATING }, async () => {
      expectAnswer(await send({ target: op.path, method: 'GET', sign: false }), 400001);
    });
    rule('content type beats a missing header: text/plain unsigned → 400001', { needs: VALIDATING }, async () => {
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), contentType: 'text/plain', sign: false }), 400001);
    });
    rule('a missing header beats a malformed body → 400004', { needs: VALIDATING }, async () => {
      expectAnswer(await send({ target: op.path, body: '{bad', omit: ['X-Nonce'] }), 400004);
    });
    rule('a malformed header beats the window: a 15-character nonce on a stale timestamp → 400004', { needs: VALIDATING }, async () => {
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { nonce: 'abcdef012345678', timestamp: '2020-01-01T00:00:00Z' } }), 400004);
    });
    rule('the window beats the signature: a stale timestamp with a wrong signature → 401001, not 401002', { needs: ['rejectsReplays', 'verifiesSignatures'] }, async () => {
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { secretKey: 'contract-wrong-secret', timestamp: '2020-01-01T00:00:00Z' } }), 401001);
    });
    rule('the access key beats the signature: an unknown key with a wrong signature → 401001, not 401002', { needs: ['verifiesSignatures'] }, async () => {
      expectAnswer(await send({ target: op.path, body: op.okBody(fx), sign: { accessKey: 'contract-unknown-access-key', secretKey: 'contract-wrong-secret' } }), 401001);
    });
    rule('the signature beats a malformed body: bad signature over bad JSON → 401002', { needs: VALIDATING }, async () => {
      expectAnswer(await send({ target: op.path, body: '{bad', sign: { secretKey: 'not-the-secret' } }), 401002);
    });
    rule('the body parse beats validation: malformed JSON → 400005, not 400002', { needs: VALIDATING }, async () => {
      expectAnswer(await send({ target: op.path, body: '{"versionCode":1' }), 400005);
    });
  });

  describe('HTTP 200 answers', () => {
    for (const op of UPGRADE_OPERATIONS) {
      rule(`POST ${op.path} for a client already on the newest version → HTTP 200, code 0`, { needs: ['hasFixtures'] }, async () => {
        expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), versionCode: fx.versions.next } }), 0);
      });
      rule(`POST ${op.path} for an app with no strategy → HTTP 200, code 0`, { needs: ['hasFixtures'] }, async () => {
        expectAnswer(await send({ target: op.path, body: { ...op.okBody(fx), [op.keyField]: String(fx.apps[op.family]?.latestOnly) } }), 0);
      });
      rule(`POST ${op.path} for an upgrading client → HTTP 200, code 200`, { needs: ['hasFixtures'] }, async () => {
        expectAnswer(await send({ target: op.path, body: op.okBody(fx) }), 200);
      });
    }
  });
});
