// Business codes of the §5 envelope, as named constants shared by the pipeline and its tests.

export const Code = {
  LATEST: 0,
  OK: 200,
  ILLEGAL_REQUEST: 400001,
  MISSING_PARAMETER: 400002,
  INVALID_PARAMETER: 400003,
  INVALID_HEADER: 400004,
  INVALID_BODY: 400005,
  AUTH_FAILED: 401001,
  SIGNATURE_FAILED: 401002,
  RESOURCE_NOT_FOUND: 404001,
  RECORD_NOT_FOUND: 404002,
  METHOD_NOT_FOUND: 404003,
  REQUEST_NOT_FOUND: 404004,
  FLOW_LIMITED: 429001,
  INTERNAL_ERROR: 500001,
  DATA_INVALID: 500002,
} as const;

export type CodeValue = (typeof Code)[keyof typeof Code];

export const MESSAGES: Record<CodeValue, string> = {
  [Code.LATEST]: 'already the latest version',
  [Code.OK]: 'new version obtained',
  [Code.ILLEGAL_REQUEST]: 'illegal request',
  [Code.MISSING_PARAMETER]: 'missing parameter',
  [Code.INVALID_PARAMETER]: 'invalid parameter',
  [Code.INVALID_HEADER]: 'invalid header',
  [Code.INVALID_BODY]: 'invalid request body',
  [Code.AUTH_FAILED]: 'authentication failed',
  [Code.SIGNATURE_FAILED]: 'signature verification failed',
  [Code.RESOURCE_NOT_FOUND]: 'resource not found',
  [Code.RECORD_NOT_FOUND]: 'record not found',
  [Code.METHOD_NOT_FOUND]: 'processing method not found',
  [Code.REQUEST_NOT_FOUND]: 'request not found',
  [Code.FLOW_LIMITED]: 'strategy flow limit reached, try again later',
  [Code.INTERNAL_ERROR]: 'internal error',
  [Code.DATA_INVALID]: 'server data validation failed',
};

/** HTTP status = code / 1000 for six-digit codes; 0 and 200 travel with HTTP 200. */
export function httpStatus(code: number): number {
  return code < 100_000 ? 200 : Math.floor(code / 1000);
}

/** A stage's early exit: the code decides the answer, the detail goes into `msg` (never asserted on). */
export interface Rejection {
  readonly rejected: true;
  readonly code: CodeValue;
  readonly detail: string;
}

export function reject(code: CodeValue, detail = ''): Rejection {
  return { rejected: true, code, detail };
}

export function isRejection(value: unknown): value is Rejection {
  return typeof value === 'object' && value !== null && (value as Rejection).rejected === true;
}

/** Thrown by business logic when a fixture flagged `failInternally` is looked up (→ 500001). */
export class InternalFailure extends Error {
  override name = 'InternalFailure';
}
