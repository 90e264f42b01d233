// What a stage decides. A check returns an outcome only to stop the request (a rejection, with the
// code that answers it); the business stage's success is kept on the exchange until it is answered.
// The codes themselves and their meanings come from the spec (lib/spec: Code, CODES).

import { Code, type CodeValue } from '../lib/spec/index.ts';

export interface Outcome {
  /** The business code of the envelope: one of `Code` (a fault may answer one the spec does not document). */
  readonly code: number;
  readonly data: unknown;
  /** Goes into `msg` after the code's meaning (never asserted on). */
  readonly detail: string;
}

/** An outcome that stops the pipeline: every error answer. */
export type Rejection = Outcome;

export function reject(code: CodeValue, detail = ''): Rejection {
  return { code, data: null, detail };
}

export function succeed(code: typeof Code.OK | typeof Code.LATEST, data: unknown): Outcome {
  return { code, data, detail: '' };
}

/** Codes 0 and 200: the answers that are not errors. */
export function isSuccess(outcome: Outcome): boolean {
  return outcome.code === Code.OK || outcome.code === Code.LATEST;
}

/** Thrown by business logic when a fixture flagged `failInternally` is looked up (→ Code.INTERNAL_ERROR). */
export class InternalFailure extends Error {
  override name = 'InternalFailure';
}

/** Thrown where inconsistent fixture data is met while serving (→ Code.DATA_INVALID, REFERENCE §5.2). */
export class InconsistentData extends Error {
  override name = 'InconsistentData';
}
