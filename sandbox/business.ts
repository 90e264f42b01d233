// Business logic (REFERENCE §6), the pipeline's last check: strategy choice, device targeting, gray
// release, flow limits, version lookup and event reports, as the `business` stage and its named
// decisions (see stages.ts for how stages and decisions fit together). Inconsistent fixture data met
// on the way is thrown as InconsistentData where it is met (the respond stage answers it Code.DATA_INVALID).
// Everything that counts (gray admissions, flow counters) runs synchronously, between awaits, so it
// is atomic in the single Node process.

import { Code } from '../lib/spec/index.ts';
import type { RequestState } from './exchange.ts';
import { semverCode, type App, type FlowRule, type GrayRule, type Strategy, type Version } from './fixtures.ts';
import { InconsistentData, InternalFailure, isSuccess, reject, succeed, type Outcome } from './outcome.ts';
import type { SignedOperation } from './operations.ts';
import type { Check } from './stages.ts';

type Body = Record<string, unknown>;

const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const num = (value: unknown): number => (typeof value === 'number' ? value : Number(value ?? 0) || 0);

/** What an upgrade request asks, read once from its body. */
export interface UpgradeRequest {
  readonly key: string;
  readonly versionCode: number;
  readonly appoint: number;
  readonly arch: string;
  readonly devKey: string;
  readonly devModelKey: string;
  /** Who gray release counts (see `grayDevice`). */
  readonly device: string;
}

export interface BusinessStage extends Check {
  /** The app a key names in the operation's family (the report: in any family). */
  findApp(x: RequestState, op: SignedOperation, key: string): App | undefined;
  /** The answer for an unknown app key. */
  appNotFound(x: RequestState, op: SignedOperation, key: string): Outcome;
  /** §6.2: the strategy chosen for an upgrade request, answered; or "already latest". */
  choose(x: RequestState, op: SignedOperation, app: App, request: UpgradeRequest, nowMs: number): Outcome | Promise<Outcome>;
  /** The app's strategies that are considered at all. */
  strategiesOf(x: RequestState, app: App): readonly Strategy[];
  /** beginAt ≤ now < endAt. */
  active(x: RequestState, strategy: Strategy, nowMs: number): boolean;
  /** lnx, mac (and win when `arch` is given): the build's arch is the one asked for. */
  archMatches(x: RequestState, op: SignedOperation, version: Version, arch: string): boolean;
  /** appointVersionCode > 0 keeps only that version. */
  appointMatches(x: RequestState, version: Version, appoint: number): boolean;
  /** Newest target version first, then strategy id. Sorts in place. */
  sortCandidates(x: RequestState, candidates: Strategy[]): void;
  /** §6.2 step 4: a candidate passes device targeting and gray release. */
  eligible(x: RequestState, strategy: Strategy, request: UpgradeRequest, nowMs: number): boolean;
  /** §6.3 */
  targeted(x: RequestState, strategy: Strategy, request: UpgradeRequest): boolean;
  /** §6.4: the first enabled, current gray rule, or null (no gate). */
  grayRuleOf(x: RequestState, strategy: Strategy, nowMs: number): GrayRule | null;
  /** Who gray release counts: the devKey (distinct devices, sticky). */
  grayDevice(x: RequestState, devKey: string): string;
  /** §6.2 steps 5–6: the chosen strategy's flow quota and gray admission, then the code-200 answer. */
  offer(x: RequestState, op: SignedOperation, app: App, strategy: Strategy, request: UpgradeRequest, nowMs: number): Outcome | Promise<Outcome>;
  /** §6.5: the first enabled rule whose daily window holds now, or null (no limit). */
  flowRuleOf(x: RequestState, strategy: Strategy, nowMs: number): FlowRule | null;
  /** Successes allowed per window. */
  flowLimitOf(x: RequestState, rule: FlowRule): number;
  /** Check and count one success against the rule's current window, in one step. */
  takeFlow(x: RequestState, rule: FlowRule, nowMs: number): boolean;
  /** The code-200 upgrade data: the target version, with the strategy's upgradeType and text. */
  offerData(x: RequestState, op: SignedOperation, key: string, app: App, strategy: Strategy): Body | null;
  /** A code-200 answer. */
  success(x: RequestState, data: unknown): Outcome;
  /** §6.6 "already latest": code 0 with the zero-value object. */
  latest(x: RequestState, op: SignedOperation, app: App | null): Outcome;
  /** §6.6 version lookup: the app's version with that code (and arch, target or platform). */
  versionOf(x: RequestState, op: SignedOperation, app: App, body: Body): Version | undefined;
  /** The answer for a version the app does not have. */
  versionMissing(x: RequestState, op: SignedOperation, key: string): Outcome;
}

