// Fixture roles: the records the tests need, named by what they demonstrate, resolved against a
// fixtures file (fixtures/sandbox.json by default: what the sandbox serves, and what a team seeds
// into staging). A role whose records are not in the file is missing; a test that needs it is
// skipped with the role and the key named, and every other test runs. Limits are read from the file,
// not retyped. `inconsistent` and `failInternally` records are sandbox-only (the faultFixtures
// capability): they exist to reach Code.INTERNAL_ERROR/Code.DATA_INVALID and are never seeded into staging.
import { readFileSync } from 'node:fs';
import type { AccessKeyFixture, AppFixture, SandboxFixtures, VersionFixture } from '../sandbox/fixtures.ts';
import { FAMILIES, OPERATIONS, type Family } from '../generated/operations.ts';

/** A role that is not available, and why (shown as the skip reason). */
export interface MissingRole {
  readonly missing: string;
}

export type Role<T> = T | MissingRole;

export function isMissing(value: unknown): value is MissingRole {
  return typeof value === 'object' && value !== null && typeof (value as MissingRole).missing === 'string';
}

export type UpgradeFamily = 'file' | 'apk' | 'lnx' | 'url' | 'configuration' | 'win' | 'mac';
export const UPGRADE_FAMILIES = OPERATIONS.filter((o) => o.kind === 'upgrade').map((o) => o.family as UpgradeFamily);

export interface SemverApp {
  app: string;
  versionName: string;
  versionCode: number;
  /** tauri: target; electron: platform. */
  variant: string;
  arch: string;
  missingVersionName: string;
  /** An older version of the same variant and arch, when the app has one (a lookup that is not the newest). */
  older?: { versionName: string; versionCode: number };
}

/** Everything the tests may name, by role. Values are resolved keys; missing ones say why. */
export interface Fixtures {
  /** The version codes the upgrading apps are built around: clients on `current` are offered `next`; `missing` does not exist. */
  versions: { current: number; next: number; missing: number };
  /** Per family: an app offering `next` to clients on `current` (no targeting, gray or flow limit). */
  upgrading: Record<Family, Role<string>>;
  /** Per upgrade family: an app with no strategy (every upgrade check is code 0). */
  latestOnly: Record<UpgradeFamily, Role<string>>;
  /** tauri and electron: a version looked up by semver name. */
  semver: { tauri: Role<SemverApp>; electron: Role<SemverApp> };
  secondAccessKey: Role<string>;
  disabledAccessKey: Role<{ accessKey: string; secretKey: string }>;
  appoint: Role<{ app: string; newest: number; older: number; notOffered: number }>;
  upgradeTypes: Role<{ prompt: string; silent: string; forced: string }>;
  disabledStrategy: Role<string>;
  beginEnd: Role<{ app: string; current: number }>;
  groupTargeted: Role<{ app: string; memberDevKeys: string[]; otherDevKey: string; groupVersion: number; fallbackVersion: number }>;
  modelTargeted: Role<{ app: string; modelKey: string; otherModelKey: string; version: number }>;
  x64OnlyLnx: Role<string>;
  gray: {
    limit2: Role<{ app: string; limit: number }>;
    sticky1: Role<{ app: string; limit: number }>;
    concurrent3: Role<{ app: string; limit: number }>;
    fallback: Role<{ app: string; grayVersion: number; fallbackVersion: number }>;
    inactiveRule: Role<{ app: string }>;
  };
  flow: {
    day3: Role<{ app: string; limit: number }>;
    hour5: Role<{ app: string; limit: number }>;
    concurrentDay5: Role<{ app: string; limit: number }>;
    latestNotCounted: Role<{ app: string; limit: number }>;
    ruleDisabled: Role<{ app: string }>;
    noFallback: Role<{ app: string; limitedVersion: number }>;
    minute2: Role<{ app: string; limit: number }>;
    second1: Role<{ app: string; limit: number }>;
    /** Per upgrade family: a flow-limited app, for the 429 response shape. */
    perFamily: Record<UpgradeFamily, Role<{ app: string; limit: number }>>;
  };
  /** Sandbox-only: per family, an app flagged to fail when looked up (Code.INTERNAL_ERROR). */
  failInternally: Record<Family, Role<string>>;
  /** Sandbox-only: deliberately inconsistent strategies (Code.DATA_INVALID). */
  inconsistent: Record<'missingVersion' | 'upgradeType' | 'targetingType' | 'flowDimension' | 'flowLimit' | 'grayLimit', Role<string>>;
}

