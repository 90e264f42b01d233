// Named checks, one per invariant (schemathesis style). Each throws a ContractFailure whose message
// reads as a title plus `Expected:` / `Received:` lines; the conformance reporter relies on that.
// Never look at `msg`, `docs` or `traceId` here (REFERENCE §1.4).
import type { Exchange } from './exchange.ts';
import { isDocumented, matchStatus, documentedStatuses, validateResponseBody, validateEnvelope } from './spec.ts';

export class ContractFailure extends Error {
  override name = 'ContractFailure';
  constructor(
    readonly check: string,
    title: string,
    // Not named expected/actual: vitest would try to render those as a diff.
    readonly expectedText: string,
    readonly receivedText: string,
  ) {
    super(`[${check}] ${title}\nExpected: ${expectedText}\nReceived: ${receivedText}`);
  }
}

export function fail(check: string, title: string, expected: string, received: string): never {
  throw new ContractFailure(check, title, expected, received);
}

/** HTTP status that goes with a business code (REFERENCE §5.1). */
export function httpStatusForCode(code: number): number {
  return code === 0 || code === 200 ? 200 : Math.floor(code / 1000);
}

export const CODE_MEANING: Record<number, string> = {
  0: 'success, already latest',
  200: 'success with data',
  400001: 'illegal request',
  400002: 'missing parameter',
  400003: 'invalid parameter',
  400004: 'invalid header',
  400005: 'invalid body',
  401001: 'authentication failed',
  401002: 'signature failed',
  404001: 'resource not found',
  404002: 'record not found',
  404003: 'processing method not found',
  404004: 'request not found',
  429001: 'strategy flow limit reached',
  500001: 'internal error',
  500002: 'server data validation failed',
};

export const describeCode = (code: unknown) =>
  typeof code === 'number' && CODE_MEANING[code] ? `${code} (${CODE_MEANING[code]})` : JSON.stringify(code);

function label(ex: Exchange): string {
  return `${ex.request.method} ${ex.request.target}`;
}

export function bodyCode(ex: Exchange): unknown {
  const body = ex.response.json as { code?: unknown } | undefined;
  return body && typeof body === 'object' ? body.code : undefined;
}

function receivedSummary(ex: Exchange): string {
  const code = bodyCode(ex);
  const body = ex.response.bodyText.length > 300 ? `${ex.response.bodyText.slice(0, 300)}…` : ex.response.bodyText;
  return `HTTP ${ex.response.status}, code ${code === undefined ? '(none)' : describeCode(code)}, body ${body || '(empty)'}`;
}

// ---- the checks ---------------------------------------------------------------------------------

export function httpStatus(ex: Exchange, expected: number): void {
  if (ex.response.status !== expected) {
    fail('http_status', `${label(ex)} answered with the wrong HTTP status`, `HTTP ${expected}`, receivedSummary(ex));
  }
}

/** Every answer is JSON (`application/json; charset=utf-8`), except a HEAD answer's empty body. */
export function contentTypeConformance(ex: Exchange): void {
  if (ex.request.method === 'HEAD') return;
  const type = ex.response.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    fail('content_type_conformance', `${label(ex)} did not answer with JSON`, 'Content-Type: application/json; charset=utf-8', `Content-Type: ${type || '(none)'}`);
  }
  if (ex.response.json === undefined) {
    fail('content_type_conformance', `${label(ex)} answered with a body that is not JSON`, 'a JSON envelope', receivedSummary(ex));
  }
}

/** The status is one the spec documents for this path and method. */
export function statusCodeConformance(ex: Exchange): void {
  const op = ex.operation;
  if (!op || !isDocumented(ex.request.method, op)) return; // undocumented route: see responseSchemaConformance
  if (matchStatus(ex.request.method, op, ex.response.status) === undefined) {
    fail(
      'status_code_conformance',
      `${label(ex)} answered with a status the spec does not document`,
      `one of ${documentedStatuses(ex.request.method, op).join(', ')} (documented for ${ex.request.method} ${op})`,
      `HTTP ${ex.response.status}`,
    );
  }
}

