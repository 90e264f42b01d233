// Flow limits (REFERENCE §6.5): exactly `limit` code-200 answers per window, then 429001; only code
// 200 counts; no fallback to another strategy; atomic under concurrency. Each test uses its own
// fixture strategy (quotas are shared by every client). Day and hour windows keep the tests away
// from window edges; the second/minute windows are in clock.contract.test.ts (frozen clock).
import { describe } from 'vitest';
import { bodyCode, check, dataFields, expectAnswer } from './support/checks.ts';
import { awayFromHourBoundary, fixture, fx, rule, send, sendAll } from './support/context.ts';

const NEEDS = ['hasFixtures', 'enforcesFlowLimits'] as const;
const path = '/v1/apk/upgrade';
const body = (app: string, extra: Record<string, unknown> = {}) => ({ apkKey: app, versionCode: fx.versions.current, ...extra });

async function exhaust(app: string, limit: number, extra: (i: number) => Record<string, unknown> = () => ({})): Promise<unknown[]> {
  await awayFromHourBoundary();
  const codes: unknown[] = [];
  for (let i = 0; i < limit + 2; i++) {
    const ex = await send({ target: path, body: body(app, extra(i)) });
    codes.push(bodyCode(ex));
    expectAnswer(ex, i < limit ? 200 : 429001);
  }
  return codes;
}

describe('upgrade semantics', () => {
  describe('flow limit', () => {
    rule('per day: exactly 3 successes, then 429001 — for every device alike', { needs: NEEDS }, async (ctx) => {
      const f = fixture<{ app: string; limit: number }>(ctx, 'flow.day3');
      await exhaust(f.app, f.limit, (i) => ({ devKey: `contract-flow-device-${i}` }));
    });

    rule('per hour: exactly 5 successes, then 429001', { needs: NEEDS }, async (ctx) => {
      const f = fixture<{ app: string; limit: number }>(ctx, 'flow.hour5');
      await exhaust(f.app, f.limit);
    });

    rule('"already latest" answers (code 0) do not use the quota', { needs: NEEDS }, async (ctx) => {
      const f = fixture<{ app: string; limit: number }>(ctx, 'flow.latestNotCounted');
      for (let i = 0; i < 5; i++) expectAnswer(await send({ target: path, body: { apkKey: f.app, versionCode: fx.versions.next } }), 0);
      // Rejected requests never reach the quota either.
      expectAnswer(await send({ target: path, body: { apkKey: f.app } }), 400002);
      await exhaust(f.app, f.limit);
    });

    rule('an exhausted strategy answers 429001, with no fallback to an older open strategy', { needs: NEEDS }, async (ctx) => {
      const f = fixture<{ app: string; limitedVersion: number }>(ctx, 'flow.noFallback');
      await awayFromHourBoundary();
      const first = await send({ target: path, body: body(f.app) });
      expectAnswer(first, 200);
      dataFields(first, { versionCode: f.limitedVersion });
      expectAnswer(await send({ target: path, body: body(f.app) }), 429001);
    });

    rule('a disabled flow rule does not limit', { needs: NEEDS }, async (ctx) => {
      const f = fixture<{ app: string }>(ctx, 'flow.ruleDisabled');
      for (let i = 0; i < 4; i++) expectAnswer(await send({ target: path, body: body(f.app) }), 200);
    });

    rule('20 concurrent eligible requests: exactly 5 get code 200, 15 get 429001', { needs: NEEDS }, async (ctx) => {
      const f = fixture<{ app: string; limit: number }>(ctx, 'flow.concurrentDay5');
      await awayFromHourBoundary();
      const answers = await sendAll(Array.from({ length: 20 }, (_, i) => ({ target: path, body: body(f.app, { devKey: `contract-burst-${i}` }) })));
      for (const a of answers) expectAnswer(a, bodyCode(a) === 200 ? 200 : 429001);
      const ok = answers.filter((a) => bodyCode(a) === 200).length;
      check(ok === f.limit, 'flow_limit_atomic', '20 concurrent requests in one window', `exactly ${f.limit} × code 200 and ${20 - f.limit} × 429001`, `${ok} × code 200 (${JSON.stringify(answers.map(bodyCode))})`);
    });
  });
});
