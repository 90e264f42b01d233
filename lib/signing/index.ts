// The UpgradeLink request-signing rules, implemented once.
//
// Runtime-neutral on purpose: no `node:*`, no `k6/*`, no npm imports (a test enforces this). The md5
// function, the random source and the clock are injected, so the same module runs in Node (the
// sandbox's verifier, the client, the CLI) and in k6 (load scripts). Adapters: ./node.ts, ./k6.ts.
//
// Canonical string: body=<B>&nonce=<N>&secretKey=<S>&timestamp=<T>&url=<U>
//   B  the body exactly as sent (bytes; never re-serialised). `body=` is present for every method
//      except GET and HEAD, even when the body is empty; for GET/HEAD the whole part is absent.
//   N  X-Nonce verbatim.   S  the secret (never sent).   T  X-Timestamp verbatim (not normalised).
//   U  the request target (path + `?query`), percent-decoded, with `+` decoded to a space.
// Parts are joined with `&` and never escaped; trailing `&`s of the whole string are trimmed; the
// signature is md5 over the bytes, as 32 lowercase hex characters.
//
// The layout lives in two functions: canonicalParts (each field's bytes) and assemble (the joining).
// Everything else that builds a canonical string (load/fastsign.ts's templates, cli/explain.ts's
// deliberate mistakes) goes through them rather than spelling `body=…&nonce=…` out again.

export type Md5 = (data: Uint8Array) => string;
export type RandomBytes = (length: number) => Uint8Array;

export interface CanonicalInput {
  method: string;
  /** Path plus optional `?query`, exactly as on the request line (no scheme or host). */
  target: string;
  /** The exact body bytes sent; a string is taken as its UTF-8 bytes. */
  body?: string | Uint8Array | null;
  nonce: string;
  secretKey: string;
  timestamp: string;
}

export interface SigningHeaders {
  'X-Timestamp': string;
  'X-Nonce': string;
  'X-AccessKey': string;
  'X-Signature': string;
}

export const SIGNING_HEADER_NAMES = ['X-Timestamp', 'X-Nonce', 'X-AccessKey', 'X-Signature'] as const;
/** Replay window: |server now − X-Timestamp| ≤ this many seconds, both ends inclusive. */
export const TIMESTAMP_WINDOW_SECONDS = 300;
export const NONCE_MIN_LENGTH = 16;
export const NONCE_MAX_LENGTH = 128;
export const SECRET_MASK = '********';

export class SigningError extends Error {
  override name = 'SigningError';
}

const AMPERSAND = 0x26;

/** UTF-8 encoding without relying on TextEncoder (absent in some JS runtimes). */
export function utf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd; // lone surrogate
    if (code < 0x80) out.push(code);
    else if (code < 0x800) out.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
    else if (code < 0x10000) out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    else
      out.push(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 0x3f),
        0x80 | ((code >> 6) & 0x3f),
        0x80 | (code & 0x3f),
      );
  }
  return Uint8Array.from(out);
}

/** Lossy UTF-8 decoding for display (invalid sequences become U+FFFD). */
export function utf8Decode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    let code = 0xfffd;
    let size = 1;
    if (b < 0x80) code = b;
    else if (b >= 0xc2 && b < 0xe0 && isCont(bytes[i + 1])) {
      code = ((b & 0x1f) << 6) | (bytes[i + 1]! & 0x3f);
      size = 2;
    } else if (b >= 0xe0 && b < 0xf0 && isCont(bytes[i + 1]) && isCont(bytes[i + 2])) {
      code = ((b & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f);
      size = 3;
      if (code < 0x800 || (code >= 0xd800 && code <= 0xdfff)) code = 0xfffd;
    } else if (b >= 0xf0 && b < 0xf5 && isCont(bytes[i + 1]) && isCont(bytes[i + 2]) && isCont(bytes[i + 3])) {
      code =
        ((b & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f);
      size = 4;
      if (code < 0x10000 || code > 0x10ffff) code = 0xfffd;
    }
    out += String.fromCodePoint(code);
    i += size;
  }
  return out;
}

