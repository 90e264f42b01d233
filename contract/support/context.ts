// What every contract test file imports: the resolved target, `rule()` (a test that declares the
// capabilities it needs), `send()` (call + record for the report) and the sandbox clock.
import { inject, it, type TestContext } from 'vitest';
import { sendRaw } from '../../lib/client/raw.ts';
import { call, callBurst, type CallSpec, type Exchange } from './exchange.ts';
import { asFixtures, type Fixtures } from './operations.ts';
import type { Capabilities, ResolvedTarget } from './target.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    contract: ResolvedTarget;
  }
}

/** What the report shows of each request a test made (secret masked). */
export interface RecordedExchange {
  request: Exchange['request'];
  status: number;
  responseBody: string;
  reproduce: string;
  curl: string;
}

declare module '@vitest/runner' {
  interface TaskMeta {
    exchanges?: RecordedExchange[];
    requestCount?: number;
  }
}

export const target: ResolvedTarget = inject('contract');
export const fx: Fixtures = asFixtures(target.fixtures);

/** Why each capability matters, shown when a test is skipped for lacking it. */
const CAPABILITY_REASONS: Record<keyof Capabilities, string> = {
  verifiesSignatures: 'it does not verify request signatures',
  rejectsReplays: 'it does not enforce the timestamp window and single-use nonces',
  hasFixtures: 'it does not hold the fixture apps, versions and strategies this test names',
  enforcesFlowLimits: 'it does not enforce strategy flow limits (or has no flow-limited fixture strategy)',
  clockControl: 'its clock cannot be read, frozen or set from the test',
  validatesRequests: 'it does not answer malformed requests with the contract\'s 4000xx codes',
  routesUnknownPaths: 'it does not answer unknown paths with 404003/404004 envelopes',
  faultFixtures: 'it has no fixture records that produce 500001/500002',
  servesExamples: 'it does not serve documented responses on request (Prefer: code=…)',
  hasDisabledAccessKey: 'it has no disabled access key to test with',
};

export function missingCapabilities(needs: ReadonlyArray<keyof Capabilities>): string | undefined {
  const missing = needs.filter((c) => !target.capabilities[c]);
  if (missing.length === 0) return undefined;
  return `target "${target.name}" lacks ${missing.join(', ')} (${missing.map((c) => CAPABILITY_REASONS[c]).join('; ')})`;
}

// The test whose requests are being recorded. Set by rule(): tests within a file run one at a time,
// and a setup-file hook would not do (with isolate: false the module is evaluated once per worker).
let currentTask: TestContext['task'] | undefined;

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

const SIGNING_HEADERS = new Set(['x-timestamp', 'x-nonce', 'x-accesskey', 'x-signature', 'content-type']);

/**
 * A command that sends the same request again with the project's CLI, freshly signed (new timestamp
 * and nonce; secret from UPGRADELINK_SECRET_KEY). The CLI signs honestly, so for a deliberately
 * mis-signed request the exact bytes are in the curl command of the report instead.
 */
export function reproduceCommand(ex: Exchange): string {
  const r = ex.request;
  const accessKey = r.headers.find(([k]) => k.toLowerCase() === 'x-accesskey')?.[1] ?? target.accessKey;
  const parts = ['npx upgradelink-contract call', '--method', r.method, '--url', shellQuote(r.url), '--access-key', shellQuote(accessKey)];
  for (const [name, value] of r.headers) if (!SIGNING_HEADERS.has(name.toLowerCase())) parts.push('--header', shellQuote(`${name}: ${value}`));
  parts.push('--body', shellQuote(r.body.length > 400 ? `${r.body.slice(0, 400)}…` : r.body));
  return parts.join(' ');
}

/** The exact request as sent (stale timestamp and nonce: the target will now answer 401001). */
export function curlCommand(ex: Exchange): string {
  const r = ex.request;
  const parts = ['curl -sS --path-as-is -X', r.method, shellQuote(r.url)];
  for (const [name, value] of r.headers) parts.push('-H', shellQuote(`${name}: ${value}`));
  if (r.bodyBytes > 0) parts.push('--data-binary', shellQuote(r.body.length > 400 ? `${r.body.slice(0, 400)}…` : r.body));
  return parts.join(' ');
}

