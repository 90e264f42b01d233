// The reference checks of REFERENCE §4.3, steps 1–11, and the `respond` stage that turns an outcome
// into the answer (business, step 12, is in business.ts). Each stage is its `run` (the check, as the
// contract words it) plus the named decisions it is made of. A stage reaches its own decisions through
// `x.stages`, never directly, so a fault (faults.ts) that replaces one decision changes what `run`
// does without touching it. Decisions take the exchange first: through it they reach the pipeline's
// environment (operations, fixtures, clock, nonce store). Nothing here knows about faults.

import {
  NONCE_MIN_LENGTH,
  NONCE_MAX_LENGTH,
  canonicalBytes,
  nonceWellFormed,
  parseTimestamp,
  percentDecode,
  verify,
  withinWindow,
  type CanonicalInput,
  type ParsedTimestamp,
} from '../lib/signing/index.ts';
import { md5 } from '../lib/signing/node.ts';
import { CODES, Code, formatErrors, isRequiredError, type CodeValue } from '../lib/spec/index.ts';
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { AccessKeyFixture } from './fixtures.ts';
import type { Answer, BodyRead, RequestState, SigningHeaders, Verdict } from './exchange.ts';
import { badIntegerPaths, mayHaveBadIntegers } from './literals.ts';
import { InconsistentData, InternalFailure, reject, type Outcome, type Rejection } from './outcome.ts';
import type { SignedOperation } from './operations.ts';

export const BODY_LIMIT_BYTES = 1_048_576;
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A check: one step of REFERENCE §4.3. */
export interface Check {
  run(x: RequestState): Verdict | Promise<Verdict>;
}

type Body = Record<string, unknown>;

// ---- 1. Route: the path as sent, exactly an endpoint path or with one trailing `/` ---------------

export interface RouteStage extends Check {
  operationAt(x: RequestState, path: string): SignedOperation | undefined;
  /** The answer for a path that routes nowhere. */
  unknownPath(x: RequestState, path: string): Rejection;
}

export const route: RouteStage = {
  run(x) {
    const d = x.stages.route;
    x.operation = d.operationAt(x, x.path);
    return x.operation ? undefined : d.unknownPath(x, x.path);
  },
  operationAt(x, path) {
    const operations = x.env.operations;
    return operations.get(path) ?? (path.endsWith('/') ? operations.get(path.slice(0, -1)) : undefined);
  },
  unknownPath: (_x, path) =>
    path.startsWith('/v1/') ? reject(Code.METHOD_NOT_FOUND, `no endpoint ${path}`) : reject(Code.REQUEST_NOT_FOUND, `no route ${path}`),
};

// ---- 2. Method: POST only ------------------------------------------------------------------------

export interface MethodStage extends Check {
  allowed(x: RequestState, method: string): boolean;
}

export const method: MethodStage = {
  run: (x) => (x.stages.method.allowed(x, x.incoming.method) ? undefined : reject(Code.ILLEGAL_REQUEST, `method ${x.incoming.method} not allowed; use POST`)),
  allowed: (_x, name) => name === 'POST',
};

// ---- 3. Content type: media type application/json -------------------------------------------------

export interface ContentTypeStage extends Check {
  /** Whether a Content-Type value (undefined: none sent) is acceptable. */
  acceptable(x: RequestState, value: string | undefined): boolean;
}

export const contentType: ContentTypeStage = {
  run: (x) =>
    x.stages.contentType.acceptable(x, firstHeader(x.incoming.rawHeaders, 'content-type'))
      ? undefined
      : reject(Code.ILLEGAL_REQUEST, 'Content-Type must be application/json'),
  acceptable: (_x, value) => isJsonContentType(value),
};

/** Media type `application/json`, case-insensitive, parameters allowed. */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const semicolon = value.indexOf(';');
  const media = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  return media === 'application/json';
}

/** The first value of a header (name given in lowercase; names are case-insensitive). */
export function firstHeader(rawHeaders: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return rawHeaders[i + 1];
  }
  return undefined;
}

// ---- 4. Target: the request target percent-decodes (it is signed decoded) ----------------------------

