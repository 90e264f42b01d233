// Named checks, one per invariant (schemathesis style). Each belongs to a rule of contract/rules.ts
// and throws a ContractFailure naming that rule, the check, and `Expected:` / `Received:` lines; the
// findings reporter groups failures by the rule and check of the first failing check. Never look at
// `msg`, `docs` or `traceId` here.
import {
  Code,
  CODES,
  documentedStatuses,
  formatErrors,
  isDocumented,
  loadBundle,
  matchStatus,
  responseSchemaPointer,
  sharedResponseSchemaPointer,
  specValidators,
  type CodeValue,
} from '../../lib/spec/index.ts';
import type { RuleId } from '../rules.ts';
import type { Exchange } from './exchange.ts';

export class ContractFailure extends Error {
  override name = 'ContractFailure';
  constructor(
    readonly rule: RuleId,
    readonly check: string,
    readonly title: string,
    // Not named expected/actual: vitest would try to render those as a diff.
    readonly expectedText: string,
    readonly receivedText: string,
  ) {
    super(`[${rule}] ${title}\nExpected: ${expectedText}\nReceived: ${receivedText}`);
  }
}

export function fail(rule: RuleId, check: string, title: string, expected: string, received: string): never {
  throw new ContractFailure(rule, check, title, expected, received);
}

export function check(condition: boolean, rule: RuleId, check: string, title: string, expected: string, received: string): void {
  if (!condition) fail(rule, check, title, expected, received);
}

const SUCCESS: ReadonlySet<number> = new Set([0, 200]);

export const isSuccess = (code: unknown): boolean => typeof code === 'number' && SUCCESS.has(code);

export const describeCode = (code: unknown): string =>
  typeof code === 'number' && code in CODES ? `${code} (${CODES[code as CodeValue].meaning})` : JSON.stringify(code);

/** The HTTP status a business code travels with: the spec's, or code / 1000 for an undocumented six-digit code. */
export function httpStatusForCode(code: number): number {
  return code in CODES ? CODES[code as CodeValue].httpStatus : code < 100_000 ? 200 : Math.floor(code / 1000);
}

function label(ex: Exchange): string {
  return `${ex.request.method} ${ex.request.target}`;
}

export function bodyCode(ex: Exchange): unknown {
  const body = ex.response.json as { code?: unknown } | undefined;
  return body && typeof body === 'object' ? body.code : undefined;
}

/** One line about an answer, for `Received:`: status, code and the start of the body. */
export function receivedSummary(ex: Exchange): string {
  const code = bodyCode(ex);
  const body = ex.response.bodyText.length > 200 ? `${ex.response.bodyText.slice(0, 200)}…` : ex.response.bodyText;
  return `HTTP ${ex.response.status}, code ${code === undefined ? '(none)' : describeCode(code)}, body ${body || '(empty)'}`;
}

// ---- checks on every answer ---------------------------------------------------------------------

/** The body is a JSON object with a numeric `code` (not checked for HEAD, which has no body). */
export function jsonEnvelope(ex: Exchange): void {
  if (ex.request.method === 'HEAD') return;
  const json = ex.response.json;
  if (json === null || typeof json !== 'object' || Array.isArray(json) || typeof (json as { code?: unknown }).code !== 'number') {
    fail('envelope.json-body', 'json_envelope', `${label(ex)} did not answer with a JSON envelope`, 'a JSON object with a numeric `code`', receivedSummary(ex));
  }
}

/** The HTTP status is documented for this operation (shared error statuses for other routes). */
export function documentedStatus(ex: Exchange): void {
  const bundle = loadBundle();
  const op = ex.operation;
  if (op && isDocumented(bundle, ex.request.method, op)) {
    if (matchStatus(bundle, ex.request.method, op, ex.response.status) === undefined) {
      fail(
        'envelope.documented-status',
        'documented_status',
        `${label(ex)} answered with a status the spec does not document`,
        `one of ${documentedStatuses(bundle, ex.request.method, op).join(', ')} (documented for ${ex.request.method} ${op})`,
        `HTTP ${ex.response.status}`,
      );
    }
    return;
  }
  // Off the documented operations, any status the spec uses somewhere will do: whether it goes with the
  // code is the next check's business.
  if (ex.response.status !== 200 && ERROR_RESPONSES[ex.response.status] === undefined) {
    fail('envelope.documented-status', 'documented_status', `${label(ex)} answered with a status the spec does not document`, `200 or one of ${Object.keys(ERROR_RESPONSES).join(', ')} (the shared error responses)`, `HTTP ${ex.response.status}`);
  }
}

