// Faults: named modifiers of one pipeline stage, each breaking exactly one contract rule, so the
// contract suite can prove that the tests guarding that rule fail (`npm run test:mutants`). They are
// declared in the one table below and are configuration, never magic request values: `apply` takes
// the pipeline's stage table (pipeline.ts) and returns it with one decision of one stage replaced or
// wrapped, the stage's whole check (`run`) replaced or wrapped, or the stage moved (`place`). The
// reference stages never ask which faults are on. Several faults compose, applied in table order.

import { NONCE_MIN_LENGTH, percentDecode, type ParsedTimestamp } from '../lib/signing/index.ts';
import { CODES, Code, type CodeValue } from '../lib/spec/index.ts';
import { activeFlowRule, inconsistency, newestVersion, upgradeData } from './business.ts';
import type { RequestState, Verdict } from './exchange.ts';
import { isSuccess, reject, succeed, type Outcome } from './outcome.ts';
import { REFERENCE_TABLE, type CheckName, type PipelineTable, type StageName, type Stages } from './pipeline.ts';
import { SIGNING_HEADERS, percentDecodes, stampMs, type Problem } from './stages.ts';

export interface Fault {
  /** kebab-case; what `--fault` takes. */
  readonly name: string;
  readonly stage: StageName;
  /** What of the stage it modifies: one of its decisions, `run` (the whole check) or `place` (where it runs). */
  readonly decision: string;
  /** The id of the contract rule it breaks (contract/rules.ts). */
  readonly rule: string;
  readonly description: string;
  readonly apply: (table: PipelineTable) => PipelineTable;
  /** Faults it cannot be combined with: they change the same decision, or one hides the other. */
  readonly conflicts?: readonly string[];
  /**
   * When its rule is only checked inside the tests of other rules (an exact code, the envelope, the
   * data schema): the rules whose tests meet this fault. The mutation self-test runs those tests (and
   * the whole suite only when they do not show it).
   */
  readonly seenIn?: readonly string[];
}

type Modifier = Pick<Fault, 'stage' | 'decision' | 'apply'>;
type Part<S extends StageName> = Extract<keyof Stages[S], string>;

function withStage<S extends StageName>(table: PipelineTable, stage: S, replacement: Stages[S], order = table.order): PipelineTable {
  return { order, stages: { ...table.stages, [stage]: replacement } };
}

/** Wraps one decision (or `run`) of one stage: `around` receives the current one and returns what replaces it. */
function wrap<S extends StageName, D extends Part<S>>(stage: S, decision: D, around: (base: Stages[S][D]) => Stages[S][D]): Modifier {
  return {
    stage,
    decision,
    apply: (table) => withStage(table, stage, { ...table.stages[stage], [decision]: around(table.stages[stage][decision]) } as Stages[S]),
  };
}

/** Replaces one decision (or `run`) of one stage. */
function replace<S extends StageName, D extends Part<S>>(stage: S, decision: D, by: Stages[S][D]): Modifier {
  return wrap(stage, decision, () => by);
}

/** Runs a check earlier: just before another (`around` may adapt its run to the new place). */
function moveBefore<S extends CheckName>(stage: S, before: CheckName, around?: (run: Stages[S]['run']) => Stages[S]['run']): Modifier {
  return {
    stage,
    decision: 'place',
    apply(table) {
      const order = table.order.filter((name, i) => name !== stage || i !== table.order.indexOf(stage));
      order.splice(order.indexOf(before), 0, stage);
      const current = table.stages[stage];
      return withStage(table, stage, around ? { ...current, run: around(current.run) } : current, order);
    },
  };
}

/**
 * Waits between a read and a write the way a store across the network would (a round trip of a
 * few tens of ms), so concurrent requests reliably interleave there.
 */
const STORE_ROUND_TRIP_MS = 25;
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, STORE_ROUND_TRIP_MS));

// ---- helpers of single faults -----------------------------------------------------------------------

/** A request let past authentication: the stages that would check it are waived, the body is still read (step 8). */
const AUTHENTICATION: ReadonlySet<CheckName> = new Set(['window', 'accessKey', 'signature', 'nonce']);
function waiveAuthentication(x: RequestState): Verdict | Promise<Verdict> {
  x.skipping = AUTHENTICATION;
  return x.stages.signature.readBody(x);
}

const SIGNING_NAMES = new Set(SIGNING_HEADERS.map(([name]) => name.toLowerCase()));
const SLOT_BY_EXACT_NAME = new Map(SIGNING_HEADERS);
function hasHeader(x: RequestState, matches: (lowerName: string) => boolean): boolean {
  const raw = x.incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (matches(raw[i]!.toLowerCase())) return true;
  return false;
}

function dropProblems(drop: (problem: Problem, x: RequestState) => boolean): Modifier {
  return wrap('validate', 'schemaProblems', (base) => (x, op, json) => {
    const found = base(x, op, json);
    return found.length === 0 ? found : found.filter((p) => !drop(p, x));
  });
}

