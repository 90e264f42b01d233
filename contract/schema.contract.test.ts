// Schema conformance: every answer validates against the bundled spec for its status (checked in
// every test by expectAnswer; here each documented status of each operation is produced once on
// purpose), and the checks themselves are shown to fail on an undocumented status or a bad body.
import { describe, expect, it } from 'vitest';
import type { RawResponse } from '../lib/client/raw.ts';
import {
  ContractFailure,
  expectAnswer,
  expectConformant,
  httpStatus,
  prismResponseViolations,
  responseSchemaConformance,
  statusCodeConformance,
  contentTypeConformance,
  statusMatchesCodeFamily,
} from './support/checks.ts';
import { awayFromHourBoundary, fixture, fx, rule, send, target } from './support/context.ts';
import type { CallSpec, Exchange } from './support/exchange.ts';
import { OPERATIONS, type Operation } from './support/operations.ts';
import { documentedStatuses } from './support/spec.ts';
import type { Capabilities } from './support/target.ts';
import type { TestContext } from 'vitest';

interface Provocation {
  needs: Array<keyof Capabilities>;
  code: number;
  /** Requests to send; the last answer is the one checked. */
  build(ctx: TestContext): CallSpec[];
}

/** How the sandbox (or staging) is made to answer each documented status for an operation. */
function provocation(op: Operation, status: string): Provocation | string {
  const ok = op.okBody(fx);
  switch (status) {
    case '200':
      return { needs: ['hasFixtures'], code: op.okCode, build: () => [{ target: op.path, body: ok }] };
    case '400':
      return { needs: ['validatesRequests', 'verifiesSignatures'], code: 400002, build: () => [{ target: op.path, body: { ...ok, [op.keyField]: undefined } }] };
    case '401':
      return { needs: ['verifiesSignatures'], code: 401002, build: () => [{ target: op.path, body: ok, sign: { secretKey: 'contract-wrong-secret' } }] };
    case '404':
      return { needs: ['hasFixtures'], code: 404001, build: () => [{ target: op.path, body: { ...ok, [op.keyField]: 'contract-unknown-app-key' } }] };
    case '429':
      if (op.kind !== 'upgrade') return `flow limits belong to upgrade strategies; no way to make ${op.path} answer 429 is known`;
      return {
        needs: ['hasFixtures', 'enforcesFlowLimits'],
        code: 429001,
        build: (ctx) => {
          // One flow-limited app per family: limit + 1 upgrade checks, the last one over the limit.
          const f = fixture<{ app: string; limit: number }>(ctx, `flow.schema429.${op.family}`);
          const body = { ...ok, [op.keyField]: f.app, versionCode: fx.versions.current };
          return Array.from({ length: f.limit + 1 }, () => ({ target: op.path, body }));
        },
      };
    case '500': {
      const family = op.kind === 'report' ? 'file' : op.family;
      return {
        needs: ['hasFixtures', 'faultFixtures'],
        code: 500001,
        build: (ctx) => {
          const app = fixture<string>(ctx, `failInternally.${family}`);
          return [{ target: op.path, body: { ...ok, [op.keyField]: app } }];
        },
      };
    }
    default:
      return `no way to produce HTTP ${status} is known`;
  }
}

function synthetic(status: number, body: unknown, options: { path?: string; contentType?: string; violations?: Exchange['violations'] } = {}): Exchange {
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
    operation: path,
    request: { method: 'POST', target: path, url: `http://127.0.0.1${path}`, headers: [], body: '{}', bodyBytes: 2, route: 'direct' },
    response,
    violations: options.violations ?? [],
  };
}

function expectCheckFails(fn: () => void, checkName: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `the ${checkName} check should have failed`).toBeInstanceOf(ContractFailure);
  expect((caught as ContractFailure).check).toBe(checkName);
  expect((caught as ContractFailure).message).toMatch(/\nExpected: .+\nReceived: .+/);
}

