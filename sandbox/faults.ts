// Fault switches: each breaks exactly one documented rule, so the contract suite can prove that the
// test guarding that rule fails. They are named configuration, never magic request values.

export const FAULTS = {
  // signing and replay protection
  'accept-any-signature': 'any X-Signature value is accepted (the signature is never compared)',
  'unsigned-body': 'the server hashes `body=` with an empty body: the body is left out of the signature',
  'unsigned-query': 'the server signs the path without its ?query: the query is left out of the url part',
  'uppercase-signature-accepted': 'X-Signature is compared case-insensitively (uppercase hex passes instead of 401002)',
  'bad-signature-401001': 'a signature mismatch is answered 401001 instead of 401002',
  'wide-window': 'the timestamp window is widened to ±10 minutes',
  'no-past-window-check': 'timestamps too far in the past are accepted',
  'no-future-window-check': 'timestamps too far in the future are accepted',
  'window-exclusive': 'the window ends are exclusive: a timestamp exactly 300 s off is rejected',
  'timestamp-offset-ignored': 'the X-Timestamp offset is ignored (local time read as UTC)',
  'forget-nonces': 'accepted nonces are not remembered: replays are accepted',
  'nonce-before-signature': 'the nonce is recorded before the signature check, so forged requests burn nonces',
  'nonce-unburned-on-error': 'the nonce is recorded only when the answer is code 0 or 200, so a failed request can be replayed',
  'nonce-length-unchecked': 'nonces shorter than 16 characters are accepted',
  'accept-unknown-access-key': 'an unknown access key is accepted (verified with the main secret)',
  'accept-disabled-access-key': 'a disabled access key is accepted',
  'case-sensitive-headers': 'signing header names are matched case-sensitively (x-Nonce is not X-Nonce)',
  'repeated-header-last-wins': 'a repeated signing header uses its last value instead of its first',
  // protocol
  'no-trailing-slash': 'an endpoint path with one trailing / is an unknown path (404003)',
  'accept-any-content-type': 'the Content-Type is not checked',
  'no-body-limit': 'bodies over 1 MiB are accepted (up to 16 MiB)',
  'malformed-json-500001': 'malformed JSON is answered 500001 instead of 400005',
  'accept-missing-required': 'a missing required field is not reported (no 400002)',
  'accept-wrong-type': 'a field of the wrong JSON type is accepted (no 400003 for type errors)',
  'errors-http-200': 'error envelopes are sent with HTTP status 200',
  'errors-plain-text': 'error envelopes are sent as text/plain',
  'wrong-field-type': 'data.versionCode is sent as a string on code 200',
  // strategy semantics
  'latest-code-200': '"already latest" is answered with code 200 instead of 0',
  'upgrade-data-null': 'code 200 upgrade answers carry data null',
  'upgrade-type-always-prompt': 'upgradeType is always 1, whatever the strategy says',
  'ignore-begin-end-times': 'strategy beginAt/endAt are ignored',
  'ignore-appoint-version': 'appointVersionCode is ignored (newest eligible version offered)',
  'oldest-strategy-first': 'candidates are walked oldest version first',
  'ignore-arch': 'the requested arch is not matched on lnx/win/mac upgrades',
  'ignore-device-targeting': 'device targeting is ignored (every device passes)',
  'ignore-gray-release': 'gray release is ignored (every device passes)',
  'gray-counts-requests': 'gray release counts requests, not distinct devices (not sticky)',
  'flow-limit-off-by-one': 'a flow limit allows limit + 1 successes per window',
  'flow-limit-counts-latest': '"already latest" answers consume flow-limit quota',
  'flow-limit-not-atomic': 'the flow counter is read and written across an await, so concurrent requests overshoot',
  'unknown-version-404001': 'a missing version on /version is answered 404001 instead of 404002',
} as const;

export type FaultName = keyof typeof FAULTS;
export type FaultSet = ReadonlySet<FaultName>;

export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];

export class UnknownFaultError extends Error {
  override name = 'UnknownFaultError';
}

export function isFaultName(name: string): name is FaultName {
  return Object.prototype.hasOwnProperty.call(FAULTS, name);
}

/** Validates fault names (trimmed, empty entries dropped); throws naming the unknown one. */
export function parseFaults(names: Iterable<string>): Set<FaultName> {
  const out = new Set<FaultName>();
  for (const raw of names) {
    const name = raw.trim();
    if (!name) continue;
    if (!isFaultName(name)) {
      throw new UnknownFaultError(`unknown fault "${name}"; run with --list-faults to see the ${FAULT_NAMES.length} known names`);
    }
    out.add(name);
  }
  return out;
}

export function listFaults(): string {
  const width = Math.max(...FAULT_NAMES.map((n) => n.length));
  return FAULT_NAMES.map((n) => `${n.padEnd(width)}  ${FAULTS[n]}`).join('\n');
}