function record(ex: Exchange): void {
  const task = currentTask;
  if (!task) return;
  const meta = task.meta;
  meta.requestCount = (meta.requestCount ?? 0) + 1;
  const list = (meta.exchanges ??= []);
  list.push({
    request: ex.request,
    status: ex.response.status,
    responseBody: ex.response.bodyText.length > 1000 ? `${ex.response.bodyText.slice(0, 1000)}…` : ex.response.bodyText,
    reproduce: reproduceCommand(ex),
    curl: curlCommand(ex),
  });
  // The last request is the one a failure is about; keep a few for context.
  if (list.length > 3) list.splice(0, list.length - 3);
}

/** Acts through the signed client and records the exchange for the report. */
export async function send(spec: CallSpec): Promise<Exchange> {
  const ex = await call(target, spec);
  record(ex);
  return ex;
}

/** Sends many requests so that they arrive together; the first is recorded for the report. */
export async function sendAll(specs: CallSpec[]): Promise<Exchange[]> {
  const all = await callBurst(target, specs);
  if (all[0]) record(all[0]);
  if (currentTask) currentTask.meta.requestCount = (currentTask.meta.requestCount ?? 0) + all.length - 1;
  return all;
}

export interface RuleOptions {
  needs?: ReadonlyArray<keyof Capabilities>;
  timeout?: number;
}

/**
 * A contract test that declares up front which capabilities it needs. On a target that lacks one it
 * is skipped with the reason, which the report shows.
 */
export function rule(name: string, options: RuleOptions, fn: (ctx: TestContext) => Promise<void>): void {
  const needs = options.needs ?? [];
  it(
    name,
    async (ctx) => {
      currentTask = ctx.task;
      const missing = missingCapabilities(needs);
      if (missing) {
        ctx.skip(missing);
        return;
      }
      await fn(ctx);
    },
    options.timeout,
  );
}

/** A fixture key from the target description; a missing one skips the test with the reason. */
export function fixture<T = unknown>(ctx: TestContext, path: string): T {
  let node: unknown = target.fixtures;
  for (const part of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  if (node === undefined || node === null) {
    ctx.skip(`target "${target.name}" names no fixtures.${path} in its description`);
  }
  return node as T;
}

// ---- sandbox clock (control API, loopback only) ---------------------------------------------------

export interface ClockState {
  nowMs: number;
  frozen: boolean;
  raw: unknown;
}

async function control(method: string, path: string, body?: unknown): Promise<unknown> {
  if (!target.controlUrl) throw new Error(`target "${target.name}" has no control API`);
  const response = await sendRaw({
    baseUrl: target.controlUrl,
    method,
    target: path,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status >= 300) throw new Error(`control ${method} ${path} → HTTP ${response.status}: ${response.bodyText}`);
  return response.json;
}

function clockState(raw: unknown): ClockState {
  const r = (raw ?? {}) as Record<string, unknown>;
  const iso = r.now ?? r.time ?? r.iso;
  const nowMs = typeof r.nowMs === 'number' ? r.nowMs : typeof r.epochMs === 'number' ? r.epochMs : typeof iso === 'string' ? Date.parse(iso) : NaN;
  if (!Number.isFinite(nowMs)) throw new Error(`control GET /clock: cannot read the time from ${JSON.stringify(raw)}`);
  return { nowMs, frozen: Boolean(r.frozen), raw };
}

export const clock = {
  get: async () => clockState(await control('GET', '/clock')),
  freeze: async () => clockState(await control('POST', '/clock', { freeze: true })),
  unfreeze: async () => clockState(await control('POST', '/clock', { unfreeze: true })),
  set: async (iso: string) => clockState(await control('POST', '/clock', { set: iso })),
  offset: async (offsetMs: number) => clockState(await control('POST', '/clock', { offsetMs })),
  /** Back to real time, running (unfreeze first: an offset set while frozen would freeze again). */
  restore: async () => {
    await control('POST', '/clock', { unfreeze: true });
    return clockState(await control('POST', '/clock', { offsetMs: 0 }));
  },
};

/**
 * Hour and day flow windows are aligned to the epoch; a burst straddling a boundary could see two
 * windows' quotas. Wait out the last seconds of an hour (which includes UTC midnight) first.
 */
export async function awayFromHourBoundary(marginMs = 3000): Promise<void> {
  const untilBoundary = 3_600_000 - (Date.now() % 3_600_000);
  if (untilBoundary < marginMs) await new Promise((resolve) => setTimeout(resolve, untilBoundary + 250));
}
