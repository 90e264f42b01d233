// Flow limits (429001): exactly `limit` code-200 answers per window, then 429001; only code 200 counts;
// no fallback to another strategy; atomic under concurrency. Each test uses its own fixture strategy
// (quotas are shared by every client), and quotas stay used until their window ends, so these tests
// need the harness to be allowed to use them (`flowQuota`). Day and hour windows keep away from window
// edges; the second and minute windows are in clock.contract.test.ts (frozen clock).
import { describe } from 'vitest';
import { Code } from '../lib/spec/index.ts';
import { bodyCode, check, dataFields, expectCode } from './support/checks.ts';
import type { RuleId } from './rules.ts';
import { awayFromHourBoundary, device, fx, operation, send, sendAll, test, use } from './support/context.ts';

const op = operation('/v1/apk/upgrade');
const path = '/v1/apk/upgrade';
const body = (app: string, extra: Record<string, unknown> = {}) => ({ apkKey: app, versionCode: fx.versions.current, ...extra });

async function exhaust(rule: RuleId, app: string, limit: number, extra: (i: number) => Record<string, unknown> = () => ({})): Promise<void> {
  await awayFromHourBoundary();
  for (let i = 0; i < limit + 2; i++) {
    expectCode(await send({ target: path, body: body(app, extra(i)) }), i < limit ? Code.OK : Code.FLOW_LIMITED, { rule });
  }
}

describe('upgrade', () => {
  describe('POST /v1/apk/upgrade', () => {
    const needs = ['flowQuota'] as const;
    test('upgrade.flow-limit', 'per day: exactly `limit` successes, then 429001, for every device alike', { op, needs }, async (ctx) => {
      const f = use(ctx, fx.flow.day3);
      await exhaust('upgrade.flow-limit', f.app, f.limit, (i) => ({ devKey: device(`flow-${i}`) }));
    });
    test('upgrade.flow-limit', 'per hour: exactly `limit` successes, then 429001', { op, needs }, async (ctx) => {
      const f = use(ctx, fx.flow.hour5);
      await exhaust('upgrade.flow-limit', f.app, f.limit);
    });
    test('upgrade.flow-limit-counts-successes', '"already latest" answers (code 0) and rejected requests do not use the quota', { op, needs }, async (ctx) => {
      const f = use(ctx, fx.flow.latestNotCounted);
      for (let i = 0; i < 5; i++) expectCode(await send({ target: path, body: { apkKey: f.app, versionCode: fx.versions.next } }), Code.LATEST, { rule: 'upgrade.flow-limit-counts-successes' });
      expectCode(await send({ target: path, body: { apkKey: f.app } }), Code.MISSING_PARAMETER, { rule: 'upgrade.flow-limit-counts-successes' });
      await exhaust('upgrade.flow-limit-counts-successes', f.app, f.limit);
    });
    test('upgrade.flow-limit-no-fallback', 'an exhausted strategy answers 429001, with no fallback to an older open strategy', { op, needs }, async (ctx) => {
      const f = use(ctx, fx.flow.noFallback);
      await awayFromHourBoundary();
      const first = await send({ target: path, body: body(f.app) });
      expectCode(first, Code.OK, { rule: 'upgrade.flow-limit-no-fallback' });
      dataFields(first, 'upgrade.flow-limit-no-fallback', { versionCode: f.limitedVersion });
      expectCode(await send({ target: path, body: body(f.app) }), Code.FLOW_LIMITED, { rule: 'upgrade.flow-limit-no-fallback' });
    });
    test('upgrade.flow-limit-no-fallback', 'a disabled flow rule does not limit', { op, needs }, async (ctx) => {
      const f = use(ctx, fx.flow.ruleDisabled);
      for (let i = 0; i < 4; i++) expectCode(await send({ target: path, body: body(f.app) }), Code.OK, { rule: 'upgrade.flow-limit-no-fallback' });
    });
    test('upgrade.flow-limit-atomic', '20 concurrent eligible requests: exactly `limit` get code 200, the rest 429001', { op, needs: ['flowQuota', 'bursts'] }, async (ctx) => {
      const f = use(ctx, fx.flow.concurrentDay5);
      await awayFromHourBoundary();
      const answers = await sendAll(Array.from({ length: 20 }, (_, i) => ({ target: path, body: body(f.app, { devKey: device(`burst-${i}`) }) })));
      for (const a of answers) expectCode(a, bodyCode(a) === Code.OK ? Code.OK : Code.FLOW_LIMITED, { rule: 'upgrade.flow-limit-atomic' });
      const ok = answers.filter((a) => bodyCode(a) === Code.OK).length;
      check(ok === f.limit, 'upgrade.flow-limit-atomic', 'flow_limit_atomic', '20 concurrent requests in one window', `exactly ${f.limit} × code 200 and ${20 - f.limit} × 429001`, `${ok} × code 200 (${JSON.stringify(answers.map(bodyCode))})`);
    });
  });
});