export interface TargetStage extends Check {
  /** The request target as the signature will cover it, or null when it cannot be signed. */
  urlToSign(x: RequestState, target: string): string | null;
}

export const target: TargetStage = {
  run(x) {
    const url = x.stages.target.urlToSign(x, x.incoming.target);
    if (url === null) return reject(Code.ILLEGAL_REQUEST, 'bad percent-escape in the request target');
    x.url = url;
    return undefined;
  },
  urlToSign: (_x, requestTarget) => (percentDecodes(requestTarget) ? requestTarget : null),
};

export function percentDecodes(requestTarget: string): boolean {
  if (requestTarget.indexOf('%') < 0) return true;
  try {
    percentDecode(requestTarget);
    return true;
  } catch {
    return false;
  }
}

// ---- 5. Headers: the four signing headers present, non-empty and well formed ------------------------

type SigningSlot = keyof SigningHeaders;

/** The signing headers as the contract spells them, and where each goes. */
export const SIGNING_HEADERS: ReadonlyArray<readonly [string, SigningSlot]> = [
  ['X-Timestamp', 'timestamp'],
  ['X-Nonce', 'nonce'],
  ['X-AccessKey', 'accessKey'],
  ['X-Signature', 'signature'],
];
const SLOT_BY_LOWER_NAME = new Map(SIGNING_HEADERS.map(([name, slot]) => [name.toLowerCase(), slot]));
const LONGEST_SIGNING_HEADER = Math.max(...SIGNING_HEADERS.map(([name]) => name.length));

export interface HeadersStage extends Check {
  /** Which signing header a raw header name is, if any: names are case-insensitive. */
  slotOf(x: RequestState, name: string): SigningSlot | undefined;
  /** The value kept when a signing header comes twice: the first. */
  repeated(x: RequestState, first: string, next: string): string;
  /** The answer for a signing header that is missing or empty. */
  missing(x: RequestState, name: string): Rejection;
  /** X-Timestamp read as an instant: RFC3339 with an offset (REFERENCE §4.1), else null. */
  parseStamp(x: RequestState, text: string): ParsedTimestamp | null;
  /** X-Nonce well formed: 16 to 128 visible ASCII characters (REFERENCE §4.2). */
  nonceWellFormed(x: RequestState, nonce: string): boolean;
}

export const headers: HeadersStage = {
  run(x) {
    const d = x.stages.headers;
    const h = readSigningHeaders(x);
    x.headers = h;
    for (const [name, slot] of SIGNING_HEADERS) if (!h[slot]) return d.missing(x, name);
    x.stamp = d.parseStamp(x, h.timestamp!);
    if (x.stamp === null) return reject(Code.INVALID_HEADER, 'X-Timestamp is not an RFC3339 date-time with an offset');
    if (!d.nonceWellFormed(x, h.nonce!)) {
      return reject(Code.INVALID_HEADER, `X-Nonce must be ${NONCE_MIN_LENGTH}-${NONCE_MAX_LENGTH} visible ASCII characters`);
    }
    return undefined;
  },
  slotOf: (_x, name) => (name.length > LONGEST_SIGNING_HEADER ? undefined : SLOT_BY_LOWER_NAME.get(name.toLowerCase())),
  repeated: (_x, first) => first,
  missing: (_x, name) => reject(Code.INVALID_HEADER, `${name} is required (X-Timestamp, X-Nonce, X-AccessKey and X-Signature, non-empty)`),
  parseStamp: (_x, text) => parseTimestamp(text),
  nonceWellFormed: (_x, nonce) => nonceWellFormed(nonce),
};

function readSigningHeaders(x: RequestState): SigningHeaders {
  const d = x.stages.headers;
  const out: SigningHeaders = { timestamp: undefined, nonce: undefined, accessKey: undefined, signature: undefined };
  const raw = x.incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const slot = d.slotOf(x, raw[i]!);
    if (slot === undefined) continue;
    const kept = out[slot];
    out[slot] = kept === undefined ? raw[i + 1]! : d.repeated(x, kept, raw[i + 1]!);
  }
  return out;
}

// ---- 6. Window: the timestamp within ±window of the sandbox clock, both ends inclusive ----------------

