// Typed, signed client for the UpgradeLink API on openapi-fetch.
//
// Signing is an `onRequest` middleware: it reads the exact bytes of the outgoing Request's body and
// the path + query of its URL, so whatever openapi-fetch serialised is what gets signed. Base URL,
// credentials, clock, nonce source and `fetch` are injected; nothing global is mocked in tests.
//
// For requests that must go out byte for byte as written (bad escapes, `//` paths, odd header case),
// use ./raw.ts instead: fetch normalises all of those.
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from '../../generated/api-types.ts';
import {
  canonicalBytes,
  maskSecret,
  SIGNING_HEADER_NAMES,
  timestamp as formatTimestamp,
  utf8Decode,
  type SigningHeaders,
} from '../signing/index.ts';
import { createNodeSigner, md5 } from '../signing/node.ts';

export { sendRaw, signedHeaders } from './raw.ts';
export type { RawHeaders, RawRequest, RawResponse, SignedHeadersInput } from './raw.ts';

export const ENV_BASE_URL = 'UPGRADELINK_BASE_URL';
export const ENV_ACCESS_KEY = 'UPGRADELINK_ACCESS_KEY';
export const ENV_SECRET_KEY = 'UPGRADELINK_SECRET_KEY';

type SigningHeaderName = (typeof SIGNING_HEADER_NAMES)[number];
type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch' | 'trace';

/** An operation whose signing header parameters are optional: the middleware fills them in. */
type WithOptionalSigning<Op> = Op extends { parameters: infer P }
  ? Omit<Op, 'parameters'> & {
      parameters: Omit<P, 'header'> & {
        header?: P extends { header?: infer H }
          ? Omit<NonNullable<H>, SigningHeaderName> & Partial<Pick<NonNullable<H>, SigningHeaderName & keyof NonNullable<H>>>
          : never;
      };
    }
  : Op;

/** The generated `paths`, with the signing headers left to the middleware. */
export type SignedPaths = {
  [P in keyof paths]: { [K in keyof paths[P]]: K extends HttpMethod ? WithOptionalSigning<paths[P][K]> : paths[P][K] };
};

/** Every path that has a POST operation (all of them, per REFERENCE.md §2). */
export type PostPath = {
  [P in keyof paths]: paths[P] extends { post: infer O } ? ([O] extends [never] ? never : O extends undefined ? never : P) : never;
}[keyof paths];

type PostOperation<P extends PostPath> = NonNullable<paths[P]['post']>;

/** The JSON request body of a POST path. */
export type RequestBodyOf<P extends PostPath> = PostOperation<P> extends {
  requestBody: { content: { 'application/json': infer B } };
}
  ? B
  : never;

/** Union of the JSON bodies of every declared response of a POST path (success and errors). */
export type ResponseBodyOf<P extends PostPath> = PostOperation<P> extends { responses: infer R }
  ? { [S in keyof R]: R[S] extends { content: { 'application/json': infer J } } ? J : never }[keyof R]
  : never;

/** One request and its response, recorded for reports. The secret never appears in it. */
export interface CallRecord {
  id: string;
  request: {
    method: string;
    url: string;
    /** Path plus `?query` as sent (and signed). */
    target: string;
    /** Header pairs as given to fetch (fetch lowercases the names on the wire). */
    headers: Array<[string, string]>;
    bodyText: string;
    /** The canonical string that was hashed, secret masked. Empty when the caller set X-Signature. */
    canonical: string;
  };
  response?: {
    status: number;
    headers: Record<string, string>;
    bodyText: string;
  };
  /** Set when fetch failed (connection refused, aborted, …). */
  error?: string;
  durationMs?: number;
}

