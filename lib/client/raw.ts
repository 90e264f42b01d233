// Low-level HTTP for negative contract tests: the request goes out exactly as written.
//
// Built on node:http rather than fetch because fetch normalises what these tests must control:
// it resolves `//` and dot segments, re-encodes percent escapes, lowercases header names and
// merges duplicates. Here the target is written to the request line verbatim, and header names,
// their case, their order and duplicates are kept.
//
// Limits that come from node:http itself: the method must be an HTTP token and is uppercased;
// the target must not contain spaces, control characters or characters above U+00FF (percent-encode
// them); header values must not contain CR or LF.
import http from 'node:http';
import https from 'node:https';
import { createNodeSigner } from '../signing/node.ts';
import type { SigningHeaders } from '../signing/index.ts';

/** Header pairs in wire order (names kept as written, duplicates allowed), or a plain object. */
export type RawHeaders = ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>>;

export interface RawRequest {
  /** Scheme, host and port, e.g. `http://127.0.0.1:8787`. A path in it is ignored; put it in `target`. */
  baseUrl: string;
  /** Any HTTP token; node:http sends it uppercased. */
  method: string;
  /** Path plus optional `?query`, written to the request line as is (no normalisation). */
  target: string;
  headers?: RawHeaders;
  /** Sent byte for byte; a string is sent as UTF-8. */
  body?: string | Uint8Array;
  /**
   * Send the body with `Transfer-Encoding: chunked` (no Content-Length), split into chunks of this
   * many bytes. Off by default.
   */
  chunkSize?: number;
  /**
   * Add `Host` and `Content-Length` when the headers lack them (default true). With false, only the
   * given headers are sent (node:http still adds `Connection`).
   */
  addDefaultHeaders?: boolean;
  /** Abort after this many milliseconds (default 30 000). */
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  /** Lowercase names; repeated headers joined with `, ` (as node:http does, set-cookie included). */
  headers: Record<string, string>;
  /** Response header pairs in wire order, names as sent by the server. */
  rawHeaders: Array<[string, string]>;
  bodyText: string;
  bodyBytes: Uint8Array;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
  /** From sending the request to the last byte of the response. */
  durationMs: number;
}

function headerPairs(headers: RawHeaders | undefined): Array<[string, string]> {
  if (!headers) return [];
  if (Array.isArray(headers)) return (headers as ReadonlyArray<readonly [string, string]>).map(([k, v]) => [k, v]);
  return Object.entries(headers as Record<string, string>);
}

function hasHeader(pairs: Array<[string, string]>, name: string): boolean {
  const lower = name.toLowerCase();
  return pairs.some(([k]) => k.toLowerCase() === lower);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Reads a whole response into a RawResponse: headers joined by name (lowercase), the raw header pairs
 * as sent, the body as bytes and text, and its JSON when it parses. `started` is performance.now()
 * when the request went out.
 */
export function readResponse(res: http.IncomingMessage, started: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const bytes = Buffer.concat(chunks);
      const bodyText = bytes.toString('utf8');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      const rawHeaders: Array<[string, string]> = [];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) rawHeaders.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
      resolve({
        status: res.statusCode ?? 0,
        headers,
        rawHeaders,
        bodyText,
        bodyBytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        json: parseJson(bodyText),
        durationMs: performance.now() - started,
      });
    });
  });
}

/** Sends one request exactly as described and resolves with the whole response. */
export function sendRaw(request: RawRequest): Promise<RawResponse> {
  const base = new URL(request.baseUrl);
  const isHttps = base.protocol === 'https:';
  if (!isHttps && base.protocol !== 'http:') {
    return Promise.reject(new Error(`sendRaw: baseUrl must be http:// or https://, got ${request.baseUrl}`));
  }
  const body =
    request.body === undefined
      ? new Uint8Array(0)
      : typeof request.body === 'string'
        ? Buffer.from(request.body, 'utf8')
        : request.body;
  const chunked = request.chunkSize !== undefined && request.chunkSize > 0;
  const pairs = headerPairs(request.headers);
  if (request.addDefaultHeaders !== false) {
    if (!hasHeader(pairs, 'host')) pairs.unshift(['Host', base.host]);
    if (chunked) {
      if (!hasHeader(pairs, 'transfer-encoding')) pairs.push(['Transfer-Encoding', 'chunked']);
    } else if (!hasHeader(pairs, 'content-length') && !hasHeader(pairs, 'transfer-encoding')) {
      const method = request.method.toUpperCase();
      if (body.length > 0 || (method !== 'GET' && method !== 'HEAD')) pairs.push(['Content-Length', String(body.length)]);
    }
  }
  const flat: string[] = [];
  for (const [k, v] of pairs) flat.push(k, v);

  return new Promise<RawResponse>((resolve, reject) => {
    const started = performance.now();
    const options: http.RequestOptions = {
      protocol: base.protocol,
      hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: base.port || (isHttps ? 443 : 80),
      method: request.method,
      path: request.target,
      // node:http takes raw header pairs as a flat array, like message.rawHeaders: order, case and
      // duplicates survive. The array form is not in @types/node 20's RequestOptions.
      headers: flat as unknown as http.OutgoingHttpHeaders,
      setHost: false,
      agent: false,
      timeout: request.timeoutMs ?? 30_000,
    };
    const req = (isHttps ? https : http).request(options, (res) => {
      readResponse(res, started).then(resolve, reject);
    });
    req.on('timeout', () => req.destroy(new Error(`sendRaw: no response within ${options.timeout} ms`)));
    req.on('error', reject);
    if (chunked) {
      for (let i = 0; i < body.length; i += request.chunkSize!) req.write(body.subarray(i, i + request.chunkSize!));
      req.end();
    } else {
      req.end(body.length > 0 ? body : undefined);
    }
  });
}

export interface SignedHeadersInput {
  method: string;
  /** Path plus optional `?query`, exactly as it will go on the request line. */
  target: string;
  /** The exact body that will be sent. */
  body?: string | Uint8Array | null;
  accessKey: string;
  secretKey: string;
  /** Defaults to 32 random lowercase hex characters. */
  nonce?: string;
  /** Defaults to now, RFC3339 UTC (`…Z`, milliseconds only when non-zero). */
  timestamp?: string;
  /** Clock for the default timestamp, epoch milliseconds (default Date.now). */
  now?: () => number;
}

/**
 * The four signing headers for one request (`X-Timestamp`, `X-Nonce`, `X-AccessKey`, `X-Signature`,
 * in that order), ready to spread into `sendRaw`'s headers.
 */
export function signedHeaders(input: SignedHeadersInput): SigningHeaders {
  const signer = createNodeSigner(input.now ? { now: input.now } : {});
  const request: Parameters<typeof signer.sign>[0] = {
    method: input.method,
    target: input.target,
    body: input.body ?? '',
    accessKey: input.accessKey,
    secretKey: input.secretKey,
  };
  if (input.nonce !== undefined) request.nonce = input.nonce;
  if (input.timestamp !== undefined) request.timestamp = input.timestamp;
  return signer.sign(request).headers;
}