/** §2.7: a report is accepted with code 0 and data null. */
const ACCEPTED: Outcome = Object.freeze(succeed(Code.LATEST, null));

export const business: BusinessStage = {
  run(x) {
    const d = x.stages.business;
    const op = x.operation!;
    const body = x.json!;
    const key = str(body[op.keyField]);
    const app = d.findApp(x, op, key);
    let outcome: Outcome | Promise<Outcome>;
    if (app === undefined) outcome = d.appNotFound(x, op, key);
    else if (op.kind === 'upgrade') outcome = d.choose(x, op, app, upgradeRequest(x, body, key), x.env.clock.now());
    else if (op.kind === 'version') outcome = lookUp(x, op, app, key, body);
    else outcome = ACCEPTED;
    return outcome instanceof Promise ? outcome.then((settled) => decided(x, settled)) : decided(x, outcome);
  },

  findApp(x, op, key) {
    const fixtures = x.env.fixtures;
    const app = op.family === null ? fixtures.anyApp.get(key) : fixtures.apps[op.family].get(key);
    if (app?.failInternally) throw new InternalFailure(`app ${app.family} ${key} is flagged failInternally`);
    return app;
  },
  appNotFound: (_x, op, key) => reject(Code.RESOURCE_NOT_FOUND, `no ${op.family === null ? '' : `${op.family} `}app with key "${key}"`),

  choose(x, op, app, request, nowMs) {
    const d = x.stages.business;
    const candidates: Strategy[] = [];
    for (const s of d.strategiesOf(x, app)) {
      if (!s.enabled || !d.active(x, s, nowMs)) continue;
      const version = targetVersion(s);
      if (version.versionCode <= request.versionCode) continue;
      if (!d.archMatches(x, op, version, request.arch) || !d.appointMatches(x, version, request.appoint)) continue;
      candidates.push(s);
    }
    d.sortCandidates(x, candidates);
    // Walk: the first candidate that passes targeting and gray release is chosen; a blocked one is skipped.
    for (const s of candidates) {
      assertConsistent(s);
      if (d.eligible(x, s, request, nowMs)) return d.offer(x, op, app, s, request, nowMs);
    }
    return d.latest(x, op, app);
  },
  strategiesOf: (_x, app) => app.strategies,
  active: (_x, s, nowMs) => s.beginMs <= nowMs && nowMs < s.endMs,
  archMatches: (_x, op, version, arch) => op.arch === 'none' || arch === '' || version.arch === arch,
  appointMatches: (_x, version, appoint) => appoint <= 0 || version.versionCode === appoint,
  sortCandidates(_x, candidates) {
    candidates.sort((a, b) => b.version!.versionCode - a.version!.versionCode || byId(a, b));
  },

  eligible(x, s, request, nowMs) {
    const d = x.stages.business;
    if (!d.targeted(x, s, request)) return false;
    const gray = d.grayRuleOf(x, s, nowMs);
    return gray === null || grayPasses(x, gray, request.device);
  },
  targeted(_x, s, request) {
    if (s.targetingType === 0) return true;
    if (s.targetingType === 1) return request.devKey !== '' && s.devKeys.has(request.devKey);
    return request.devModelKey !== '' && s.modelKeys.has(request.devModelKey);
  },
  grayRuleOf(_x, s, nowMs) {
    const rule = activeGrayRule(s, nowMs);
    if (rule !== null) assertNoProblem(grayRuleProblem(s, rule));
    return rule;
  },
  grayDevice: (_x, devKey) => devKey,

  offer(x, op, app, s, request, nowMs) {
    const d = x.stages.business;
    const flow = d.flowRuleOf(x, s, nowMs);
    if (flow !== null && !d.takeFlow(x, flow, nowMs)) return reject(Code.FLOW_LIMITED, `flow rule ${flow.id} of strategy ${s.id} is used up in this window`);
    // Only a code-200 answer admits a device (a Code.FLOW_LIMITED admits nobody).
    const gray = d.grayRuleOf(x, s, nowMs);
    if (gray !== null) x.env.gray.admit(gray, request.device);
    return d.success(x, d.offerData(x, op, request.key, app, s));
  },
  flowRuleOf(_x, s, nowMs) {
    const rule = activeFlowRule(s, nowMs);
    if (rule !== null) assertNoProblem(flowRuleProblem(s, rule));
    return rule;
  },
  flowLimitOf: (_x, rule) => rule.limit,
  takeFlow(x, rule, nowMs) {
    const counter = x.env.flow.counter(rule, nowMs);
    if (counter.count >= x.stages.business.flowLimitOf(x, rule)) return false;
    counter.count++;
    return true;
  },

  offerData: (_x, op, key, app, s) => upgradeData(op, key, app, s.version!, s),
  success: (_x, data) => succeed(Code.OK, data),
  latest: (_x, op) => succeed(Code.LATEST, upgradeData(op, '', null, null, null)),

  versionOf(_x, op, app, body) {
    const code = op.byVersionName ? semverCode(str(body.versionName)) : num(body.versionCode);
    if (code === null) return undefined;
    for (const v of app.versions) if (v.versionCode === code && matchesLookup(op, v, body)) return v;
    return undefined;
  },
  versionMissing: (_x, op, key) => reject(Code.RECORD_NOT_FOUND, `${op.family} app "${key}" has no such version`),
};

