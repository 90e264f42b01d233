// The request pipeline: one linear pass in the check order of REFERENCE §4.3. Each stage either
// fills the exchange and returns undefined, or returns a Rejection that decides the answer. Nothing
// here throws on purpose; anything unexpected becomes 500001 in `handle`.

import {
  canonicalBytes,
  nonceWellFormed,
  parseTimestamp,
  percentDecode,
  verify,
  withinWindow,
  type ParsedTimestamp,
} from '../lib/signing/index.ts';
import { md5 } from '../lib/signing/node.ts';
import { Business, extraChecks, type Outcome } from './business.ts';
import type { SandboxClock } from './clock.ts';
import { Code, InternalFailure, MESSAGES, httpStatus, reject, type CodeValue, type Rejection } from './codes.ts';
import type { FaultSet } from './faults.ts';
import type { FixtureIndex } from './fixtures.ts';
import { badIntegerPaths, mayHaveBadIntegers } from './literals.ts';
import { NonceStore } from './nonces.ts';
import { isRequiredError, type Operation } from './spec.ts';

export const BODY_LIMIT_BYTES = 1_048_576;
const NO_BODY_LIMIT_BYTES = 16 * BODY_LIMIT_BYTES;
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const HEALTHZ_PATH = '/healthz';

/** The order of REFERENCE §4.3; tests name stages by these. */
export const STAGES = [
  'route', 'method', 'contentType', 'target', 'headers', 'window', 'accessKey', 'signature', 'nonce', 'parse', 'validate', 'business',
] as const;
export type StageName = (typeof STAGES)[number];

export type BodyRead = { ok: true; bytes: Uint8Array } | { ok: false; reason: 'too-large' | 'aborted' };

/** What the pipeline needs from a request: the transport (HTTP or an in-process call) supplies it. */
export interface IncomingExchange {
  method: string;
  /** The request target exactly as on the request line. */
  target: string;
  /** Alternating names and values, as Node's `req.rawHeaders`. */
  rawHeaders: readonly string[];
  /** Reads the body, stopping at `limit` bytes (counted as read, chunked or not). */
  readBody(limit: number): Promise<BodyRead> | BodyRead;
}

export interface Answer {
  status: number;
  code: number;
  contentType: string;
  /** The serialised envelope. */
  body: string;
  /** The stage that decided, for tests and logs. */
  stage: StageName | 'healthz' | 'crash';
  /** Close the connection after answering (oversized or aborted bodies). */
  close?: boolean;
}

export interface PipelineOptions {
  operations: Map<string, Operation>;
  fixtures: FixtureIndex;
  faults: FaultSet;
  clock: SandboxClock;
  windowSeconds: number;
}

interface SigningHeaders {
  contentType: string | undefined;
  timestamp: string | undefined;
  nonce: string | undefined;
  accessKey: string | undefined;
  signature: string | undefined;
}

/** Per-request state, filled stage by stage. */
interface Exchange {
  incoming: IncomingExchange;
  path: string;
  operation: Operation | undefined;
  headers: SigningHeaders;
  stamp: ParsedTimestamp | null;
  secretKey: string;
  bodyBytes: Uint8Array | null;
  json: Record<string, unknown> | null;
  /** The decoded body, kept only when the raw-literal check may find something. */
  text: string | undefined;
  nonceRecorded: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function lower(name: string): string {
  return name.length < 32 ? name.toLowerCase() : '';
}

/**
 * Signing headers and Content-Type from raw headers: names case-insensitive, first value wins
 * (faults: exact-case names; last value wins).
 */
export function readHeaders(rawHeaders: readonly string[], faults: FaultSet): SigningHeaders {
  const caseSensitive = faults.has('case-sensitive-headers');
  const lastWins = faults.has('repeated-header-last-wins');
  const out: SigningHeaders = { contentType: undefined, timestamp: undefined, nonce: undefined, accessKey: undefined, signature: undefined };
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]!;
    const name = lower(raw);
    const value = rawHeaders[i + 1]!;
    let slot: keyof SigningHeaders | null = null;
    let exact = '';
    switch (name) {
      case 'content-type':
        if (out.contentType === undefined) out.contentType = value;
        continue;
      case 'x-timestamp':
        slot = 'timestamp';
        exact = 'X-Timestamp';
        break;
      case 'x-nonce':
        slot = 'nonce';
        exact = 'X-Nonce';
        break;
      case 'x-accesskey':
        slot = 'accessKey';
        exact = 'X-AccessKey';
        break;
      case 'x-signature':
        slot = 'signature';
        exact = 'X-Signature';
        break;
      default:
        continue;
    }
    if (caseSensitive && raw !== exact) continue;
    if (out[slot] === undefined || lastWins) out[slot] = value;
  }
  return out;
}

