// What every contract test file imports: the resolved target, `test()` (a test of one rule, on one
// operation, declaring what the harness must be able to do), `send()` / `sendAll()` (act and record
// for the report), `ok()` (the typed client, for happy paths), `use()` (a fixture role) and the
// sandbox clock.
import { inject, it, type TestContext } from 'vitest';
import { createUpgradeLinkClient, type PostPath, type RequestBodyOf, type UpgradeLinkClient } from '../../lib/client/index.ts';
import { sendRaw, type RawResponse } from '../../lib/client/raw.ts';
import { OPERATIONS, type Operation } from '../../lib/spec/index.ts';
import { isMissing, type Role } from '../fixtures.ts';
import { ruleById, type RuleId } from '../rules.ts';
import { OK_BODIES } from './bodies.ts';
import { call, callBurst, displayBody, operationOf, prismViolations, transportFailure, type RequestPlan, type Exchange } from './exchange.ts';
import { CAPABILITY_REASONS, type Capabilities, type ResolvedTarget } from './target.ts';

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
  /** `npx upgradelink-contract call …`: the same request freshly signed. */
  reproduce: string;
  /** The exact bytes as sent (stale timestamp and nonce). */
  curl: string;
}

declare module '@vitest/runner' {
  interface TaskMeta {
    rule?: string;
    operation?: string | null;
    after?: string[];
    exchanges?: RecordedExchange[];
    requestCount?: number;
  }
}

export const target: ResolvedTarget = inject('contract');
export const fx = target.fixtures;

export type Need = keyof Capabilities;

export interface TestOptions {
  /** The operation the test exercises: its baseline comes first, and findings list it. */
  op?: Operation | null;
  /** What the harness must be able to do (never what the target does: every rule runs everywhere). */
  needs?: readonly Need[];
  /** Also runs against the Prism mock (schema tests only). */
  onMock?: boolean;
  /**
   * Rules this one test comes after, beyond its rule's: when one of them already failed on the same
   * operation, this test's failure cannot be told apart from it and is reported as blocked.
   */
  after?: readonly RuleId[];
  timeout?: number;
}

// The test whose requests are being recorded. Set by test(): tests within a file run one at a time,
// and a setup-file hook would not do (with isolate: false the module is evaluated once per worker).
let currentTask: TestContext['task'] | undefined;

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

const SIGNING_HEADERS = new Set(['x-timestamp', 'x-nonce', 'x-accesskey', 'x-signature', 'content-type']);

/**
 * A command that sends the same request again with the project's CLI, freshly signed (new timestamp
 * and nonce; secret from UPGRADELINK_SECRET_KEY). The CLI signs honestly, so for a deliberately
 * mis-signed request the exact bytes are in the curl command instead.
 */
export function reproduceCommand(ex: Exchange): string {
  const r = ex.request;
  const accessKey = r.headers.find(([k]) => k.toLowerCase() === 'x-accesskey')?.[1] ?? target.accessKey;
  const parts = ['npx upgradelink-contract call', '--method', r.method, '--url', shellQuote(r.url), '--access-key', shellQuote(accessKey)];
  for (const [name, value] of r.headers) if (!SIGNING_HEADERS.has(name.toLowerCase())) parts.push('--header', shellQuote(`${name}: ${value}`));
  parts.push('--body', shellQuote(r.body.length > 400 ? `${r.body.slice(0, 400)}…` : r.body));
  return parts.join(' ');
}

/** The exact request as sent (stale timestamp and nonce: the target will now answer Code.AUTH_FAILED). */
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

/** Acts on the target with a raw (possibly mis-signed) request and records the exchange for the report. */
export async function send(plan: RequestPlan): Promise<Exchange> {
  const ex = await call(target, plan);
  record(ex);
  return ex;
}

/** Sends many requests so that they arrive together; the first is recorded for the report. */
export async function sendAll(plans: RequestPlan[]): Promise<Exchange[]> {
  const all = await callBurst(target, plans);
  if (all[0]) record(all[0]);
  if (currentTask) currentTask.meta.requestCount = (currentTask.meta.requestCount ?? 0) + all.length - 1;
  return all;
}

let client: UpgradeLinkClient | undefined;