export interface WindowStage extends Check {
  /** The half-width of the window in seconds. */
  seconds(x: RequestState): number;
  inWindow(x: RequestState, stamp: ParsedTimestamp, nowMs: number, seconds: number): boolean;
}

export const replayWindow: WindowStage = {
  run(x) {
    const d = x.stages.window;
    return d.inWindow(x, x.stamp!, x.env.clock.now(), d.seconds(x)) ? undefined : reject(Code.AUTH_FAILED, 'timestamp outside the replay window');
  },
  seconds: (x) => x.env.windowSeconds,
  inWindow: (_x, stamp, nowMs, seconds) => withinWindow(stamp, nowMs, seconds),
};

/** A parsed timestamp in epoch milliseconds (fractions below a millisecond kept as a fraction). */
export function stampMs(stamp: ParsedTimestamp): number {
  return stamp.epochSeconds * 1000 + stamp.nanos / 1e6;
}

// ---- 7. Access key: known and enabled --------------------------------------------------------------

export interface AccessKeyStage extends Check {
  pairOf(x: RequestState, accessKey: string): AccessKeyFixture | undefined;
  usable(x: RequestState, pair: AccessKeyFixture): boolean;
  /** The answer for a known but disabled key. */
  disabled(x: RequestState, pair: AccessKeyFixture): Rejection;
  /** The secret the signature is checked with: the pair's own. */
  secretOf(x: RequestState, pair: AccessKeyFixture): string;
}

export const accessKey: AccessKeyStage = {
  run(x) {
    const d = x.stages.accessKey;
    const pair = d.pairOf(x, x.headers.accessKey!);
    if (pair === undefined) return reject(Code.AUTH_FAILED, 'unknown access key');
    if (!d.usable(x, pair)) return d.disabled(x, pair);
    x.secretKey = d.secretOf(x, pair);
    return undefined;
  },
  pairOf: (x, key) => x.env.fixtures.accessKeys.get(key),
  usable: (_x, pair) => pair.enabled,
  disabled: () => reject(Code.AUTH_FAILED, 'access key disabled'),
  secretOf: (_x, pair) => pair.secretKey,
};

// ---- 8. Signature: the body read (up to 1 MiB), then the signature compared in constant time ---------

export interface SignatureStage extends Check {
  /** How many body bytes are read before the request is refused (Code.INVALID_BODY). */
  bodyLimit(x: RequestState): number;
  /** Reads the body once, into `x.body`; a rejection when it is too large or cut off. */
  readBody(x: RequestState): Verdict | Promise<Verdict>;
  /** The target the canonical string signs (it is percent-decoded there). */
  signedTarget(x: RequestState): string;
  /** The body the canonical string signs: the exact bytes received. */
  signedBody(x: RequestState): string | Uint8Array;
  /** The bytes that are hashed (lib/signing: the one definition of the canonical string). */
  canonical(x: RequestState, input: CanonicalInput): Uint8Array;
  matches(x: RequestState, expected: string, received: string): boolean;
  /** The answer for a signature that does not match. */
  mismatch(x: RequestState): Rejection;
}

export const signature: SignatureStage = {
  run(x) {
    const d = x.stages.signature;
    const read = d.readBody(x);
    if (read instanceof Promise) return read.then((failure) => failure ?? verifySignature(x));
    return read ?? verifySignature(x);
  },
  bodyLimit: () => BODY_LIMIT_BYTES,
  readBody(x) {
    if (x.body !== null) return undefined;
    const read = x.incoming.readBody(x.stages.signature.bodyLimit(x));
    return read instanceof Promise ? read.then((result) => keepBody(x, result)) : keepBody(x, read);
  },
  signedTarget: (x) => x.url,
  signedBody: (x) => x.body!,
  canonical: (_x, input) => canonicalBytes(input),
  matches: (_x, expected, received) => verify(expected, received),
  mismatch: () => reject(Code.SIGNATURE_FAILED, 'signature mismatch'),
};

function keepBody(x: RequestState, read: BodyRead): Verdict {
  if (read.ok) {
    x.body = read.bytes;
    return undefined;
  }
  x.close = true;
  return reject(Code.INVALID_BODY, read.reason === 'too-large' ? 'body over 1 MiB' : 'body aborted');
}