const isAt = (where: string, keyword: string) => (p: Problem) => !p.missing && p.where === where && p.keyword === keyword;

function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === null) continue;
    out[key] = typeof item === 'object' && !Array.isArray(item) ? withoutNulls(item as Record<string, unknown>) : item;
  }
  return out;
}

/** Whatever Date.parse makes of it, and all-digit values as epoch seconds. */
function lenientTimestamp(text: string): ParsedTimestamp | null {
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (!Number.isFinite(ms)) return null;
  const epochSeconds = Math.floor(ms / 1000);
  return { epochSeconds, nanos: (ms - epochSeconds * 1000) * 1e6 };
}

/** `%` → `%25` and `+` → `%2B`: lib/signing then decodes the target back to itself, so it is signed as sent. */
const signedAsSent = (requestTarget: string): string => requestTarget.replace(/%/g, '%25').replace(/\+/g, '%2B');

const withoutQuery = (requestTarget: string): string => {
  const q = requestTarget.indexOf('?');
  return q < 0 ? requestTarget : requestTarget.slice(0, q);
};

function withoutTrailingSlash(requestTarget: string): string {
  const q = requestTarget.indexOf('?');
  const path = q < 0 ? requestTarget : requestTarget.slice(0, q);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) + requestTarget.slice(path.length) : requestTarget;
}

function trailingAmpersands(requestTarget: string): number {
  let decoded: Uint8Array;
  try {
    decoded = percentDecode(requestTarget);
  } catch {
    return 0;
  }
  let n = 0;
  while (n < decoded.length && decoded[decoded.length - 1 - n] === 0x26) n++;
  return n;
}

const utf8Lenient = new TextDecoder();
function reserialised(body: string | Uint8Array): string | Uint8Array {
  try {
    return JSON.stringify(JSON.parse(typeof body === 'string' ? body : utf8Lenient.decode(body)));
  } catch {
    return body;
  }
}

let grayRequests = 0;
const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';
/** A code the spec does not document, answered with HTTP 403 (`disabled-key-403`). */
const UNDOCUMENTED_FORBIDDEN = 403_001;

// ---- the table ------------------------------------------------------------------------------------------

