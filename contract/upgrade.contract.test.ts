// Upgrade semantics: what code 200 and code 0 carry, version lookups, appointVersionCode, strategy
// windows, upgradeType, device targeting and arch filtering. Gray release and flow limits have their
// own files, each with its own fixture strategies.
import { describe } from 'vitest';
import { Code, OPERATIONS } from '../lib/spec/index.ts';
import type { PostPath } from '../lib/client/index.ts';
import { check, data, dataFields, expectCode, fail } from './support/checks.ts';
import { fx, okBody, operation, send, test, use } from './support/context.ts';

const apk = operation('/v1/apk/upgrade');
const path = '/v1/apk/upgrade' as const;

function isZeroValue(value: unknown): boolean {
  if (value === null || value === '' || value === 0 || value === false) return true;
  return Array.isArray(value) && value.length === 0;
}

describe('upgrade', () => {
  for (const op of OPERATIONS.filter((o) => o.kind === 'upgrade')) {
    const p = op.path as PostPath;
    describe(`POST ${op.path}`, () => {
      test('upgrade.offer-data', 'code 200 carries the offered version: newer than the client\'s, the key echoed, a name and upgradeType 1–3', { op }, async (ctx) => {
        const body = okBody(ctx, p) as Record<string, unknown>;
        const ex = await send({ target: p, body });
        expectCode(ex, Code.OK, { rule: 'upgrade.offer-data' });
        dataFields(ex, 'upgrade.offer-data', { [op.keyField]: body[op.keyField], versionCode: fx.versions.next });
        const d = data(ex, 'upgrade.offer-data');
        check(typeof d.versionName === 'string' && d.versionName !== '', 'upgrade.offer-data', 'data_fields', 'versionName names the offered version', 'a non-empty string', JSON.stringify(d.versionName));
        check([1, 2, 3].includes(d.upgradeType as number), 'upgrade.offer-data', 'data_fields', 'upgradeType of an offer', '1, 2 or 3', JSON.stringify(d.upgradeType));
        if (op.family === 'configuration') {
          check(typeof d.content === 'object' && d.content !== null && !Array.isArray(d.content), 'upgrade.offer-data', 'data_fields', 'data.content is the stored configuration', 'a JSON object', JSON.stringify(d.content));
        }
      });
      test('upgrade.latest-data', 'code 0 carries data null or an object of zero values', { op }, async (ctx) => {
        const ex = await send({ target: p, body: { ...okBody(ctx, p), versionCode: fx.versions.next } });
        expectCode(ex, Code.LATEST, { rule: 'upgrade.latest-data' });
        const d = (ex.response.json as { data?: unknown }).data;
        if (d === null || d === undefined) return;
        if (typeof d !== 'object' || Array.isArray(d)) fail('upgrade.latest-data', 'latest_data', 'code 0 data', 'null or an object of zero values', JSON.stringify(d));
        const nonZero = Object.entries(d as Record<string, unknown>).filter(([, v]) => !isZeroValue(v));
        check(nonZero.length === 0, 'upgrade.latest-data', 'latest_data', `${op.path}: code 0 data must not describe a version`, 'every field "", 0 or null', nonZero.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', '));
      });
    });
  }

  for (const op of OPERATIONS.filter((o) => o.kind === 'version')) {
    const p = op.path as PostPath;
    describe(`POST ${op.path}`, () => {
      // A version that is not the app's newest, so that a lookup answering the newest shows.
      test('upgrade.version-lookup', 'code 200 describes exactly the version asked for (not the newest)', { op }, async (ctx) => {
        const body = okBody(ctx, p) as Record<string, unknown>;
        const expected: Record<string, unknown> = { [op.keyField]: body[op.keyField] };
        if (op.family === 'tauri' || op.family === 'electron') {
          const semver = use(ctx, fx.semver[op.family]);
          const older = use<{ versionName: string; versionCode: number }>(ctx, semver.older ?? { missing: `fixture role semver.${op.family} has no older version of the same target and arch` });
          body.versionName = older.versionName;
          Object.assign(expected, { versionName: older.versionName, versionCode: older.versionCode });
        } else expected.versionCode = body.versionCode;
        const ex = await send({ target: p, body });
        expectCode(ex, Code.OK, { rule: 'upgrade.version-lookup' });
        dataFields(ex, 'upgrade.version-lookup', expected);
      });
    });
  }

  describe('POST /v1/apk/upgrade', () => {
    const body = (app: string, extra: Record<string, unknown> = {}) => ({ apkKey: app, versionCode: fx.versions.current, ...extra });
    const APPOINT = { rule: 'upgrade.appoint-version' } as const;
    test('upgrade.appoint-version', 'appointVersionCode > 0 offers exactly that version, even when a newer one exists', { op: apk }, async (ctx) => {
      const a = use(ctx, fx.appoint);
      const ex = await send({ target: path, body: body(a.app, { appointVersionCode: a.older }) });
      expectCode(ex, Code.OK, APPOINT);
      dataFields(ex, 'upgrade.appoint-version', { versionCode: a.older });
    });
    test('upgrade.appoint-not-offered', 'an appointed version no strategy offers gives code 0, even though newer versions exist', { op: apk }, async (ctx) => {
      const a = use(ctx, fx.appoint);
      expectCode(await send({ target: path, body: body(a.app, { appointVersionCode: a.notOffered }) }), Code.LATEST, { rule: 'upgrade.appoint-not-offered' });
    });
    test('upgrade.appoint-not-offered', 'an appointed version not above the client\'s versionCode gives code 0', { op: apk }, async (ctx) => {
      const a = use(ctx, fx.appoint);
      expectCode(await send({ target: path, body: body(a.app, { appointVersionCode: fx.versions.current }) }), Code.LATEST, { rule: 'upgrade.appoint-not-offered' });
    });
    test('upgrade.newest-first', 'appointVersionCode 0, or none at all, offers the newest eligible version', { op: apk }, async (ctx) => {
      const a = use(ctx, fx.appoint);
      for (const extra of [{ appointVersionCode: 0 }, {}]) {
        const ex = await send({ target: path, body: body(a.app, extra) });
        expectCode(ex, Code.OK, { rule: 'upgrade.newest-first' });
        dataFields(ex, 'upgrade.newest-first', { versionCode: a.newest });
      }
    });
    test('upgrade.newest-first', 'a client between versions is offered the newest one above it; one past every version gets code 0', { op: apk }, async (ctx) => {
      const a = use(ctx, fx.appoint);
      const ex = await send({ target: path, body: { apkKey: a.app, versionCode: a.older } });
      expectCode(ex, Code.OK, { rule: 'upgrade.newest-first' });
      dataFields(ex, 'upgrade.newest-first', { versionCode: a.newest });
      expectCode(await send({ target: path, body: { apkKey: a.app, versionCode: a.newest } }), Code.LATEST, { rule: 'upgrade.newest-first' });
    });

    test('upgrade.strategy-active', 'a disabled strategy is never offered (code 0)', { op: apk }, async (ctx) => {
      expectCode(await send({ target: path, body: body(use(ctx, fx.disabledStrategy)) }), Code.LATEST, { rule: 'upgrade.strategy-active' });
    });
    test('upgrade.strategy-active', 'only a strategy with beginAt ≤ now < endAt is offered (not an expired or a future one)', { op: operation('/v1/file/upgrade') }, async (ctx) => {
      const b = use(ctx, fx.beginEnd);
      const ex = await send({ target: '/v1/file/upgrade', body: { fileKey: b.app, versionCode: fx.versions.current } });
      expectCode(ex, Code.OK, { rule: 'upgrade.strategy-active' });
      dataFields(ex, 'upgrade.strategy-active', { versionCode: b.current });
    });

    for (const [name, value] of [['prompt', 1], ['silent', 2], ['forced', 3]] as const) {
      test('upgrade.upgrade-type', `upgradeType ${value} (${name}) is sent as the strategy says`, { op: apk }, async (ctx) => {
        const ex = await send({ target: path, body: body(use(ctx, fx.upgradeTypes)[name]) });
        expectCode(ex, Code.OK, { rule: 'upgrade.upgrade-type' });
        dataFields(ex, 'upgrade.upgrade-type', { upgradeType: value });
      });
    }

    const TARGETING = { rule: 'upgrade.device-targeting' } as const;
    test('upgrade.device-targeting', 'device groups: a member devKey gets the group\'s version; another devKey, or none, falls back to the open strategy', { op: apk }, async (ctx) => {
      const g = use(ctx, fx.groupTargeted);
      for (const devKey of g.memberDevKeys) {
        const ex = await send({ target: path, body: body(g.app, { devKey }) });
        expectCode(ex, Code.OK, TARGETING);
        dataFields(ex, 'upgrade.device-targeting', { versionCode: g.groupVersion });
      }
      for (const devKey of [g.otherDevKey, '']) {
        const ex = await send({ target: path, body: body(g.app, { devKey }) });
        expectCode(ex, Code.OK, TARGETING);
        dataFields(ex, 'upgrade.device-targeting', { versionCode: g.fallbackVersion });
      }
    });
    test('upgrade.device-targeting', 'device models: the targeted devModelKey gets the version; another, or none, gets code 0', { op: apk }, async (ctx) => {
      const m = use(ctx, fx.modelTargeted);
      const ex = await send({ target: path, body: body(m.app, { devModelKey: m.modelKey }) });
      expectCode(ex, Code.OK, TARGETING);
      dataFields(ex, 'upgrade.device-targeting', { versionCode: m.version });
      for (const devModelKey of [m.otherModelKey, '']) expectCode(await send({ target: path, body: body(m.app, { devModelKey }) }), Code.LATEST, TARGETING);
    });
  });

  for (const p of ['/v1/lnx/upgrade', '/v1/mac/upgrade'] as const) {
    describe(`POST ${p}`, () => {
      test('upgrade.arch-filter', 'x64 and arm64 clients are each offered their own build', { op: operation(p) }, async (ctx) => {
        const x64 = await send({ target: p, body: { ...okBody(ctx, p), arch: 'x64' } });
        expectCode(x64, Code.OK, { rule: 'upgrade.arch-filter' });
        const arm64 = await send({ target: p, body: { ...okBody(ctx, p), arch: 'arm64' } });
        expectCode(arm64, Code.OK, { rule: 'upgrade.arch-filter' });
        check(data(x64, 'upgrade.arch-filter').urlPath !== data(arm64, 'upgrade.arch-filter').urlPath, 'upgrade.arch-filter', 'arch_filter', 'each arch gets its own build', 'different urlPath for x64 and arm64', `both ${JSON.stringify(data(x64, 'upgrade.arch-filter').urlPath)}`);
      });
    });
  }
  describe('POST /v1/lnx/upgrade', () => {
    test('upgrade.arch-filter', 'an arch with no offered build gets code 0', { op: operation('/v1/lnx/upgrade') }, async (ctx) => {
      const app = use(ctx, fx.x64OnlyLnx);
      expectCode(await send({ target: '/v1/lnx/upgrade', body: { lnxKey: app, arch: 'arm64', versionCode: fx.versions.current } }), Code.LATEST, { rule: 'upgrade.arch-filter' });
      expectCode(await send({ target: '/v1/lnx/upgrade', body: { lnxKey: app, arch: 'x64', versionCode: fx.versions.current } }), Code.OK, { rule: 'upgrade.arch-filter' });
    });
  });
  describe('POST /v1/win/upgrade', () => {
    test('upgrade.win-arch-optional', 'arch omitted or "" means no filter, and gives the same offer', { op: operation('/v1/win/upgrade') }, async (ctx) => {
      const omitted = await send({ target: '/v1/win/upgrade', body: okBody(ctx, '/v1/win/upgrade') });
      expectCode(omitted, Code.OK, { rule: 'upgrade.win-arch-optional' });
      const empty = await send({ target: '/v1/win/upgrade', body: { ...okBody(ctx, '/v1/win/upgrade'), arch: '' } });
      expectCode(empty, Code.OK, { rule: 'upgrade.win-arch-optional' });
      const urlOf = (ex: typeof omitted) => data(ex, 'upgrade.win-arch-optional').urlPath;
      check(urlOf(omitted) === urlOf(empty), 'upgrade.win-arch-optional', 'arch_filter', 'omitted and "" arch', 'the same offer', `${JSON.stringify(urlOf(omitted))} vs ${JSON.stringify(urlOf(empty))}`);
    });
    test('upgrade.arch-filter', 'x64 and arm64 clients are each offered their own build', { op: operation('/v1/win/upgrade') }, async (ctx) => {
      const x64 = await send({ target: '/v1/win/upgrade', body: { ...okBody(ctx, '/v1/win/upgrade'), arch: 'x64' } });
      expectCode(x64, Code.OK, { rule: 'upgrade.arch-filter' });
      const arm64 = await send({ target: '/v1/win/upgrade', body: { ...okBody(ctx, '/v1/win/upgrade'), arch: 'arm64' } });
      expectCode(arm64, Code.OK, { rule: 'upgrade.arch-filter' });
      check(data(x64, 'upgrade.arch-filter').urlPath !== data(arm64, 'upgrade.arch-filter').urlPath, 'upgrade.arch-filter', 'arch_filter', 'x64 and arm64 builds', 'different urlPath', `both ${JSON.stringify(data(x64, 'upgrade.arch-filter').urlPath)}`);
    });
  });
});