function verifySignature(x: RequestState): Verdict {
  const d = x.stages.signature;
  const h = x.headers;
  const expected = md5(
    d.canonical(x, { method: 'POST', target: d.signedTarget(x), body: d.signedBody(x), nonce: h.nonce!, secretKey: x.secretKey, timestamp: h.timestamp! }),
  );
  return d.matches(x, expected, h.signature!) ? undefined : d.mismatch(x);
}

// ---- 9. Nonce: unused; checked and recorded in one synchronous step --------------------------------

export interface NonceStage extends Check {
  /** What the store remembers: the nonce itself (nonces are global, across paths and keys). */
  nonceKey(x: RequestState): string;
  /** Check and record in one step: true when the nonce was unused (and is now recorded). */
  consume(x: RequestState, key: string): boolean;
  /** The answer for a nonce already used. */
  reused(x: RequestState): Rejection;
}

export const nonce: NonceStage = {
  run(x) {
    const d = x.stages.nonce;
    return d.consume(x, d.nonceKey(x)) ? undefined : d.reused(x);
  },
  nonceKey: (x) => x.headers.nonce!,
  consume: (x, key) => x.env.nonces.checkAndRecord(key, x.env.clock.now()),
  reused: () => reject(Code.AUTH_FAILED, 'nonce already used'),
};

// ---- 10. Parse: UTF-8 JSON whose top level is an object ----------------------------------------------

