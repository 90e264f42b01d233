// A signing path for the load generator: the same rules as lib/signing (REFERENCE.md §3), with the
// per-request work cut to what changes between requests.
//
// lib/signing is written to run anywhere (no node:*), so it builds the canonical string byte by
// byte in JavaScript: a large share of what each request costs the generator. Here, for each
// (method, target, body), lib/signing assembles the canonical string once with placeholders for the
// nonce and the timestamp, and the result is cut at the placeholders:
//
//   body=<B>&nonce=  |  <N>  |  &secretKey=<S>&timestamp=  |  <T>  |  &url=<U, decoded, trailing & trimmed>
//   ---- prefix ----          ------------- middle -------          --------------- suffix ---------------
//
// so the layout (field order, joining, trimming) is lib/signing's, not a second copy. Each request
// copies prefix, nonce, middle, timestamp and suffix into one reused buffer and hashes it with a
// single md5 call. Nonces are 32 lowercase hex characters from a pooled crypto RNG (like
// lib/signing's default); the timestamp has whole seconds and is formatted once per second. About
// 1.3 µs per signature against lib/signing's 16 µs (npm run bench:load reports both).
//
// load/fastsign.test.ts checks every vector in fixtures/signing/vectors.json against this path, so it
// cannot drift from the rules.
import * as crypto from 'node:crypto';
import { createHash, randomFillSync } from 'node:crypto';
import { assemble, canonicalParts, type SigningHeaders } from '../lib/signing/index.ts';

export interface FastSignTemplate {
  readonly prefix: Buffer;
  readonly middle: Buffer;
  readonly suffix: Buffer;
}

export interface FastSignOptions {
  accessKey: string;
  secretKey: string;
  /** Epoch milliseconds for X-Timestamp (default Date.now); the sandbox's clock when it is driven. */
  now?: () => number;
}

const POOL_BYTES = 16 * 1024;

/** Random lowercase hex nonces, `length / 2` bytes each, drawn from a pooled crypto RNG. */
export function createNonceSource(length = 32): () => string {
  if (!Number.isInteger(length) || length < 16 || length > 128 || length % 2 !== 0) {
    throw new RangeError(`nonce length must be an even integer from 16 to 128, got ${length}`);
  }
  const bytes = length / 2;
  const pool = Buffer.allocUnsafe(POOL_BYTES - (POOL_BYTES % bytes));
  let offset = pool.length;
  return () => {
    if (offset + bytes > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const out = pool.toString('hex', offset, offset + bytes);
    offset += bytes;
    return out;
  };
}

/** X-Timestamp for an instant: RFC3339 UTC, milliseconds only when non-zero (as the SDKs send it). */
export function isoTimestamp(ms: number): string {
  const text = new Date(ms).toISOString();
  return text.endsWith('.000Z') ? `${text.slice(0, -5)}Z` : text;
}

/** X-Timestamp at whole seconds, formatted once per second (the window is ±300 s, so that is plenty). */
function secondStamper(): (ms: number) => string {
  let second = Number.NaN;
  let text = '';
  return (ms) => {
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      text = isoTimestamp(s * 1000);
    }
    return text;
  };
}

/** One-shot md5 (Node ≥ 20.12 has crypto.hash); the streaming API otherwise. */
const md5Hex: (data: Buffer) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (data) => (crypto as unknown as { hash(algorithm: string, data: Buffer, encoding: 'hex'): string }).hash('md5', data, 'hex')
    : (data) => createHash('md5').update(data).digest('hex');

/**
 * A placeholder found in none of the request's constant values, so that cutting the assembled string
 * at it is unambiguous: it holds no `&` or `=`, so it cannot straddle a value and the `&name=` next to it.
 */
function placeholder(field: string, constants: readonly Uint8Array[]): string {
  for (let i = 0; ; i++) {
    const mark = `\0${field}${i}\0`;
    if (constants.every((value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength).indexOf(mark) < 0)) return mark;
  }
}

