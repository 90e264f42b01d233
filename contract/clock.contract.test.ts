// The timestamp window, and every test that moves the sandbox clock. With clock control the clock is
// frozen at its current time (or moved by at most one second), so requests of other files, stamped with
// the real time, stay inside the window; it is restored afterwards. Without clock control (staging) the
// window tests stamp with this machine's clock and pull accepted stamps in, and push rejected ones out,
// by the tolerance (`clockToleranceSeconds`, default 5); the exact-edge tests need clock control.
import { afterAll, describe } from 'vitest';
import { timestamp } from '../lib/signing/index.ts';
import { Code } from '../lib/spec/index.ts';
import { bodyCode, check, expectCode } from './support/checks.ts';
import { clock, fx, okBody, operation, send, target, test, use } from './support/context.ts';

const op = operation('/v1/apk/upgrade');
const path = '/v1/apk/upgrade' as const;
const WINDOW = 300;
const WINDOW_RULE = { rule: 'replay.timestamp-window' } as const;

afterAll(async () => {
  if (target.capabilities.clockControl) await clock.restore();
});

/** The instant requests are stamped against: the frozen sandbox clock, or our clock plus a tolerance. */
async function reference(): Promise<{ nowMs: number; tolerance: number }> {
  if (target.capabilities.clockControl) return { nowMs: (await clock.freeze()).nowMs, tolerance: 0 };
  return { nowMs: Date.now(), tolerance: target.clockToleranceSeconds };
}

/** Accepted stamps are pulled inward by the tolerance, rejected ones pushed outward. */
const skewed = (skew: number, accepted: boolean, tolerance: number) => (accepted ? skew - Math.sign(skew) * tolerance : skew + Math.sign(skew) * tolerance);

describe('replay', () => {
  describe('POST /v1/apk/upgrade', () => {
    const outside: Array<[string, number]> = [
      ['5:01 in the past', -(WINDOW + 1)],
      ['5:01 in the future', WINDOW + 1],
      ['10 minutes in the past', -600],
      ['10 minutes in the future', 600],
    ];
    for (const [name, skew] of outside) {
      test('replay.timestamp-window', `a timestamp ${name} is rejected with 401001`, { op }, async (ctx) => {
        const { nowMs, tolerance } = await reference();
        const stamp = timestamp({ now: nowMs, skewSeconds: skewed(skew, false, tolerance), milliseconds: tolerance > 0 ? true : 'auto' });
        expectCode(await send({ target: path, body: okBody(ctx, path), sign: { timestamp: stamp } }), Code.AUTH_FAILED, WINDOW_RULE);
      });
    }
    const forms: Array<[string, (now: number) => string]> = [
      ['UTC with Z and no fraction', (now) => timestamp({ now, milliseconds: false })],
      ['UTC with milliseconds', (now) => timestamp({ now, milliseconds: true })],
      ['local time with +08:00', (now) => timestamp({ now, offset: 480, milliseconds: false })],
      ['local time with -05:00 and nanoseconds', (now) => timestamp({ now, offset: -300, milliseconds: true }).replace(/(\.\d{3})/, '$1456789')],
      ['+00:00 instead of Z', (now) => timestamp({ now, milliseconds: false }).replace('Z', '+00:00')],
    ];
    for (const [name, make] of forms) {
      test('replay.timestamp-window', `a current X-Timestamp written as ${name} is accepted`, { op }, async (ctx) => {
        const { nowMs } = await reference();
        expectCode(await send({ target: path, body: okBody(ctx, path), sign: { timestamp: make(nowMs) } }), Code.OK, WINDOW_RULE);
      });
    }
    test('replay.timestamp-window', 'the window is judged on the instant, whatever the offset (+08:00 4:55 ago accepted, -05:00 5:05 ago rejected)', { op }, async (ctx) => {
      const { nowMs, tolerance } = await reference();
      const inside = timestamp({ now: nowMs, skewSeconds: -(WINDOW - 5 - tolerance), offset: 480 });
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { timestamp: inside } }), Code.OK, WINDOW_RULE);
      const late = timestamp({ now: nowMs, skewSeconds: -(WINDOW + 5 + tolerance), offset: -300 });
      expectCode(await send({ target: path, body: okBody(ctx, path), sign: { timestamp: late } }), Code.AUTH_FAILED, WINDOW_RULE);
    });

    const edges: Array<[string, number, boolean]> = [
      ['exactly 5:00 in the past is accepted', -WINDOW, true],
      ['exactly 5:00 in the future is accepted', WINDOW, true],
      ['5:00.001 in the past is rejected with 401001 (fractions compared exactly)', -(WINDOW + 0.001), false],
      ['exactly 5:00 ago written with +08:00 is accepted', -WINDOW, true],
    ];
    for (const [name, skew, accepted] of edges) {
      test('replay.window-edges-inclusive', `a timestamp ${name}`, { op, needs: ['clockControl'] }, async (ctx) => {
        const { nowMs } = await reference();
        const stamp = timestamp({ now: nowMs, skewSeconds: skew, milliseconds: Math.abs(skew % 1) > 0 ? true : 'auto', ...(name.includes('+08:00') ? { offset: 480 } : {}) });
        expectCode(await send({ target: path, body: okBody(ctx, path), sign: { timestamp: stamp } }), accepted ? Code.OK : Code.AUTH_FAILED, { rule: 'replay.window-edges-inclusive' });
      });
    }
  });
});

describe('upgrade', () => {
  describe('POST /v1/apk/upgrade', () => {
    const FLOW = ['clockControl', 'flowQuota'] as const;
    test('upgrade.flow-limit', 'flow limit per second: 1 success, then 429001, and a new second restores the quota', { op, needs: FLOW }, async (ctx) => {
      const f = use(ctx, fx.flow.second1);
      const body = { apkKey: f.app, versionCode: fx.versions.current };
      const frozen = await clock.freeze();
      // Start on a whole second so the second window cannot end between the requests.
      const start = Math.floor(frozen.nowMs / 1000) * 1000 + 1000;
      await clock.set(new Date(start).toISOString());
      expectCode(await send({ target: path, body }), Code.OK, { rule: 'upgrade.flow-limit' });
      expectCode(await send({ target: path, body }), Code.FLOW_LIMITED, { rule: 'upgrade.flow-limit' });
      await clock.set(new Date(start + 1000).toISOString());
      expectCode(await send({ target: path, body }), Code.OK, { rule: 'upgrade.flow-limit' });
      expectCode(await send({ target: path, body }), Code.FLOW_LIMITED, { rule: 'upgrade.flow-limit' });
    });
    test('upgrade.flow-limit', 'flow limit per minute: exactly `limit` successes in a minute (clock frozen)', { op, needs: FLOW }, async (ctx) => {
      const f = use(ctx, fx.flow.minute2);
      const body = { apkKey: f.app, versionCode: fx.versions.current };
      await clock.freeze();
      const codes: unknown[] = [];
      for (let i = 0; i < f.limit + 2; i++) {
        const ex = await send({ target: path, body });
        codes.push(bodyCode(ex));
        expectCode(ex, i < f.limit ? Code.OK : Code.FLOW_LIMITED, { rule: 'upgrade.flow-limit' });
      }
      check(codes.filter((c) => c === Code.OK).length === f.limit, 'upgrade.flow-limit', 'flow_limit_exact', 'successes per window', `${f.limit}`, JSON.stringify(codes));
    });
  });
});
