// What one request is while it goes through the pipeline: the transport's view of it
// (IncomingExchange, filled by server.ts or an in-process call), the state the stages fill in
// (RequestState), the pipeline's environment every decision can reach, and the answer.

import type { ParsedTimestamp } from '../lib/signing/index.ts';
import type { FlowCounters, GrayAdmissions } from './business.ts';
import type { SandboxClock } from './clock.ts';
import type { FixtureIndex } from './fixtures.ts';
import type { NonceStore } from './nonces.ts';
import type { Outcome, Rejection } from './outcome.ts';
import type { CheckName, StageName, Stages } from './pipeline.ts';
import type { SignedOperation } from './operations.ts';

export type BodyRead = { ok: true; bytes: Uint8Array } | { ok: false; reason: 'too-large' | 'aborted' };

/** What the pipeline needs from a request: the transport (HTTP or an in-process call) supplies it. */
export interface IncomingExchange {
  method: string;
  /** The request target exactly as on the request line. */
  target: string;
  /** Alternating names and values, as Node's `req.rawHeaders`. */
  rawHeaders: readonly string[];
  /** Reads the body, stopping at `limit` bytes (counted as read, chunked or not). */
  readBody(limit: number): Promise<BodyRead> | BodyRead;
}

export interface Answer {
  status: number;
  /** The envelope's business code. */
  code: number;
  contentType: string;
  /** The serialised envelope. */
  body: string;
  /** The stage that decided (or failed), for tests and logs. */
  stage: StageName | 'healthz';
  /** Close the connection after answering (oversized or aborted bodies). */
  close?: boolean;
}

/** The pipeline's environment: its data, its clock and the state that outlives a request. */
export interface Env {
  readonly operations: ReadonlyMap<string, SignedOperation>;
  readonly fixtures: FixtureIndex;
  readonly clock: SandboxClock;
  readonly windowSeconds: number;
  readonly nonces: NonceStore;
  readonly gray: GrayAdmissions;
  readonly flow: FlowCounters;
}

export interface SigningHeaders {
  timestamp: string | undefined;
  nonce: string | undefined;
  accessKey: string | undefined;
  signature: string | undefined;
}

/** What a check returns: a rejection stops the request, undefined passes it on. */
export type Verdict = Rejection | undefined;

/** Per-request state, filled stage by stage (each field by the stage named). */
export interface RequestState {
  readonly env: Env;
  /** This pipeline's stages: a stage reaches its own decisions through them. */
  readonly stages: Stages;
  readonly incoming: IncomingExchange;
  /** The path as sent (no query). */
  readonly path: string;
  /** route */
  operation: SignedOperation | undefined;
  /** target: the request target the signature covers. */
  url: string;
  /** headers */
  headers: SigningHeaders;
  stamp: ParsedTimestamp | null;
  /** accessKey: the secret the signature is checked with. */
  secretKey: string;
  /** signature: the body as read. */
  body: Uint8Array | null;
  /** parse, then validate */
  json: Record<string, unknown> | null;
  /** parse: the body text, kept only when the raw-literal check may find something. */
  text: string | undefined;
  /** business: the success to answer. */
  outcome: Outcome | undefined;
  /** Close the connection after answering. */
  close: boolean;
  /** Checks a previous check waived for this request (none in the reference pipeline). */
  skipping: ReadonlySet<CheckName> | null;
}