/** The typed client (lib/client) on the target: what the happy paths go through, as an integrator's code would. */
export async function sendTyped<P extends PostPath>(path: P, body: RequestBodyOf<P>): Promise<Exchange> {
  client ??= createUpgradeLinkClient({ baseUrl: target.baseUrl, accessKey: target.accessKey, secretKey: target.secretKey });
  const started = performance.now();
  let result;
  try {
    result = await client.post(path, body, { signal: AbortSignal.timeout(target.requestTimeoutMs) });
  } catch (error) {
    transportFailure('POST', `${target.baseUrl}${path}`, error, target.requestTimeoutMs);
  }
  const x = result.exchange;
  const bodyText = x.response?.bodyText ?? '';
  let json: unknown;
  try {
    json = bodyText === '' ? undefined : JSON.parse(bodyText);
  } catch {
    json = undefined;
  }
  const response: RawResponse = {
    status: result.status,
    headers: result.headers,
    rawHeaders: Object.entries(result.headers),
    bodyText,
    bodyBytes: new Uint8Array(Buffer.from(bodyText, 'utf8')),
    json,
    durationMs: performance.now() - started,
  };
  const route = target.prism === 'proxy' ? 'prism-proxy' : target.prism === 'mock' ? 'prism-mock' : 'direct';
  const ex: Exchange = {
    operation: operationOf('POST', path),
    request: {
      method: 'POST',
      target: path,
      url: `${target.directUrl}${path}`,
      headers: x.request.headers,
      body: displayBody(x.request.bodyText, target.secretKey),
      bodyBytes: Buffer.byteLength(x.request.bodyText),
      route,
    },
    response,
    violations: prismViolations(result.headers, route),
  };
  record(ex);
  return ex;
}

/** Why the harness cannot run a test with these needs here, or undefined. */
export function unmetNeeds(needs: readonly Need[]): string | undefined {
  const missing = needs.filter((n) => !target.capabilities[n]);
  if (missing.length === 0) return undefined;
  return `target "${target.name}": ${missing.map((n) => CAPABILITY_REASONS[n]).join('; ')}`;
}

/** A fixture role's value; a missing role (not in the fixtures file, or not on the target) skips the test, naming it. */
export function use<T>(ctx: TestContext, role: Role<T>): T {
  if (isMissing(role)) ctx.skip(role.missing);
  return role as T;
}

/** A body the operation answers with success (skips, naming the role, when its fixture is missing). */
export function okBody<P extends PostPath>(ctx: TestContext, path: P): RequestBodyOf<P> {
  return use(ctx, OK_BODIES[path](fx) as Role<RequestBodyOf<P>>);
}

/** The operation at a path (from the generated module). */
export function operation(path: PostPath): Operation {
  const found = OPERATIONS.find((o) => o.path === path);
  if (!found) throw new Error(`no operation ${path} in generated/operations.ts`);
  return found;
}

/**
 * A contract test: it checks one rule (its failures become findings of the rule of the first failing
 * check), on one operation (whose baseline comes first), and declares what the harness must be able
 * to do. The rule id is part of the name, so a run can be narrowed to rules (`--rule`).
 */
export function test(rule: RuleId, title: string, options: TestOptions, fn: (ctx: TestContext) => Promise<void>): void {
  ruleById(rule); // fails at collection for an unknown id
  it(
    `${title} [${rule}]`,
    async (ctx) => {
      currentTask = ctx.task;
      ctx.task.meta.rule = rule;
      ctx.task.meta.operation = options.op?.path ?? null;
      if (options.after) ctx.task.meta.after = [...options.after];
      if (target.kind === 'mock' && !options.onMock) {
        ctx.skip('target "mock" is a Prism mock serving the spec\'s examples: only the schema tests run against it');
        return;
      }
      const unmet = unmetNeeds(options.needs ?? []);
      if (unmet) {
        ctx.skip(unmet);
        return;
      }
      await fn(ctx);
    },
    options.timeout,
  );
}

// ---- sandbox clock (control API, loopback only) ---------------------------------------------------

export interface ClockState {
  nowMs: number;
  frozen: boolean;
}

async function control(method: string, path: string, body?: unknown): Promise<ClockState> {
  if (!target.controlUrl) throw new Error(`target "${target.name}" has no control API`);
  const response = await sendRaw({
    baseUrl: target.controlUrl,
    method,
    target: path,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    timeoutMs: 5_000,
  });
  if (response.status >= 300) throw new Error(`control ${method} ${path} → HTTP ${response.status}: ${response.bodyText}`);
  const r = (response.json ?? {}) as { now?: string; frozen?: boolean };
  const nowMs = typeof r.now === 'string' ? Date.parse(r.now) : Number.NaN;
  if (!Number.isFinite(nowMs)) throw new Error(`control ${method} ${path}: cannot read the time from ${response.bodyText}`);
  return { nowMs, frozen: Boolean(r.frozen) };
}

export const clock = {
  get: () => control('GET', '/clock'),
  freeze: () => control('POST', '/clock', { freeze: true }),
  set: (iso: string) => control('POST', '/clock', { set: iso }),
  /** Back to real time, running (unfreeze first: an offset set while frozen would freeze again). */
  restore: async () => {
    await control('POST', '/clock', { unfreeze: true });
    return control('POST', '/clock', { offsetMs: 0 });
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

/** Device keys and nonces unique to this run, so a long-lived target (staging) sees new ones each time. */
export const RUN_ID = `${Date.now().toString(36)}${process.pid.toString(36)}`;
let counter = 0;
export const uniqueNonce = (label: string): string => `${label}-${RUN_ID}-${counter++}`.padEnd(16, '0');
export const device = (label: string): string => `contract-${RUN_ID}-${label}`;
