// Gray release (a limited number of distinct devices, sticky per device). Each test uses its own
// fixture strategy, because admissions are state that lives as long as the target; device keys are new
// on every run, so a long-lived target (staging) sees new devices each time.
import { describe } from 'vitest';
import { Code } from '../lib/spec/index.ts';
import { bodyCode, check, dataFields, expectCode } from './support/checks.ts';
import { device, fx, operation, send, sendAll, test, use } from './support/context.ts';

const op = operation('/v1/apk/upgrade');
const path = '/v1/apk/upgrade';
const body = (app: string, devKey: string) => ({ apkKey: app, versionCode: fx.versions.current, devKey });
const GRAY = { rule: 'upgrade.gray-release' } as const;

describe('upgrade', () => {
  describe('POST /v1/apk/upgrade', () => {
    test('upgrade.gray-release', 'gray release admits exactly `limit` distinct devices; later devices and an empty devKey get code 0', { op }, async (ctx) => {
      const g = use(ctx, fx.gray.limit2);
      expectCode(await send({ target: path, body: body(g.app, '') }), Code.LATEST, GRAY);
      for (let i = 0; i < g.limit; i++) expectCode(await send({ target: path, body: body(g.app, device(`limit-${i}`)) }), Code.OK, GRAY);
      expectCode(await send({ target: path, body: body(g.app, device('limit-late-1')) }), Code.LATEST, GRAY);
      expectCode(await send({ target: path, body: body(g.app, device('limit-late-2')) }), Code.LATEST, GRAY);
      // Admitted devices keep their place.
      expectCode(await send({ target: path, body: body(g.app, device('limit-0')) }), Code.OK, GRAY);
    });
    test('upgrade.gray-release', 'gray release is sticky: an admitted device asking again and again keeps getting the version', { op }, async (ctx) => {
      const g = use(ctx, fx.gray.sticky1);
      const admitted = device('sticky-first');
      for (let i = 0; i < 5; i++) expectCode(await send({ target: path, body: body(g.app, admitted) }), Code.OK, GRAY);
      expectCode(await send({ target: path, body: body(g.app, device('sticky-second')) }), Code.LATEST, GRAY);
      expectCode(await send({ target: path, body: body(g.app, admitted) }), Code.OK, GRAY);
    });
    test('upgrade.gray-release', 'a blocked gray candidate is skipped: later devices fall back to the older open strategy', { op }, async (ctx) => {
      const g = use(ctx, fx.gray.fallback);
      const first = await send({ target: path, body: body(g.app, device('fallback-first')) });
      expectCode(first, Code.OK, GRAY);
      dataFields(first, 'upgrade.gray-release', { versionCode: g.grayVersion });
      const second = await send({ target: path, body: body(g.app, device('fallback-second')) });
      expectCode(second, Code.OK, GRAY);
      dataFields(second, 'upgrade.gray-release', { versionCode: g.fallbackVersion });
    });
    test('upgrade.gray-release', 'with no active gray rule every device passes, even with an empty devKey', { op }, async (ctx) => {
      const g = use(ctx, fx.gray.inactiveRule);
      for (const devKey of ['', device('inactive-a'), device('inactive-b')]) expectCode(await send({ target: path, body: body(g.app, devKey) }), Code.OK, GRAY);
    });
    test('upgrade.gray-atomic', 'under concurrency gray release admits exactly `limit` of 12 distinct devices', { op, needs: ['bursts'] }, async (ctx) => {
      const g = use(ctx, fx.gray.concurrent3);
      const devices = Array.from({ length: 12 }, (_, i) => device(`burst-${i}`));
      const answers = await sendAll(devices.map((d) => ({ target: path, body: body(g.app, d) })));
      for (const a of answers) expectCode(a, bodyCode(a) === Code.OK ? Code.OK : Code.LATEST, { rule: 'upgrade.gray-atomic' });
      const admitted = devices.filter((_, i) => bodyCode(answers[i]!) === Code.OK);
      check(admitted.length === g.limit, 'upgrade.gray-atomic', 'gray_limit_exact', '12 distinct devices at once', `exactly ${g.limit} × code 200`, `${admitted.length} × code 200 (${JSON.stringify(answers.map(bodyCode))})`);
      for (const d of admitted) expectCode(await send({ target: path, body: body(g.app, d) }), Code.OK, { rule: 'upgrade.gray-atomic' });
    });
  });
});
