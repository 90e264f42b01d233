// The rule catalogue: every assertion the contract suite makes belongs to one of these rules.
//
// A rule has a stable id (`area.name`), a one-sentence statement of what a conforming deployment
// does, where that comes from, and how much a departure matters:
//
//   source    `seed:<page>`: stated on one of the four official documentation pages (the contract);
//             `reference`: a choice this project made where the pages are silent (contract/README.md,
//             "Sources"). A deployment that departs from a reference choice gets an advisory finding.
//   severity  critical: authentication, signature, replay protection
//             major:    documented status and business codes, upgrade semantics
//             minor:    envelope shape details
//             advisory: every `reference` rule, whatever its area
//   after     prerequisite rules: when one of them already has a finding on the same operation, a
//             failure under this rule there is reported as blocked by that finding, not as a finding
//             of its own (a target that accepts any signature is one finding, not one per tampered part)
//
// Every test of an operation also comes after `baseline.signed-request-accepted` for that operation.
// contract/RULES.md is generated from this table (`npm run gen:rules`; checked for drift).

export type Severity = 'critical' | 'major' | 'minor' | 'advisory';
export const SEVERITIES: readonly Severity[] = ['critical', 'major', 'minor', 'advisory'];
export type SeedSource = 'seed:file-upgrade' | 'seed:file-version' | 'seed:apk-upgrade' | 'seed:lnx-upgrade';
export type RuleSource = SeedSource | 'reference';

export interface RuleDefinition {
  readonly id: string;
  /** What a conforming deployment does, in one sentence. */
  readonly title: string;
  readonly source: RuleSource;
  readonly severity: Severity;
  /** Where the rule is stated: the words of the seed page, or the reason for the reference choice. */
  readonly basis: string;
  readonly after?: readonly string[];
}

const seed = (page: SeedSource extends `seed:${infer P}` ? P : never) => `seed:${page}` as SeedSource;
// Facts every one of the four pages states (headers, replay mechanism, status table) cite apk-upgrade.
const ALL_PAGES = seed('apk-upgrade');

