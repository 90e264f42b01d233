// Faults: named modifiers of one pipeline stage, each breaking exactly one contract rule, so the
// contract suite can prove that the tests guarding that rule fail (`npm run test:mutants`). They are
// declared in the one table below and are configuration, never magic request values: `apply` takes
// the pipeline's stage table (pipeline.ts) and returns it with one decision of one stage replaced or
// wrapped, the stage's whole check (`run`) replaced or wrapped, or the stage moved (`place`). The
// reference stages never ask which faults are on. Several faults compose, applied in table order.

import { NONCE_MIN_LENGTH } from '../lib/signing/index.ts';
import { Code } from '../lib/spec/index.ts';
import { activeFlowRule, inconsistency } from './business.ts';
import { isSuccess, reject } from './outcome.ts';
import { REFERENCE_TABLE, type CheckName, type PipelineTable, type StageName, type Stages } from './pipeline.ts';
import { SIGNING_HEADERS, stampMs, type Problem } from './stages.ts';

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
  /** Faults it cannot be combined with: they change the same decision, so one would hide the other. */
  readonly conflicts?: readonly string[];
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

/** Yields to the event loop: what a store across the network would do between a read and a write. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---- helpers of single faults -----------------------------------------------------------------------

const SLOT_BY_EXACT_NAME = new Map(SIGNING_HEADERS);

function dropProblems(drop: (problem: Problem) => boolean): Modifier {
  return wrap('validate', 'schemaProblems', (base) => (x, op, json) => {
    const found = base(x, op, json);
    return found.length === 0 ? found : found.filter((p) => !drop(p));
  });
}

const withoutQuery = (requestTarget: string): string => {
  const q = requestTarget.indexOf('?');
  return q < 0 ? requestTarget : requestTarget.slice(0, q);
};

let grayRequests = 0;
const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';

// ---- the table ------------------------------------------------------------------------------------------

export const FAULTS: readonly Fault[] = [
  // signing and replay protection
  {
    name: 'accept-any-signature', rule: 'signing.signature-verified', conflicts: ['uppercase-signature-accepted'],
    description: 'any X-Signature value is accepted (the signature is never compared)',
    ...replace('signature', 'matches', () => true),
  },
  {
    name: 'unsigned-body', rule: 'baseline.signed-request-accepted',
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
    name: 'bad-signature-401001', rule: 'signing.mismatch-code',
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
    name: 'nonce-unburned-on-error', rule: 'replay.nonce-consumed-on-error',
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
    name: 'accept-disabled-access-key', rule: 'auth.disabled-access-key',
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
    name: 'accept-any-content-type', rule: 'protocol.content-type-required',
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
    name: 'accept-missing-required', rule: 'validation.required-fields',
    description: 'a missing required field is not reported (no 400002)',
    ...wrap('validate', 'judge', (base) => (x, problems) => base(x, problems.filter((p) => !p.missing))),
  },
  {
    name: 'accept-wrong-type', rule: 'validation.field-types',
    description: 'a field of the wrong JSON type is accepted (no 400003 for type errors)',
    ...dropProblems((p) => p.keyword === 'type'),
  },
  {
    name: 'errors-http-200', rule: 'envelope.http-status-matches-code',
    description: 'error envelopes are sent with HTTP status 200',
    ...wrap('respond', 'status', (base) => (x, outcome) => (isSuccess(outcome) ? base(x, outcome) : 200)),
  },
  {
    name: 'errors-plain-text', rule: 'envelope.content-type',
    description: 'error envelopes are sent as text/plain',
    ...wrap('respond', 'write', (base) => (x, outcome, envelope) => {
      const written = base(x, outcome, envelope);
      return isSuccess(outcome) ? written : { ...written, contentType: TEXT_CONTENT_TYPE };
    }),
  },
  {
    name: 'wrong-field-type', rule: 'response.data-schema',
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
    name: 'upgrade-data-null', rule: 'response.data-schema', conflicts: ['upgrade-type-always-prompt'],
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
];

export const FAULT_NAMES: readonly string[] = FAULTS.map((f) => f.name);
const BY_NAME = new Map(FAULTS.map((f) => [f.name, f]));

export class FaultError extends Error {
  override name = 'FaultError';
}

export function isFaultName(name: string): boolean {
  return BY_NAME.has(name);
}

export function faultByName(name: string): Fault | undefined {
  return BY_NAME.get(name);
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