/** The body validates against the schema the spec gives for that status (envelope for other routes). */
export function responseSchemaConformance(ex: Exchange): void {
  if (ex.request.method === 'HEAD') return;
  const op = ex.operation;
  const verdict =
    op && isDocumented(ex.request.method, op)
      ? validateResponseBody(ex.request.method, op, ex.response.status, ex.response.json)
      : validateEnvelope(ex.response.status, ex.response.json);
  if (!verdict.ok) {
    fail(
      'response_schema_conformance',
      `${label(ex)} answered with a body that does not match the spec`,
      `a body valid against ${verdict.against}`,
      `${verdict.errors.join('; ')} — body ${ex.response.bodyText.slice(0, 300)}`,
    );
  }
}

/** Prism's validation proxy found nothing wrong with the response (request violations are ignored). */
export function prismResponseViolations(ex: Exchange): void {
  const response = ex.violations.filter((v) => v.location?.[0] === 'response');
  if (response.length > 0) {
    fail(
      'prism_response_violation',
      `Prism reports that the answer to ${label(ex)} violates the spec`,
      'no response violations in sl-violations',
      response.map((v) => `${v.severity}: ${v.message} (at ${(v.location ?? []).join('.')})`).join('; '),
    );
  }
}

export function businessCode(ex: Exchange, expected: number): void {
  const code = bodyCode(ex);
  if (code !== expected) {
    fail('business_code', `${label(ex)} answered with the wrong business code`, `code ${describeCode(expected)}`, receivedSummary(ex));
  }
}

/** HTTP status == code / 1000 for six-digit codes; 0 and 200 come with HTTP 200. */
export function statusMatchesCodeFamily(ex: Exchange): void {
  const code = bodyCode(ex);
  if (typeof code !== 'number') return;
  const expected = httpStatusForCode(code);
  if (ex.response.status !== expected) {
    fail('status_matches_code_family', `${label(ex)}: the HTTP status does not match the code's family`, `HTTP ${expected} for code ${code}`, `HTTP ${ex.response.status}`);
  }
}

/** Everything about the answer that the spec fixes, whatever the business outcome. */
export function specConformance(ex: Exchange): void {
  contentTypeConformance(ex);
  statusCodeConformance(ex);
  // Prism first when it saw the exchange, so the failure shows its violation text.
  prismResponseViolations(ex);
  responseSchemaConformance(ex);
}

/**
 * The fixed assertion order of a contract test: HTTP status, conformance to the spec, business code
 * (then the status/code family invariant, which holds for every answer).
 */
export function expectAnswer(ex: Exchange, code: number): void {
  httpStatus(ex, httpStatusForCode(code));
  specConformance(ex);
  if (ex.request.method === 'HEAD') return;
  businessCode(ex, code);
  statusMatchesCodeFamily(ex);
}

/** For answers whose code is not fixed by the test (mock targets): only the spec and the family rule. */
export function expectConformant(ex: Exchange): void {
  specConformance(ex);
  statusMatchesCodeFamily(ex);
}

export function data(ex: Exchange): Record<string, unknown> {
  const body = ex.response.json as { data?: unknown } | undefined;
  const value = body?.data;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    fail('data_present', `${label(ex)} answered without a data object`, 'data: { … }', receivedSummary(ex));
  }
  return value as Record<string, unknown>;
}

/** Compares chosen `data` fields exactly (the test states which fields matter). */
export function dataFields(ex: Exchange, expected: Record<string, unknown>): void {
  const actual = data(ex);
  const wrong = Object.entries(expected).filter(([k, v]) => JSON.stringify(actual[k]) !== JSON.stringify(v));
  if (wrong.length > 0) {
    fail(
      'data_fields',
      `${label(ex)} answered with the wrong data`,
      wrong.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', '),
      wrong.map(([k]) => `${k}=${JSON.stringify(actual[k])}`).join(', '),
    );
  }
}

export function check(condition: boolean, checkName: string, title: string, expected: string, received: string): void {
  if (!condition) fail(checkName, title, expected, received);
}