export const RULES = [
  // ---- baseline ---------------------------------------------------------------------------------
  {
    id: 'baseline.signed-request-accepted',
    title: 'A correctly signed, well-formed request for a seeded app is answered with success (code 200, or 0 for a report).',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Every page: the request as documented gets the success response body. Every other test of an operation comes after this one.',
  },

  {
    id: 'transport.answered',
    title: 'Every request gets an HTTP answer within the request timeout (no hang, no reset).',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Every page documents a response for every request.',
  },

  // ---- authentication ---------------------------------------------------------------------------
  {
    id: 'auth.signing-headers-required',
    title: 'A request without the signing headers, or without any one of them (or with one empty), never gets a business success.',
    source: ALL_PAGES,
    severity: 'critical',
    basis: 'Request headers: X-Timestamp, X-Nonce, X-AccessKey and X-Signature are each "Required: Yes".',
  },
  {
    id: 'auth.missing-header-code',
    title: 'A missing or empty signing header is answered 400004.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Status codes: 400004 "Invalid headers".',
    after: ['auth.signing-headers-required'],
  },
  {
    id: 'auth.debug-headers-ignored',
    title: 'Debug-style headers (x-debug, x-test, x-bypass, …) never stand in for the signing headers or a valid signature.',
    source: ALL_PAGES,
    severity: 'critical',
    basis: 'The signing headers are required on every request; no page documents a way around them.',
    after: ['auth.signing-headers-required', 'signing.signature-verified'],
  },
  {
    id: 'auth.unknown-access-key',
    title: 'An unknown access key is rejected, even when the request is signed with a valid secret (401001).',
    source: ALL_PAGES,
    severity: 'critical',
    basis: 'X-AccessKey "Access Key"; status codes: 401001 "Authentication failed".',
  },
  {
    id: 'auth.disabled-access-key',
    title: 'A disabled access key is rejected with 401001, even when correctly signed.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The pages do not describe disabling keys; the production service rejects them with 401001.',
  },

  // ---- signing ----------------------------------------------------------------------------------
  {
    id: 'signing.signature-verified',
    title: 'A signature that does not match the request is rejected: signed with another secret, or with the body, path, query, timestamp or nonce changed after signing.',
    source: ALL_PAGES,
    severity: 'critical',
    basis: 'X-Signature "Request signature" over body, nonce, secret, timestamp and url (the signature rules the pages link to); status codes: 401002 "Signature verification failed".',
  },
  {
    id: 'signing.mismatch-code',
    title: 'A signature that does not match the request is answered 401002.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Status codes: 401002 "Signature verification failed".',
    after: ['signing.signature-verified'],
  },
  {
    id: 'signing.access-key-bound',
    title: 'A signature is checked with the secret of the access key sent: signed with one pair, sent under another key, it is rejected.',
    source: ALL_PAGES,
    severity: 'critical',
    basis: 'X-AccessKey names the pair whose secret signs the request.',
    after: ['signing.signature-verified'],
  },
  {
    id: 'signing.query-covered',
    title: 'A query string is part of the signed url: a request with a query, signed over it, is accepted.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The pages use no query string; the url signed is the path plus ?query as sent (handlers ignore the query).',
    after: ['signing.mismatch-code', 'signing.signature-verified'],
  },
  {
    id: 'signing.exact-body-bytes',
    title: 'The body is signed byte for byte as sent: raw UTF-8 and \\u-escaped forms are each accepted when signed as sent, never when signed as the other.',
    source: 'reference',
    severity: 'advisory',
    basis: 'Sign the exact bytes sent; the server never re-serialises the body before hashing.',
    after: ['signing.mismatch-code', 'signing.signature-verified'],
  },
  {
    id: 'signing.empty-body-part',
    title: 'For a POST the `body=` part is signed even when the body is empty.',
    source: 'reference',
    severity: 'advisory',
    basis: 'Canonical string: `body=` is present for POST even for an empty body.',
    after: ['signing.mismatch-code', 'signing.signature-verified'],
  },
  {
    id: 'signing.url-decoded',
    title: 'The url is signed percent-decoded (`+` as a space) and with its trailing `&`s trimmed.',
    source: 'reference',
    severity: 'advisory',
    basis: 'Canonical string: the url is percent-decoded, `+` becomes a space, trailing `&` are trimmed.',
    after: ['signing.mismatch-code', 'signing.query-covered', 'signing.signature-verified'],
  },
  {
    id: 'signing.trailing-slash-signed',
    title: 'A trailing slash is part of the signed url: signed without it and sent with it, the request is rejected.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The url is signed as on the request line.',
    after: ['signing.mismatch-code', 'signing.signature-verified', 'routing.trailing-slash'],
  },
  {
    id: 'signing.lowercase-hex',
    title: 'X-Signature is compared exactly: the right MD5 in uppercase hex is rejected with 401002.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The signature is 32 lowercase hex characters and compared exactly.',
    after: ['signing.mismatch-code', 'signing.signature-verified'],
  },
  {
    id: 'signing.header-names-case-insensitive',
    title: 'Signing header names are matched case-insensitively (`x-nonce`, and the SDKs\' `x-Nonce`).',
    source: 'reference',
    severity: 'advisory',
    basis: 'HTTP header names are case-insensitive, and the official SDKs send `x-Timestamp`, `x-Nonce`, ….',
  },
  {
    id: 'signing.repeated-header-first',
    title: 'A repeated signing header uses its first value.',
    source: 'reference',
    severity: 'advisory',
    basis: 'Chosen to match the production service.',
    after: ['signing.signature-verified'],
  },

  // ---- replay protection ------------------------------------------------------------------------
  {
    id: 'replay.timestamp-window',
    title: 'A timestamp more than 5 minutes from the server\'s clock, past or future, is rejected (401001); one within 5 minutes is accepted, in UTC or with any offset.',
    source: ALL_PAGES,
    severity: 'critical',
    basis: 'Replay protection: "Server validates timestamp difference with server time not exceeding ±5 minutes".',
  },
  {
    id: 'replay.window-edges-inclusive',
    title: 'The window ends are inclusive and exact: ±5:00 is accepted, 5:00.001 is not.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The pages say "not exceeding ±5 minutes"; inclusive ends and exact fractions follow the production service.',
    after: ['replay.timestamp-window'],
  },
  {
    id: 'replay.timestamp-format',
    title: 'X-Timestamp is an RFC3339 date-time with an offset: such forms are accepted, other forms are rejected with 400004.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'X-Timestamp: "Request time in RFC3339 format"; status codes: 400004 "Invalid headers".',
  },
  {
    id: 'replay.timestamp-strict-form',
    title: 'Lowercase `t`/`z` in X-Timestamp is rejected with 400004.',
    source: 'reference',
    severity: 'advisory',
    basis: 'RFC3339 allows lowercase; the production service rejects it, and so does the contract.',
    after: ['replay.timestamp-format'],
  },
  {
    id: 'replay.nonce-min-length',
    title: 'A nonce shorter than 16 characters is rejected with 400004; 16 characters are accepted.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'X-Nonce: "Unique random string (at least 16 characters)".',
  },
  {
    id: 'replay.nonce-form',
    title: 'A nonce is at most 128 characters of visible ASCII; anything else is rejected with 400004.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The pages give only the minimum length; the upper bound and character set are this project\'s choice.',
    after: ['replay.nonce-min-length'],
  },
  {
    id: 'replay.nonce-single-use',
    title: 'A nonce is accepted once: a request replayed unchanged, or re-signed with a used nonce, is rejected.',
    source: ALL_PAGES,
    severity: 'critical',
    basis: 'Replay protection: "Server checks if Nonce value already exists (prevents duplicate requests)".',
  },
  {
    id: 'replay.nonce-reuse-code',
    title: 'A reused nonce is answered 401001.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The pages do not name the code; 401001 "Authentication failed" is this project\'s choice.',
    after: ['replay.nonce-single-use'],
  },
  {
    id: 'replay.nonce-global',
    title: 'A nonce used on one endpoint is rejected on every other.',
    source: ALL_PAGES,
    severity: 'critical',
    basis: '"Server checks if Nonce value already exists": whatever endpoint it was used on.',
    after: ['replay.nonce-single-use'],
  },
  {
    id: 'replay.nonce-after-signature',
    title: 'A nonce is recorded only once the signature verifies (and a body over 1 MiB is refused before): forged requests cannot burn nonces.',
    source: 'reference',
    severity: 'advisory',
    basis: 'Chosen so that a forger cannot deny service by burning nonces.',
    after: ['signing.mismatch-code', 'signing.signature-verified', 'replay.nonce-single-use', 'body.size-limit'],
  },
  {
    id: 'replay.nonce-consumed-on-error',
    title: 'A nonce stays consumed when a later check fails (400002, 404001): a retry needs a new nonce.',
    source: 'reference',
    severity: 'advisory',
    basis: 'Chosen so that a request is never processed twice, whatever its outcome.',
    after: ['replay.nonce-single-use', 'validation.required-fields', 'codes.app-not-found'],
  },
  {
    id: 'replay.nonce-atomic',
    title: 'Of many concurrent requests with one nonce, exactly one gets past the nonce check.',
    source: 'reference',
    severity: 'advisory',
    basis: 'Check and record are one atomic step (this project\'s choice; the production service does not check nonces).',
    after: ['replay.nonce-single-use'],
  },

  // ---- protocol ---------------------------------------------------------------------------------
  {
    id: 'protocol.post-only',
    title: 'Signed routes answer only POST: any other method (and a CORS preflight) gets 400001, with no CORS headers.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The pages document POST only; the production service answers 405 without an envelope.',
  },
  {
    id: 'protocol.content-type-required',
    title: 'A request without `Content-Type: application/json` is rejected with 400001.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Request headers: "Content-Type: Yes, application/json"; status codes: 400001 "Illegal request".',
  },
  {
    id: 'protocol.content-type-params',
    title: 'The media type is matched case-insensitively, with parameters allowed (`application/json; charset=utf-8`).',
    source: 'reference',
    severity: 'advisory',
    basis: 'Media types are case-insensitive and take parameters (RFC 9110).',
    after: ['protocol.content-type-required'],
  },
  {
    id: 'protocol.target-decodes',
    title: 'A request target with a bad `%` escape is rejected with 400001.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The target is signed decoded, so it must decode; the production service signs an empty url instead.',
  },
  {
    id: 'routing.unknown-path',
    title: 'An unknown path is answered with an envelope: 404003 under /v1/, 404004 elsewhere.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The codes are on the pages, the paths that produce them are this project\'s choice (production: plain-text 404).',
  },
  {
    id: 'routing.trailing-slash',
    title: 'An endpoint path with one trailing `/` routes to the endpoint.',
    source: 'reference',
    severity: 'advisory',
    basis: 'Follows the production service.',
  },
  {
    id: 'order.first-failing-check',
    title: 'A request with two faults gets the code of the earlier check (route, method, content type, headers, window, key, signature, nonce, body, validation).',
    source: 'reference',
    severity: 'advisory',
    basis: 'The check order is this project\'s choice (REFERENCE §4.3).',
    // Each case combines two faults: when either one's own rule already fails, the order cannot be judged.
    after: [
      'routing.unknown-path', 'protocol.post-only', 'protocol.content-type-required', 'auth.signing-headers-required', 'replay.nonce-min-length',
      'replay.timestamp-window', 'auth.unknown-access-key', 'signing.signature-verified', 'body.invalid-body', 'validation.required-fields',
    ],
  },

  // ---- request validation -----------------------------------------------------------------------
  {
    id: 'validation.required-fields',
    title: 'A request without a required field is rejected with 400002 (field names are case-sensitive).',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Request body parameters marked "Required: Yes"; status codes: 400002 "Missing parameters".',
  },
  {
    id: 'validation.missing-before-invalid',
    title: 'Missing beats invalid: one field missing and another of the wrong type gives 400002; so does an app_start report without eventData.launchTime.',
    source: 'reference',
    severity: 'advisory',
    basis: 'This project\'s choice of check order.',
    after: ['validation.required-fields'],
  },
  {
    id: 'validation.field-types',
    title: 'A field of the wrong JSON type is rejected with 400003.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Request body parameters give each field\'s type; status codes: 400003 "Invalid parameters".',
  },
  {
    id: 'validation.empty-key',
    title: 'An empty app key is rejected with 400003.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The pages call the key a "unique identifier" but do not forbid ""; this project rejects it.',
  },
  {
    id: 'validation.null-invalid',
    title: '`null` is invalid for every declared field, required or optional (400003).',
    source: 'reference',
    severity: 'advisory',
    basis: 'This project\'s choice; the production service answers 500001.',
    after: ['validation.field-types'],
  },
  {
    id: 'validation.int64-literals',
    title: 'Integer fields take plain int64 literals: `1.0`, `1e3`, floats and values beyond int64 are rejected with 400003.',
    source: 'reference',
    severity: 'advisory',
    basis: 'This project\'s choice; the production service answers 500001 for floats.',
    after: ['signing.exact-body-bytes', 'validation.field-types'],
  },
  {
    id: 'validation.version-code-positive',
    title: 'versionCode 0 is rejected with 400003 (versionCode ≥ 1).',
    source: 'reference',
    severity: 'advisory',
    basis: 'Follows the production service.',
  },
  {
    id: 'validation.appoint-non-negative',
    title: 'A negative appointVersionCode is rejected with 400003.',
    source: 'reference',
    severity: 'advisory',
    basis: 'This project\'s choice; the pages only say 0 means the latest version.',
  },
  {
    id: 'validation.arch-enum',
    title: '`arch` is `x64` or `arm64` (on win upgrade also ""): anything else is rejected with 400003.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The lnx page lists x64 and arm64; enforcing the list is this project\'s choice (production matches nothing).',
  },
  {
    id: 'validation.semver-version-name',
    title: 'tauri/electron versionName is MAJOR.MINOR.PATCH (optional `v`, MINOR and PATCH ≤ 999); anything else is rejected with 400003.',
    source: 'reference',
    severity: 'advisory',
    basis: 'No page documents these endpoints; the grammar follows the production service.',
  },
  {
    id: 'validation.report-fields',
    title: 'A report with an unknown eventType, an unparsable timestamp or launchTime, or eventData of the wrong shape is rejected with 400003.',
    source: 'reference',
    severity: 'advisory',
    basis: 'No page documents the report; the production service accepts any value.',
    after: ['validation.field-types'],
  },
  {
    id: 'body.invalid-body',
    title: 'A body that is empty, not JSON, not UTF-8 or not a JSON object is rejected with 400005.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The code is on the pages; the cases are this project\'s choice (production answers 500001).',
    after: ['signing.exact-body-bytes'],
  },
  {
    id: 'body.size-limit',
    title: 'A body over 1 MiB (with Content-Length or chunked) is rejected with 400005; up to 1 MiB is accepted.',
    source: 'reference',
    severity: 'advisory',
    basis: 'This project\'s limit (production answers 413 without an envelope).',
  },

  // ---- business codes ---------------------------------------------------------------------------
  {
    id: 'codes.app-not-found',
    title: 'An app key unknown in the endpoint\'s family is answered 404001.',
    source: seed('file-upgrade'),
    severity: 'major',
    basis: 'Typical error response: 404001 "No available version found"; status codes: 404001 "Resource not found".',
  },
  {
    id: 'codes.version-not-found',
    title: 'A version lookup for a version the app does not have is answered 404002.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The file-version page shows 404001 for this; this project answers 404002 "Record not found" (an override).',
    after: ['upgrade.version-lookup'],
  },
  {
    id: 'codes.internal-error',
    title: 'An unexpected failure is answered 500001.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Status codes: 500001 "Server internal error". Needs fault fixtures.',
  },
  {
    id: 'codes.data-invalid',
    title: 'Inconsistent server data met while serving is answered 500002.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The code is on the pages; which data counts as inconsistent is this project\'s choice. Needs fault fixtures.',
  },
  {
    id: 'codes.already-latest',
    title: 'A client already on the newest offered version, or an app with no strategy, gets HTTP 200 with code 0.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Status codes: 200 / 0 "Request successful, already at latest version".',
  },

  // ---- upgrade semantics ------------------------------------------------------------------------
  {
    id: 'upgrade.offer-data',
    title: 'Code 200 carries the offered version: newer than the client\'s, with the app key echoed, a version name and upgradeType 1–3.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Response body parameters of the upgrade pages.',
    after: ['codes.already-latest'],
  },
  {
    id: 'upgrade.latest-data',
    title: 'Code 0 carries data null or an object of zero values, never a version.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The pages show no code-0 body; this project accepts both forms (production sends zero values).',
    after: ['codes.already-latest'],
  },
  {
    id: 'upgrade.version-lookup',
    title: 'A version lookup answers code 200 describing exactly the version asked for.',
    source: seed('file-version'),
    severity: 'major',
    basis: 'Response body parameters of the file-version page.',
  },
  {
    id: 'upgrade.appoint-version',
    title: 'appointVersionCode > 0 offers exactly that version, even when a newer one exists.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'appointVersionCode: "Expected upgrade version number, defaults to latest version if not provided or set to 0".',
    after: ['codes.already-latest'],
  },
  {
    id: 'upgrade.appoint-not-offered',
    title: 'An appointed version that no strategy offers, or one not above the client\'s, gives code 0 even when newer versions exist.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The pages do not say what happens; this project answers code 0.',
    after: ['codes.already-latest', 'upgrade.appoint-version'],
  },
  {
    id: 'upgrade.newest-first',
    title: 'With appointVersionCode 0 or absent, a client is offered the newest eligible version above its own.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'appointVersionCode: "defaults to latest version if not provided or set to 0".',
    after: ['codes.already-latest'],
  },
  {
    id: 'upgrade.strategy-active',
    title: 'Only an enabled strategy with beginAt ≤ now < endAt is offered.',
    source: 'reference',
    severity: 'advisory',
    basis: 'Strategies are not on the pages; the time window follows this project\'s fixture model.',
    // Its fixtures offer a newer inactive strategy over an older active one: oldest-first hides it.
    after: ['codes.already-latest', 'upgrade.newest-first'],
  },
  {
    id: 'upgrade.upgrade-type',
    title: 'upgradeType is sent as the strategy says: 1 prompt, 2 silent, 3 forced.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'upgradeType: "Upgrade Method: 1: Prompt upgrade; 2: Silent upgrade; 3: Force upgrade".',
    after: ['codes.already-latest'],
  },
  {
    id: 'upgrade.device-targeting',
    title: 'Device-group and device-model targeting offer a strategy only to the targeted devKeys or devModelKeys.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The pages define devKey and devModelKey but not targeting; semantics follow the production service.',
    after: ['upgrade.newest-first', 'codes.already-latest'],
  },
  {
    id: 'upgrade.arch-filter',
    title: 'An x64 and an arm64 client are each offered the build of their own arch, or code 0 when there is none.',
    source: seed('lnx-upgrade'),
    severity: 'major',
    basis: 'arch: "Machine architecture: x64, arm64".',
    after: ['codes.already-latest'],
  },
  {
    id: 'upgrade.win-arch-optional',
    title: 'On win upgrade, arch omitted or "" means no arch filter.',
    source: 'reference',
    severity: 'advisory',
    basis: 'No page documents win; follows the production service.',
    after: ['codes.already-latest'],
  },
  {
    id: 'upgrade.gray-release',
    title: 'Gray release admits exactly `limit` distinct devices, sticky per device; later devices fall back or get code 0.',
    source: 'reference',
    severity: 'advisory',
    basis: 'Gray release is not on the pages; counting distinct devices is this project\'s choice (production counts requests).',
    after: ['upgrade.newest-first', 'codes.already-latest'],
  },
  {
    id: 'upgrade.gray-atomic',
    title: 'Under concurrency gray release still admits exactly `limit` distinct devices.',
    source: 'reference',
    severity: 'advisory',
    basis: 'This project\'s choice (production counters are not atomic).',
    after: ['codes.already-latest', 'upgrade.gray-release'],
  },
  {
    id: 'upgrade.flow-limit',
    title: 'A flow-limited strategy gives exactly `limit` code-200 answers per window, then 429001, and recovers in the next window.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Status codes: 429001 "Application task strategy request rate limit … please try again later".',
  },
  {
    id: 'upgrade.flow-limit-counts-successes',
    title: 'Only code-200 answers use flow quota: "already latest" and rejected requests do not.',
    source: 'reference',
    severity: 'advisory',
    basis: 'This project\'s choice.',
    after: ['codes.already-latest', 'upgrade.flow-limit', 'validation.required-fields'],
  },
  {
    id: 'upgrade.flow-limit-no-fallback',
    title: 'An exhausted strategy answers 429001 with no fallback to an older open strategy; a disabled flow rule does not limit.',
    source: 'reference',
    severity: 'advisory',
    basis: 'Follows the production service.',
    after: ['upgrade.newest-first', 'upgrade.flow-limit'],
  },
  {
    id: 'upgrade.flow-limit-atomic',
    title: 'Of N concurrent eligible requests in one window, exactly min(N, limit) get code 200.',
    source: 'reference',
    severity: 'advisory',
    basis: 'This project\'s choice (production counters are not atomic).',
    after: ['upgrade.flow-limit'],
  },

  // ---- envelope (checked on every answer) -------------------------------------------------------
  {
    id: 'envelope.json-body',
    title: 'Every answer (but HEAD) is a JSON object with a numeric `code`.',
    source: ALL_PAGES,
    severity: 'minor',
    basis: 'Every response body on the pages is a JSON envelope {code, msg, data}.',
  },
  {
    id: 'envelope.documented-status',
    title: 'The HTTP status is one the spec documents for the operation.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Status codes table.',
    after: ['envelope.json-body'],
  },
  {
    id: 'envelope.http-status-matches-code',
    title: 'The HTTP status is the one the code is documented with: code / 1000 for six-digit codes, 200 for 0 and 200.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Status codes table: each code with its HTTP status.',
    after: ['envelope.json-body', 'envelope.documented-status'],
  },
  {
    id: 'envelope.content-type',
    title: 'Every answer carries `Content-Type: application/json`.',
    source: 'reference',
    severity: 'advisory',
    basis: 'The pages show JSON bodies but not the header.',
    after: ['envelope.json-body', 'envelope.documented-status', 'envelope.http-status-matches-code'],
  },
  {
    id: 'envelope.shape',
    title: 'The envelope validates against the spec: `code` an integer, `msg` a string, `data` null or absent on errors.',
    source: ALL_PAGES,
    severity: 'minor',
    basis: 'Response bodies on the pages: code, msg, data (docs and traceId optional).',
    after: ['envelope.json-body', 'envelope.documented-status', 'envelope.http-status-matches-code', 'envelope.content-type'],
  },
  {
    id: 'response.data-schema',
    title: 'The `data` of a success answer validates against the spec: every documented field, of its documented type.',
    source: ALL_PAGES,
    severity: 'major',
    basis: 'Response body parameters tables.',
    after: ['envelope.json-body', 'envelope.documented-status', 'envelope.http-status-matches-code', 'envelope.content-type'],
  },
] as const satisfies readonly RuleDefinition[];

export type RuleId = (typeof RULES)[number]['id'];

const BY_ID = new Map<string, RuleDefinition>(RULES.map((r) => [r.id, r]));

export function ruleById(id: string): RuleDefinition {
  const rule = BY_ID.get(id);
  if (!rule) throw new Error(`no rule ${id} in contract/rules.ts`);
  return rule;
}

export function isRuleId(id: string): id is RuleId {
  return BY_ID.has(id);
}

/** The rule's prerequisites, transitively (not the rule itself). */
export function prerequisites(id: string): Set<string> {
  const out = new Set<string>();
  const visit = (rule: string) => {
    for (const p of ruleById(rule).after ?? []) {
      if (!out.has(p)) {
        out.add(p);
        visit(p);
      }
    }
  };
  visit(id);
  return out;
}

export const BASELINE_RULE: RuleId = 'baseline.signed-request-accepted';
