import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAMILIES } from '../lib/spec/index.ts';
import { DEFAULT_FIXTURES_PATH, FIXTURE_SCHEMA_PATH, loadFixtures, type SandboxFixtures } from './fixtures.ts';

const base = () => JSON.parse(readFileSync(DEFAULT_FIXTURES_PATH, 'utf8')) as SandboxFixtures;
const indexOf = (f: SandboxFixtures, key: string) => f.apps.findIndex((a) => a.key === key);

describe('fixtures', () => {
  it('fixtures > the shipped file loads and covers every family, disabled key included', () => {
    const index = loadFixtures(DEFAULT_FIXTURES_PATH);
    for (const family of FAMILIES) expect(index.apps[family].size).toBeGreaterThan(0);
    expect(index.accessKeys.get('ak-sandbox-disabled')?.enabled).toBe(false);
    expect(index.mainSecret).toBe('test-secret-DO-NOT-USE-0001');
  });

  it('schema > its enum of families is the spec\'s FAMILIES', () => {
    const schema = JSON.parse(readFileSync(FIXTURE_SCHEMA_PATH, 'utf8')) as { $defs: { app: { properties: { family: { enum: string[] } } } } };
    expect(schema.$defs.app.properties.family.enum).toEqual([...FAMILIES]);
  });

  it('schema > a bad field names the record by JSON pointer and id', () => {
    const f = base();
    const i = indexOf(f, 'apk-gray');
    f.apps[i]!.strategies![0]!.upgradeType = 9;
    expect(() => loadFixtures(f)).toThrow(new RegExp(`/apps/${i}/strategies/0/upgradeType \\(strategy "st-apk-gray" of app apk "apk-gray"\\)`));
  });

  it('schema > a missing required field and an unknown field are named', () => {
    const f = base();
    delete (f.accessKeys[1] as Partial<SandboxFixtures['accessKeys'][0]>).secretKey;
    expect(() => loadFixtures(f)).toThrow(/\/accessKeys\/1 \(access key "ak-sandbox-0002"\).*secretKey/);
    const g = base();
    (g.apps[0] as unknown as Record<string, unknown>).colour = 'red';
    expect(() => loadFixtures(g)).toThrow(/\/apps\/0 \(app file "file-basic"\).*colour/);
  });

  it('schema > inconsistent records are allowed only when marked', () => {
    const f = base();
    const i = indexOf(f, 'apk-inconsistent-upgrade-type');
    delete f.apps[i]!.strategies![0]!.inconsistent;
    expect(() => loadFixtures(f)).toThrow(/st-apk-inconsistent-upgrade-type/);
  });

  it('references > an unknown versionId or device group names the strategy', () => {
    const f = base();
    const i = indexOf(f, 'apk-basic');
    f.apps[i]!.strategies![0]!.versionId = 'apk-basic@7';
    expect(() => loadFixtures(f)).toThrow(/\/apps\/\d+\/strategies\/0 \(strategy "st-apk-basic" of app apk "apk-basic"\).*apk-basic@7/);
    const g = base();
    g.apps[indexOf(g, 'apk-group-targeted')]!.strategies![0]!.deviceTargeting = { type: 1, deviceGroupIds: ['grp-nope'] };
    expect(() => loadFixtures(g)).toThrow(/grp-nope/);
  });

  it('references > tauri versionCode must match its versionName', () => {
    const f = base();
    f.apps[indexOf(f, 'tauri-basic')]!.versions[0]!.versionCode = 5;
    expect(() => loadFixtures(f)).toThrow(/tauri-basic@1000000/);
  });
});