export function createFastSigner(options: FastSignOptions) {
  const { accessKey, secretKey } = options;
  const now = options.now ?? Date.now;
  const nextNonce = createNonceSource(32);
  const templates = new Map<string, FastSignTemplate>();

  // Templates are cached: string bodies by value, byte bodies by identity (reuse the same Buffer).
  const byBytes = new WeakMap<Uint8Array, Map<string, FastSignTemplate>>();

  function build(method: string, target: string, body: string | Uint8Array): FastSignTemplate {
    const bodyBytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const parts = canonicalParts({ method, target, body: bodyBytes, nonce: '', secretKey, timestamp: '' });
    const constants = [parts.body, parts.secretKey, parts.url].filter((v): v is Uint8Array => v !== null);
    const nonceMark = placeholder('nonce', constants);
    const stampMark = placeholder('timestamp', constants);
    const canonical = Buffer.from(assemble({ ...parts, nonce: Buffer.from(nonceMark), timestamp: Buffer.from(stampMark) }));
    const n = canonical.indexOf(nonceMark);
    const t = canonical.indexOf(stampMark);
    // Trimming reaches no further back than the last field's `=`: the cut is exact while another field
    // follows the timestamp.
    if (n < 0 || t < n || t + stampMark.length === canonical.length) {
      throw new Error('load/fastsign.ts needs the nonce before the timestamp, and a field after it, in the canonical layout');
    }
    return {
      prefix: canonical.subarray(0, n),
      middle: canonical.subarray(n + nonceMark.length, t),
      suffix: canonical.subarray(t + stampMark.length),
    };
  }

  function template(method: string, target: string, body: string | Uint8Array): FastSignTemplate {
    if (typeof body === 'string') {
      const key = `${method} ${target} ${body}`;
      let made = templates.get(key);
      if (!made) {
        made = build(method, target, body);
        if (templates.size < 10_000) templates.set(key, made);
      }
      return made;
    }
    let forBody = byBytes.get(body);
    if (!forBody) byBytes.set(body, (forBody = new Map()));
    const key = `${method} ${target}`;
    let made = forBody.get(key);
    if (!made) forBody.set(key, (made = build(method, target, body)));
    return made;
  }

  // The canonical string is assembled in one reused buffer, then hashed in one call.
  let scratch = Buffer.allocUnsafe(8192);
  function signature(t: FastSignTemplate, nonce: string, stamp: string): string {
    const size = t.prefix.length + t.middle.length + t.suffix.length + 4 * (nonce.length + stamp.length);
    if (size > scratch.length) scratch = Buffer.allocUnsafe(size * 2);
    let o = t.prefix.copy(scratch, 0);
    o += scratch.write(nonce, o, 'utf8');
    o += t.middle.copy(scratch, o);
    o += scratch.write(stamp, o, 'utf8');
    o += t.suffix.copy(scratch, o);
    return md5Hex(scratch.subarray(0, o));
  }

  const stampAt = secondStamper();

  function signWith(t: FastSignTemplate, fixed: { nonce?: string; timestamp?: string } = {}): SigningHeaders {
    const nonce = fixed.nonce ?? nextNonce();
    const stamp = fixed.timestamp ?? stampAt(now());
    return { 'X-Timestamp': stamp, 'X-Nonce': nonce, 'X-AccessKey': accessKey, 'X-Signature': signature(t, nonce, stamp) };
  }

  return {
    nonce: nextNonce,
    timestamp: () => stampAt(now()),
    /** The constant parts for (method, target, body); hold on to it and sign with signWith. */
    template,
    /** The signature alone, for explicit nonce and timestamp (used by the vector test). */
    signature(method: string, target: string, body: string | Uint8Array, nonce: string, stamp: string): string {
      return signature(template(method, target, body), nonce, stamp);
    },
    /** Signing headers for a template, with a fresh nonce and the current timestamp (or the given ones). */
    signWith,
    /** Signing headers with a fresh nonce and the current timestamp (or the given ones). */
    sign(method: string, target: string, body: string | Uint8Array, fixed: { nonce?: string; timestamp?: string } = {}): SigningHeaders {
      return signWith(template(method, target, body), fixed);
    },
  };
}

export type FastSigner = ReturnType<typeof createFastSigner>;
