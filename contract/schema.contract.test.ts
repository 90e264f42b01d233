// Every documented status of every operation, produced once on purpose and checked against the spec
// (expectCode checks the envelope and `data` of every answer of every test; these make sure each
// documented response shape is seen at least once). Against the Prism mock, each documented response
// is asked for with `Prefer: code=…` and checked the same way.
import { describe, type TestContext } from 'vitest';
import { Code, OPERATIONS, type Operation } from '../lib/spec/index.ts';
import type { PostPath } from '../lib/client/index.ts';
import { expectCode, expectConformant, httpStatusForCode } from './support/checks.ts';
import { patch } from './support/bodies.ts';
import { awayFromHourBoundary, fx, okBody, send, target, test, use, type Need } from './support/context.ts';
import type { RequestPlan } from './support/exchange.ts';
import type { Expectation } from './support/checks.ts';
import type { RuleId } from './rules.ts';

interface Provocation {
  needs: Need[];
  /** Rules the test relies on besides its own (see TestOptions.after). */
  after?: RuleId[];
  code: number;
  expectation: Expectation;
  /** Requests to send; the last answer is the one checked. */
  build(ctx: TestContext): RequestPlan[];
}

/** How the target is made to answer each documented status, and the rule that answer belongs to. */
function provocation(op: Operation, status: string): Provocation | undefined {
  const path = op.path as PostPath;
  switch (status) {
    case '200':
      return { needs: [], code: op.kind === 'report' ? Code.LATEST : Code.OK, expectation: { rule: 'baseline.signed-request-accepted' }, build: (ctx) => [{ target: path, body: okBody(ctx, path) }] };
    case '400':
      return { needs: [], code: Code.MISSING_PARAMETER, expectation: { rule: 'validation.required-fields' }, build: (ctx) => [{ target: path, body: patch(okBody(ctx, path), { [op.keyField]: undefined } as never) }] };
    case '401':
      return { needs: [], code: Code.SIGNATURE_FAILED, expectation: { rule: 'signing.signature-verified', codeRule: 'signing.mismatch-code' }, build: (ctx) => [{ target: path, body: okBody(ctx, path), sign: { secretKey: 'contract-wrong-secret' } }] };
    case '404':
      return { needs: [], code: Code.RESOURCE_NOT_FOUND, expectation: { rule: 'codes.app-not-found' }, build: (ctx) => [{ target: path, body: { ...okBody(ctx, path), [op.keyField]: 'contract-unknown-app-key' } }] };
    case '429':
      return {
        needs: ['flowQuota'],
        // One strategy in play needs the arch filter; without a fallback, the last answer is 429001.
        after: ['upgrade.arch-filter', 'upgrade.flow-limit-no-fallback'],
        code: Code.FLOW_LIMITED,
        expectation: { rule: 'upgrade.flow-limit' },
        build: (ctx) => {
          // One flow-limited app per family: limit + 1 upgrade checks, the last one over the limit. One
          // build (x64) where there are several, so that only one strategy is in play.
          const f = use(ctx, fx.flow.perFamily[op.family as keyof typeof fx.flow.perFamily]);
          const body = { ...okBody(ctx, path), [op.keyField]: f.app, versionCode: fx.versions.current, ...(op.arch === 'none' ? {} : { arch: 'x64' }) };
          return Array.from({ length: f.limit + 1 }, () => ({ target: path, body }));
        },
      };
    case '500':
      return {
        needs: ['faultFixtures'],
        code: Code.INTERNAL_ERROR,
        expectation: { rule: 'codes.internal-error' },
        build: (ctx) => [{ target: path, body: { ...okBody(ctx, path), [op.keyField]: use(ctx, fx.failInternally[op.family ?? 'file']) } }],
      };
    default:
      return undefined;
  }
}

describe('schema', () => {
  for (const op of OPERATIONS) {
    describe(`POST ${op.path}`, () => {
      for (const status of op.statuses) {
        const how = provocation(op, status);
        if (!how) throw new Error(`no way to produce HTTP ${status} on ${op.path} is known: add one to contract/schema.contract.test.ts`);
        if (target.kind === 'mock') {
          test('envelope.shape', `the documented HTTP ${status} answer validates against the spec`, { op, onMock: true }, async (ctx) => {
            const ex = await send({ target: op.path, body: okBody(ctx, op.path as PostPath), headers: [['Prefer', `code=${status}`]] });
            expectConformant(ex);
            if (ex.response.status !== Number(status)) throw new Error(`the Prism mock answered HTTP ${ex.response.status} to Prefer: code=${status}`);
          });
          continue;
        }
        test(how.expectation.rule, `an HTTP ${status} answer (code ${how.code}) validates against the spec`, { op, needs: how.needs, ...(how.after ? { after: how.after } : {}) }, async (ctx) => {
          const specs = how.build(ctx);
          if (status === '429') await awayFromHourBoundary();
          let last;
          for (const spec of specs) last = await send(spec);
          if (httpStatusForCode(how.code) !== Number(status)) throw new Error(`code ${how.code} does not travel with HTTP ${status}`);
          expectCode(last!, how.code, how.expectation);
        });
      }
    });
  }
});
