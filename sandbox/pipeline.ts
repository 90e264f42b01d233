// The request pipeline: one linear pass over the checks in the order of REFERENCE §4.3, then the
// `respond` stage. A check either fills the exchange and returns undefined, or returns a rejection
// that decides the answer; the business check leaves its success on the exchange. Nothing here throws
// on purpose: anything unexpected becomes Code.INTERNAL_ERROR (or Code.DATA_INVALID for inconsistent data) in `handle`.
//
// The stages and their order are one table (REFERENCE_TABLE), built once. A pipeline serves the
// reference table or one that faults (faults.ts) modified when it was built; nothing in a request's
// path asks which.

import { Code } from '../lib/spec/index.ts';
import { FlowCounters, GrayAdmissions, business, type BusinessStage } from './business.ts';
import type { SandboxClock } from './clock.ts';
import type { Answer, Env, RequestState, IncomingExchange, Verdict } from './exchange.ts';
import type { FixtureIndex } from './fixtures.ts';
import { NonceStore } from './nonces.ts';
import { reject } from './outcome.ts';
import type { SignedOperation } from './operations.ts';
import {
  JSON_CONTENT_TYPE,
  accessKey,
  contentType,
  headers,
  method,
  nonce,
  parse,
  respond,
  route,
  signature,
  target,
  replayWindow,
  validate,
  type AccessKeyStage,
  type Check,
  type ContentTypeStage,
  type HeadersStage,
  type MethodStage,
  type NonceStage,
  type ParseStage,
  type RespondStage,
  type RouteStage,
  type SignatureStage,
  type TargetStage,
  type ValidateStage,
  type WindowStage,
} from './stages.ts';

export type { BodyRead } from './exchange.ts';
export { JSON_CONTENT_TYPE, isJsonContentType } from './stages.ts';

/** The checks in the order of REFERENCE §4.3; tests and faults name stages by these. */
export const CHECKS = [
  'route', 'method', 'contentType', 'target', 'headers', 'window', 'accessKey', 'signature', 'nonce', 'parse', 'validate', 'business',
] as const;
export type CheckName = (typeof CHECKS)[number];
/** Every stage: the checks, then `respond`, which turns the outcome into the answer. */
export const STAGES = [...CHECKS, 'respond'] as const;
export type StageName = (typeof STAGES)[number];

export interface Stages {
  route: RouteStage;
  method: MethodStage;
  contentType: ContentTypeStage;
  target: TargetStage;
  headers: HeadersStage;
  window: WindowStage;
  accessKey: AccessKeyStage;
  signature: SignatureStage;
  nonce: NonceStage;
  parse: ParseStage;
  validate: ValidateStage;
  business: BusinessStage;
  respond: RespondStage;
}

/** The stages, and the order the checks run in. */
export interface PipelineTable {
  readonly order: readonly CheckName[];
  readonly stages: Readonly<Stages>;
}

/** The correct behaviour: every stage as REFERENCE.md describes it, in its order. */
export const REFERENCE_TABLE: PipelineTable = Object.freeze({
  order: CHECKS,
  stages: Object.freeze({
    route, method, contentType, target, headers, window: replayWindow, accessKey, signature, nonce, parse, validate, business, respond,
  }),
});

const HEALTHZ_PATH = '/healthz';

export interface PipelineOptions {
  operations: ReadonlyMap<string, SignedOperation>;
  fixtures: FixtureIndex;
  clock: SandboxClock;
  windowSeconds: number;
  /** The stage table to serve; the reference by default. */
  table?: PipelineTable;
}

export class Pipeline {
  readonly env: Env;
  readonly table: PipelineTable;
  private readonly checks: readonly Check[];
  private readonly names: readonly CheckName[];

  constructor(options: PipelineOptions) {
    this.table = options.table ?? REFERENCE_TABLE;
    this.names = [...this.table.order];
    this.checks = this.names.map((name) => this.table.stages[name]);
    this.env = {
      operations: options.operations,
      fixtures: options.fixtures,
      clock: options.clock,
      windowSeconds: options.windowSeconds,
      // Twice the window: a timestamp that far ahead of the clock stays valid that long.
      nonces: new NonceStore(2 * options.windowSeconds * 1000),
      gray: new GrayAdmissions(),
      flow: new FlowCounters(),
    };
  }

  get nonces(): NonceStore {
    return this.env.nonces;
  }

  /** Forget nonces, gray admissions and flow counters. */
  reset(): void {
    this.env.nonces.clear();
    this.env.gray.clear();
    this.env.flow.clear();
  }

  async handle(incoming: IncomingExchange): Promise<Answer> {
    const q = incoming.target.indexOf('?');
    const x: RequestState = {
      env: this.env, stages: this.table.stages, incoming, path: q < 0 ? incoming.target : incoming.target.slice(0, q),
      operation: undefined, url: incoming.target, headers: NO_HEADERS, stamp: null, secretKey: '', body: null, json: null,
      text: undefined, outcome: undefined, close: false, skipping: null,
    };
    const respondWith = x.stages.respond;
    if (x.path === HEALTHZ_PATH) return this.healthz(x);
    let i = 0;
    try {
      for (; i < this.checks.length; i++) {
        if (x.skipping !== null && x.skipping.has(this.names[i]!)) continue;
        let verdict: Verdict | Promise<Verdict> = this.checks[i]!.run(x);
        if (verdict instanceof Promise) verdict = await verdict;
        if (verdict !== undefined) return respondWith.run(x, verdict, this.names[i]!);
      }
      return respondWith.run(x, x.outcome ?? reject(Code.INTERNAL_ERROR, 'no outcome'), 'business');
    } catch (error) {
      return respondWith.run(x, respondWith.crashed(x, error), this.names[Math.min(i, this.names.length - 1)]!);
    }
  }

  // Sandbox-only, outside the contract: GET /healthz.
  private healthz(x: RequestState): Answer {
    if (x.incoming.method === 'GET' || x.incoming.method === 'HEAD') {
      return { status: 200, code: Code.LATEST, contentType: JSON_CONTENT_TYPE, body: '{"status":"ok"}', stage: 'healthz' };
    }
    return x.stages.respond.run(x, reject(Code.ILLEGAL_REQUEST, 'GET /healthz only'), 'healthz');
  }
}

const NO_HEADERS = Object.freeze({ timestamp: undefined, nonce: undefined, accessKey: undefined, signature: undefined });
