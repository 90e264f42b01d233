// The only tests that move the sandbox clock. They freeze it at its current time (or move it by at
// most one second), so requests of other files, stamped with the real time, stay inside the window;
// the clock is restored to real time afterwards. On a target without clock control the window tests
// fall back to skewed timestamps with a tolerance (`clockToleranceSeconds`, default 5).
import { afterAll, describe } from 'vitest';
import { timestamp } from '../lib/signing/index.ts';
import { bodyCode, check, expectAnswer } from './support/checks.ts';
import { clock, fixture, fx, rule, send, target } from './support/context.ts';
import { operation } from './support/operations.ts';

const op = operation('/v1/apk/upgrade');
const WINDOW = 300;

afterAll(async () => {
  if (target.capabilities.clockControl) await clock.restore();
});

/** The instant requests are stamped against: the frozen sandbox clock, or our clock plus a tolerance. */
async function reference(): Promise<{ nowMs: number; tolerance: number }> {
  if (target.capabilities.clockControl) {
    const state = await clock.freeze();
    return { nowMs: state.nowMs, tolerance: 0 };
  }
  return { nowMs: Date.now(), tolerance: target.clockToleranceSeconds ?? 5 };
}

describe('replay', () => {
  describe('timestamp window (±300 s, ends inclusive)', () => {
    const cases: Array<[string, number, 'accepted' | 'rejected']> = [
      ['exactly 5:00 in the past', -WINDOW, 'accepted'],
      ['exactly 5:00 in the future', WINDOW, 'accepted'],
      ['5:01 in the past', -(WINDOW + 1), 'rejected'],
      ['5:01 in the future', WINDOW + 1, 'rejected'],
      ['5:00.001 in the past (fractions compared exactly)', -(WINDOW + 0.001), 'rejected'],
      ['10 minutes in the past', -600, 'rejected'],
      ['10 minutes in the future', 600, 'rejected'],
    ];
    for (const [name, skew, outcome] of cases) {
      rule(`a timestamp ${name} is ${outcome === 'accepted' ? 'accepted' : 'rejected with 401001'}`, { needs: ['rejectsReplays', 'verifiesSignatures', 'hasFixtures'] }, async (ctx) => {
        const { nowMs, tolerance } = await reference();
        // Without clock control, pull accepted stamps inward and push rejected ones outward.
        const fraction = Math.abs(skew % 1) > 0;
        if (tolerance > 0 && fraction) ctx.skip('sub-second window ends need clock control');
        const adjusted = outcome === 'accepted' ? skew - Math.sign(skew) * tolerance : skew + Math.sign(skew) * tolerance;
        const stamp = timestamp({ now: nowMs, skewSeconds: adjusted, milliseconds: fraction || tolerance > 0 ? true : 'auto' });
        const ex = await send({ target: op.path, body: op.okBody(fx), sign: { timestamp: stamp } });
        expectAnswer(ex, outcome === 'accepted' ? 200 : 401001);
      });
    }
    rule('the window is judged on the instant, whatever the offset (+08:00 exactly 5:00 ago is accepted)', { needs: ['rejectsReplays', 'verifiesSignatures', 'hasFixtures', 'clockControl'] }, async () => {
      const { nowMs } = await reference();
      const ex = await send({ target: op.path, body: op.okBody(fx), sign: { timestamp: timestamp({ now: nowMs, skewSeconds: -WINDOW, offset: 480 }) } });
      expectAnswer(ex, 200);
      const late = await send({ target: op.path, body: op.okBody(fx), sign: { timestamp: timestamp({ now: nowMs, skewSeconds: -(WINDOW + 1), offset: -300 }) } });
      expectAnswer(late, 401001);
    });
  });
});

describe('upgrade semantics', () => {
  describe('flow limit windows', () => {
    rule('flow limit per second: 1 success, then 429001, and a new second restores the quota', { needs: ['hasFixtures', 'enforcesFlowLimits', 'clockControl'] }, async (ctx) => {
      const app = fixture<string>(ctx, 'flow.second1.app');
      const body = { apkKey: app, versionCode: fx.versions.current };
      const frozen = await clock.freeze();
      // Start on a whole second so the second window cannot end between the requests.
      const start = Math.floor(frozen.nowMs / 1000) * 1000 + 1000;
      await clock.set(new Date(start).toISOString());
      expectAnswer(await send({ target: op.path, body }), 200);
      expectAnswer(await send({ target: op.path, body }), 429001);
      await clock.set(new Date(start + 1000).toISOString());
      expectAnswer(await send({ target: op.path, body }), 200);
      expectAnswer(await send({ target: op.path, body }), 429001);
    });

    rule('flow limit per minute: exactly 2 successes in a minute (clock frozen)', { needs: ['hasFixtures', 'enforcesFlowLimits', 'clockControl'] }, async (ctx) => {
      const app = fixture<string>(ctx, 'flow.minute2.app');
      const limit = fixture<number>(ctx, 'flow.minute2.limit');
      const body = { apkKey: app, versionCode: fx.versions.current };
      await clock.freeze();
      const codes: unknown[] = [];
      for (let i = 0; i < limit + 2; i++) {
        const ex = await send({ target: op.path, body });
        codes.push(bodyCode(ex));
        expectAnswer(ex, i < limit ? 200 : 429001);
      }
      check(codes.filter((c) => c === 200).length === limit, 'flow_limit_exact', 'successes per window', `${limit}`, JSON.stringify(codes));
    });
  });
});