/** HTTP status == the status the code is documented with. */
export function statusMatchesCode(ex: Exchange): void {
  const code = bodyCode(ex);
  if (typeof code !== 'number') return;
  const expected = httpStatusForCode(code);
  if (ex.response.status !== expected) {
    fail('envelope.http-status-matches-code', 'http_status_matches_code', `${label(ex)}: the HTTP status does not go with the business code`, `HTTP ${expected} for code ${code}`, `HTTP ${ex.response.status} with code ${code}`);
  }
}

/** `Content-Type: application/json` (not for HEAD). */
export function contentType(ex: Exchange): void {
  if (ex.request.method === 'HEAD') return;
  const type = ex.response.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    fail('envelope.content-type', 'content_type', `${label(ex)} did not label its answer as JSON`, 'Content-Type: application/json; charset=utf-8', `Content-Type: ${type || '(none)'}`);
  }
}

/** components/responses entry per error status, for answers outside any documented operation. */
const ERROR_RESPONSES: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 404: 'NotFound', 429: 'TooManyRequests', 500: 'InternalServerError' };

export interface SchemaVerdict {
  ok: boolean;
  against: string;
  /** Errors inside `data` of a success answer. */
  dataErrors: string[];
  /** Every other error (the envelope). */
  envelopeErrors: string[];
}

/** Validates the body against the schema the spec gives for its status (shared error responses for other routes). */
export function validateAnswer(ex: Exchange): SchemaVerdict {
  const bundle = loadBundle();
  const op = ex.operation;
  let pointer: string | null;
  let against: string;
  if (op && isDocumented(bundle, ex.request.method, op)) {
    const key = matchStatus(bundle, ex.request.method, op, ex.response.status);
    if (key === undefined) return { ok: true, against: 'undocumented status', dataErrors: [], envelopeErrors: [] };
    pointer = responseSchemaPointer(bundle, op, key, ex.request.method);
    against = `${ex.request.method} ${op} → ${key}`;
  } else {
    const name = ERROR_RESPONSES[ex.response.status];
    if (!name) return { ok: true, against: 'undocumented status', dataErrors: [], envelopeErrors: [] };
    pointer = sharedResponseSchemaPointer(bundle, name);
    against = `#/components/responses/${name}`;
  }
  if (!pointer) return { ok: true, against: `${against} (no body schema)`, dataErrors: [], envelopeErrors: [] };
  const verdict = specValidators(bundle).validate(pointer, ex.response.json);
  const success = isSuccess(bodyCode(ex));
  const inData = (path: string) => success && (path === '/data' || path.startsWith('/data/'));
  // A code-200 upgrade answer's `data` is checked by if/then: its errors carry the `then` schema path.
  const errors = verdict.errors.filter((e) => e.keyword !== 'if' && e.keyword !== 'oneOf');
  const dataErrors = formatErrors(errors.filter((e) => inData(e.instancePath)));
  let envelopeErrors = formatErrors(errors.filter((e) => !inData(e.instancePath)));
  if (!verdict.valid && dataErrors.length === 0 && envelopeErrors.length === 0) envelopeErrors = formatErrors(verdict.errors);
  return { ok: verdict.valid, against, dataErrors, envelopeErrors };
}

/** The envelope and a success answer's `data` validate against the spec; Prism's response violations too. */
export function schemaConformance(ex: Exchange): void {
  if (ex.request.method === 'HEAD') return;
  const prism = ex.violations.filter((v) => v.location?.[0] === 'response');
  const success = isSuccess(bodyCode(ex));
  const prismData = prism.filter((v) => success && v.location?.[1] === 'body' && v.location?.[2] === 'data');
  const prismEnvelope = prism.filter((v) => !prismData.includes(v));
  const verdict = validateAnswer(ex);
  const describe = (vs: typeof prism) => vs.map((v) => `Prism: ${v.message} (at ${(v.location ?? []).join('.')})`);
  const data = [...verdict.dataErrors, ...describe(prismData)];
  const envelope = [...verdict.envelopeErrors, ...describe(prismEnvelope)];
  if (data.length > 0) {
    fail('response.data-schema', 'data_schema', `${label(ex)} answered with data that does not match the spec`, `data valid against ${verdict.against}`, `${data.join('; ')} — body ${ex.response.bodyText.slice(0, 200)}`);
  }
  if (!verdict.ok || envelope.length > 0) {
    fail('envelope.shape', 'envelope_schema', `${label(ex)} answered with an envelope that does not match the spec`, `a body valid against ${verdict.against}`, `${envelope.join('; ')} — body ${ex.response.bodyText.slice(0, 200)}`);
  }
}

// ---- the fixed assertion order ------------------------------------------------------------------

export interface Expectation {
  /** The rule the outcome belongs to: success where success is expected, a rejection where one is. */
  rule: RuleId;
  /** The rule the exact code belongs to, when it is a separate fact (default: `rule`). */
  codeRule?: RuleId;
}

