// Gray release (REFERENCE §6.4): a limited number of distinct devices, sticky per device. Each test
// uses its own fixture strategy, because admissions are state that lives as long as the target.
import { describe } from 'vitest';
import { bodyCode, check, dataFields, expectAnswer } from './support/checks.ts';
import { fixture, fx, rule, send, sendAll } from './support/context.ts';

const NEEDS = ['hasFixtures'] as const;
const path = '/v1/apk/upgrade';
// Device keys unique to this run, so a long-lived target (staging) sees new devices each time.
const run = `${Date.now().toString(36)}${process.pid.toString(36)}`;
const device = (label: string) => `contract-${run}-${label}`;
const body = (app: string, devKey: string) => ({ apkKey: app, versionCode: fx.versions.current, devKey });

describe('upgrade semantics', () => {
  describe('gray release', () => {
    rule('admits exactly `limit` distinct devices; later devices and an empty devKey get code 0', { needs: NEEDS }, async (ctx) => {
      const g = fixture<{ app: string; limit: number }>(ctx, 'gray.limit2');
      expectAnswer(await send({ target: path, body: body(g.app, '') }), 0);
      for (let i = 0; i < g.limit; i++) expectAnswer(await send({ target: path, body: body(g.app, device(`limit-${i}`)) }), 200);
      expectAnswer(await send({ target: path, body: body(g.app, device('limit-late-1')) }), 0);
      expectAnswer(await send({ target: path, body: body(g.app, device('limit-late-2')) }), 0);
      // Admitted devices keep their place.
      expectAnswer(await send({ target: path, body: body(g.app, device('limit-0')) }), 200);
    });

    rule('is sticky: an admitted device asking again and again keeps getting the version', { needs: NEEDS }, async (ctx) => {
      const g = fixture<{ app: string; limit: number }>(ctx, 'gray.sticky1');
      const admitted = device('sticky-first');
      for (let i = 0; i < 5; i++) {
        const ex = await send({ target: path, body: body(g.app, admitted) });
        expectAnswer(ex, 200);
      }
      expectAnswer(await send({ target: path, body: body(g.app, device('sticky-second')) }), 0);
      expectAnswer(await send({ target: path, body: body(g.app, admitted) }), 200);
    });

    rule('under concurrency admits exactly `limit` of 12 distinct devices', { needs: NEEDS }, async (ctx) => {
      const g = fixture<{ app: string; limit: number }>(ctx, 'gray.concurrent3');
      const devices = Array.from({ length: 12 }, (_, i) => device(`burst-${i}`));
      const answers = await sendAll(devices.map((d) => ({ target: path, body: body(g.app, d) })));
      for (const a of answers) expectAnswer(a, bodyCode(a) === 200 ? 200 : 0);
      const admitted = devices.filter((_, i) => bodyCode(answers[i]!) === 200);
      check(admitted.length === g.limit, 'gray_limit_exact', '12 distinct devices at once', `exactly ${g.limit} × code 200`, `${admitted.length} × code 200 (${JSON.stringify(answers.map(bodyCode))})`);
      for (const d of admitted) expectAnswer(await send({ target: path, body: body(g.app, d) }), 200);
    });

    rule('a blocked candidate is skipped: later devices fall back to the older open strategy', { needs: NEEDS }, async (ctx) => {
      const g = fixture<{ app: string; grayVersion: number; fallbackVersion: number }>(ctx, 'gray.fallback');
      const first = await send({ target: path, body: body(g.app, device('fallback-first')) });
      expectAnswer(first, 200);
      dataFields(first, { versionCode: g.grayVersion });
      const second = await send({ target: path, body: body(g.app, device('fallback-second')) });
      expectAnswer(second, 200);
      dataFields(second, { versionCode: g.fallbackVersion });
    });

    rule('with no active gray rule every device passes, even with an empty devKey', { needs: NEEDS }, async (ctx) => {
      const g = fixture<{ app: string }>(ctx, 'gray.inactiveRule');
      expectAnswer(await send({ target: path, body: body(g.app, '') }), 200);
      expectAnswer(await send({ target: path, body: body(g.app, device('inactive-a')) }), 200);
      expectAnswer(await send({ target: path, body: body(g.app, device('inactive-b')) }), 200);
    });
  });
});