export interface ParseStage extends Check {
  /** The answer for a body that is not JSON. */
  malformed(x: RequestState): Rejection;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export const parse: ParseStage = {
  run(x) {
    const bytes = x.body!;
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
      return x.stages.parse.malformed(x);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return reject(Code.INVALID_BODY, 'top level must be a JSON object');
    x.json = value as Body;
    // Keep the text for the raw-literal check only when it may matter.
    if (mayHaveBadIntegers(text)) x.text = text;
    return undefined;
  },
  malformed: () => reject(Code.INVALID_BODY, 'body is not valid JSON'),
};

// ---- 11. Validate: against the spec's request schema; every missing key (Code.MISSING_PARAMETER) before any invalid value (Code.INVALID_PARAMETER)

/** One thing wrong with a body. `where` is a JSON pointer into it (`/eventData/code`). */
export interface Problem {
  readonly missing: boolean;
  readonly where: string;
  /** The schema keyword that failed (`required`, `type`, `minimum`, …), or `int64` for a literal. */
  readonly keyword: string;
  readonly text: string;
}

const NO_PROBLEMS: readonly Problem[] = Object.freeze([]);

export interface ValidateStage extends Check {
  /** The body as validated and then served: as parsed. */
  normalise(x: RequestState, json: Body): Body;
  /** What the operation's request schema finds wrong. */
  schemaProblems(x: RequestState, op: SignedOperation, json: Body): readonly Problem[];
  /** int64 fields whose literal is not a plain integer within int64 (JSON.parse cannot tell `1.0` from `1`). */
  literalProblems(x: RequestState, op: SignedOperation, text: string): readonly Problem[];
  /** The answer for what was found: any missing key (Code.MISSING_PARAMETER), else the first invalid value (Code.INVALID_PARAMETER). */
  judge(x: RequestState, problems: readonly Problem[]): Verdict;
}

export const validate: ValidateStage = {
  run(x) {
    const d = x.stages.validate;
    const op = x.operation!;
    const json = (x.json = d.normalise(x, x.json!));
    const schema = d.schemaProblems(x, op, json);
    const literals = x.text === undefined ? NO_PROBLEMS : d.literalProblems(x, op, x.text);
    const launch = launchTimeProblems(op, json);
    if (schema.length === 0 && literals.length === 0 && launch.length === 0) return undefined;
    return d.judge(x, [...schema, ...launch, ...literals]);
  },
  normalise: (_x, json) => json,
  schemaProblems(_x, op, json) {
    if (op.validate(json)) return NO_PROBLEMS;
    const problems: Problem[] = [];
    // `if` only says that a `then` failed; the failing keywords are reported on their own.
    for (const error of op.validate.errors ?? []) if (error.keyword !== 'if') problems.push(problemOf(error));
    return problems;
  },
  literalProblems(_x, op, text) {
    if (op.integerFields.size === 0) return NO_PROBLEMS;
    const problems: Problem[] = [];
    for (const path of badIntegerPaths(text)) {
      if (op.integerFields.has(path)) {
        problems.push({ missing: false, where: `/${path.replace(/\./g, '/')}`, keyword: 'int64', text: `body.${path} must be a plain int64 literal` });
      }
    }
    return problems;
  },
  judge(_x, problems) {
    const missing = problems.filter((p) => p.missing);
    if (missing.length > 0) return reject(Code.MISSING_PARAMETER, missing.map((p) => p.text).join('; '));
    return problems.length > 0 ? reject(Code.INVALID_PARAMETER, problems[0]!.text) : undefined;
  },
};

function problemOf(error: ErrorObject): Problem {
  const text = formatErrors([error])[0]!;
  if (!isRequiredError(error)) return { missing: false, where: error.instancePath, keyword: error.keyword, text };
  const property = (error.params as { missingProperty?: string }).missingProperty ?? '';
  return { missing: true, where: `${error.instancePath}/${property}`, keyword: error.keyword, text };
}

// The one rule the schema cannot state: an app_start report needs eventData.launchTime even when
// eventData is not an object (the schema's `required` only looks inside objects), and missing wins.
function launchTimeProblems(op: SignedOperation, json: Body): readonly Problem[] {
  if (op.kind !== 'report' || json.eventType !== 'app_start') return NO_PROBLEMS;
  const eventData = json.eventData;
  if (eventData === undefined || (typeof eventData === 'object' && eventData !== null && !Array.isArray(eventData))) return NO_PROBLEMS;
  return [{ missing: true, where: '/eventData/launchTime', keyword: 'required', text: "body.eventData must have required property 'launchTime'" }];
}

// ---- respond: the outcome as the §5 envelope ---------------------------------------------------------

export interface Envelope {
  code: number;
  msg?: string;
  data: unknown;
}

export interface RespondStage {
  /** The answer for an outcome, decided at `stage`. */
  run(x: RequestState, outcome: Outcome, stage: Answer['stage']): Answer;
  /** HTTP status: code / 1000 for six-digit codes, 200 for 0 and 200 (REFERENCE §5.1). */
  status(x: RequestState, outcome: Outcome): number;
  envelope(x: RequestState, outcome: Outcome): Envelope;
  /** The envelope as sent: JSON, with its content type. */
  write(x: RequestState, outcome: Outcome, envelope: Envelope): { contentType: string; body: string };
  /** The outcome for a failure while serving: inconsistent data Code.DATA_INVALID, anything else Code.INTERNAL_ERROR. */
  crashed(x: RequestState, error: unknown): Outcome;
}

export const respond: RespondStage = {
  run(x, outcome, stage) {
    const d = x.stages.respond;
    const written = d.write(x, outcome, d.envelope(x, outcome));
    const answer: Answer = { status: d.status(x, outcome), code: outcome.code, contentType: written.contentType, body: written.body, stage };
    if (x.close) answer.close = true;
    return answer;
  },
  status: (_x, outcome) => httpStatus(outcome.code),
  envelope: (_x, outcome) => ({ code: outcome.code, msg: message(outcome), data: outcome.data }),
  write: (_x, _outcome, envelope) => ({ contentType: JSON_CONTENT_TYPE, body: JSON.stringify(envelope) }),
  crashed(_x, error) {
    if (error instanceof InconsistentData) return reject(Code.DATA_INVALID, error.message);
    return reject(Code.INTERNAL_ERROR, error instanceof InternalFailure ? error.message : 'unexpected failure');
  },
};

export function httpStatus(code: number): number {
  return code < 100_000 ? 200 : Math.floor(code / 1000);
}

/** The code's meaning as the spec words it, then the detail. */
function message(outcome: Outcome): string {
  const meaning = CODES[outcome.code as CodeValue]?.meaning ?? '';
  if (!outcome.detail) return meaning;
  return meaning ? `${meaning}: ${outcome.detail}` : outcome.detail;
}