/** A success goes on to be answered; an error stops the pipeline here. */
function decided(x: RequestState, outcome: Outcome): Outcome | undefined {
  if (!isSuccess(outcome)) return outcome;
  x.outcome = outcome;
  return undefined;
}

function upgradeRequest(x: RequestState, body: Body, key: string): UpgradeRequest {
  const devKey = str(body.devKey);
  return {
    key,
    versionCode: num(body.versionCode),
    appoint: num(body.appointVersionCode),
    arch: str(body.arch),
    devKey,
    devModelKey: str(body.devModelKey),
    device: x.stages.business.grayDevice(x, devKey),
  };
}

function lookUp(x: RequestState, op: SignedOperation, app: App, key: string, body: Body): Outcome {
  const d = x.stages.business;
  const version = d.versionOf(x, op, app, body);
  return version === undefined ? d.versionMissing(x, op, key) : d.success(x, versionData(op, key, app, version));
}

function matchesLookup(op: SignedOperation, v: Version, body: Body): boolean {
  for (const field of op.lookupFields) if (v[field] !== body[field]) return false;
  return true;
}

const byId = (a: Strategy, b: Strategy): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function grayPasses(x: RequestState, rule: GrayRule, device: string): boolean {
  if (device === '') return false;
  const gray = x.env.gray;
  return gray.has(rule, device) || gray.size(rule) < rule.limit;
}

// ---- consistency (REFERENCE §5.2, Code.DATA_INVALID): checked where a request meets the record ------------------

function targetVersion(s: Strategy): Version {
  assertNoProblem(versionProblem(s));
  return s.version!;
}

function assertConsistent(s: Strategy): void {
  assertNoProblem(settingsProblem(s));
}

function assertNoProblem(problem: string | null): void {
  if (problem !== null) throw new InconsistentData(problem);
}

function versionProblem(s: Strategy): string | null {
  return s.version ? null : `strategy ${s.id}: target version ${s.versionId} does not exist`;
}

function settingsProblem(s: Strategy): string | null {
  if (s.upgradeType < 1 || s.upgradeType > 3) return `strategy ${s.id}: upgradeType ${s.upgradeType} is not 1-3`;
  if (s.targetingType < 0 || s.targetingType > 2) return `strategy ${s.id}: device-targeting type ${s.targetingType} is not 0-2`;
  return null;
}

function grayRuleProblem(s: Strategy, rule: GrayRule): string | null {
  return rule.limit >= 1 ? null : `strategy ${s.id}: gray rule ${rule.id} limit ${rule.limit} is below 1`;
}

function flowRuleProblem(s: Strategy, rule: FlowRule): string | null {
  if (WINDOW_SECONDS[rule.dimension] === undefined) return `strategy ${s.id}: flow rule ${rule.id} dimension ${rule.dimension} is not 1-4`;
  return rule.limit >= 1 ? null : `strategy ${s.id}: flow rule ${rule.id} limit ${rule.limit} is below 1`;
}

/** The first inconsistency a request could meet in a strategy now, or null. */
export function inconsistency(s: Strategy, nowMs: number): string | null {
  const gray = activeGrayRule(s, nowMs);
  const flow = activeFlowRule(s, nowMs);
  return versionProblem(s) ?? settingsProblem(s) ?? (gray && grayRuleProblem(s, gray)) ?? (flow && flowRuleProblem(s, flow)) ?? null;
}