function isCont(b: number | undefined): boolean {
  return b !== undefined && (b & 0xc0) === 0x80;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Percent-decodes a request target to raw bytes: each `%XX` becomes that byte, `+` becomes a space.
 * Throws SigningError on a bad escape (the sandbox answers Code.ILLEGAL_REQUEST for that).
 */
export function percentDecode(target: string): Uint8Array {
  const input = utf8Encode(target);
  const out = new Uint8Array(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === 0x25) {
      const hi = hexValue(input[i + 1] ?? -1);
      const lo = hexValue(input[i + 2] ?? -1);
      if (hi < 0 || lo < 0) throw new SigningError(`bad percent-escape at offset ${i} of the request target`);
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else if (c === 0x2b) out[n++] = 0x20;
    else out[n++] = c;
  }
  return out.slice(0, n);
}

export function includesBodyPart(method: string): boolean {
  const m = method.toUpperCase();
  return m !== 'GET' && m !== 'HEAD';
}

function toBytes(value: string | Uint8Array | null | undefined): Uint8Array {
  if (value === null || value === undefined) return new Uint8Array(0);
  return typeof value === 'string' ? utf8Encode(value) : value;
}

/** The signed fields in their fixed order: the byte order of the names (REFERENCE.md §3.1 rule 1). */
export const CANONICAL_FIELDS = ['body', 'nonce', 'secretKey', 'timestamp', 'url'] as const;
export type CanonicalField = (typeof CANONICAL_FIELDS)[number];

/** Each field's value as the bytes that are signed. */
export interface CanonicalParts {
  /** null: the part is absent (GET, HEAD), not empty. */
  body: Uint8Array | null;
  nonce: Uint8Array;
  secretKey: Uint8Array;
  timestamp: Uint8Array;
  /** The request target, percent-decoded. */
  url: Uint8Array;
}

export function canonicalParts(input: CanonicalInput): CanonicalParts {
  return {
    body: includesBodyPart(input.method) ? toBytes(input.body) : null,
    nonce: utf8Encode(input.nonce),
    secretKey: utf8Encode(input.secretKey),
    timestamp: utf8Encode(input.timestamp),
    url: percentDecode(input.target),
  };
}

/** Ways to break one joining rule on purpose (cli/explain.ts); the defaults are the rules. */
export interface AssembleOptions {
  /** Another field order. Default CANONICAL_FIELDS. */
  order?: readonly CanonicalField[];
  /** Fields signed besides the five; all fields are then joined in the byte order of their names. */
  extra?: Readonly<Record<string, Uint8Array>>;
  /** false: keep trailing `&`s. Default true. */
  trim?: boolean;
}

/** Joins `name=value` pairs with `&`, values never escaped, then trims trailing `&`s of the whole. */
export function assemble(parts: CanonicalParts, options: AssembleOptions = {}): Uint8Array {
  const values: Record<string, Uint8Array | null> = { ...parts, ...options.extra };
  let names: string[] = [...(options.order ?? CANONICAL_FIELDS)];
  if (options.extra) names = [...names, ...Object.keys(options.extra)].sort();
  const fields: Array<[Uint8Array, Uint8Array]> = [];
  for (const name of names) {
    const value = values[name];
    if (value) fields.push([utf8Encode(`${fields.length === 0 ? '' : '&'}${name}=`), value]);
  }
  let length = 0;
  for (const [label, value] of fields) length += label.length + value.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const [label, value] of fields) {
    out.set(label, offset);
    out.set(value, offset + label.length);
    offset += label.length + value.length;
  }
  if (options.trim === false) return out;
  while (length > 0 && out[length - 1] === AMPERSAND) length--;
  return length === out.length ? out : out.slice(0, length);
}

/** The exact bytes that are hashed. */
export function canonicalBytes(input: CanonicalInput): Uint8Array {
  return assemble(canonicalParts(input));
}

/** The canonical string, for display. Contains the secret: pass it through maskSecret before printing. */
export function canonicalString(input: CanonicalInput): string {
  return utf8Decode(canonicalBytes(input));
}

/** Replaces every occurrence of the secret with a fixed mask, so it can be logged or reported. */
export function maskSecret(text: string, secretKey: string): string {
  if (!secretKey) return text;
  return text.split(secretKey).join(SECRET_MASK);
}

export function sign(input: CanonicalInput, md5: Md5): string {
  return md5(canonicalBytes(input)).toLowerCase();
}

/** Exact comparison in time independent of where the strings differ (length leaks, as usual). */
export function verify(expected: string, received: string): boolean {
  const length = Math.max(expected.length, received.length);
  let diff = expected.length ^ received.length;
  for (let i = 0; i < length; i++) {
    diff |= (expected.charCodeAt(i) | 0) ^ (received.charCodeAt(i) | 0);
  }
  return diff === 0;
}

const HEX = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

/** A lowercase-hex nonce of `length` characters (default 32; at least 16). */
export function nonce(randomBytes: RandomBytes, length = 32): string {
  if (!Number.isInteger(length) || length < NONCE_MIN_LENGTH || length > NONCE_MAX_LENGTH) {
    throw new SigningError(`nonce length must be an integer from ${NONCE_MIN_LENGTH} to ${NONCE_MAX_LENGTH}, got ${length}`);
  }
  return toHex(randomBytes(Math.ceil(length / 2))).slice(0, length);
}