/** Media type `application/json`, case-insensitive, parameters allowed. */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const semicolon = value.indexOf(';');
  const media = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  return media === 'application/json';
}

export class Pipeline {
  readonly nonces: NonceStore;
  readonly business: Business;
  private readonly routes = new Map<string, Operation>();
  private readonly faults: FaultSet;
  private readonly windowSeconds: number;

  constructor(private readonly options: PipelineOptions) {
    this.faults = options.faults;
    this.windowSeconds = options.faults.has('wide-window') ? 600 : options.windowSeconds;
    this.nonces = new NonceStore(2 * options.windowSeconds * 1000);
    this.business = new Business(options.fixtures, options.faults);
    for (const [path, op] of options.operations) {
      this.routes.set(path, op);
      if (!options.faults.has('no-trailing-slash')) this.routes.set(`${path}/`, op);
    }
  }

  /** Forget nonces, gray admissions and flow counters. */
  reset(): void {
    this.nonces.clear();
    this.business.reset();
  }

  async handle(incoming: IncomingExchange): Promise<Answer> {
    let stage: StageName = 'route';
    try {
      const q = incoming.target.indexOf('?');
      const path = q < 0 ? incoming.target : incoming.target.slice(0, q);
      if (path === HEALTHZ_PATH) return this.healthz(incoming.method);
      const x: Exchange = {
        incoming, path, operation: undefined, headers: readHeaders(incoming.rawHeaders, this.faults), stamp: null, secretKey: '',
        bodyBytes: null, json: null, text: undefined, nonceRecorded: false,
      };
      let failure: Rejection | undefined;
      if ((failure = this.route(x))) return this.fail(failure, stage, x);
      stage = 'method';
      if ((failure = this.method(x))) return this.fail(failure, stage, x);
      stage = 'contentType';
      if ((failure = this.contentType(x))) return this.fail(failure, stage, x);
      stage = 'target';
      if ((failure = this.targetDecodes(x))) return this.fail(failure, stage, x);
      stage = 'headers';
      if ((failure = this.signingHeaders(x))) return this.fail(failure, stage, x);
      stage = 'window';
      if ((failure = this.window(x))) return this.fail(failure, stage, x);
      stage = 'accessKey';
      if ((failure = this.accessKey(x))) return this.fail(failure, stage, x);
      stage = 'signature';
      const read = incoming.readBody(this.faults.has('no-body-limit') ? NO_BODY_LIMIT_BYTES : BODY_LIMIT_BYTES);
      const body = read instanceof Promise ? await read : read;
      if (!body.ok) {
        const answer = this.fail(reject(Code.INVALID_BODY, body.reason === 'too-large' ? 'body over 1 MiB' : 'body aborted'), stage, x);
        answer.close = true;
        return answer;
      }
      x.bodyBytes = body.bytes;
      if ((failure = this.signature(x))) return this.fail(failure, stage, x);
      stage = 'nonce';
      if ((failure = this.nonce(x))) return this.fail(failure, stage, x);
      stage = 'parse';
      if ((failure = this.parse(x))) return this.fail(failure, stage, x);
      stage = 'validate';
      if ((failure = this.validate(x))) return this.fail(failure, stage, x);
      stage = 'business';
      const result = this.business.handle(x.operation!, x.json!, this.options.clock.now());
      return this.finish(result instanceof Promise ? await result : result, x);
    } catch (error) {
      const detail = error instanceof InternalFailure ? error.message : 'unexpected failure';
      return this.envelope(Code.INTERNAL_ERROR, `${MESSAGES[Code.INTERNAL_ERROR]}: ${detail}`, null, 'crash');
    }
  }

  // 1. Route: the path as sent, exactly an endpoint path or with one trailing `/`.
  private route(x: Exchange): Rejection | undefined {
    x.operation = this.routes.get(x.path);
    if (x.operation) return undefined;
    return x.path.startsWith('/v1/')
      ? reject(Code.METHOD_NOT_FOUND, `no endpoint ${x.path}`)
      : reject(Code.REQUEST_NOT_FOUND, `no route ${x.path}`);
  }

  // 2. Method: POST only.
  private method(x: Exchange): Rejection | undefined {
    return x.incoming.method === 'POST' ? undefined : reject(Code.ILLEGAL_REQUEST, `method ${x.incoming.method} not allowed; use POST`);
  }