/** §6.4: gray disabled → none; else the first enabled rule with beginAt ≤ now < endAt. */
function activeGrayRule(s: Strategy, nowMs: number): GrayRule | null {
  if (!s.grayEnabled) return null;
  for (const rule of s.grayRules) if (rule.enabled && rule.beginMs <= nowMs && nowMs < rule.endMs) return rule;
  return null;
}

/** §6.5: flow limit disabled → none; else the first enabled rule whose daily window holds the UTC time of day. */
export function activeFlowRule(s: Strategy, nowMs: number): FlowRule | null {
  if (!s.flowEnabled) return null;
  const secondOfDay = ((Math.floor(nowMs / 1000) % 86_400) + 86_400) % 86_400;
  for (const rule of s.flowRules) if (rule.enabled && rule.beginSecond <= secondOfDay && secondOfDay <= rule.endSecond) return rule;
  return null;
}

export function newestVersion(app: App): Version | undefined {
  let newest: Version | undefined;
  for (const v of app.versions) if (newest === undefined || v.versionCode > newest.versionCode) newest = v;
  return newest;
}

// ---- state: gray admissions and flow counters ---------------------------------------------------------

/** Admitted devices per gray rule. */
export class GrayAdmissions {
  private readonly admitted = new Map<string, Set<string>>();

  has(rule: GrayRule, device: string): boolean {
    return this.admitted.get(rule.key)?.has(device) ?? false;
  }

  size(rule: GrayRule): number {
    return this.admitted.get(rule.key)?.size ?? 0;
  }

  admit(rule: GrayRule, device: string): void {
    let devices = this.admitted.get(rule.key);
    if (!devices) this.admitted.set(rule.key, (devices = new Set()));
    devices.add(device);
  }

  clear(): void {
    this.admitted.clear();
  }
}

/** Fixed windows aligned to the Unix epoch, by flow-rule dimension (1 second … 4 day). */
const WINDOW_SECONDS: Readonly<Record<number, number>> = { 1: 1, 2: 60, 3: 3600, 4: 86_400 };

/** One counter per flow rule, for its current fixed window only (older windows are dropped). */
export class FlowCounters {
  private readonly counters = new Map<string, { window: number; count: number }>();

  counter(rule: FlowRule, nowMs: number): { window: number; count: number } {
    const window = Math.floor(Math.floor(nowMs / 1000) / WINDOW_SECONDS[rule.dimension]!);
    let counter = this.counters.get(rule.key);
    if (!counter || counter.window !== window) {
      counter = { window, count: 0 };
      this.counters.set(rule.key, counter);
    }
    return counter;
  }

  clear(): void {
    this.counters.clear();
  }
}

// ---- data: the family's answer objects --------------------------------------------------------------

/** The family's `data` object for code 200; with no version and strategy, the zero-value object of code 0. */
export function upgradeData(op: SignedOperation, key: string, app: App | null, version: Version | null, strategy: Strategy | null): Body {
  const v = version;
  const common = { versionName: v?.versionName ?? '', versionCode: v?.versionCode ?? 0 };
  const upgradeType = strategy?.upgradeType ?? 0;
  const prompt = strategy?.promptUpgradeContent ?? '';
  switch (op.family) {
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
        [op.keyField]: key, packageName: app?.packageName ?? '', ...common, arch: v?.arch ?? '', urlPath: v?.urlPath ?? '',
        urlFileSize: v?.urlFileSize ?? 0, urlFileMd5: v?.urlFileMd5 ?? '', upgradeType, promptUpgradeContent: prompt,
      };
  }
}

/** The family's `data` object for a version found (REFERENCE §2.4, §2.6). */
function versionData(op: SignedOperation, key: string, app: App, v: Version): Body {
  const common = { versionName: v.versionName, versionCode: v.versionCode, description: v.description };
  switch (op.family) {
    case 'url':
    case 'configuration':
      return { [op.keyField]: key, ...common };
    case 'tauri':
      return { tauriKey: key, target: v.target, arch: v.arch, ...common };
    case 'electron':
      return { electronKey: key, platform: v.platform, arch: v.arch, ...common };
    case 'file':
    case 'apk':
      return { [op.keyField]: key, packageName: app.packageName, ...common };
    default:
      return { [op.keyField]: key, packageName: app.packageName, ...common, arch: v.arch };
  }
}