export interface UpgradeLinkClientOptions {
  /** Scheme, host, port and optional path prefix, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  accessKey: string;
  secretKey: string;
  /** Injected fetch (default globalThis.fetch). Receives the signed Request. */
  fetch?: (input: Request) => Promise<Response>;
  /** Clock in epoch milliseconds (default Date.now); feeds the default timestamp. */
  now?: () => number;
  /** Nonce source (default 32 random lowercase hex characters from node:crypto). */
  nonce?: () => string;
  /** X-Timestamp formatter given the clock's reading (default RFC3339 UTC `…Z`, ms only when non-zero). */
  timestamp?: (nowMs: number) => string;
  /** Called after every exchange (response received or fetch failed). */
  onExchange?: (exchange: CallRecord) => void;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

export interface PostOptions {
  /** Send this exact text as the body instead of JSON.stringify(body): it is what gets signed. */
  bodyText?: string;
  /** Extra headers for this request. X-Timestamp, X-Nonce or X-Signature given here are kept as is. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ClientResponse<P extends PostPath> {
  status: number;
  /** The response body parsed as JSON; undefined when empty or not JSON. */
  body: ResponseBodyOf<P> | undefined;
  /** Lowercase names. */
  headers: Record<string, string>;
  exchange: CallRecord;
}

export interface UpgradeLinkClient {
  /** POST a typed body to a path and return status, parsed body, headers and the raw exchange. */
  post<P extends PostPath>(path: P, body: RequestBodyOf<P>, options?: PostOptions): Promise<ClientResponse<P>>;
  /** The underlying openapi-fetch client, with the signing middleware installed. */
  readonly fetchClient: Client<SignedPaths>;
  /** The signing middleware, to install on another openapi-fetch client. */
  readonly signingMiddleware: Middleware;
  /** The most recent exchange, or undefined before the first request. */
  readonly lastExchange: CallRecord | undefined;
  readonly baseUrl: string;
  readonly accessKey: string;
}

function lowerHeaderRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/**
 * The signing middleware on its own. Signing headers already on the request (X-Timestamp, X-Nonce,
 * X-Signature) are kept, so a test can pin or deliberately break one of them.
 */
export function createSigningMiddleware(options: {
  accessKey: string;
  secretKey: string;
  now?: () => number;
  nonce?: () => string;
  timestamp?: (nowMs: number) => string;
  /** Called with the canonical string (secret masked) of each request signed. */
  onSigned?: (id: string, info: { target: string; canonical: string }) => void;
}): Middleware {
  const signer = createNodeSigner(options.now ? { now: options.now } : {});
  const now = options.now ?? (() => Date.now());
  const makeNonce = options.nonce ?? (() => signer.nonce());
  const makeTimestamp = options.timestamp ?? ((ms: number) => formatTimestamp({ now: ms }));
  return {
    async onRequest({ request, id }) {
      const bytes = new Uint8Array(await request.clone().arrayBuffer());
      const url = new URL(request.url);
      const target = url.pathname + url.search;
      const ts = request.headers.get('X-Timestamp') ?? makeTimestamp(now());
      const nonce = request.headers.get('X-Nonce') ?? makeNonce();
      let canonical = '';
      let signature = request.headers.get('X-Signature');
      if (signature === null) {
        const canonicalInput = { method: request.method, target, body: bytes, nonce, secretKey: options.secretKey, timestamp: ts };
        const canonicalRaw = canonicalBytes(canonicalInput);
        signature = md5(canonicalRaw);
        canonical = maskSecret(utf8Decode(canonicalRaw), options.secretKey);
      }
      const headers: SigningHeaders = {
        'X-Timestamp': ts,
        'X-Nonce': nonce,
        'X-AccessKey': request.headers.get('X-AccessKey') ?? options.accessKey,
        'X-Signature': signature,
      };
      for (const name of SIGNING_HEADER_NAMES) request.headers.set(name, headers[name]);
      options.onSigned?.(id, { target, canonical });
      return request;
    },
  };
}

export function createUpgradeLinkClient(options: UpgradeLinkClientOptions): UpgradeLinkClient {
  if (!options.baseUrl) throw new Error('createUpgradeLinkClient: baseUrl is required');
  if (!options.accessKey) throw new Error('createUpgradeLinkClient: accessKey is required');
  if (!options.secretKey) throw new Error('createUpgradeLinkClient: secretKey is required');
  const pending = new Map<string, CallRecord & { started: number }>();
  const completed = new Map<string, CallRecord>();
  let last: CallRecord | undefined;
  const secret = options.secretKey;
  const scrub = (text: string) => maskSecret(text, secret);

  const finish = (id: string, patch: Partial<CallRecord>) => {
    const entry = pending.get(id);
    if (!entry) return;
    pending.delete(id);
    const { started, ...exchange } = entry;
    const done: CallRecord = { ...exchange, ...patch, durationMs: performance.now() - started };
    last = done;
    completed.set(id, done);
    options.onExchange?.(done);
  };

  const lastCanonical = new Map<string, string>();
  const signing = createSigningMiddleware({
    onSigned: (id, info) => lastCanonical.set(id, info.canonical),
    accessKey: options.accessKey,
    secretKey: options.secretKey,
    ...(options.now ? { now: options.now } : {}),
    ...(options.nonce ? { nonce: options.nonce } : {}),
    ...(options.timestamp ? { timestamp: options.timestamp } : {}),
  });

  const recorder: Middleware = {
    // Runs after signing (middleware onRequest runs in registration order), so it sees the final request.
    async onRequest({ request, id }) {
      const bytes = new Uint8Array(await request.clone().arrayBuffer());
      const url = new URL(request.url);
      const headers: Array<[string, string]> = [];
      request.headers.forEach((value, name) => headers.push([name, scrub(value)]));
      pending.set(id, {
        id,
        started: performance.now(),
        request: {
          method: request.method,
          url: scrub(request.url),
          target: scrub(url.pathname + url.search),
          headers,
          bodyText: scrub(utf8Decode(bytes)),
          canonical: lastCanonical.get(id) ?? '',
        },
      });
      lastCanonical.delete(id);
      return undefined;
    },
    async onResponse({ response, id }) {
      const bodyText = await response.clone().text();
      finish(id, { response: { status: response.status, headers: lowerHeaderRecord(response.headers), bodyText: scrub(bodyText) } });
      return undefined;
    },
    async onError({ error, id }) {
      finish(id, { error: scrub(error instanceof Error ? `${error.name}: ${error.message}` : String(error)) });
      return undefined;
    },
  };

  const fetchClient = createClient<SignedPaths>({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  });
  fetchClient.use(signing, recorder);

  return {
    fetchClient,
    signingMiddleware: signing,
    baseUrl: options.baseUrl,
    accessKey: options.accessKey,
    get lastExchange() {
      return last;
    },
    async post<P extends PostPath>(path: P, body: RequestBodyOf<P>, postOptions: PostOptions = {}): Promise<ClientResponse<P>> {
      let exchangeId: string | undefined;
      const idProbe: Middleware = {
        onRequest({ id }) {
          exchangeId = id;
          return undefined;
        },
      };
      const init: Record<string, unknown> = {
        body,
        parseAs: 'text',
        middleware: [idProbe],
        ...(postOptions.headers ? { headers: postOptions.headers } : {}),
        ...(postOptions.signal ? { signal: postOptions.signal } : {}),
        ...(postOptions.bodyText !== undefined ? { bodySerializer: () => postOptions.bodyText } : {}),
      };
      // The typed surface is `post`'s own signature; openapi-fetch's overloads cannot follow a generic P.
      const result = await (fetchClient.POST as unknown as (p: string, i: unknown) => Promise<{ response: Response }>)(path, init);
      const exchange = (exchangeId && completed.get(exchangeId)) || last;
      if (exchangeId) completed.delete(exchangeId);
      const bodyText = exchange?.response?.bodyText ?? '';
      let parsed: unknown;
      if (bodyText.trim() !== '') {
        try {
          parsed = JSON.parse(bodyText);
        } catch {
          parsed = undefined;
        }
      }
      return {
        status: result.response.status,
        body: parsed as ResponseBodyOf<P> | undefined,
        headers: lowerHeaderRecord(result.response.headers),
        exchange: exchange!,
      };
    },
  };
}

/** Why a client could not be built from the environment: names the missing variable. */
export class ClientConfigError extends Error {
  override name = 'ClientConfigError';
}

/**
 * A client configured from UPGRADELINK_BASE_URL, UPGRADELINK_ACCESS_KEY and UPGRADELINK_SECRET_KEY.
 * Throws ClientConfigError naming every variable that is missing or empty.
 */
export function clientFromEnv(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<UpgradeLinkClientOptions> = {},
): UpgradeLinkClient {
  const fromEnv = {
    baseUrl: overrides.baseUrl || env[ENV_BASE_URL],
    accessKey: overrides.accessKey || env[ENV_ACCESS_KEY],
    secretKey: overrides.secretKey || env[ENV_SECRET_KEY],
  };
  const missing = [
    [ENV_BASE_URL, fromEnv.baseUrl],
    [ENV_ACCESS_KEY, fromEnv.accessKey],
    [ENV_SECRET_KEY, fromEnv.secretKey],
  ]
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new ClientConfigError(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`);
  }
  return createUpgradeLinkClient({
    ...overrides,
    baseUrl: fromEnv.baseUrl!,
    accessKey: fromEnv.accessKey!,
    secretKey: fromEnv.secretKey!,
  });
}
