// Loads fixtures/sandbox.json: validates it against fixtures/sandbox.schema.json (compiled once),
// checks cross-references, and indexes it for the request path. Records marked `inconsistent` pass
// the load and are answered Code.DATA_INVALID when a request touches them (REFERENCE §5.2).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { Code, FAMILIES, OPERATIONS, specValidators, type Bundle, type Family } from '../lib/spec/index.ts';
import { byVersionName } from './operations.ts';

export type { Family } from '../lib/spec/index.ts';

export const DEFAULT_FIXTURES_PATH = fileURLToPath(new URL('../fixtures/sandbox.json', import.meta.url));
export const FIXTURE_SCHEMA_PATH = fileURLToPath(new URL('../fixtures/sandbox.schema.json', import.meta.url));

// ---- the file's shape (see the schema for the meaning of each field)

export interface AccessKeyFixture { accessKey: string; secretKey: string; enabled: boolean; description?: string }
export interface DeviceGroupFixture { id: string; devKeys: string[]; description?: string }
export interface DeviceModelFixture { id: string; key: string; description?: string }
export interface VersionFixture {
  id: string; versionCode: number; versionName: string; urlPath?: string; urlFileSize?: number; urlFileMd5?: string;
  arch?: string; target?: string; platform?: string; description?: string; content?: Record<string, unknown>;
}
export interface GrayRuleFixture { id: string; enabled: boolean; beginAt?: string; endAt?: string; limit: number }
export interface FlowRuleFixture { id: string; enabled: boolean; beginTime: string; endTime: string; dimension: number; limit: number }
export interface StrategyFixture {
  id: string; versionId: string; enabled?: boolean; beginAt?: string; endAt?: string; upgradeType: number;
  promptUpgradeContent?: string;
  deviceTargeting?: { type: number; deviceGroupIds?: string[]; deviceModelIds?: string[] };
  gray?: { enabled: boolean; rules: GrayRuleFixture[] };
  flowLimit?: { enabled: boolean; rules: FlowRuleFixture[] };
  inconsistent?: string;
}
export interface AppFixture {
  family: Family; key: string; description?: string; packageName?: string; failInternally?: boolean;
  versions: VersionFixture[]; strategies?: StrategyFixture[];
}
export interface SandboxFixtures {
  accessKeys: AccessKeyFixture[]; deviceGroups?: DeviceGroupFixture[]; deviceModels?: DeviceModelFixture[]; apps: AppFixture[];
}

// ---- the indexed form served from

export interface Version {
  id: string; versionCode: number; versionName: string; urlPath: string; urlFileSize: number; urlFileMd5: string;
  arch: string; target: string; platform: string; description: string; content: Record<string, unknown> | null;
}
export interface GrayRule { key: string; id: string; enabled: boolean; beginMs: number; endMs: number; limit: number }
export interface FlowRule { key: string; id: string; enabled: boolean; beginSecond: number; endSecond: number; dimension: number; limit: number }
export interface Strategy {
  id: string; appKey: string; version: Version | undefined; versionId: string; enabled: boolean; beginMs: number; endMs: number;
  upgradeType: number; promptUpgradeContent: string;
  targetingType: number; devKeys: ReadonlySet<string>; modelKeys: ReadonlySet<string>;
  grayEnabled: boolean; grayRules: GrayRule[]; flowEnabled: boolean; flowRules: FlowRule[];
}
export interface App {
  family: Family; key: string; packageName: string; failInternally: boolean; versions: Version[]; strategies: Strategy[];
}
export interface FixtureIndex {
  accessKeys: Map<string, AccessKeyFixture>;
  /** The first enabled pair: what `accept-unknown-access-key` verifies unknown keys with. */
  mainSecret: string;
  apps: Record<Family, Map<string, App>>;
  /** Any family, for /v1/app/report (first family in FAMILIES order wins). */
  anyApp: Map<string, App>;
}

export class FixtureError extends Error {
  override name = 'FixtureError';
}

// Facts of the spec the fixture checks rely on: which families name versions MAJOR.MINOR.PATCH (their
// version operation asks for `versionName`), and which arch values a family's builds may carry (the
// enum its operations accept; "" only means "no filter" on a request).
const SEMVER_FAMILIES: ReadonlySet<Family | null> = new Set(OPERATIONS.filter((op) => byVersionName(op)).map((op) => op.family));
const BUILD_ARCHES = new Map<Family | null, readonly string[]>(
  OPERATIONS.filter((op) => op.archValues.length > 0).map((op) => [op.family, op.archValues.filter((a: string) => a !== '')]),
);

