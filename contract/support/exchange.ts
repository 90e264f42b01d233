// Acting on the target: one signed (or deliberately mis-signed) request over node:http, recorded for
// the report. Requests go through the Prism validation proxy when it runs and when Prism would
// forward them byte for byte; everything else goes straight to the target (see README, "Prism").
import { sendRaw, signedHeaders, type RawResponse } from '../../lib/client/raw.ts';
import { isDocumented, loadBundle } from '../../lib/spec/index.ts';
import { maskSecret } from '../../lib/signing/index.ts';
import { sendBurst } from './burst.ts';
import { fail } from './checks.ts';
import type { ResolvedTarget } from './target.ts';

export interface PrismViolation {
  location?: string[];
  severity?: string;
  code?: string | number;
  message?: string;
}

export interface SignOverrides {
  accessKey?: string;
  secretKey?: string;
  nonce?: string;
  timestamp?: string;
  /** Sign this target instead of the one sent. */
  target?: string;
  /** Sign these body bytes instead of the ones sent. */
  body?: string | Uint8Array;
  /** Sign as this method (GET leaves out the body part). */
  method?: string;
  /** Rewrite the computed signature (e.g. uppercase it). */
  transform?: (signature: string) => string;
}

export interface RequestPlan {
  /** Request target: path plus optional `?query`, sent verbatim. */
  target: string;
  method?: string;
  /** An object is sent as compact JSON (JSON.stringify); a string or bytes are sent as they are. */
  body?: unknown;
  /** Content-Type value; null sends none. Default `application/json`. */
  contentType?: string | null;
  /** Signing overrides, or false to send no signing headers at all. */
  sign?: SignOverrides | false;
  /** Signing headers to leave out (any case). */
  omit?: string[];
  /** Replace a signing header's value after signing. */
  replace?: Record<string, string>;
  /** How to spell the signing header names: as REFERENCE writes them, lowercase, or as the SDKs do. */
  headerCase?: 'canonical' | 'lower' | 'upper' | 'sdk';
  /** Extra header pairs, appended as written. */
  headers?: Array<[string, string]>;
  /** 'direct' bypasses the Prism proxy. */
  via?: 'auto' | 'direct';
  chunkSize?: number;
}

export interface RecordedRequest {
  method: string;
  target: string;
  url: string;
  headers: Array<[string, string]>;
  /** The body as text (masked, cut to 2 000 characters for the report). */
  body: string;
  bodyBytes: number;
  route: 'prism-proxy' | 'direct' | 'prism-mock';
  /** Why the request bypassed the proxy. */
  routeNote?: string;
}

export interface Exchange {
  /** The documented path this request addresses (query and one trailing `/` removed), if any. */
  operation?: string;
  request: RecordedRequest;
  response: RawResponse;
  violations: PrismViolation[];
}

export function bodyBytes(body: unknown): Uint8Array | string {
  if (body === undefined) return '';
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  return JSON.stringify(body);
}

/** The documented path a target addresses, if any. */
export function operationOf(method: string, target: string): string | undefined {
  const path = target.split('?')[0]!;
  const candidates = [path, path.endsWith('/') ? path.slice(0, -1) : undefined];
  for (const c of candidates) if (c && isDocumented(loadBundle(), 'POST', c)) return c;
  void method;
  return undefined;
}

/**
 * Prism's proxy re-serialises JSON bodies (whitespace, `\u` escapes, `1.0`, duplicate keys), rewrites
 * query strings (`%20` → `+`, `?a` → `?a=`, `%zz` → `%25zz`), answers malformed JSON itself with a
 * non-envelope 400, and lowercases header names. A request only goes through it when none of that
 * can change what the target receives.
 */
export function proxyUnsafeReason(plan: RequestPlan, method: string, body: Uint8Array | string, headerNames: string[]): string | undefined {
  if (plan.via === 'direct') return 'sent directly by the test';
  if (method !== 'POST') return 'method other than POST';
  const path = plan.target;
  if (path.includes('?') || path.includes('#')) return 'query string (Prism re-encodes it)';
  if (!isDocumented(loadBundle(), 'POST', path)) return 'path not in the spec';
  if (plan.contentType !== undefined && plan.contentType !== 'application/json') return 'non-default Content-Type';
  if (plan.chunkSize) return 'chunked body';
  if (plan.headerCase && plan.headerCase !== 'canonical') return 'header-name case under test (Prism lowercases names)';
  const lower = headerNames.map((h) => h.toLowerCase());
  if (new Set(lower).size !== lower.length) return 'repeated header';
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (size > 65_536) return 'body over 64 KiB (Prism takes most of a second to re-parse it)';
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  if (typeof body !== 'string' && !Buffer.from(text, 'utf8').equals(Buffer.from(body))) return 'body is not valid UTF-8';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'body is not JSON (Prism answers that itself)';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'body is not a JSON object';
  if (JSON.stringify(parsed) !== text) return 'body is not in compact JSON.stringify form (Prism re-serialises it)';
  return undefined;
}

function caseName(name: string, style: RequestPlan['headerCase']): string {
  switch (style) {
    case 'lower':
      return name.toLowerCase();
    case 'upper':
      return name.toUpperCase();
    case 'sdk':
      return name.replace(/^X-/, 'x-'); // x-Timestamp, x-Nonce, x-AccessKey, x-Signature
    default:
      return name;
  }
}

