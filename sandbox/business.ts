// Business logic (REFERENCE §6): strategy choice, device targeting, gray release, flow limits,
// version lookup and event reports. Everything that counts (gray admissions, flow counters) runs
// synchronously between awaits, so it is atomic in the single Node process.

import { parseTimestamp } from '../lib/signing/index.ts';
import { Code, InternalFailure, type CodeValue } from './codes.ts';
import type { FaultSet } from './faults.ts';
import { semverCode, type App, type Family, type FixtureIndex, type FlowRule, type GrayRule, type Strategy, type Version } from './fixtures.ts';
import type { Operation } from './spec.ts';

export interface Outcome {
  code: CodeValue;
  data: unknown;
  detail?: string;
}

type Body = Record<string, unknown>;

const WINDOW_SECONDS: Record<number, number> = { 1: 1, 2: 60, 3: 3600, 4: 86_400 };
const ARCH_FAMILIES: ReadonlySet<Family> = new Set(['lnx', 'win', 'mac']);

const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const num = (value: unknown): number => (typeof value === 'number' ? value : Number(value ?? 0) || 0);

function outcome(code: CodeValue, data: unknown = null, detail = ''): Outcome {
  return { code, data, detail };
}

/** The family's `data` object for code 200; with no version and strategy, the zero-value object of code 0. */
export function upgradeData(family: Family, key: string, app: App | null, version: Version | null, strategy: Strategy | null): Body {
  const v = version;
  const common = {
    versionName: v?.versionName ?? '',
    versionCode: v?.versionCode ?? 0,
  };
  const upgradeType = strategy?.upgradeType ?? 0;
  const prompt = strategy?.promptUpgradeContent ?? '';
  switch (family) {
    case 'file':
      return { fileKey: key, ...common, urlPath: v?.urlPath ?? '', upgradeType, promptUpgradeContent: prompt, urlFileSize: v?.urlFileSize ?? 0 };
    case 'url':
      return { urlKey: key, ...common, urlPath: v?.urlPath ?? '', upgradeType, promptUpgradeContent: prompt };
    case 'configuration':
      return { configurationKey: key, ...common, upgradeType, promptUpgradeContent: prompt, content: v?.content ?? null };
    case 'apk':
      return {
        apkKey: key, packageName: app?.packageName ?? '', ...common, urlPath: v?.urlPath ?? '', urlFileSize: v?.urlFileSize ?? 0,
        urlFileMd5: v?.urlFileMd5 ?? '', upgradeType, promptUpgradeContent: prompt,
      };
    default:
      return {
        [`${family}Key`]: key, packageName: app?.packageName ?? '', ...common, arch: v?.arch ?? '', urlPath: v?.urlPath ?? '',
        urlFileSize: v?.urlFileSize ?? 0, urlFileMd5: v?.urlFileMd5 ?? '', upgradeType, promptUpgradeContent: prompt,
      };
  }
}

function inconsistent(strategy: Strategy): string | null {
  if (!strategy.version) return `strategy ${strategy.id}: target version ${strategy.versionId} does not exist`;
  if (strategy.upgradeType < 1 || strategy.upgradeType > 3) return `strategy ${strategy.id}: upgradeType ${strategy.upgradeType} is not 1-3`;
  if (strategy.targetingType < 0 || strategy.targetingType > 2) return `strategy ${strategy.id}: device-targeting type ${strategy.targetingType} is not 0-2`;
  return null;
}

export class Business {
  /** Admitted devKeys per gray rule (`strategy/rule`). */
  private readonly grayAdmitted = new Map<string, Set<string>>();
  /** Requests admitted per gray rule, for the `gray-counts-requests` fault. */
  private readonly grayRequests = new Map<string, number>();
  /** One counter per flow rule, for its current fixed window only (older windows are dropped). */
  private readonly flowCounters = new Map<string, { window: number; count: number }>();

  constructor(
    private readonly fixtures: FixtureIndex,
    private readonly faults: FaultSet,
  ) {}