export class FixturesError extends Error {
  override name = 'FixturesError';
}

export function readFixturesFile(file: string): SandboxFixtures {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new FixturesError(`cannot read the fixtures file ${file} (--fixtures / CONTRACT_FIXTURES): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: SandboxFixtures;
  try {
    parsed = JSON.parse(text) as SandboxFixtures;
  } catch (error) {
    throw new FixturesError(`the fixtures file ${file} is not JSON: ${(error as Error).message}`);
  }
  if (!parsed || !Array.isArray(parsed.apps) || !Array.isArray(parsed.accessKeys)) {
    throw new FixturesError(`the fixtures file ${file} has no "apps" and "accessKeys" arrays (see fixtures/sandbox.schema.json)`);
  }
  return parsed;
}

export interface ResolveOptions {
  /** Label of the file, for skip reasons. */
  label: string;
  /** The access key the run signs with: the second and disabled keys must differ from it. */
  mainAccessKey: string;
  /** Whether the sandbox-only fault records may be used. */
  faultFixtures: boolean;
  /** Role key overrides from a target file: `{"upgrading.apk": "my-apk-key"}`. */
  overrides?: Record<string, string>;
}

export interface ResolvedFixtures {
  fixtures: Fixtures;
  /** Every app the available roles name, with its family: what the preflight checks the target has. */
  apps: Array<{ family: Family; key: string; role: string }>;
}

const missing = (reason: string): MissingRole => ({ missing: reason });

/** Resolves every role against a fixtures file. */
export function resolveFixtures(file: SandboxFixtures, options: ResolveOptions): ResolvedFixtures {
  const { label } = options;
  const byFamily = new Map<string, AppFixture>();
  for (const a of file.apps) byFamily.set(`${a.family}/${a.key}`, a);
  const apps: ResolvedFixtures['apps'] = [];

  /** An app of a family, looked up in the file; `make` builds the role's value from it (or says what is wrong). */
  function app<T>(role: string, family: Family, defaultKey: string, make: (a: AppFixture) => T | MissingRole, overrideKey = role): Role<T> {
    const key = options.overrides?.[overrideKey] ?? defaultKey;
    const found = byFamily.get(`${family}/${key}`);
    if (!found) return missing(`fixture role ${role} needs the ${family} app "${key}", which is not in ${label}`);
    const faultRecord = found.failInternally === true || (found.strategies ?? []).some((s) => s.inconsistent !== undefined);
    if (faultRecord && !options.faultFixtures) {
      return missing(`fixture role ${role} (${family} app "${key}") is a sandbox-only fault record; this target has no fault fixtures`);
    }
    const value = make(found);
    if (isMissing(value)) return missing(`fixture role ${role} (${family} app "${key}" in ${label}): ${value.missing}`);
    apps.push({ family, key: found.key, role });
    return value;
  }
  const appKey = (role: string, family: Family, defaultKey: string, overrideKey = role): Role<string> => app(role, family, defaultKey, (a) => a.key, overrideKey);

  const enabledRule = <R extends { enabled: boolean; limit: number }>(rules: R[] | undefined): R | undefined => rules?.find((r) => r.enabled);
  const withGrayLimit = (a: AppFixture) => {
    const rule = enabledRule(a.strategies?.[0]?.gray?.rules);
    return rule ? { app: a.key, limit: rule.limit } : missing('its first strategy has no enabled gray rule');
  };
  const withFlowLimit = (a: AppFixture) => {
    const rule = enabledRule(a.strategies?.[0]?.flowLimit?.rules);
    return rule ? { app: a.key, limit: rule.limit } : missing('its first strategy has no enabled flow rule');
  };
  const versionCodeOf = (a: AppFixture, versionId: string | undefined) => a.versions.find((v) => v.id === versionId)?.versionCode;

  function accessKey(role: string, pick: (k: AccessKeyFixture) => boolean, what: string): Role<AccessKeyFixture> {
    const chosen = options.overrides?.[role];
    const found = file.accessKeys.find((k) => (chosen ? k.accessKey === chosen : pick(k)));
    return found ?? missing(`fixture role ${role} needs ${chosen ? `access key "${chosen}"` : what}, which is not in ${label}`);
  }
  const second = accessKey('secondAccessKey', (k) => k.enabled && k.accessKey !== options.mainAccessKey, `an enabled access key other than ${options.mainAccessKey}`);
  const disabled = accessKey('disabledAccessKey', (k) => !k.enabled, 'a disabled access key');

  const perFamily = <F extends string, T>(families: readonly F[], make: (family: F) => Role<T>) =>
    Object.fromEntries(families.map((f) => [f, make(f)])) as Record<F, Role<T>>;

  const semver = (family: 'tauri' | 'electron', defaultKey: string, versionName: string, missingVersionName: string): Role<SemverApp> =>
    app(`semver.${family}`, family, defaultKey, (a) => {
      const v = a.versions.find((x) => x.versionName === versionName || x.versionName === `v${versionName}`);
      if (!v) return missing(`it has no version named ${versionName}`);
      const variantOf = (x: VersionFixture) => (family === 'tauri' ? x.target : x.platform) ?? '';
      const variant = variantOf(v);
      const older = a.versions
        .filter((o) => o.versionCode < v.versionCode && variantOf(o) === variant && (o.arch ?? '') === (v.arch ?? ''))
        .sort((x, y) => y.versionCode - x.versionCode)[0];
      return {
        app: a.key, versionName, versionCode: v.versionCode, variant, arch: v.arch ?? '', missingVersionName,
        ...(older ? { older: { versionName: older.versionName, versionCode: older.versionCode } } : {}),
      };
    });

  const upgradeTypes = (): Role<{ prompt: string; silent: string; forced: string }> => {
    const prompt = appKey('upgradeTypes', 'apk', 'apk-basic', 'upgradeTypes.prompt');
    const silent = appKey('upgradeTypes', 'apk', 'apk-silent', 'upgradeTypes.silent');
    const forced = appKey('upgradeTypes', 'apk', 'apk-forced', 'upgradeTypes.forced');
    if (isMissing(prompt)) return prompt;
    if (isMissing(silent)) return silent;
    if (isMissing(forced)) return forced;
    return { prompt, silent, forced };
  };

  const fixtures: Fixtures = {
    versions: { current: 1, next: 2, missing: 3 },
    upgrading: perFamily(FAMILIES, (f) => appKey(`upgrading.${f}`, f, `${f}-basic`)),
    latestOnly: perFamily(UPGRADE_FAMILIES, (f) => appKey(`latestOnly.${f}`, f, `${f}-latest-only`)),
    semver: {
      tauri: semver('tauri', 'tauri-basic', '1.2.3', '1.2.4'),
      electron: semver('electron', 'electron-basic', '2.0.1', '2.0.2'),
    },
    secondAccessKey: isMissing(second) ? second : second.accessKey,
    disabledAccessKey: isMissing(disabled) ? disabled : { accessKey: disabled.accessKey, secretKey: disabled.secretKey },
    appoint: app('appoint', 'apk', 'apk-appoint', (a) => ({ app: a.key, newest: 4, older: 3, notOffered: 5 })),
    upgradeTypes: upgradeTypes(),
    disabledStrategy: appKey('disabledStrategy', 'apk', 'apk-disabled-strategy'),
    beginEnd: app('beginEnd', 'file', 'file-begin-end', (a) => ({ app: a.key, current: 2 })),
    groupTargeted: app('groupTargeted', 'apk', 'apk-group-targeted', (a) => {
      const groupIds = (a.strategies ?? []).flatMap((s) => s.deviceTargeting?.deviceGroupIds ?? []);
      const members = (file.deviceGroups ?? []).filter((g) => groupIds.includes(g.id)).flatMap((g) => g.devKeys);
      const other = (file.deviceGroups ?? []).filter((g) => !groupIds.includes(g.id)).flatMap((g) => g.devKeys)[0];
      if (members.length === 0 || !other) return missing('needs devKeys in a targeted device group and one outside it');
      return { app: a.key, memberDevKeys: members, otherDevKey: other, groupVersion: 3, fallbackVersion: 2 };
    }),
    modelTargeted: app('modelTargeted', 'apk', 'apk-model-targeted', (a) => {
      const ids = (a.strategies ?? []).flatMap((s) => s.deviceTargeting?.deviceModelIds ?? []);
      const model = (file.deviceModels ?? []).find((m) => ids.includes(m.id));
      const other = (file.deviceModels ?? []).find((m) => !ids.includes(m.id));
      if (!model || !other) return missing('needs a targeted device model and another one');
      return { app: a.key, modelKey: model.key, otherModelKey: other.key, version: 2 };
    }),
    x64OnlyLnx: appKey('x64OnlyLnx', 'lnx', 'lnx-x64-only'),
    gray: {
      limit2: app('gray.limit2', 'apk', 'apk-gray', withGrayLimit),
      sticky1: app('gray.sticky1', 'apk', 'apk-gray-sticky', withGrayLimit),
      concurrent3: app('gray.concurrent3', 'apk', 'apk-gray-concurrent', withGrayLimit),
      fallback: app('gray.fallback', 'apk', 'apk-gray-fallback', (a) => {
        const grayVersion = versionCodeOf(a, a.strategies?.[0]?.versionId);
        const fallbackVersion = versionCodeOf(a, a.strategies?.[1]?.versionId);
        return grayVersion && fallbackVersion ? { app: a.key, grayVersion, fallbackVersion } : missing('needs a gray strategy and an open one');
      }),
      inactiveRule: app('gray.inactiveRule', 'apk', 'apk-gray-inactive', (a) => ({ app: a.key })),
    },
    flow: {
      day3: app('flow.day3', 'apk', 'apk-flow-day-3', withFlowLimit),
      hour5: app('flow.hour5', 'apk', 'apk-flow-hour-5', withFlowLimit),
      concurrentDay5: app('flow.concurrentDay5', 'apk', 'apk-flow-day-concurrent-5', withFlowLimit),
      latestNotCounted: app('flow.latestNotCounted', 'apk', 'apk-flow-latest-not-counted', withFlowLimit),
      ruleDisabled: app('flow.ruleDisabled', 'apk', 'apk-flow-rule-disabled', (a) => ({ app: a.key })),
      noFallback: app('flow.noFallback', 'apk', 'apk-flow-no-fallback', (a) => {
        const limitedVersion = versionCodeOf(a, a.strategies?.[0]?.versionId);
        return limitedVersion ? { app: a.key, limitedVersion } : missing('its first strategy names no version');
      }),
      minute2: app('flow.minute2', 'apk', 'apk-flow-minute-2', withFlowLimit),
      second1: app('flow.second1', 'apk', 'apk-flow-second-1', withFlowLimit),
      perFamily: perFamily(UPGRADE_FAMILIES, (f) => app(`flow.perFamily.${f}`, f, `${f}-flow-hour-3`, withFlowLimit)),
    },
    failInternally: perFamily(FAMILIES, (f) => appKey(`failInternally.${f}`, f, `${f}-fail-internal`)),
    inconsistent: {
      missingVersion: appKey('inconsistent.missingVersion', 'apk', 'apk-inconsistent-missing-version'),
      upgradeType: appKey('inconsistent.upgradeType', 'apk', 'apk-inconsistent-upgrade-type'),
      targetingType: appKey('inconsistent.targetingType', 'apk', 'apk-inconsistent-targeting'),
      flowDimension: appKey('inconsistent.flowDimension', 'apk', 'apk-inconsistent-flow-dimension'),
      flowLimit: appKey('inconsistent.flowLimit', 'apk', 'apk-inconsistent-flow-limit'),
      grayLimit: appKey('inconsistent.grayLimit', 'apk', 'apk-inconsistent-gray-limit'),
    },
  };
  return { fixtures, apps };
}

/** Marks a role missing (the preflight found its app absent on the target): tests that use it are skipped. */
export function markMissing(fixtures: Fixtures, role: string, reason: string): void {
  const parts = role.split('.');
  let node = fixtures as unknown as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[parts[parts.length - 1]!] = { missing: reason } satisfies MissingRole;
}
