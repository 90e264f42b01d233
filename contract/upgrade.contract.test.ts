// Upgrade-strategy semantics (REFERENCE §6.2–6.3, §6.6): latest versus appointVersionCode,
// begin/end times, upgradeType, device targeting, arch filtering, and what code 0 / 200 carry.
// Gray release and flow limits have their own files, each with its own fixture strategies.
import { describe } from 'vitest';
import { check, data, dataFields, expectAnswer, fail } from './support/checks.ts';
import { fixture, fx, rule, send } from './support/context.ts';
import { UPGRADE_OPERATIONS, VERSION_OPERATIONS, operation } from './support/operations.ts';

const NEEDS = ['hasFixtures'] as const;
const apk = operation('/v1/apk/upgrade');

const upgradeBody = (app: string, extra: Record<string, unknown> = {}) => ({ apkKey: app, versionCode: fx.versions.current, ...extra });

function isZeroValue(value: unknown): boolean {
  if (value === null || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

describe('upgrade semantics', () => {
  describe('what code 200 and code 0 carry', () => {
    for (const op of UPGRADE_OPERATIONS) {
      rule(`POST ${op.path}: code 200 carries the offered version, newer than the client's, with the key echoed`, { needs: NEEDS }, async () => {
        const body = op.okBody(fx);
        const ex = await send({ target: op.path, body });
        expectAnswer(ex, 200);
        dataFields(ex, { [op.keyField]: body[op.keyField], versionCode: fx.versions.next });
        const d = data(ex);
        check(typeof d.versionName === 'string' && d.versionName !== '', 'data_fields', 'versionName names the offered version', 'a non-empty string', JSON.stringify(d.versionName));
        check([1, 2, 3].includes(d.upgradeType as number), 'data_fields', 'upgradeType of an offer', '1, 2 or 3', JSON.stringify(d.upgradeType));
      });
      rule(`POST ${op.path}: code 0 carries data null or an object of zero values`, { needs: NEEDS }, async () => {
        const ex = await send({ target: op.path, body: { ...op.okBody(fx), versionCode: fx.versions.next } });
        expectAnswer(ex, 0);
        const d = (ex.response.json as { data?: unknown }).data;
        if (d === null || d === undefined) return;
        if (typeof d !== 'object' || Array.isArray(d)) fail('latest_data', 'code 0 data', 'null or an object of zero values', JSON.stringify(d));
        const nonZero = Object.entries(d as Record<string, unknown>).filter(([, v]) => !isZeroValue(v));
        check(nonZero.length === 0, 'latest_data', `${op.path}: code 0 data must not describe a version`, 'every field "", 0 or null', nonZero.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', '));
      });
    }
    rule('POST /v1/configuration/upgrade: code 200 carries the stored configuration as a JSON object', { needs: NEEDS }, async () => {
      const op = operation('/v1/configuration/upgrade');
      const ex = await send({ target: op.path, body: op.okBody(fx) });
      expectAnswer(ex, 200);
      const content = data(ex).content;
      check(typeof content === 'object' && content !== null && !Array.isArray(content), 'data_fields', 'data.content', 'a JSON object', JSON.stringify(content));
    });
    for (const op of VERSION_OPERATIONS) {
      rule(`POST ${op.path}: code 200 describes exactly the version asked for`, { needs: NEEDS }, async () => {
        const body = op.okBody(fx);
        const ex = await send({ target: op.path, body });
        expectAnswer(ex, 200);
        const expected: Record<string, unknown> = { [op.keyField]: body[op.keyField] };
        if ('versionCode' in body) expected.versionCode = body.versionCode;
        else {
          expected.versionName = body.versionName;
          expected.versionCode = fx.apps[op.family]?.versionCode;
        }
        dataFields(ex, expected);
      });
    }
  });

  describe('latest versus appointVersionCode', () => {
    rule('appointVersionCode 0 offers the newest eligible version', { needs: NEEDS }, async (ctx) => {
      const a = fixture<{ app: string; newest: number }>(ctx, 'appoint');
      const ex = await send({ target: apk.path, body: upgradeBody(a.app, { appointVersionCode: 0 }) });
      expectAnswer(ex, 200);
      dataFields(ex, { versionCode: a.newest });
    });
    rule('no appointVersionCode at all also offers the newest eligible version', { needs: NEEDS }, async (ctx) => {
      const a = fixture<{ app: string; newest: number }>(ctx, 'appoint');
      const ex = await send({ target: apk.path, body: upgradeBody(a.app) });
      expectAnswer(ex, 200);
      dataFields(ex, { versionCode: a.newest });
    });
    rule('appointVersionCode > 0 offers exactly that version, even when a newer one exists', { needs: NEEDS }, async (ctx) => {
      const a = fixture<{ app: string; older: number }>(ctx, 'appoint');
      const ex = await send({ target: apk.path, body: upgradeBody(a.app, { appointVersionCode: a.older }) });
      expectAnswer(ex, 200);
      dataFields(ex, { versionCode: a.older });
    });
    rule('an appointed version no strategy offers gives code 0, even though newer versions exist', { needs: NEEDS }, async (ctx) => {
      const a = fixture<{ app: string; notOffered: number }>(ctx, 'appoint');
      expectAnswer(await send({ target: apk.path, body: upgradeBody(a.app, { appointVersionCode: a.notOffered }) }), 0);
    });
    rule('an appointed version not above the client\'s versionCode gives code 0', { needs: NEEDS }, async (ctx) => {
      const a = fixture<{ app: string }>(ctx, 'appoint');
      expectAnswer(await send({ target: apk.path, body: upgradeBody(a.app, { appointVersionCode: fx.versions.current }) }), 0);
    });
    rule('a client already past every offered version gets code 0', { needs: NEEDS }, async (ctx) => {
      const a = fixture<{ app: string; newest: number }>(ctx, 'appoint');
      expectAnswer(await send({ target: apk.path, body: { apkKey: a.app, versionCode: a.newest } }), 0);
    });
    rule('a client between versions is offered the newest one above it', { needs: NEEDS }, async (ctx) => {
      const a = fixture<{ app: string; newest: number; older: number }>(ctx, 'appoint');
      const ex = await send({ target: apk.path, body: { apkKey: a.app, versionCode: a.older } });
      expectAnswer(ex, 200);
      dataFields(ex, { versionCode: a.newest });
    });
  });

  describe('strategy enabled, begin and end times', () => {
    rule('a disabled strategy is never offered (code 0)', { needs: NEEDS }, async (ctx) => {
      expectAnswer(await send({ target: apk.path, body: upgradeBody(fixture<string>(ctx, 'disabledStrategy')) }), 0);
    });
    rule('only a strategy with beginAt ≤ now < endAt is a candidate (expired and future ones are not)', { needs: NEEDS }, async (ctx) => {
      const b = fixture<{ app: string; current: number }>(ctx, 'beginEnd');
      const ex = await send({ target: '/v1/file/upgrade', body: { fileKey: b.app, versionCode: fx.versions.current } });
      expectAnswer(ex, 200);
      dataFields(ex, { versionCode: b.current });
    });
  });

  describe('upgradeType', () => {
    const types: Array<[string, number]> = [['prompt', 1], ['silent', 2], ['forced', 3]];
    for (const [name, value] of types) {
      rule(`upgradeType ${value} (${name}) is sent as the strategy says`, { needs: NEEDS }, async (ctx) => {
        const ex = await send({ target: apk.path, body: upgradeBody(fixture<string>(ctx, `upgradeTypes.${name}`)) });
        expectAnswer(ex, 200);
        dataFields(ex, { upgradeType: value });
      });
    }
  });

  describe('device targeting', () => {
    rule('device groups: a member devKey gets the group\'s version', { needs: NEEDS }, async (ctx) => {
      const g = fixture<{ app: string; memberDevKeys: string[]; groupVersion: number }>(ctx, 'groupTargeted');
      for (const devKey of g.memberDevKeys) {
        const ex = await send({ target: apk.path, body: upgradeBody(g.app, { devKey }) });
        expectAnswer(ex, 200);
        dataFields(ex, { versionCode: g.groupVersion });
      }
    });
    rule('device groups: a devKey outside the group falls back to the open strategy', { needs: NEEDS }, async (ctx) => {
      const g = fixture<{ app: string; otherDevKey: string; fallbackVersion: number }>(ctx, 'groupTargeted');
      const ex = await send({ target: apk.path, body: upgradeBody(g.app, { devKey: g.otherDevKey }) });
      expectAnswer(ex, 200);
      dataFields(ex, { versionCode: g.fallbackVersion });
    });
    rule('device groups: an empty devKey falls back to the open strategy', { needs: NEEDS }, async (ctx) => {
      const g = fixture<{ app: string; fallbackVersion: number }>(ctx, 'groupTargeted');
      const ex = await send({ target: apk.path, body: upgradeBody(g.app, { devKey: '' }) });
      expectAnswer(ex, 200);
      dataFields(ex, { versionCode: g.fallbackVersion });
    });
    rule('device models: the targeted devModelKey gets the version', { needs: NEEDS }, async (ctx) => {
      const m = fixture<{ app: string; modelKey: string; version: number }>(ctx, 'modelTargeted');
      const ex = await send({ target: apk.path, body: upgradeBody(m.app, { devModelKey: m.modelKey }) });
      expectAnswer(ex, 200);
      dataFields(ex, { versionCode: m.version });
    });
    rule('device models: another devModelKey gets code 0', { needs: NEEDS }, async (ctx) => {
      const m = fixture<{ app: string; otherModelKey: string }>(ctx, 'modelTargeted');
      expectAnswer(await send({ target: apk.path, body: upgradeBody(m.app, { devModelKey: m.otherModelKey }) }), 0);
    });
    rule('device models: an empty devModelKey gets code 0', { needs: NEEDS }, async (ctx) => {
      const m = fixture<{ app: string }>(ctx, 'modelTargeted');
      expectAnswer(await send({ target: apk.path, body: upgradeBody(m.app, { devModelKey: '' }) }), 0);
    });
  });

  describe('arch filtering', () => {
    for (const path of ['/v1/lnx/upgrade', '/v1/mac/upgrade']) {
      rule(`POST ${path}: x64 and arm64 clients are offered their own build`, { needs: NEEDS }, async () => {
        const op = operation(path);
        const x64 = await send({ target: path, body: { ...op.okBody(fx), arch: 'x64' } });
        expectAnswer(x64, 200);
        const arm64 = await send({ target: path, body: { ...op.okBody(fx), arch: 'arm64' } });
        expectAnswer(arm64, 200);
        check(data(x64).urlPath !== data(arm64).urlPath, 'arch_filter', 'each arch gets its own build', 'different urlPath for x64 and arm64', `both ${JSON.stringify(data(x64).urlPath)}`);
      });
    }
    rule('POST /v1/lnx/upgrade: an arch with no offered build gets code 0', { needs: NEEDS }, async (ctx) => {
      const app = fixture<string>(ctx, 'lnxArch.x64OnlyApp');
      expectAnswer(await send({ target: '/v1/lnx/upgrade', body: { lnxKey: app, arch: 'arm64', versionCode: fx.versions.current } }), 0);
      expectAnswer(await send({ target: '/v1/lnx/upgrade', body: { lnxKey: app, arch: 'x64', versionCode: fx.versions.current } }), 200);
    });
    rule('POST /v1/win/upgrade: arch omitted or "" means no filter; x64 and arm64 filter', { needs: NEEDS }, async () => {
      const op = operation('/v1/win/upgrade');
      const omitted = await send({ target: op.path, body: op.okBody(fx) });
      expectAnswer(omitted, 200);
      const empty = await send({ target: op.path, body: { ...op.okBody(fx), arch: '' } });
      expectAnswer(empty, 200);
      const x64 = await send({ target: op.path, body: { ...op.okBody(fx), arch: 'x64' } });
      expectAnswer(x64, 200);
      const arm64 = await send({ target: op.path, body: { ...op.okBody(fx), arch: 'arm64' } });
      expectAnswer(arm64, 200);
      check(data(omitted).urlPath === data(empty).urlPath, 'arch_filter', 'omitted and "" arch', 'the same offer', `${JSON.stringify(data(omitted).urlPath)} vs ${JSON.stringify(data(empty).urlPath)}`);
      check(data(x64).urlPath !== data(arm64).urlPath, 'arch_filter', 'x64 and arm64 builds', 'different urlPath', `both ${JSON.stringify(data(x64).urlPath)}`);
    });
  });
});