export function displayBody(body: Uint8Array | string, secret: string): string {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const cut = text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length} characters)` : text;
  return maskSecret(cut, secret);
}

interface Prepared {
  plan: RequestPlan;
  method: string;
  body: Uint8Array | string;
  headers: Array<[string, string]>;
  route: RecordedRequest['route'];
  routeNote: string | undefined;
  baseUrl: string;
}

function prepare(target: ResolvedTarget, plan: RequestPlan, forceDirect?: string): Prepared {
  const method = (plan.method ?? 'POST').toUpperCase();
  const body = bodyBytes(plan.body);
  const headers: Array<[string, string]> = [];
  if (plan.sign !== false) {
    const o = plan.sign ?? {};
    const signed = signedHeaders({
      method: o.method ?? method,
      target: o.target ?? plan.target,
      body: o.body ?? body,
      accessKey: o.accessKey ?? target.accessKey,
      secretKey: o.secretKey ?? target.secretKey,
      ...(o.nonce !== undefined ? { nonce: o.nonce } : {}),
      ...(o.timestamp !== undefined ? { timestamp: o.timestamp } : {}),
    });
    if (o.transform) signed['X-Signature'] = o.transform(signed['X-Signature']);
    const omit = new Set((plan.omit ?? []).map((h) => h.toLowerCase()));
    for (const [name, value] of Object.entries(signed)) {
      if (omit.has(name.toLowerCase())) continue;
      const replaced = Object.entries(plan.replace ?? {}).find(([k]) => k.toLowerCase() === name.toLowerCase());
      headers.push([caseName(name, plan.headerCase), replaced ? replaced[1] : value]);
    }
  }
  const contentType = plan.contentType === undefined ? 'application/json' : plan.contentType;
  if (contentType !== null) headers.push(['Content-Type', contentType]);
  for (const pair of plan.headers ?? []) headers.push(pair);

  const unsafe = target.prism === 'proxy' ? (forceDirect ?? proxyUnsafeReason(plan, method, body, headers.map(([k]) => k))) : undefined;
  const route: RecordedRequest['route'] =
    target.prism === 'mock' ? 'prism-mock' : target.prism === 'proxy' && !unsafe ? 'prism-proxy' : 'direct';
  return { plan, method, body, headers, route, routeNote: unsafe, baseUrl: route === 'direct' ? target.directUrl : target.baseUrl };
}

/** Prism's `sl-violations` header, when the answer came through Prism. */
export function prismViolations(headers: Record<string, string>, route: RecordedRequest['route']): PrismViolation[] {
  const raw = headers['sl-violations'];
  if (!raw || route === 'direct') return [];
  try {
    return JSON.parse(raw) as PrismViolation[];
  } catch {
    return [{ location: ['response'], severity: 'Error', message: `unparsable sl-violations header: ${raw}` }];
  }
}

function finish(target: ResolvedTarget, p: Prepared, response: RawResponse): Exchange {
  const violations = prismViolations(response.headers, p.route);
  const secret = target.secretKey;
  return {
    operation: operationOf(p.method, p.plan.target),
    request: {
      method: p.method,
      target: p.plan.target,
      url: `${target.directUrl}${p.plan.target}`,
      headers: p.headers.map(([k, v]) => [k, maskSecret(v, secret)]),
      body: displayBody(p.body, secret),
      bodyBytes: typeof p.body === 'string' ? Buffer.byteLength(p.body) : p.body.length,
      route: p.route,
      ...(p.routeNote && target.prism === 'proxy' ? { routeNote: p.routeNote } : {}),
    },
    response,
    violations,
  };
}

/** A request that got no answer (timeout, refused, reset) fails the transport rule, naming the URL. */
export function transportFailure(method: string, url: string, error: unknown, timeoutMs: number): never {
  const reason = (error as Error).message ?? String(error);
  fail('transport.answered', 'answered', `${method} ${url} got no answer`, `an HTTP answer within ${timeoutMs / 1000} s`, reason);
}

/** Builds, signs and sends one request. */
export async function call(target: ResolvedTarget, plan: RequestPlan): Promise<Exchange> {
  const p = prepare(target, plan);
  let response: RawResponse;
  try {
    response = await sendRaw({
      baseUrl: p.baseUrl,
      method: p.method,
      target: plan.target,
      headers: p.headers,
      body: p.body,
      ...(plan.chunkSize ? { chunkSize: plan.chunkSize } : {}),
      timeoutMs: target.requestTimeoutMs,
    });
  } catch (error) {
    transportFailure(p.method, `${p.baseUrl}${plan.target}`, error, target.requestTimeoutMs);
  }
  return finish(target, p, response);
}

/**
 * Sends requests so that they reach the target together (see burst.ts). Always straight to the
 * target: a proxy in between would pass them on one by one.
 */
export async function callBurst(target: ResolvedTarget, plans: RequestPlan[]): Promise<Exchange[]> {
  const prepared = plans.map((s) => prepare(target, s, 'concurrency burst (last-byte synchronised)'));
  let responses: RawResponse[];
  try {
    responses = await sendBurst(
      prepared.map((p) => ({
        baseUrl: p.baseUrl,
        method: p.method,
        target: p.plan.target,
        headers: p.headers,
        body: typeof p.body === 'string' ? p.body : Buffer.from(p.body).toString('utf8'),
      })),
      target.requestTimeoutMs,
    );
  } catch (error) {
    transportFailure(prepared[0]?.method ?? 'POST', `${prepared[0]?.baseUrl ?? target.directUrl}${prepared[0]?.plan.target ?? ''} (burst of ${plans.length})`, error, target.requestTimeoutMs);
  }
  return prepared.map((p, i) => finish(target, p, responses[i]!));
}