/** Whose the exact code is: the test's code rule, else Code.SIGNATURE_FAILED is always signing.mismatch-code's, else the test's rule. */
function codeRuleOf(code: number, expectation: Expectation): RuleId {
  return expectation.codeRule ?? (code === Code.SIGNATURE_FAILED ? 'signing.mismatch-code' : expectation.rule);
}

/**
 * The fixed order of a contract test's assertions on one answer: a JSON envelope; a documented
 * status; the outcome (success, or a rejection) under the test's rule; for a rejection with `later`
 * given, that it is not `later` (the check order, under the test's rule); the exact code; the HTTP
 * status that goes with the code; the Content-Type; the envelope and data against the spec.
 */
export function expectCode(ex: Exchange, code: number, expectation: Expectation, later?: number): void {
  jsonEnvelope(ex);
  documentedStatus(ex);
  const received = bodyCode(ex);
  if (ex.request.method !== 'HEAD') {
    const title = `${label(ex)} answered with the wrong business code`;
    if (isSuccess(code)) check(received === code, expectation.rule, 'business_code', title, `code ${describeCode(code)}`, receivedSummary(ex));
    else {
      check(!isSuccess(received), expectation.rule, 'rejected', `${label(ex)} was not rejected`, `a rejection, code ${describeCode(code)}`, receivedSummary(ex));
      if (later !== undefined) {
        check(received !== later, expectation.rule, 'check_order', `${label(ex)} was judged by the later check first`, `code ${describeCode(code)} (the earlier check), not ${later}`, receivedSummary(ex));
      }
    }
    check(received === code, codeRuleOf(code, expectation), 'business_code', title, `code ${describeCode(code)}`, receivedSummary(ex));
    statusMatchesCode(ex);
  } else if (ex.response.status !== httpStatusForCode(code)) {
    fail(codeRuleOf(code, expectation), 'http_status', `${label(ex)} answered with the wrong HTTP status`, `HTTP ${httpStatusForCode(code)} (code ${code})`, `HTTP ${ex.response.status}`);
  }
  contentType(ex);
  schemaConformance(ex);
}

/**
 * The answer to a request with two faults: the earlier check's code. The later check's code means the
 * checks ran in another order (`rule`); any other rejection is the earlier check's own code deviating
 * (`codeRule`), which its own tests report.
 */
export function expectEarlier(ex: Exchange, earlier: number, later: number, expectation: Required<Expectation>): void {
  expectCode(ex, earlier, expectation, later);
}

/** A rejection whatever its code (e.g. a debug header must not open the door, however it is refused). */
export function expectRejected(ex: Exchange, rule: RuleId): void {
  jsonEnvelope(ex);
  const received = bodyCode(ex);
  check(!isSuccess(received), rule, 'rejected', `${label(ex)} was not rejected`, 'a rejection (any error code)', receivedSummary(ex));
}

/**
 * A correctly signed request reached its endpoint: it got its success answer, or at most a verdict on
 * its signature (whether the path is signed as sent is another rule's business).
 */
export function expectRouted(ex: Exchange, rule: RuleId): void {
  jsonEnvelope(ex);
  const received = bodyCode(ex);
  check(isSuccess(received) || received === Code.SIGNATURE_FAILED, rule, 'routed', `${label(ex)} did not reach its endpoint`, `the endpoint's answer: success (or ${Code.SIGNATURE_FAILED} on a signature signed otherwise)`, receivedSummary(ex));
}

/** For answers whose code the test does not fix (the Prism mock): everything but the code. */
export function expectConformant(ex: Exchange): void {
  jsonEnvelope(ex);
  documentedStatus(ex);
  statusMatchesCode(ex);
  contentType(ex);
  schemaConformance(ex);
}

export function data(ex: Exchange, rule: RuleId): Record<string, unknown> {
  const body = ex.response.json as { data?: unknown } | undefined;
  const value = body?.data;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    fail(rule, 'data_present', `${label(ex)} answered without a data object`, 'data: { … }', receivedSummary(ex));
  }
  return value as Record<string, unknown>;
}

/** Compares chosen `data` fields exactly (the test states which fields matter). */
export function dataFields(ex: Exchange, rule: RuleId, expected: Record<string, unknown>): void {
  const actual = data(ex, rule);
  const wrong = Object.entries(expected).filter(([k, v]) => JSON.stringify(actual[k]) !== JSON.stringify(v));
  if (wrong.length > 0) {
    fail(
      rule,
      'data_fields',
      `${label(ex)} answered with the wrong data`,
      wrong.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', '),
      wrong.map(([k]) => `${k}=${JSON.stringify(actual[k])}`).join(', '),
    );
  }
}