describe('schema', () => {
  for (const op of OPERATIONS) {
    describe(`POST ${op.path}`, () => {
      rule('a well-formed request gets an answer that validates against the spec', {}, async () => {
        const ex = await send({ target: op.path, body: op.okBody(fx) });
        if (target.capabilities.hasFixtures) expectAnswer(ex, op.okCode);
        else expectConformant(ex);
      });

      for (const status of documentedStatuses('POST', op.path)) {
        const how = provocation(op, status);
        const needs = target.capabilities.servesExamples ? [] : typeof how === 'string' ? [] : how.needs;
        rule(`an HTTP ${status} answer validates against the spec`, { needs }, async (ctx) => {
          if (target.capabilities.servesExamples) {
            // The Prism mock serves the documented response for the status asked for.
            const ex = await send({ target: op.path, body: op.okBody(fx), headers: [['Prefer', `code=${status}`]] });
            httpStatus(ex, Number(status));
            expectConformant(ex);
            return;
          }
          if (typeof how === 'string') {
            ctx.skip(how);
            return;
          }
          const specs = how.build(ctx);
          if (status === '429') await awayFromHourBoundary();
          let last: Exchange | undefined;
          for (const spec of specs) last = await send(spec);
          expectAnswer(last!, how.code);
        });
      }
    });
  }

  describe('the checks can fail', () => {
    const upgradeData = { apkKey: 'a', packageName: 'p', versionName: 'v', versionCode: 2, urlPath: 'u', urlFileSize: 1, urlFileMd5: '', upgradeType: 1, promptUpgradeContent: '' };
    it('an undocumented status is a failure (status_code_conformance)', () => {
      expectCheckFails(() => statusCodeConformance(synthetic(418, { code: 418000, msg: '' })), 'status_code_conformance');
      expectCheckFails(() => statusCodeConformance(synthetic(429, { code: 429001, msg: '' }, { path: '/v1/apk/version' })), 'status_code_conformance');
    });
    it('a body that breaks the schema of its status is a failure (response_schema_conformance)', () => {
      expectCheckFails(() => responseSchemaConformance(synthetic(200, { code: 200, msg: '', data: { ...upgradeData, versionCode: '2' } })), 'response_schema_conformance');
      expectCheckFails(() => responseSchemaConformance(synthetic(200, { code: 200, msg: '', data: null })), 'response_schema_conformance');
      expectCheckFails(() => responseSchemaConformance(synthetic(401, { code: 404001, msg: '' })), 'response_schema_conformance');
    });
    it('a valid body passes the schema check', () => {
      responseSchemaConformance(synthetic(200, { code: 200, msg: '', data: upgradeData }));
      responseSchemaConformance(synthetic(200, { code: 0, msg: '', data: null }));
      responseSchemaConformance(synthetic(404, { code: 404003, msg: '', data: null }, { path: '/v1/nope' }));
    });
    it('an answer outside the documented operations must still be an error envelope', () => {
      const ex = synthetic(404, { error: 'not found' }, { path: '/v1/nope' });
      ex.operation = undefined;
      expectCheckFails(() => responseSchemaConformance(ex), 'response_schema_conformance');
    });
    it('a non-JSON answer is a failure (content_type_conformance)', () => {
      expectCheckFails(() => contentTypeConformance(synthetic(400, 'bad request', { contentType: 'text/plain' })), 'content_type_conformance');
      expectCheckFails(() => contentTypeConformance(synthetic(400, '{"code":400001,"msg":""}', { contentType: 'text/plain' })), 'content_type_conformance');
    });
    it('a response violation reported by Prism is a failure; request violations are not', () => {
      const violation = { location: ['response', 'body', 'code'], severity: 'Error', message: 'Response body property code must be integer' };
      expectCheckFails(() => prismResponseViolations(synthetic(200, { code: 0, msg: '' }, { violations: [violation] })), 'prism_response_violation');
      prismResponseViolations(synthetic(400, { code: 400002, msg: '' }, { violations: [{ location: ['request', 'body'], severity: 'Error', message: 'missing apkKey' }] }));
    });
    it('an HTTP status outside the code\'s family is a failure (status_matches_code_family)', () => {
      expectCheckFails(() => statusMatchesCodeFamily(synthetic(200, { code: 401002, msg: '' })), 'status_matches_code_family');
      expectCheckFails(() => statusMatchesCodeFamily(synthetic(400, { code: 0, msg: '' })), 'status_matches_code_family');
      statusMatchesCodeFamily(synthetic(429, { code: 429001, msg: '' }));
    });
  });
});