let schemaValidator: ValidateFunction | undefined;
function fixtureValidator() {
  // The project's one Ajv set-up (lib/spec) compiles the fixture schema too: it goes in as the only
  // schema of a bundle of its own (its `$id` keeps its `#/$defs/…` references its own).
  if (!schemaValidator) {
    const schema = JSON.parse(readFileSync(FIXTURE_SCHEMA_PATH, 'utf8')) as Bundle['components'];
    const bundle = { paths: {}, components: { schemas: { SandboxFixtures: schema } } } as Bundle;
    schemaValidator = specValidators(bundle).validatorAt('#/components/schemas/SandboxFixtures');
  }
  return schemaValidator;
}

/** Reads (if given a path), validates and indexes fixtures. Throws FixtureError naming the bad record. */
export function loadFixtures(source: string | SandboxFixtures): FixtureIndex {
  const label = typeof source === 'string' ? source : 'fixtures object';
  let data: unknown = source;
  if (typeof source === 'string') {
    let text: string;
    try {
      text = readFileSync(source, 'utf8');
    } catch (error) {
      throw new FixtureError(`cannot read fixtures ${source}: ${(error as Error).message}; pass --fixtures PATH`);
    }
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new FixtureError(`fixtures ${source} are not valid JSON: ${(error as Error).message}`);
    }
  }
  const validate = fixtureValidator();
  if (!validate(data)) {
    const errors = (validate.errors ?? []).filter((e: ErrorObject) => e.keyword !== 'if');
    const lines = errors.slice(0, 5).map((e) => describeSchemaError(data, e));
    throw new FixtureError(
      `${label} does not match fixtures/sandbox.schema.json:\n${lines.join('\n')}` +
        (errors.length > 5 ? `\n  … and ${errors.length - 5} more` : '') +
        '\nFix the named record(s) and start again.',
    );
  }
  return indexFixtures(data as SandboxFixtures, label);
}

function describeSchemaError(data: unknown, error: ErrorObject): string {
  const pointer = error.instancePath || '/';
  const extra = error.keyword === 'additionalProperties' ? ` ("${(error.params as { additionalProperty: string }).additionalProperty}")` : '';
  const allowed = error.keyword === 'enum' ? ` ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}` : '';
  return `  at ${pointer}${recordName(data, pointer)}: ${error.message ?? error.keyword}${allowed}${extra}`;
}

/** " (strategy "st-x" of app apk "apk-basic")": the nearest records with an id along a JSON pointer. */
export function recordName(data: unknown, pointer: string): string {
  const names: string[] = [];
  let node: unknown = data;
  const segments = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let parentKey = '';
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') break;
    node = (node as Record<string, unknown>)[segment];
    if (node && typeof node === 'object' && !Array.isArray(node)) {
      const record = node as Record<string, unknown>;
      const kind = RECORD_KINDS[parentKey];
      if (kind) {
        const id = record.id ?? record.key ?? record.accessKey;
        const family = parentKey === 'apps' && typeof record.family === 'string' ? `${record.family} ` : '';
        names.unshift(typeof id === 'string' ? `${kind} ${family}"${id}"` : `${kind} without an id`);
      }
    }
    parentKey = segment;
  }
  return names.length ? ` (${names.join(' of ')})` : '';
}

const RECORD_KINDS: Record<string, string> = {
  accessKeys: 'access key', deviceGroups: 'device group', deviceModels: 'device model', apps: 'app',
  versions: 'version', strategies: 'strategy', rules: 'rule',
};

const NEVER = Number.POSITIVE_INFINITY;

function timeMs(value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : Date.parse(value);
}

function secondOfDay(value: string): number {
  const [h, m, s] = value.split(':').map(Number) as [number, number, number];
  return h * 3600 + m * 60 + s;
}