  reset(): void {
    this.grayAdmitted.clear();
    this.grayRequests.clear();
    this.flowCounters.clear();
  }

  handle(op: Operation, body: Body, nowMs: number): Outcome | Promise<Outcome> {
    switch (op.kind) {
      case 'upgrade':
        return this.upgrade(op.family!, op.keyField, body, nowMs);
      case 'version':
        return this.version(op.family!, op.keyField, body);
      default:
        return this.report(body);
    }
  }

  private lookup(family: Family, key: string): App | undefined {
    const app = this.fixtures.apps[family].get(key);
    if (app?.failInternally) throw new InternalFailure(`app ${family} ${key} is flagged failInternally`);
    return app;
  }

  // §6.2
  private upgrade(family: Family, keyField: string, body: Body, nowMs: number): Outcome | Promise<Outcome> {
    const f = this.faults;
    const key = str(body[keyField]);
    const app = this.lookup(family, key);
    if (!app) return outcome(Code.RESOURCE_NOT_FOUND, null, `no ${family} app with key "${key}"`);
    const clientCode = num(body.versionCode);
    const appoint = f.has('ignore-appoint-version') ? 0 : num(body.appointVersionCode);
    const arch = str(body.arch);
    const matchArch = ARCH_FAMILIES.has(family) && arch !== '' && !f.has('ignore-arch');
    const candidates: Strategy[] = [];
    for (const s of app.strategies) {
      if (!s.enabled) continue;
      if (!f.has('ignore-begin-end-times') && !(s.beginMs <= nowMs && nowMs < s.endMs)) continue;
      if (!s.version) return outcome(Code.DATA_INVALID, null, `strategy ${s.id}: target version ${s.versionId} does not exist`);
      if (s.version.versionCode <= clientCode) continue;
      if (matchArch && s.version.arch !== arch) continue;
      if (appoint > 0 && s.version.versionCode !== appoint) continue;
      candidates.push(s);
    }
    const direction = f.has('oldest-strategy-first') ? -1 : 1;
    candidates.sort((a, b) => direction * (b.version!.versionCode - a.version!.versionCode) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const devKey = str(body.devKey);
    const devModelKey = str(body.devModelKey);
    for (const s of candidates) {
      const problem = inconsistent(s);
      if (problem) return outcome(Code.DATA_INVALID, null, problem);
      if (!this.targeted(s, devKey, devModelKey)) continue;
      const gray = this.grayRule(s, nowMs);
      if (typeof gray === 'string') return outcome(Code.DATA_INVALID, null, gray);
      if (gray && !this.grayPasses(gray, devKey)) continue;
      return this.answer(family, key, app, s, gray, devKey, nowMs);
    }
    return this.latest(family, app, nowMs);
  }

  // §6.3
  private targeted(s: Strategy, devKey: string, devModelKey: string): boolean {
    if (this.faults.has('ignore-device-targeting') || s.targetingType === 0) return true;
    if (s.targetingType === 1) return devKey !== '' && s.devKeys.has(devKey);
    return devModelKey !== '' && s.modelKeys.has(devModelKey);
  }

  // §6.4: the active rule, null (no gate) or a 500002 reason.
  private grayRule(s: Strategy, nowMs: number): GrayRule | null | string {
    if (!s.grayEnabled || this.faults.has('ignore-gray-release')) return null;
    const rule = s.grayRules.find((r) => r.enabled && r.beginMs <= nowMs && nowMs < r.endMs);
    if (!rule) return null;
    if (!(rule.limit >= 1)) return `strategy ${s.id}: gray rule ${rule.id} limit ${rule.limit} is below 1`;
    return rule;
  }

  private grayPasses(rule: GrayRule, devKey: string): boolean {
    if (devKey === '') return false;
    if (this.faults.has('gray-counts-requests')) return (this.grayRequests.get(rule.key) ?? 0) < rule.limit;
    const admitted = this.grayAdmitted.get(rule.key);
    if (admitted?.has(devKey)) return true;
    return (admitted?.size ?? 0) < rule.limit;
  }

  private admit(rule: GrayRule, devKey: string): void {
    if (this.faults.has('gray-counts-requests')) {
      this.grayRequests.set(rule.key, (this.grayRequests.get(rule.key) ?? 0) + 1);
      return;
    }
    let admitted = this.grayAdmitted.get(rule.key);
    if (!admitted) this.grayAdmitted.set(rule.key, (admitted = new Set()));
    admitted.add(devKey);
  }

  // §6.5: the active rule, null (no limit) or a 500002 reason.
  private flowRule(s: Strategy, nowMs: number): FlowRule | null | string {
    if (!s.flowEnabled) return null;
    const second = Math.floor(nowMs / 1000);
    const secondOfDay = ((second % 86_400) + 86_400) % 86_400;
    const rule = s.flowRules.find((r) => r.enabled && r.beginSecond <= secondOfDay && secondOfDay <= r.endSecond);
    if (!rule) return null;
    if (!WINDOW_SECONDS[rule.dimension]) return `strategy ${s.id}: flow rule ${rule.id} dimension ${rule.dimension} is not 1-4`;
    if (!(rule.limit >= 1)) return `strategy ${s.id}: flow rule ${rule.id} limit ${rule.limit} is below 1`;
    return rule;
  }

  private counter(rule: FlowRule, nowMs: number): { window: number; count: number } {
    const window = Math.floor(Math.floor(nowMs / 1000) / WINDOW_SECONDS[rule.dimension]!);
    let counter = this.flowCounters.get(rule.key);
    if (!counter || counter.window !== window) {
      counter = { window, count: 0 };
      this.flowCounters.set(rule.key, counter);
    }
    return counter;
  }

  private limitOf(rule: FlowRule): number {
    return this.faults.has('flow-limit-off-by-one') ? rule.limit + 1 : rule.limit;
  }

  private answer(family: Family, key: string, app: App, s: Strategy, gray: GrayRule | null, devKey: string, nowMs: number): Outcome | Promise<Outcome> {
    const rule = this.flowRule(s, nowMs);
    if (typeof rule === 'string') return outcome(Code.DATA_INVALID, null, rule);
    const success = (): Outcome => {
      if (gray) this.admit(gray, devKey);
      return outcome(Code.OK, this.present(upgradeData(family, key, app, s.version!, s)));
    };
    if (!rule) return success();
    if (this.faults.has('flow-limit-not-atomic')) {
      // Read, yield, then write: the classic lost update.
      const seen = this.counter(rule, nowMs).count;
      return new Promise<void>((resolve) => setImmediate(resolve)).then((): Outcome => {
        if (seen >= this.limitOf(rule)) return outcome(Code.FLOW_LIMITED, null, `flow rule ${rule.id} exhausted`);
        this.counter(rule, nowMs).count = seen + 1;
        return success();
      });
    }
    const counter = this.counter(rule, nowMs);
    if (counter.count >= this.limitOf(rule)) return outcome(Code.FLOW_LIMITED, null, `flow rule ${rule.id} allowed ${counter.count} in this window`);
    counter.count++;
    return success();
  }

  private present(data: Body): Body | null {
    if (this.faults.has('upgrade-data-null')) return null;
    if (this.faults.has('upgrade-type-always-prompt')) data.upgradeType = 1;
    if (this.faults.has('wrong-field-type')) data.versionCode = String(data.versionCode);
    return data;
  }

  private latest(family: Family, app: App, nowMs: number): Outcome {
    if (this.faults.has('flow-limit-counts-latest')) {
      for (const s of app.strategies) {
        const rule = this.flowRule(s, nowMs);
        if (rule && typeof rule !== 'string') this.counter(rule, nowMs).count++;
      }
    }
    const code = this.faults.has('latest-code-200') ? Code.OK : Code.LATEST;
    return outcome(code, upgradeData(family, '', null, null, null));
  }

  // §6.6
  private version(family: Family, keyField: string, body: Body): Outcome {
    const key = str(body[keyField]);
    const app = this.lookup(family, key);
    if (!app) return outcome(Code.RESOURCE_NOT_FOUND, null, `no ${family} app with key "${key}"`);
    let code: number | null;
    if (family === 'tauri' || family === 'electron') {
      code = semverCode(str(body.versionName));
      if (code === null) return outcome(Code.INVALID_PARAMETER, null, 'versionName is not MAJOR.MINOR.PATCH');
    } else code = num(body.versionCode);
    const arch = str(body.arch);
    const target = str(body.target);
    const platform = str(body.platform);
    const version = app.versions.find(
      (v) =>
        v.versionCode === code &&
        (!(ARCH_FAMILIES.has(family) || family === 'tauri' || family === 'electron') || arch === '' || v.arch === arch) &&
        (family !== 'tauri' || v.target === target) &&
        (family !== 'electron' || v.platform === platform),
    );
    if (!version) {
      const missing = this.faults.has('unknown-version-404001') ? Code.RESOURCE_NOT_FOUND : Code.RECORD_NOT_FOUND;
      return outcome(missing, null, `${family} app "${key}" has no version ${code}`);
    }
    const v = version;
    let data: Body;
    switch (family) {
      case 'file':
        data = { fileKey: key, packageName: app.packageName, versionName: v.versionName, versionCode: v.versionCode, description: v.description };
        break;
      case 'url':
      case 'configuration':
        data = { [keyField]: key, versionName: v.versionName, versionCode: v.versionCode, description: v.description };
        break;
      case 'apk':
        data = { apkKey: key, packageName: app.packageName, versionName: v.versionName, versionCode: v.versionCode, description: v.description };
        break;
      case 'tauri':
        data = { tauriKey: key, target: v.target, arch: v.arch, versionName: v.versionName, versionCode: v.versionCode, description: v.description };
        break;
      case 'electron':
        data = { electronKey: key, platform: v.platform, arch: v.arch, versionName: v.versionName, versionCode: v.versionCode, description: v.description };
        break;
      default:
        data = { [keyField]: key, packageName: app.packageName, versionName: v.versionName, versionCode: v.versionCode, arch: v.arch, description: v.description };
    }
    if (this.faults.has('wrong-field-type')) data.versionCode = String(data.versionCode);
    return outcome(Code.OK, data);
  }

  // §2.7
  private report(body: Body): Outcome {
    const key = str(body.appKey);
    const app = this.fixtures.anyApp.get(key);
    if (app?.failInternally) throw new InternalFailure(`app ${key} is flagged failInternally`);
    if (!app) return outcome(Code.RESOURCE_NOT_FOUND, null, `no app with key "${key}"`);
    return outcome(Code.LATEST, null);
  }
}

/** Rules the request schema cannot state (checked in the validation stage, after the schema). */
export function extraChecks(op: Operation, body: Body): { missing: string[]; invalid: string[] } {
  const missing: string[] = [];
  const invalid: string[] = [];
  if (op.kind === 'report') {
    if (typeof body.timestamp === 'string' && !parseTimestamp(body.timestamp)) invalid.push('timestamp is not RFC3339');
    if (body.eventType === 'app_start') {
      const eventData = body.eventData;
      const launchTime = eventData && typeof eventData === 'object' ? (eventData as Body).launchTime : undefined;
      if (launchTime === undefined) missing.push('eventData.launchTime');
      else if (typeof launchTime === 'string' && !parseTimestamp(launchTime)) invalid.push('eventData.launchTime is not RFC3339');
    }
  }
  if ((op.family === 'tauri' || op.family === 'electron') && typeof body.versionName === 'string' && semverCode(body.versionName) === null) {
    invalid.push('versionName is not MAJOR.MINOR.PATCH');
  }
  return { missing, invalid };
}
