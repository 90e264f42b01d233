import { describe, expect, it } from 'vitest';
import { Code } from '../lib/spec/index.ts';
import { T0, send, testPipeline } from './testing.ts';

type Data = Record<string, unknown>;

describe('business logic (REFERENCE §6) over fixtures/sandbox.json', () => {
  const { pipeline, clock } = testPipeline();
  const up = (family: string, body: object) => send(pipeline, { path: `/v1/${family}/upgrade`, body });
  const ver = (family: string, body: object) => send(pipeline, { path: `/v1/${family}/version`, body });

  it.each([
    ['file', { fileKey: 'file-basic' }],
    ['apk', { apkKey: 'apk-basic' }],
    ['lnx', { lnxKey: 'lnx-basic', arch: 'x64' }],
    ['url', { urlKey: 'url-basic' }],
    ['configuration', { configurationKey: 'configuration-basic' }],
    ['win', { winKey: 'win-basic' }],
    ['mac', { macKey: 'mac-basic', arch: 'arm64' }],
  ])('upgrade > %s: versionCode 1 → 200, 2 → 0 with a zero-value object', async (family, body) => {
    const offered = await up(family, { ...body, versionCode: 1 });
    expect(offered.code).toBe(Code.OK);
    expect((offered.data as Data).versionCode).toBe(2);
    expect((offered.data as Data)[`${family}Key`]).toBe(Object.values(body)[0]);
    const latest = await up(family, { ...body, versionCode: 2 });
    expect([latest.status, latest.code]).toEqual([200, Code.LATEST]);
    expect((latest.data as Data).versionCode).toBe(0);
    expect((latest.data as Data).upgradeType).toBe(0);
  });

  it('upgrade > latest-only apps of every family → code 0', async () => {
    for (const [family, body] of [
      ['file', { fileKey: 'file-latest-only' }], ['apk', { apkKey: 'apk-latest-only' }], ['lnx', { lnxKey: 'lnx-latest-only', arch: 'x64' }],
      ['url', { urlKey: 'url-latest-only' }], ['configuration', { configurationKey: 'configuration-latest-only' }],
      ['win', { winKey: 'win-latest-only' }], ['mac', { macKey: 'mac-latest-only', arch: 'arm64' }],
    ] as const) expect((await up(family, { ...body, versionCode: 1 })).code).toBe(Code.LATEST);
  });

  it('upgrade > an apkKey sent to /v1/file/upgrade → 404001', async () => {
    expect((await up('file', { fileKey: 'apk-basic', versionCode: 1 })).code).toBe(Code.RESOURCE_NOT_FOUND);
  });

  it('upgrade > configuration data.content is the stored object', async () => {
    expect(((await up('configuration', { configurationKey: 'configuration-basic', versionCode: 1 })).data as Data).content).toEqual({ theme: 'dark', retries: 3, features: { beta: true } });
  });

  it('upgrade > arch: lnx arm64 build; lnx-x64-only has none for arm64; win without arch takes the first by strategy id', async () => {
    expect(((await up('lnx', { lnxKey: 'lnx-basic', versionCode: 1, arch: 'arm64' })).data as Data).arch).toBe('arm64');
    expect((await up('lnx', { lnxKey: 'lnx-x64-only', versionCode: 1, arch: 'arm64' })).code).toBe(Code.LATEST);
    expect(((await up('win', { winKey: 'win-basic', versionCode: 1 })).data as Data).arch).toBe('arm64');
    expect(((await up('win', { winKey: 'win-basic', versionCode: 1, arch: 'x64' })).data as Data).arch).toBe('x64');
  });

  it('upgrade > upgradeType comes from the strategy', async () => {
    expect(((await up('apk', { apkKey: 'apk-silent', versionCode: 1 })).data as Data).upgradeType).toBe(2);
    expect(((await up('apk', { apkKey: 'apk-forced', versionCode: 1 })).data as Data).upgradeType).toBe(3);
  });

  it('upgrade > begin/end: only the current strategy is a candidate; disabled strategies never are', async () => {
    expect(((await up('file', { fileKey: 'file-begin-end', versionCode: 1 })).data as Data).versionCode).toBe(2);
    expect((await up('apk', { apkKey: 'apk-disabled-strategy', versionCode: 1 })).code).toBe(Code.LATEST);
  });

  it.each([
    [0, 4], [3, 3], [2, 2], [5, null], [1, null],
  ])('upgrade > appointVersionCode %i → %s', async (appoint, expected) => {
    const reply = await up('apk', { apkKey: 'apk-appoint', versionCode: 1, appointVersionCode: appoint });
    if (expected === null) expect(reply.code).toBe(Code.LATEST);
    else expect((reply.data as Data).versionCode).toBe(expected);
  });

  it('upgrade > device groups: members get 3, others fall back to 2', async () => {
    expect(((await up('apk', { apkKey: 'apk-group-targeted', versionCode: 1, devKey: 'beta-device-02' })).data as Data).versionCode).toBe(3);
    expect(((await up('apk', { apkKey: 'apk-group-targeted', versionCode: 1, devKey: 'qa-device-01' })).data as Data).versionCode).toBe(2);
    expect(((await up('apk', { apkKey: 'apk-group-targeted', versionCode: 1 })).data as Data).versionCode).toBe(2);
  });

  it('upgrade > device models: only pixel-8', async () => {
    expect((await up('apk', { apkKey: 'apk-model-targeted', versionCode: 1, devModelKey: 'pixel-8' })).code).toBe(Code.OK);
    expect((await up('apk', { apkKey: 'apk-model-targeted', versionCode: 1, devModelKey: 'stv1' })).code).toBe(Code.LATEST);
    expect((await up('apk', { apkKey: 'apk-model-targeted', versionCode: 1 })).code).toBe(Code.LATEST);
  });

  it('gray > 2 distinct devices, sticky, empty devKey refused', async () => {
    const g = (devKey?: string) => up('apk', { apkKey: 'apk-gray', versionCode: 1, ...(devKey === undefined ? {} : { devKey }) });
    expect((await g()).code).toBe(Code.LATEST);
    expect((await g('d1')).code).toBe(Code.OK);
    expect((await g('d1')).code).toBe(Code.OK);
    expect((await g('d2')).code).toBe(Code.OK);
    expect((await g('d3')).code).toBe(Code.LATEST);
    expect((await g('d2')).code).toBe(Code.OK);
  });

  it('gray > a blocked candidate falls back; an inactive rule lets everyone through', async () => {
    expect(((await up('apk', { apkKey: 'apk-gray-fallback', versionCode: 1, devKey: 'a' })).data as Data).versionCode).toBe(3);
    expect(((await up('apk', { apkKey: 'apk-gray-fallback', versionCode: 1, devKey: 'b' })).data as Data).versionCode).toBe(2);
    expect((await up('apk', { apkKey: 'apk-gray-inactive', versionCode: 1 })).code).toBe(Code.OK);
  });

  it('flow > exactly limit successes per day, code 0 never counts, then 429001 without fallback', async () => {
    for (let i = 0; i < 3; i++) expect((await up('apk', { apkKey: 'apk-flow-latest-not-counted', versionCode: 2 })).code).toBe(Code.LATEST);
    expect((await up('apk', { apkKey: 'apk-flow-latest-not-counted', versionCode: 1 })).code).toBe(Code.OK);
    const limited = await up('apk', { apkKey: 'apk-flow-latest-not-counted', versionCode: 1 });
    expect([limited.status, limited.code]).toEqual([429, Code.FLOW_LIMITED]);
    expect((await up('apk', { apkKey: 'apk-flow-no-fallback', versionCode: 1 })).code).toBe(Code.OK);
    expect((await up('apk', { apkKey: 'apk-flow-no-fallback', versionCode: 1 })).code).toBe(Code.FLOW_LIMITED);
  });

  it('flow > the minute window recovers at the next minute; a disabled rule never limits', async () => {
    const { pipeline: p, clock: c } = testPipeline();
    const f = () => send(p, { body: { apkKey: 'apk-flow-minute-2', versionCode: 1 }, timestamp: new Date(c.now()).toISOString() });
    c.set(Math.floor(T0 / 60_000) * 60_000 + 10_000);
    expect([(await f()).code, (await f()).code, (await f()).code]).toEqual([Code.OK, Code.OK, Code.FLOW_LIMITED]);
    c.set(c.now() + 60_000);
    expect((await f()).code).toBe(Code.OK);
    for (let i = 0; i < 3; i++) expect((await send(p, { body: { apkKey: 'apk-flow-rule-disabled', versionCode: 1 }, timestamp: new Date(c.now()).toISOString() })).code).toBe(Code.OK);
  });

  it.each([
    'apk-inconsistent-missing-version', 'apk-inconsistent-upgrade-type', 'apk-inconsistent-targeting',
    'apk-inconsistent-flow-dimension', 'apk-inconsistent-flow-limit', 'apk-inconsistent-gray-limit',
  ])('500002 > %s', async (apkKey) => {
    const reply = await up('apk', { apkKey, versionCode: 1, devKey: 'd' });
    expect([reply.status, reply.code]).toEqual([500, Code.DATA_INVALID]);
  });

  it('version > found, missing version 404002, unknown app 404001, per family', async () => {
    expect(await ver('file', { fileKey: 'file-basic', versionCode: 2 })).toMatchObject({ code: Code.OK, data: { fileKey: 'file-basic', versionCode: 2, packageName: '' } });
    expect((await ver('file', { fileKey: 'file-basic', versionCode: 3 })).code).toBe(Code.RECORD_NOT_FOUND);
    expect((await ver('file', { fileKey: 'nope', versionCode: 1 })).code).toBe(Code.RESOURCE_NOT_FOUND);
    expect((await ver('apk', { apkKey: 'apk-basic', versionCode: 1 })).data).toMatchObject({ apkKey: 'apk-basic', packageName: 'com.sandbox.apk.basic' });
    expect((await ver('url', { urlKey: 'url-basic', versionCode: 1 })).code).toBe(Code.OK);
    expect((await ver('configuration', { configurationKey: 'configuration-basic', versionCode: 1 })).code).toBe(Code.OK);
    expect((await ver('lnx', { lnxKey: 'lnx-basic', versionCode: 2, arch: 'arm64' })).data).toMatchObject({ arch: 'arm64' });
    expect((await ver('lnx', { lnxKey: 'lnx-x64-only', versionCode: 2, arch: 'arm64' })).code).toBe(Code.RECORD_NOT_FOUND);
    expect((await ver('win', { winKey: 'win-basic', versionCode: 2, arch: 'x64' })).code).toBe(Code.OK);
    expect((await ver('mac', { macKey: 'mac-basic', versionCode: 1, arch: 'x64' })).code).toBe(Code.OK);
    expect((await ver('tauri', { tauriKey: 'tauri-basic', versionName: 'v1.2.3', target: 'darwin', arch: 'aarch64' })).data).toMatchObject({ versionCode: 1002003, target: 'darwin' });
    expect((await ver('tauri', { tauriKey: 'tauri-basic', versionName: '1.2.4', target: 'windows', arch: 'x86_64' })).code).toBe(Code.RECORD_NOT_FOUND);
    expect((await ver('electron', { electronKey: 'electron-basic', versionName: '2.0.1', platform: 'win32', arch: 'x64' })).data).toMatchObject({ versionCode: 2000001, platform: 'win32' });
    expect((await ver('electron', { electronKey: 'electron-basic', versionName: '2.0.1', platform: 'linux', arch: 'x64' })).code).toBe(Code.RECORD_NOT_FOUND);
    expect((await ver('file', { fileKey: 'file-fail-internal', versionCode: 1 })).code).toBe(Code.INTERNAL_ERROR);
  });

  it('report > any family key → code 0 with data null; unknown → 404001', async () => {
    const report = (appKey: string) => send(pipeline, { path: '/v1/app/report', body: { eventType: 'app_upgrade_download', timestamp: '2025-02-17T02:34:55Z', appKey } });
    expect(await report('tauri-basic')).toMatchObject({ code: Code.LATEST, data: null });
    expect((await report('nope')).code).toBe(Code.RESOURCE_NOT_FOUND);
    expect((await report('apk-fail-internal')).code).toBe(Code.INTERNAL_ERROR);
  });

  it('clock > strategies are evaluated at the sandbox clock', async () => {
    clock.set(Date.parse('2100-01-01T00:00:00Z'));
    expect((await send(pipeline, { body: { apkKey: 'apk-basic', versionCode: 1 }, timestamp: '2100-01-01T00:00:00Z' })).code).toBe(Code.LATEST);
    clock.set(T0);
  });
});