export function semverCode(name: string): number | null {
  const m = /^v?(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/.exec(name);
  if (!m) return null;
  return Number(m[1]) * 1_000_000 + Number(m[2]) * 1_000 + Number(m[3]);
}

function indexFixtures(data: SandboxFixtures, label: string): FixtureIndex {
  const fail = (pointer: string, message: string): never => {
    throw new FixtureError(`${label} is inconsistent at ${pointer}${recordName(data, pointer)}: ${message}`);
  };
  const accessKeys = new Map<string, AccessKeyFixture>();
  data.accessKeys.forEach((k, i) => {
    if (accessKeys.has(k.accessKey)) fail(`/accessKeys/${i}`, `duplicate accessKey "${k.accessKey}"`);
    accessKeys.set(k.accessKey, k);
  });
  const main = data.accessKeys.find((k) => k.enabled);
  if (!main) fail('/accessKeys', 'no enabled access key; enable at least one pair');
  const groups = new Map<string, DeviceGroupFixture>();
  (data.deviceGroups ?? []).forEach((g, i) => {
    if (groups.has(g.id)) fail(`/deviceGroups/${i}`, `duplicate device group id "${g.id}"`);
    groups.set(g.id, g);
  });
  const models = new Map<string, DeviceModelFixture>();
  (data.deviceModels ?? []).forEach((m, i) => {
    if (models.has(m.id)) fail(`/deviceModels/${i}`, `duplicate device model id "${m.id}"`);
    models.set(m.id, m);
  });
  const apps = Object.fromEntries(FAMILIES.map((f) => [f, new Map<string, App>()])) as Record<Family, Map<string, App>>;
  const strategyIds = new Set<string>();
  data.apps.forEach((a, ai) => {
    const appPointer = `/apps/${ai}`;
    if (apps[a.family].has(a.key)) fail(appPointer, `duplicate ${a.family} app key "${a.key}"`);
    const versionsById = new Map<string, Version>();
    const versionSlots = new Set<string>();
    const versions = a.versions.map((v, vi): Version => {
      const pointer = `${appPointer}/versions/${vi}`;
      if (versionsById.has(v.id)) fail(pointer, `duplicate version id "${v.id}"`);
      const slot = `${v.versionCode}|${v.arch ?? ''}|${v.target ?? ''}|${v.platform ?? ''}`;
      if (versionSlots.has(slot)) fail(pointer, `versionCode ${v.versionCode} appears twice for the same arch/target/platform`);
      versionSlots.add(slot);
      if (SEMVER_FAMILIES.has(a.family) && semverCode(v.versionName) !== v.versionCode) {
        fail(pointer, `versionName "${v.versionName}" must be MAJOR.MINOR.PATCH and versionCode must equal MAJOR*1000000+MINOR*1000+PATCH`);
      }
      const arches = BUILD_ARCHES.get(a.family);
      if (arches && !arches.includes(v.arch ?? '')) fail(pointer, `arch must be ${arches.join(' or ')} for ${a.family}`);
      const version: Version = {
        id: v.id, versionCode: v.versionCode, versionName: v.versionName, urlPath: v.urlPath ?? '',
        urlFileSize: v.urlFileSize ?? 0, urlFileMd5: v.urlFileMd5 ?? '', arch: v.arch ?? '', target: v.target ?? '',
        platform: v.platform ?? '', description: v.description ?? '', content: v.content ?? null,
      };
      versionsById.set(v.id, version);
      return version;
    });
    const strategies = (a.strategies ?? []).map((s, si): Strategy => {
      const pointer = `${appPointer}/strategies/${si}`;
      if (strategyIds.has(s.id)) fail(pointer, `duplicate strategy id "${s.id}" (ids are unique across the file)`);
      strategyIds.add(s.id);
      const version = versionsById.get(s.versionId);
      const lenient = s.inconsistent !== undefined;
      if (!version && !lenient) {
        fail(pointer, `versionId "${s.versionId}" names no version of this app; fix it, or mark the strategy "inconsistent": "<reason>" to serve it as ${Code.DATA_INVALID}`);
      }
      const targeting = s.deviceTargeting ?? { type: 0 };
      const devKeys = new Set<string>();
      for (const id of targeting.deviceGroupIds ?? []) {
        const group = groups.get(id);
        if (!group) fail(pointer, `deviceGroupIds names unknown device group "${id}"`);
        else for (const k of group.devKeys) devKeys.add(k);
      }
      const modelKeys = new Set<string>();
      for (const id of targeting.deviceModelIds ?? []) {
        const model = models.get(id);
        if (!model) fail(pointer, `deviceModelIds names unknown device model "${id}"`);
        else modelKeys.add(model.key);
      }
      const beginMs = timeMs(s.beginAt, -NEVER);
      const endMs = timeMs(s.endAt, NEVER);
      return {
        id: s.id, appKey: a.key, version, versionId: s.versionId, enabled: s.enabled ?? true, beginMs, endMs,
        upgradeType: s.upgradeType, promptUpgradeContent: s.promptUpgradeContent ?? '',
        targetingType: targeting.type, devKeys, modelKeys,
        grayEnabled: s.gray?.enabled ?? false,
        grayRules: (s.gray?.rules ?? []).map((r) => ({
          key: `${s.id}/${r.id}`, id: r.id, enabled: r.enabled, beginMs: timeMs(r.beginAt, -NEVER), endMs: timeMs(r.endAt, NEVER), limit: r.limit,
        })),
        flowEnabled: s.flowLimit?.enabled ?? false,
        flowRules: (s.flowLimit?.rules ?? []).map((r) => ({
          key: `${s.id}/${r.id}`, id: r.id, enabled: r.enabled, beginSecond: secondOfDay(r.beginTime), endSecond: secondOfDay(r.endTime),
          dimension: r.dimension, limit: r.limit,
        })),
      };
    });
    apps[a.family].set(a.key, {
      family: a.family, key: a.key, packageName: a.packageName ?? '', failInternally: a.failInternally ?? false, versions, strategies,
    });
  });
  const anyApp = new Map<string, App>();
  for (const family of FAMILIES) for (const [key, app] of apps[family]) if (!anyApp.has(key)) anyApp.set(key, app);
  return { accessKeys, mainSecret: main!.secretKey, apps, anyApp };
}
