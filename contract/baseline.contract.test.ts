// Baseline (every page): a correctly signed, well-formed request for a seeded app gets its success
// answer, sent through the typed client as an integrator's code would send it. Every other test of an
// operation comes after this one: when it fails, that operation's other failures are reported as
// blocked by its finding.
import { describe } from 'vitest';
import { Code, OPERATIONS } from '../lib/spec/index.ts';
import type { PostPath } from '../lib/client/index.ts';
import { expectCode } from './support/checks.ts';
import { okBody, sendTyped, test } from './support/context.ts';

describe('baseline', () => {
  for (const op of OPERATIONS) {
    const path = op.path as PostPath;
    describe(`POST ${op.path}`, () => {
      test('baseline.signed-request-accepted', 'a correctly signed, well-formed request gets its success answer', { op }, async (ctx) => {
        const ex = await sendTyped(path, okBody(ctx, path));
        expectCode(ex, op.kind === 'report' ? Code.LATEST : Code.OK, { rule: 'baseline.signed-request-accepted' });
      });
    });
  }
});