  // 3. Content type: media type application/json.
  private contentType(x: Exchange): Rejection | undefined {
    if (this.faults.has('accept-any-content-type') || isJsonContentType(x.headers.contentType)) return undefined;
    return reject(Code.ILLEGAL_REQUEST, 'Content-Type must be application/json');
  }

  // 4. The request target percent-decodes (it is signed decoded).
  private targetDecodes(x: Exchange): Rejection | undefined {
    if (x.incoming.target.indexOf('%') < 0) return undefined;
    try {
      percentDecode(x.incoming.target);
      return undefined;
    } catch {
      return reject(Code.ILLEGAL_REQUEST, 'bad percent-escape in the request target');
    }
  }

  // 5. Signing headers present, non-empty and well formed.
  private signingHeaders(x: Exchange): Rejection | undefined {
    const h = x.headers;
    if (!h.timestamp || !h.nonce || !h.accessKey || !h.signature) {
      return reject(Code.INVALID_HEADER, 'X-Timestamp, X-Nonce, X-AccessKey and X-Signature are required');
    }
    const stampText = this.faults.has('timestamp-offset-ignored') ? h.timestamp.replace(/[+-]\d{2}:\d{2}$/, 'Z') : h.timestamp;
    x.stamp = parseTimestamp(stampText);
    if (!x.stamp) return reject(Code.INVALID_HEADER, 'X-Timestamp is not an RFC3339 date-time with an offset');
    const nonceOk = this.faults.has('nonce-length-unchecked')
      ? h.nonce.length <= 128 && nonceWellFormed(h.nonce.padEnd(16, '0'))
      : nonceWellFormed(h.nonce);
    if (!nonceOk) return reject(Code.INVALID_HEADER, 'X-Nonce must be 16-128 visible ASCII characters');
    return undefined;
  }

  // 6. Timestamp within ±window of the sandbox clock, both ends inclusive.
  private window(x: Exchange): Rejection | undefined {
    const stamp = x.stamp!;
    const now = this.options.clock.now();
    if (withinWindow(stamp, now, this.windowSeconds)) {
      if (!this.faults.has('window-exclusive')) return undefined;
      const diffMs = stamp.epochSeconds * 1000 + stamp.nanos / 1e6 - now;
      return Math.abs(diffMs) < this.windowSeconds * 1000 ? undefined : reject(Code.AUTH_FAILED, 'timestamp at the window edge');
    }
    const future = stamp.epochSeconds * 1000 > now;
    if (future && this.faults.has('no-future-window-check')) return undefined;
    if (!future && this.faults.has('no-past-window-check')) return undefined;
    return reject(Code.AUTH_FAILED, 'timestamp outside the replay window');
  }

  // 7. Access key known and enabled.
  private accessKey(x: Exchange): Rejection | undefined {
    const pair = this.options.fixtures.accessKeys.get(x.headers.accessKey!);
    if (!pair) {
      if (!this.faults.has('accept-unknown-access-key')) return reject(Code.AUTH_FAILED, 'unknown access key');
      x.secretKey = this.options.fixtures.mainSecret;
      return undefined;
    }
    if (!pair.enabled && !this.faults.has('accept-disabled-access-key')) return reject(Code.AUTH_FAILED, 'access key disabled');
    x.secretKey = pair.secretKey;
    return undefined;
  }

  // 8. Signature over the exact body bytes, compared in constant time.
  private signature(x: Exchange): Rejection | undefined {
    const f = this.faults;
    if (f.has('nonce-before-signature')) {
      const failure = this.nonce(x);
      if (failure) return failure;
    }
    if (f.has('accept-any-signature')) return undefined;
    const target = x.incoming.target;
    const q = target.indexOf('?');
    const expected = md5(
      canonicalBytes({
        method: 'POST',
        target: f.has('unsigned-query') && q >= 0 ? target.slice(0, q) : target,
        body: f.has('unsigned-body') ? '' : x.bodyBytes!,
        nonce: x.headers.nonce!,
        secretKey: x.secretKey,
        timestamp: x.headers.timestamp!,
      }),
    );
    const received = f.has('uppercase-signature-accepted') ? x.headers.signature!.toLowerCase() : x.headers.signature!;
    if (verify(expected, received)) return undefined;
    return reject(f.has('bad-signature-401001') ? Code.AUTH_FAILED : Code.SIGNATURE_FAILED, 'signature mismatch');
  }