/** Well formed per the contract: 16–128 characters, each visible ASCII (0x21–0x7E). */
export function nonceWellFormed(value: string): boolean {
  if (value.length < NONCE_MIN_LENGTH || value.length > NONCE_MAX_LENGTH) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

export interface TimestampOptions {
  /** Epoch milliseconds or a Date. */
  now: number | Date;
  /** 'Z' (default) for UTC, or an offset in minutes east of UTC (480 gives `+08:00`). */
  offset?: 'Z' | number;
  /** 'auto' (default): milliseconds only when non-zero, as the official SDKs do. */
  milliseconds?: boolean | 'auto';
  /** Shift the stamped time by this many seconds (negative: in the past), for replay-window tests. */
  skewSeconds?: number;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** An RFC3339 date-time as X-Timestamp expects. */
export function timestamp(options: TimestampOptions): string {
  const base = typeof options.now === 'number' ? options.now : options.now.getTime();
  const offset = options.offset ?? 'Z';
  const offsetMinutes = offset === 'Z' ? 0 : offset;
  if (!Number.isInteger(offsetMinutes) || Math.abs(offsetMinutes) >= 24 * 60) {
    throw new SigningError(`timestamp offset must be whole minutes within ±23:59, got ${String(offset)}`);
  }
  const ms = Math.round(base + (options.skewSeconds ?? 0) * 1000 + offsetMinutes * 60_000);
  const d = new Date(ms);
  const millis = d.getUTCMilliseconds();
  const wantMillis = options.milliseconds === 'auto' || options.milliseconds === undefined ? millis !== 0 : options.milliseconds;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const zone = offset === 'Z' ? 'Z' : `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` +
    (wantMillis ? `.${pad(millis, 3)}` : '') +
    zone
  );
}

export interface ParsedTimestamp {
  /** Whole seconds since the Unix epoch. */
  epochSeconds: number;
  /** Fraction of the second in nanoseconds (0 to 999 999 999); digits past the ninth are dropped. */
  nanos: number;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses X-Timestamp by the contract's grammar: RFC3339 date-time with `T`, an offset (`Z` or
 * `±HH:MM`), optional fraction; uppercase `T`/`Z` only; fields in range. Returns null when invalid.
 */
export function parseTimestamp(value: string): ParsedTimestamp | null {
  const m = RFC3339.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return null;
  let offsetMinutes = 0;
  const zone = m[8]!;
  if (zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0-99 to 1900-1999.
  const fixedYear = year < 100 ? new Date(utc).setUTCFullYear(year) : utc;
  const fraction = (m[7] ?? '').slice(0, 9).padEnd(9, '0');
  return { epochSeconds: fixedYear / 1000 - offsetMinutes * 60, nanos: Number(fraction) };
}

/**
 * Whether a parsed timestamp is within ±windowSeconds of nowMs, both ends inclusive, with the
 * fraction compared exactly (to the nanosecond).
 */
export function withinWindow(stamp: ParsedTimestamp, nowMs: number, windowSeconds = TIMESTAMP_WINDOW_SECONDS): boolean {
  const nowSeconds = Math.floor(nowMs / 1000);
  const nowNanos = (nowMs - nowSeconds * 1000) * 1_000_000;
  const diffSeconds = stamp.epochSeconds - nowSeconds;
  if (Math.abs(diffSeconds) > windowSeconds + 1) return false;
  const diffNanos = diffSeconds * 1_000_000_000 + (stamp.nanos - nowNanos);
  return Math.abs(diffNanos) <= windowSeconds * 1_000_000_000;
}

export interface SignRequest {
  method: string;
  target: string;
  body?: string | Uint8Array | null;
  accessKey: string;
  secretKey: string;
  /** Defaults to a fresh nonce from the signer's random source. */
  nonce?: string;
  /** Defaults to the signer's clock, formatted by `timestamp()`. */
  timestamp?: string;
}

export interface SignerDeps {
  md5: Md5;
  randomBytes: RandomBytes;
  /** Epoch milliseconds; injected so tests can pin it. */
  now?: () => number;
  nonceLength?: number;
}

export interface SignedRequest {
  headers: SigningHeaders;
  /** The canonical string with the secret masked (safe to log). */
  canonicalMasked: string;
}

/** Binds the pure rules to an md5, a random source and a clock. */
export function createSigner(deps: SignerDeps) {
  const now = deps.now ?? (() => Date.now());
  return {
    nonce: () => nonce(deps.randomBytes, deps.nonceLength ?? 32),
    timestamp: (options: Omit<TimestampOptions, 'now'> = {}) => timestamp({ ...options, now: now() }),
    sign(request: SignRequest): SignedRequest {
      const input: CanonicalInput = {
        method: request.method,
        target: request.target,
        body: request.body ?? '',
        nonce: request.nonce ?? nonce(deps.randomBytes, deps.nonceLength ?? 32),
        secretKey: request.secretKey,
        timestamp: request.timestamp ?? timestamp({ now: now() }),
      };
      const signature = sign(input, deps.md5);
      return {
        headers: {
          'X-Timestamp': input.timestamp,
          'X-Nonce': input.nonce,
          'X-AccessKey': request.accessKey,
          'X-Signature': signature,
        },
        canonicalMasked: maskSecret(canonicalString(input), request.secretKey),
      };
    },
  };
}

export type Signer = ReturnType<typeof createSigner>;
