// Helpers for the sandbox's own unit tests: signed in-process exchanges against a pipeline whose
// clock is frozen at the signing vector's instant.

import { randomBytes } from 'node:crypto';
import { createNodeSigner } from '../lib/signing/node.ts';
import { createClock, type SandboxClock } from './clock.ts';
import { createPipeline, type SandboxOptions } from './index.ts';
import type { Answer, IncomingExchange } from './exchange.ts';
import type { Pipeline } from './pipeline.ts';

/** The instant of signing vector V1 (REFERENCE §3.4). */
export const T0 = Date.parse('2025-02-17T02:34:55Z');
export const MAIN_KEY = { accessKey: 'ak-sandbox-0001', secretKey: 'test-secret-DO-NOT-USE-0001' } as const;

const signer = createNodeSigner({ now: () => T0 });

export function freshNonce(): string {
  return randomBytes(8).toString('hex');
}

export interface Call {
  path?: string;
  /** Defaults to `path`. */
  target?: string;
  method?: string;
  body?: string | Uint8Array | object;
  /** Body bytes to sign, when different from the body sent. */
  signedBody?: string | Uint8Array;
  /** Target to sign, when different from the target sent. */
  signedTarget?: string;
  accessKey?: string;
  secretKey?: string;
  nonce?: string;
  timestamp?: string;
  /** Replace or remove (undefined) headers after signing; names as given. */
  headers?: Record<string, string | undefined>;
  /** Raw header pairs appended after the others. */
  extraRawHeaders?: string[];
  contentType?: string | null;
  signature?: string;
}

export function exchange(call: Call): IncomingExchange {
  const target = call.target ?? call.path ?? '/v1/apk/upgrade';
  const body =
    call.body === undefined ? '{}' : typeof call.body === 'string' || call.body instanceof Uint8Array ? call.body : JSON.stringify(call.body);
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const signed = signer.sign({
    method: 'POST',
    target: call.signedTarget ?? target,
    body: call.signedBody ?? bytes,
    accessKey: call.accessKey ?? MAIN_KEY.accessKey,
    secretKey: call.secretKey ?? MAIN_KEY.secretKey,
    nonce: call.nonce ?? freshNonce(),
    timestamp: call.timestamp ?? signer.timestamp(),
  });
  const headers: Record<string, string | undefined> = { ...signed.headers };
  if (call.signature !== undefined) headers['X-Signature'] = call.signature;
  if (call.contentType !== null) headers['Content-Type'] = call.contentType ?? 'application/json';
  for (const [name, value] of Object.entries(call.headers ?? {})) {
    for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    headers[name] = value;
  }
  const rawHeaders = Object.entries(headers).flatMap(([k, v]) => (v === undefined ? [] : [k, v]));
  rawHeaders.push(...(call.extraRawHeaders ?? []));
  return {
    method: call.method ?? 'POST',
    target,
    rawHeaders,
    readBody: (limit) => (bytes.length > limit ? { ok: false, reason: 'too-large' } : { ok: true, bytes }),
  };
}

export interface Reply {
  status: number;
  code: number;
  data: unknown;
  stage: Answer['stage'];
  contentType: string;
}

export async function send(pipeline: Pipeline, call: Call): Promise<Reply> {
  const answer = await pipeline.handle(exchange(call));
  const envelope = JSON.parse(answer.body) as { code: number; data: unknown };
  return { status: answer.status, code: envelope.code, data: envelope.data, stage: answer.stage, contentType: answer.contentType };
}

export function testPipeline(options: SandboxOptions = {}): { pipeline: Pipeline; clock: SandboxClock } {
  const clock = createClock();
  clock.freeze(T0);
  return { pipeline: createPipeline({ ...options, clock }), clock };
}