  // 9. Nonce unused: check and record in one synchronous step.
  private nonce(x: Exchange): Rejection | undefined {
    if (x.nonceRecorded || this.faults.has('forget-nonces')) return undefined;
    const now = this.options.clock.now();
    if (this.faults.has('nonce-unburned-on-error')) {
      return this.nonces.has(x.headers.nonce!, now) ? reject(Code.AUTH_FAILED, 'nonce already used') : undefined;
    }
    if (!this.nonces.checkAndRecord(x.headers.nonce!, now)) return reject(Code.AUTH_FAILED, 'nonce already used');
    x.nonceRecorded = true;
    return undefined;
  }

  // 10. Body: UTF-8 JSON whose top level is an object.
  private parse(x: Exchange): Rejection | undefined {
    const bytes = x.bodyBytes!;
    if (bytes.length === 0) return reject(Code.INVALID_BODY, 'empty body');
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return reject(Code.INVALID_BODY, 'body is not valid UTF-8');
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return reject(this.faults.has('malformed-json-500001') ? Code.INTERNAL_ERROR : Code.INVALID_BODY, 'body is not valid JSON');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return reject(Code.INVALID_BODY, 'top level must be a JSON object');
    x.json = value as Record<string, unknown>;
    // Keep the text for the raw-literal check only when it may matter.
    if (mayHaveBadIntegers(text)) x.text = text;
    return undefined;
  }

  // 11. Validation against the bundled spec: missing keys first (400002), then types and ranges (400003).
  private validate(x: Exchange): Rejection | undefined {
    const op = x.operation!;
    const json = x.json!;
    const f = this.faults;
    const valid = op.validate(json);
    const extra = extraChecks(op, json);
    const errors = valid ? [] : (op.validate.errors ?? []);
    const missing = errors.filter(isRequiredError);
    if (!f.has('accept-missing-required') && (missing.length > 0 || extra.missing.length > 0)) {
      const what = missing.map((e) => `${e.instancePath}/${(e.params as { missingProperty?: string }).missingProperty ?? ''}`).concat(extra.missing);
      return reject(Code.MISSING_PARAMETER, `missing: ${what.join(', ')}`);
    }
    const invalid = errors.filter(
      (e) => !isRequiredError(e) && e.keyword !== 'if' && !(f.has('accept-wrong-type') && e.keyword === 'type'),
    );
    if (invalid.length > 0) return reject(Code.INVALID_PARAMETER, `${invalid[0]!.instancePath || '/'} ${invalid[0]!.message ?? ''}`);
    const text = x.text;
    if (text !== undefined && op.integerFields.size > 0) {
      for (const path of badIntegerPaths(text)) {
        if (op.integerFields.has(path)) return reject(Code.INVALID_PARAMETER, `${path} must be a plain int64 literal`);
      }
    }
    if (extra.invalid.length > 0) return reject(Code.INVALID_PARAMETER, extra.invalid[0]!);
    return undefined;
  }

  // 12. Business outcome → envelope.
  private finish(result: Outcome, x: Exchange): Answer {
    if (this.faults.has('nonce-unburned-on-error') && (result.code === Code.OK || result.code === Code.LATEST)) {
      if (!this.nonces.checkAndRecord(x.headers.nonce!, this.options.clock.now())) return this.fail(reject(Code.AUTH_FAILED, 'nonce already used'), 'business', x);
    }
    if (result.code === Code.OK || result.code === Code.LATEST) return this.envelope(result.code, MESSAGES[result.code], result.data, 'business');
    return this.fail(reject(result.code, result.detail), 'business', x);
  }

  private fail(failure: Rejection, stage: StageName, _x?: Exchange): Answer {
    return this.envelope(failure.code, failure.detail ? `${MESSAGES[failure.code]}: ${failure.detail}` : MESSAGES[failure.code], null, stage);
  }

  private envelope(code: CodeValue, msg: string, data: unknown, stage: Answer['stage']): Answer {
    const error = code !== Code.OK && code !== Code.LATEST;
    return {
      status: error && this.faults.has('errors-http-200') ? 200 : httpStatus(code),
      code,
      contentType: error && this.faults.has('errors-plain-text') ? 'text/plain; charset=utf-8' : JSON_CONTENT_TYPE,
      body: JSON.stringify({ code, msg, data }),
      stage,
    };
  }

  private healthz(method: string): Answer {
    if (method === 'GET' || method === 'HEAD') {
      return { status: 200, code: 0, contentType: JSON_CONTENT_TYPE, body: '{"status":"ok"}', stage: 'healthz' };
    }
    return this.envelope(Code.ILLEGAL_REQUEST, `${MESSAGES[Code.ILLEGAL_REQUEST]}: GET /healthz only`, null, 'healthz');
  }
}