export const FAULTS: readonly Fault[] = [
  // signing and replay protection
  {
    name: 'accept-any-signature', rule: 'signing.signature-verified', conflicts: ['uppercase-signature-accepted'],
    description: 'any X-Signature value is accepted (the signature is never compared)',
    ...replace('signature', 'matches', () => true),
  },
  {
    name: 'unsigned-body', rule: 'baseline.signed-request-accepted', conflicts: ['body-reserialised'],
    description: 'the server hashes `body=` with an empty body: the body is left out of the signature',
    ...replace('signature', 'signedBody', () => ''),
  },
  {
    name: 'unsigned-query', rule: 'signing.query-covered',
    description: 'the server signs the path without its ?query: the query is left out of the url part',
    ...wrap('signature', 'signedTarget', (base) => (x) => withoutQuery(base(x))),
  },
  {
    name: 'uppercase-signature-accepted', rule: 'signing.lowercase-hex',
    description: 'X-Signature is compared case-insensitively (uppercase hex passes instead of 401002)',
    ...wrap('signature', 'matches', (base) => (x, expected, received) => base(x, expected, received.toLowerCase())),
  },
  {
    name: 'bad-signature-401001', rule: 'signing.mismatch-code', seenIn: ['signing.signature-verified'],
    description: 'a signature mismatch is answered 401001 instead of 401002',
    ...replace('signature', 'mismatch', () => reject(Code.AUTH_FAILED, 'signature mismatch')),
  },
  {
    name: 'wide-window', rule: 'replay.timestamp-window',
    description: 'the timestamp window is widened to ±10 minutes',
    ...replace('window', 'seconds', () => 600),
  },
  {
    name: 'no-past-window-check', rule: 'replay.timestamp-window',
    description: 'timestamps too far in the past are accepted',
    ...wrap('window', 'inWindow', (base) => (x, stamp, nowMs, seconds) => stampMs(stamp) <= nowMs || base(x, stamp, nowMs, seconds)),
  },
  {
    name: 'no-future-window-check', rule: 'replay.timestamp-window',
    description: 'timestamps too far in the future are accepted',
    ...wrap('window', 'inWindow', (base) => (x, stamp, nowMs, seconds) => stampMs(stamp) >= nowMs || base(x, stamp, nowMs, seconds)),
  },
  {
    name: 'window-exclusive', rule: 'replay.window-edges-inclusive',
    description: 'the window ends are exclusive: a timestamp exactly 300 s off is rejected',
    ...wrap('window', 'inWindow', (base) => (x, stamp, nowMs, seconds) => base(x, stamp, nowMs, seconds) && Math.abs(stampMs(stamp) - nowMs) !== seconds * 1000),
  },
  {
    name: 'timestamp-offset-ignored', rule: 'replay.timestamp-window',
    description: 'the X-Timestamp offset is ignored (local time read as UTC)',
    ...wrap('headers', 'parseStamp', (base) => (x, text) => base(x, text.replace(/[+-]\d{2}:\d{2}$/, 'Z'))),
  },
  {
    name: 'forget-nonces', rule: 'replay.nonce-single-use',
    description: 'accepted nonces are not remembered: replays are accepted',
    ...replace('nonce', 'consume', () => true),
  },
  {
    name: 'nonce-before-signature', rule: 'replay.nonce-after-signature',
    description: 'the nonce is recorded before the signature check, so forged requests burn nonces',
    ...moveBefore('nonce', 'signature'),
  },
  {
    name: 'nonce-unburned-on-error', rule: 'replay.nonce-consumed-on-error', conflicts: ['nonce-not-atomic'],
    description: 'the nonce is recorded only when the answer is code 0 or 200, so a failed request can be replayed',
    stage: 'nonce',
    decision: 'place',
    // Checked (not recorded) in its place; run again once the business stage has succeeded, to record it.
    apply: (table) =>
      withStage(table, 'nonce', {
        ...table.stages.nonce,
        run(x) {
          const d = x.stages.nonce;
          const key = d.nonceKey(x);
          if (x.outcome === undefined) return x.env.nonces.has(key, x.env.clock.now()) ? d.reused(x) : undefined;
          return d.consume(x, key) ? undefined : d.reused(x);
        },
      }, [...table.order, 'nonce']),
  },
  {
    name: 'nonce-length-unchecked', rule: 'replay.nonce-min-length',
    description: 'nonces shorter than 16 characters are accepted',
    ...wrap('headers', 'nonceWellFormed', (base) => (x, value) => base(x, value.padEnd(NONCE_MIN_LENGTH, '0'))),
  },
  {
    name: 'accept-unknown-access-key', rule: 'auth.unknown-access-key',
    description: 'an unknown access key is accepted (verified with the main secret)',
    ...wrap('accessKey', 'pairOf', (base) => (x, key) => base(x, key) ?? { accessKey: key, secretKey: x.env.fixtures.mainSecret, enabled: true }),
  },
  {
    name: 'accept-disabled-access-key', rule: 'auth.disabled-access-key', conflicts: ['disabled-key-403'],
    description: 'a disabled access key is accepted',
    ...replace('accessKey', 'usable', () => true),
  },
  {
    name: 'case-sensitive-headers', rule: 'signing.header-names-case-insensitive',
    description: 'signing header names are matched case-sensitively (x-Nonce is not X-Nonce)',
    ...replace('headers', 'slotOf', (_x, name) => SLOT_BY_EXACT_NAME.get(name)),
  },
  {
    name: 'repeated-header-last-wins', rule: 'signing.repeated-header-first',
    description: 'a repeated signing header uses its last value instead of its first',
    ...replace('headers', 'repeated', (_x, _first, next) => next),
  },
  // protocol
  {
    name: 'no-trailing-slash', rule: 'routing.trailing-slash',
    description: 'an endpoint path with one trailing / is an unknown path (404003)',
    ...wrap('route', 'operationAt', (base) => (x, path) => (path.endsWith('/') ? undefined : base(x, path))),
  },
  {
    name: 'accept-any-content-type', rule: 'protocol.content-type-required', conflicts: ['content-type-exact'],
    description: 'the Content-Type is not checked',
    ...replace('contentType', 'acceptable', () => true),
  },
  {
    name: 'no-body-limit', rule: 'body.size-limit',
    description: 'bodies over 1 MiB are accepted (up to 16 MiB)',
    ...replace('signature', 'bodyLimit', () => 16 * 1_048_576),
  },
  {
    name: 'malformed-json-500001', rule: 'body.invalid-body',
    description: 'malformed JSON is answered 500001 instead of 400005',
    ...replace('parse', 'malformed', () => reject(Code.INTERNAL_ERROR, 'body is not valid JSON')),
  },
  {
    name: 'accept-missing-required', rule: 'validation.required-fields', conflicts: ['invalid-before-missing'],
    description: 'a missing required field is not reported (no 400002)',
    ...wrap('validate', 'judge', (base) => (x, problems) => base(x, problems.filter((p) => !p.missing))),
  },
  {
    name: 'accept-wrong-type', rule: 'validation.field-types',
    description: 'a field of the wrong JSON type is accepted (no 400003 for type errors)',
    ...dropProblems((p) => p.keyword === 'type'),
  },
  {
    name: 'errors-http-200', rule: 'envelope.http-status-matches-code', seenIn: ['signing.signature-verified'],
    description: 'error envelopes are sent with HTTP status 200',
    ...wrap('respond', 'status', (base) => (x, outcome) => (isSuccess(outcome) ? base(x, outcome) : 200)),
  },
  {
    name: 'errors-plain-text', rule: 'envelope.content-type', seenIn: ['signing.signature-verified'],
    description: 'error envelopes are sent as text/plain',
    ...wrap('respond', 'write', (base) => (x, outcome, envelope) => {
      const written = base(x, outcome, envelope);
      return isSuccess(outcome) ? written : { ...written, contentType: TEXT_CONTENT_TYPE };
    }),
  },
  {
    name: 'wrong-field-type', rule: 'response.data-schema', seenIn: ['baseline.signed-request-accepted'],
    description: 'data.versionCode is sent as a string on code 200',
    ...wrap('business', 'success', (base) => (x, data) =>
      base(x, data !== null && typeof data === 'object' ? { ...data, versionCode: String((data as { versionCode?: unknown }).versionCode) } : data)),
  },
  // strategy semantics
  {
    name: 'latest-code-200', rule: 'codes.already-latest',
    description: '"already latest" is answered with code 200 instead of 0',
    ...wrap('business', 'latest', (base) => (x, op, app) => ({ ...base(x, op, app), code: Code.OK })),
  },
  {
    name: 'upgrade-data-null', rule: 'response.data-schema', seenIn: ['baseline.signed-request-accepted'], conflicts: ['upgrade-type-always-prompt', 'offer-key-not-echoed'],
    description: 'code 200 upgrade answers carry data null',
    ...replace('business', 'offerData', () => null),
  },
  {
    name: 'upgrade-type-always-prompt', rule: 'upgrade.upgrade-type',
    description: 'upgradeType is always 1, whatever the strategy says',
    ...wrap('business', 'offerData', (base) => (x, op, key, app, s) => {
      const data = base(x, op, key, app, s);
      return data && { ...data, upgradeType: 1 };
    }),
  },
  {
    name: 'ignore-begin-end-times', rule: 'upgrade.strategy-active',
    description: 'strategy beginAt/endAt are ignored',
    ...replace('business', 'active', () => true),
  },
  {
    name: 'ignore-appoint-version', rule: 'upgrade.appoint-version',
    description: 'appointVersionCode is ignored (newest eligible version offered)',
    ...replace('business', 'appointMatches', () => true),
  },
  {
    name: 'oldest-strategy-first', rule: 'upgrade.newest-first',
    description: 'candidates are walked oldest version first',
    ...replace('business', 'sortCandidates', (_x, candidates) => {
      candidates.sort((a, b) => a.version!.versionCode - b.version!.versionCode || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }),
  },
  {
    name: 'ignore-arch', rule: 'upgrade.arch-filter',
    description: 'the requested arch is not matched on lnx/win/mac upgrades',
    ...replace('business', 'archMatches', () => true),
  },
  {
    name: 'ignore-device-targeting', rule: 'upgrade.device-targeting',
    description: 'device targeting is ignored (every device passes)',
    ...replace('business', 'targeted', () => true),
  },
  {
    name: 'ignore-gray-release', rule: 'upgrade.gray-release',
    description: 'gray release is ignored (every device passes)',
    ...replace('business', 'grayRuleOf', () => null),
  },
  {
    name: 'gray-counts-requests', rule: 'upgrade.gray-release',
    description: 'gray release counts requests, not distinct devices (not sticky)',
    // Every request is a device of its own.
    ...replace('business', 'grayDevice', (_x, devKey) => (devKey === '' ? '' : `${devKey}#${++grayRequests}`)),
  },
  {
    name: 'flow-limit-off-by-one', rule: 'upgrade.flow-limit',
    description: 'a flow limit allows limit + 1 successes per window',
    ...wrap('business', 'flowLimitOf', (base) => (x, rule) => base(x, rule) + 1),
  },
  {
    name: 'flow-limit-counts-latest', rule: 'upgrade.flow-limit-counts-successes',
    description: '"already latest" answers consume flow-limit quota',
    ...wrap('business', 'latest', (base) => (x, op, app) => {
      const nowMs = x.env.clock.now();
      for (const s of app?.strategies ?? []) {
        const rule = activeFlowRule(s, nowMs);
        if (rule !== null && rule.limit >= 1 && inconsistency(s, nowMs) === null) x.env.flow.counter(rule, nowMs).count++;
      }
      return base(x, op, app);
    }),
  },
  {
    name: 'flow-limit-not-atomic', rule: 'upgrade.flow-limit-atomic',
    description: 'the flow counter is read and written across an await, so concurrent requests overshoot',
    // Read, yield, then write what was read (the classic lost update), and only then count.
    ...wrap('business', 'offer', (base) => (x, op, app, s, request, nowMs) => {
      const rule = x.stages.business.flowRuleOf(x, s, nowMs);
      if (rule === null) return base(x, op, app, s, request, nowMs);
      const seen = x.env.flow.counter(rule, nowMs).count;
      return tick().then(() => {
        x.env.flow.counter(rule, nowMs).count = seen;
        return base(x, op, app, s, request, nowMs);
      });
    }),
  },
  {
    name: 'unknown-version-404001', rule: 'codes.version-not-found',
    description: 'a missing version on /version is answered 404001 instead of 404002',
    ...replace('business', 'versionMissing', (_x, op, key) => reject(Code.RESOURCE_NOT_FOUND, `${op.family} app "${key}" has no such version`)),
  },

  // ---- added with the rule catalogue --------------------------------------------------------------------
  {
    name: 'demand-undocumented-field', rule: 'baseline.signed-request-accepted',
    description: 'every operation also requires a body field `channel` (400002 without it), like a deployment that needs a field clients do not send',
    ...wrap('validate', 'schemaProblems', (base) => (x, op, json) => {
      const found = base(x, op, json);
      if (json.channel !== undefined) return found;
      return [...found, { missing: true, where: '/channel', keyword: 'required', text: "body must have required property 'channel'" }];
    }),
  },
  {
    name: 'unsigned-requests-trusted', rule: 'auth.signing-headers-required',
    description: 'a request carrying none of the four signing headers skips authentication (headers, window, access key, signature and nonce checks) and is served',
    ...wrap('headers', 'run', (run) => (x) => (hasHeader(x, (name) => SIGNING_NAMES.has(name)) ? run(x) : waiveAuthentication(x))),
  },
  {
    name: 'missing-header-401001', rule: 'auth.missing-header-code', seenIn: ['auth.signing-headers-required'],
    description: 'a missing or empty signing header is answered 401001 instead of 400004 (a malformed timestamp or nonce is still 400004)',
    ...replace('headers', 'missing', (_x, name) => reject(Code.AUTH_FAILED, `${name} is required`)),
  },
  {
    name: 'debug-header-bypass', rule: 'auth.debug-headers-ignored',
    description: 'a request with an `X-Debug` header (any value, name case-insensitive) skips authentication and is served',
    ...wrap('headers', 'run', (run) => (x) => (hasHeader(x, (name) => name === 'x-debug') ? waiveAuthentication(x) : run(x))),
  },
  {
    name: 'one-secret-for-all-keys', rule: 'signing.access-key-bound',
    description: "every enabled access key is verified with the main pair's secret (the first enabled pair)",
    ...replace('accessKey', 'secretOf', (x) => x.env.fixtures.mainSecret),
  },
  {
    name: 'empty-body-without-part', rule: 'signing.empty-body-part', conflicts: ['body-parsed-before-signature'],
    description: 'the canonical string leaves `body=` out when the body is empty',
    // lib/signing leaves the body part out for GET.
    ...wrap('signature', 'canonical', (base) => (x, input) => (input.body === '' || input.body?.length === 0 ? base(x, { ...input, method: 'GET' }) : base(x, input))),
  },
  {
    name: 'url-not-decoded', rule: 'signing.url-decoded',
    description: 'the url is signed as sent, not percent-decoded (`+` and `%20` stay as they are)',
    ...wrap('signature', 'signedTarget', (base) => (x) => signedAsSent(base(x))),
  },
  {
    name: 'trailing-amp-kept', rule: 'signing.url-decoded',
    description: 'trailing `&` of the canonical string are not trimmed',
    ...wrap('signature', 'canonical', (base) => (x, input) => {
      const bytes = base(x, input);
      const trimmed = trailingAmpersands(input.target);
      if (trimmed === 0) return bytes;
      const out = new Uint8Array(bytes.length + trimmed).fill(0x26);
      out.set(bytes);
      return out;
    }),
  },
  {
    name: 'slash-insensitive-signature', rule: 'signing.trailing-slash-signed',
    description: 'the url is signed with one trailing `/` of the path removed',
    ...wrap('signature', 'signedTarget', (base) => (x) => withoutTrailingSlash(base(x))),
  },
  {
    name: 'body-reserialised', rule: 'signing.exact-body-bytes',
    description: 'the body is hashed as JSON.stringify(JSON.parse(body)) when it parses (else as sent)',
    ...wrap('signature', 'signedBody', (base) => (x) => reserialised(base(x))),
  },
  {
    name: 'timestamp-any-format', rule: 'replay.timestamp-format', conflicts: ['timestamp-offset-ignored', 'timestamp-lowercase-accepted'],
    description: 'X-Timestamp is parsed leniently (whatever Date.parse accepts, and all-digit values as epoch seconds); the window is then checked on that instant',
    ...replace('headers', 'parseStamp', (_x, text) => lenientTimestamp(text)),
  },
  {
    name: 'timestamp-lowercase-accepted', rule: 'replay.timestamp-strict-form',
    description: 'lowercase `t`/`z` are accepted in X-Timestamp',
    ...wrap('headers', 'parseStamp', (base) => (x, text) => base(x, text.replace(/^(\d{4}-\d{2}-\d{2})t/, '$1T').replace(/z$/, 'Z'))),
  },
  {
    name: 'nonce-form-unchecked', rule: 'replay.nonce-form',
    description: 'nonces over 128 characters or with characters outside visible ASCII are accepted (the 16-character minimum stays)',
    ...wrap('headers', 'nonceWellFormed', (base) => (x, value) => value.length >= NONCE_MIN_LENGTH || base(x, value)),
  },
  {
    name: 'nonce-per-path', rule: 'replay.nonce-global',
    description: 'nonces are remembered per path, so a nonce used on one endpoint is accepted on another',
    ...wrap('nonce', 'nonceKey', (base) => (x) => `${x.operation!.path} ${base(x)}`),
  },
  {
    name: 'nonce-reuse-400004', rule: 'replay.nonce-reuse-code', seenIn: ['replay.nonce-single-use'],
    description: 'a reused nonce is answered 400004 instead of 401001',
    ...replace('nonce', 'reused', () => reject(Code.INVALID_HEADER, 'nonce already used')),
  },
  {
    name: 'nonce-not-atomic', rule: 'replay.nonce-atomic', conflicts: ['forget-nonces'],
    description: 'the nonce is checked, then recorded after an await, so concurrent requests with one nonce all pass',
    ...replace('nonce', 'run', (x) => {
      const d = x.stages.nonce;
      const key = d.nonceKey(x);
      const nowMs = x.env.clock.now();
      if (x.env.nonces.has(key, nowMs)) return d.reused(x);
      return tick().then(() => {
        x.env.nonces.checkAndRecord(key, nowMs);
        return undefined;
      });
    }),
  },
  {
    name: 'any-method-accepted', rule: 'protocol.post-only',
    description: 'the method is not checked',
    ...replace('method', 'allowed', () => true),
  },
  {
    name: 'content-type-exact', rule: 'protocol.content-type-params',
    description: 'only exactly `application/json` is accepted (no parameters, case-sensitive)',
    ...replace('contentType', 'acceptable', (_x, value) => value === 'application/json'),
  },
  {
    name: 'bad-escape-accepted', rule: 'protocol.target-decodes',
    description: 'a bad `%` escape is not rejected at the target stage; the url is then signed with undecodable escapes left as they are',
    ...replace('target', 'urlToSign', (_x, requestTarget) =>
      percentDecodes(requestTarget) ? requestTarget : requestTarget.replace(/%(?![0-9A-Fa-f]{2})/g, '%25')),
  },
  {
    name: 'unknown-path-404001', rule: 'routing.unknown-path',
    description: 'unknown paths are answered 404001',
    ...replace('route', 'unknownPath', (_x, path) => reject(Code.RESOURCE_NOT_FOUND, `no endpoint ${path}`)),
  },
  {
    name: 'body-parsed-before-signature', rule: 'order.first-failing-check',
    description: 'the body is parsed (400005) before the signature is compared',
    // In its new place the body is not read yet: read it first, as the signature stage would.
    ...moveBefore('parse', 'signature', (run) => (x) => {
      const read = x.stages.signature.readBody(x);
      return read instanceof Promise ? read.then((failure) => failure ?? run(x)) : (read ?? run(x));
    }),
  },
  {
    name: 'invalid-before-missing', rule: 'validation.missing-before-invalid',
    description: 'type and range errors (400003) are reported before missing fields (400002)',
    ...replace('validate', 'judge', (_x, problems) => {
      const invalid = problems.find((p) => !p.missing);
      if (invalid) return reject(Code.INVALID_PARAMETER, invalid.text);
      return problems.length > 0 ? reject(Code.MISSING_PARAMETER, problems.map((p) => p.text).join('; ')) : undefined;
    }),
  },
  {
    name: 'empty-key-accepted', rule: 'validation.empty-key',
    description: 'an empty app key passes validation (and is then unknown: 404001)',
    ...dropProblems((p, x) => isAt(`/${x.operation!.keyField}`, 'minLength')(p)),
  },
  {
    name: 'null-as-absent', rule: 'validation.null-invalid',
    description: '`null` is treated as an absent field (a required one is then missing: 400002; an optional one ignored)',
    ...replace('validate', 'normalise', (_x, json) => withoutNulls(json)),
  },
  {
    name: 'lenient-integer-literals', rule: 'validation.int64-literals',
    description: 'integer fields are judged on the parsed value only (`1.0`, `1e3` and values beyond int64 pass; `1.5` is still a type error)',
    ...replace('validate', 'literalProblems', () => []),
  },
  {
    name: 'version-code-zero-accepted', rule: 'validation.version-code-positive',
    description: 'versionCode 0 is accepted',
    ...dropProblems(isAt('/versionCode', 'minimum')),
  },
  {
    name: 'negative-appoint-accepted', rule: 'validation.appoint-non-negative',
    description: 'a negative appointVersionCode is accepted',
    ...dropProblems(isAt('/appointVersionCode', 'minimum')),
  },
  {
    name: 'arch-any-string', rule: 'validation.arch-enum',
    description: 'any string is accepted as `arch` (it then matches nothing)',
    ...dropProblems(isAt('/arch', 'enum')),
  },
  {
    name: 'version-name-unchecked', rule: 'validation.semver-version-name',
    description: 'tauri/electron versionName is not checked (a malformed one is then not found: 404002)',
    ...dropProblems(isAt('/versionName', 'pattern')),
  },
  {
    name: 'report-fields-unchecked', rule: 'validation.report-fields',
    description: "the report's eventType value, timestamp and launchTime formats and eventData's shape/types are not checked (required keys and the app_start launchTime presence still are)",
    ...dropProblems((p, x) => x.operation!.kind === 'report' && !p.missing && /^\/(eventType|timestamp|eventData)(\/|$)/.test(p.where)),
  },
  {
    name: 'unknown-app-latest', rule: 'codes.app-not-found',
    description: 'an unknown app key gets code 0 on upgrade and report operations and 404002 on version operations',
    ...replace('business', 'appNotFound', (x, op, key): Outcome => {
      if (op.kind === 'version') return reject(Code.RECORD_NOT_FOUND, `no version of "${key}"`);
      return op.kind === 'upgrade' ? x.stages.business.latest(x, op, null) : succeed(Code.LATEST, null);
    }),
  },
  {
    name: 'internal-error-500002', rule: 'codes.internal-error',
    description: 'unexpected failures (e.g. apps flagged failInternally) are answered 500002 instead of 500001',
    ...replace('respond', 'crashed', (_x, error) => reject(Code.DATA_INVALID, error instanceof Error ? error.message : 'failure')),
  },
  {
    name: 'inconsistent-data-skipped', rule: 'codes.data-invalid',
    description: 'inconsistent strategies are skipped (walk goes on; code 0 if none) instead of answering 500002',
    ...wrap('business', 'strategiesOf', (base) => (x, app) => base(x, app).filter((s) => inconsistency(s, x.env.clock.now()) === null)),
  },
  {
    name: 'offer-key-not-echoed', rule: 'upgrade.offer-data',
    description: 'code-200 upgrade data carries "" as the app key instead of echoing it',
    ...wrap('business', 'offerData', (base) => (x, op, key, app, s) => {
      const data = base(x, op, key, app, s);
      return data && { ...data, [op.keyField]: '' };
    }),
  },
  {
    name: 'latest-data-describes-version', rule: 'upgrade.latest-data',
    description: "code-0 data describes the app's newest version instead of zero values",
    ...wrap('business', 'latest', (base) => (x, op, app) => {
      const outcome = base(x, op, app);
      const newest = app && newestVersion(app);
      return newest ? { ...outcome, data: upgradeData(op, app.key, app, newest, null) } : outcome;
    }),
  },
  {
    name: 'version-lookup-newest', rule: 'upgrade.version-lookup',
    description: "a version lookup answers the app's newest version, whatever version was asked for",
    ...replace('business', 'versionOf', (_x, _op, app) => newestVersion(app)),
  },
  {
    name: 'appoint-falls-back-to-newest', rule: 'upgrade.appoint-not-offered',
    description: 'when the appointed version is not offered, the newest eligible version is offered instead of code 0',
    ...wrap('business', 'choose', (base) => (x, op, app, request, nowMs) => {
      const chosen = base(x, op, app, request, nowMs);
      if (request.appoint <= 0) return chosen;
      const fallBack = (outcome: Outcome) => (outcome.code === Code.LATEST ? base(x, op, app, { ...request, appoint: 0 }, nowMs) : outcome);
      return chosen instanceof Promise ? chosen.then(fallBack) : fallBack(chosen);
    }),
  },
  {
    name: 'win-empty-arch-matches-nothing', rule: 'upgrade.win-arch-optional',
    description: 'on win upgrade, arch "" is matched literally (no build has it: code 0; an omitted arch still means no filter)',
    ...wrap('business', 'archMatches', (base) => (x, op, version, arch) => (op.arch === 'optional' && x.json!.arch === '' ? version.arch === arch : base(x, op, version, arch))),
  },
  {
    name: 'gray-not-atomic', rule: 'upgrade.gray-atomic',
    description: 'the gray admission is read and written across an await, so concurrent devices overshoot the limit',
    // The walk read the admissions; the offer that writes them now waits first.
    ...wrap('business', 'offer', (base) => (x, op, app, s, request, nowMs) =>
      x.stages.business.grayRuleOf(x, s, nowMs) === null ? base(x, op, app, s, request, nowMs) : tick().then(() => base(x, op, app, s, request, nowMs))),
  },
  {
    name: 'flow-limit-falls-back', rule: 'upgrade.flow-limit-no-fallback',
    description: "when the chosen strategy's flow quota is exhausted, the walk falls back to the next candidate (429001 only when none is left)",
    ...wrap('business', 'choose', (base) => (x, op, app, request, nowMs) => {
      const retry = (outcome: Outcome): Outcome | Promise<Outcome> => {
        if (outcome.code !== Code.FLOW_LIMITED) return outcome;
        const d = x.stages.business;
        const open = (s: Parameters<typeof d.eligible>[1]) => {
          const rule = d.flowRuleOf(x, s, nowMs);
          return rule === null || x.env.flow.counter(rule, nowMs).count < d.flowLimitOf(x, rule);
        };
        const walkAgain = { ...x, stages: { ...x.stages, business: { ...d, strategiesOf: (y: RequestState, a: typeof app) => d.strategiesOf(y, a).filter(open) } } };
        const again = base(walkAgain, op, app, request, nowMs);
        const pick = (o: Outcome) => (o.code === Code.OK ? o : outcome);
        return again instanceof Promise ? again.then(pick) : pick(again);
      };
      const first = base(x, op, app, request, nowMs);
      return first instanceof Promise ? first.then(retry) : retry(first);
    }),
  },
  {
    name: 'errors-not-json', rule: 'envelope.json-body', seenIn: ['signing.signature-verified'], conflicts: ['errors-plain-text'],
    description: 'error answers are plain text (`<code> <meaning>`, Content-Type text/plain), not JSON',
    ...wrap('respond', 'write', (base) => (x, outcome, envelope) =>
      isSuccess(outcome) ? base(x, outcome, envelope) : { contentType: TEXT_CONTENT_TYPE, body: `${outcome.code} ${CODES[outcome.code as CodeValue]?.meaning ?? ''}` }),
  },
  {
    name: 'errors-without-msg', rule: 'envelope.shape', seenIn: ['signing.signature-verified'],
    description: 'error envelopes leave out `msg`',
    ...wrap('respond', 'envelope', (base) => (x, outcome) => {
      if (isSuccess(outcome)) return base(x, outcome);
      const { msg: _msg, ...rest } = base(x, outcome);
      return rest;
    }),
  },
  {
    name: 'disabled-key-403', rule: 'envelope.documented-status', seenIn: ['auth.disabled-access-key'],
    description: 'a disabled access key is answered HTTP 403 with code 403001 (a status the spec does not document)',
    ...replace('accessKey', 'disabled', () => ({ code: UNDOCUMENTED_FORBIDDEN, data: null, detail: 'access key disabled' })),
  },
  {
    name: 'chunked-bodies-hang', rule: 'transport.answered', seenIn: ['body.size-limit'],
    description: 'a body sent chunked (Transfer-Encoding, no Content-Length) is never answered: the request hangs until the client gives up',
    ...wrap('signature', 'readBody', (base) => (x) => (hasHeader(x, (name) => name === 'transfer-encoding') ? new Promise<Verdict>(() => undefined) : base(x))),
  },
];

export const FAULT_NAMES: readonly string[] = FAULTS.map((f) => f.name);
const BY_NAME = new Map(FAULTS.map((f) => [f.name, f]));

export class FaultError extends Error {
  override name = 'FaultError';
}

/**
 * The named faults, in table order (trimmed, empty entries dropped). Throws naming an unknown fault,
 * or two that conflict.
 */
export function parseFaults(names: Iterable<string>): Fault[] {
  const chosen = new Set<string>();
  for (const raw of names) {
    const name = raw.trim();
    if (!name) continue;
    if (!BY_NAME.has(name)) throw new FaultError(`unknown fault "${name}"; run with --list-faults to see the ${FAULTS.length} known names`);
    chosen.add(name);
  }
  const faults = FAULTS.filter((f) => chosen.has(f.name));
  for (const fault of faults) {
    const clash = fault.conflicts?.find((other) => chosen.has(other));
    if (clash) throw new FaultError(`faults "${fault.name}" and "${clash}" cannot be combined: they change the same decision of the ${fault.stage} stage`);
  }
  return faults;
}

/** The stage table with the faults applied, in table order. */
export function tableWith(faults: readonly Fault[], table: PipelineTable = REFERENCE_TABLE): PipelineTable {
  return faults.reduce((t, fault) => fault.apply(t), table);
}

/** `name  description`, one per line. */
export function listFaults(): string {
  const width = Math.max(...FAULT_NAMES.map((n) => n.length));
  return FAULTS.map((f) => `${f.name.padEnd(width)}  ${f.description}`).join('\n');
}

/** `[{"name","rule","stage","description"}]`, one JSON array. */
export function listFaultsJson(): string {
  return JSON.stringify(FAULTS.map(({ name, rule, stage, description }) => ({ name, rule, stage, description })));
}
