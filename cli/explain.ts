// `explain`: given a request that failed signature verification (Code.SIGNATURE_FAILED) and the
// secret, find which common signing mistake reproduces the X-Signature the client sent.
//
// Each mistake is a small named check that produces the canonical strings a client making that
// mistake would have hashed: lib/signing's parts of the request, with one part replaced or one
// assembly rule broken through assemble's options. A mistake "matches" when one of them hashes to the
// received signature. Checks are independent and cheap (md5 of a few hundred bytes), so they are
// simply all run.
// Codes come from the generated module itself, not lib/spec, which would load Ajv at every CLI start.
import { Code } from '../generated/operations.ts';
import {
  assemble,
  CANONICAL_FIELDS,
  canonicalParts,
  includesBodyPart,
  maskSecret,
  NONCE_MAX_LENGTH,
  NONCE_MIN_LENGTH,
  nonceWellFormed,
  parseTimestamp,
  percentDecode,
  timestamp as formatTimestamp,
  TIMESTAMP_WINDOW_SECONDS,
  utf8Decode,
  utf8Encode,
  withinWindow,
  type CanonicalParts,
} from '../lib/signing/index.ts';
import { md5 } from '../lib/signing/node.ts';

export interface ExplainInput {
  method: string;
  /** Path plus `?query` exactly as sent. */
  target: string;
  /** `host[:port]` the request went to, when known: enables the "signed the full URL" check. */
  host?: string;
  /** Request headers; names are matched case-insensitively, the first of a repeated name wins. */
  headers: ReadonlyArray<readonly [string, string]>;
  /** The exact body bytes sent. */
  body: Uint8Array;
  secretKey: string;
  /** How far (seconds) to search around X-Timestamp for a changed timestamp. Default 300. */
  maxSkewSeconds?: number;
  /** Clock for the informational replay-window note, epoch ms. Default Date.now(). */
  now?: number;
}

export interface ExplainMatch {
  id: string;
  title: string;
  detail: string;
  /** The canonical string the client most likely hashed, secret masked, control characters escaped. */
  canonical: string;
}

export interface Explanation {
  receivedSignature: string;
  expectedSignature: string;
  signatureCorrect: boolean;
  /** The correct canonical string, secret masked. */
  canonical: string;
  /** Matching mistakes, most specific first; `matches[0]` is the likely cause. */
  matches: ExplainMatch[];
  /** Every mistake that was tried, with how many variants. */
  checked: Array<{ id: string; title: string; variants: number }>;
  /** Things worth knowing that are not signature mistakes (window, nonce form, header form). */
  notes: string[];
}

export class ExplainInputError extends Error {
  override name = 'ExplainInputError';
}

interface Context {
  method: string;
  target: string;
  host: string | undefined;
  body: Uint8Array;
  bodyText: string;
  nonce: string;
  timestamp: string;
  secret: string;
  accessKey: string | undefined;
  hasBodyPart: boolean;
  maxSkew: number;
  /** The correct canonical parts; each mistake replaces one of them or assembles them another way. */
  parts: CanonicalParts;
}

interface Variant {
  bytes: Uint8Array;
  detail: string;
}

interface Mistake {
  id: string;
  title: string;
  variants(ctx: Context): Iterable<Variant>;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function sortKeys(value: unknown, deep: boolean, reverse = false): unknown {
  if (Array.isArray(value)) return deep ? value.map((v) => sortKeys(v, deep, reverse)) : value;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    if (reverse) keys.reverse();
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const v = (value as Record<string, unknown>)[k];
      out[k] = deep ? sortKeys(v, deep, reverse) : v;
    }
    return out;
  }
  return value;
}

function escapeNonAscii(text: string, upper: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) out += text[i];
    else {
      const hex = code.toString(16).padStart(4, '0');
      out += `\\u${upper ? hex.toUpperCase() : hex}`;
    }
  }
  return out;
}

function unescapeNonAscii(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})(?:\\u([dD][c-fC-F][0-9a-fA-F]{2}))?/g, (all, hi: string, lo?: string) => {
    const code = parseInt(hi, 16);
    if (code < 0x80) return all;
    if (lo !== undefined) return String.fromCharCode(code, parseInt(lo, 16));
    return String.fromCharCode(code);
  });
}

const withBody = (ctx: Context, body: Uint8Array | null): Uint8Array => assemble({ ...ctx.parts, body });
const withUrl = (ctx: Context, url: Uint8Array): Uint8Array => assemble({ ...ctx.parts, url });

/** Text whose `%` and `+` survive percentDecode unchanged. */
const undecodable = (text: string): string => text.replace(/[%+]/g, (c) => encodeURIComponent(c));

function* jsonBodies(ctx: Context): Generator<[string, unknown]> {
  if (!ctx.hasBodyPart) return;
  const parsed = parseJson(ctx.bodyText);
  if (parsed.ok) yield ['json', parsed.value];
}

function splitTarget(target: string): { path: string; query: string | undefined } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: undefined } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

const TIMESTAMP_OFFSETS: number[] = (() => {
  const out: number[] = [];
  for (let h = -12; h <= 14; h++) out.push(h * 60);
  out.push(-570, -210, 210, 270, 330, 345, 390, 525, 570, 630, 765, 825);
  return out;
})();

/** The catalogue, in the order matches are reported when more than one reproduces the signature. */
export const MISTAKES: readonly Mistake[] = [
  {
    id: 'body-left-out',
    title: '`body=` left out',
    *variants(ctx) {
      if (!ctx.hasBodyPart) return;
      yield {
        bytes: withBody(ctx, null),
        detail:
          ctx.body.length === 0
            ? 'The body is empty and the signer left out the whole `body=&` part. For POST and PUT, `body=` is always present, even for an empty body (REFERENCE.md §3.1).'
            : 'The signer left out the `body=…&` part, as for a GET. For POST and PUT the body is always signed.',
      };
    },
  },
  {
    id: 'body-included-for-get',
    title: '`body=` included for a GET',
    *variants(ctx) {
      if (ctx.hasBodyPart) return;
      yield {
        bytes: withBody(ctx, ctx.body),
        detail: `${ctx.method.toUpperCase()} has no body part at all; the signer added \`body=…&\`.`,
      };
    },
  },
  {
    id: 'body-unescaped',
    title: 'body re-escaped: signed with raw UTF-8, sent with \\u escapes',
    *variants(ctx) {
      if (!ctx.hasBodyPart) return;
      const raw = unescapeNonAscii(ctx.bodyText);
      if (raw !== ctx.bodyText)
        yield {
          bytes: withBody(ctx, utf8Encode(raw)),
          detail:
            'The body was sent with \\uXXXX escapes but signed with the characters as raw UTF-8. Sign the exact bytes sent: the same JSON written differently is a different body.',
        };
    },
  },
  {
    id: 'body-escaped',
    title: 'body re-escaped: signed with \\u escapes, sent as raw UTF-8',
    *variants(ctx) {
      if (!ctx.hasBodyPart) return;
      for (const upper of [false, true]) {
        const escaped = escapeNonAscii(ctx.bodyText, upper);
        if (escaped !== ctx.bodyText)
          yield {
            bytes: withBody(ctx, utf8Encode(escaped)),
            detail: `The body was sent with raw UTF-8 characters but signed with them escaped as \\uXXXX (${upper ? 'uppercase' : 'lowercase'} hex), as an ASCII-only JSON serialiser writes them. Sign the exact bytes sent.`,
          };
      }
    },
  },
  {
    id: 'body-pretty-printed',
    title: 'body re-serialised: pretty-printed',
    *variants(ctx) {
      for (const [, value] of jsonBodies(ctx)) {
        for (const indent of [2, 4, '\t'] as const) {
          const text = JSON.stringify(value, null, indent);
          if (text !== ctx.bodyText)
            yield {
              bytes: withBody(ctx, utf8Encode(text)),
              detail: `The signer hashed the body pretty-printed (indent ${JSON.stringify(indent)}) but sent it otherwise. Sign the exact bytes sent.`,
            };
        }
      }
    },
  },
  {
    id: 'body-keys-reordered',
    title: 'body re-serialised: keys reordered',
    *variants(ctx) {
      for (const [, value] of jsonBodies(ctx)) {
        const tries: Array<[unknown, string]> = [
          [sortKeys(value, true), 'sorted alphabetically'],
          [sortKeys(value, false), 'sorted alphabetically (top level only)'],
          [sortKeys(value, true, true), 'sorted in reverse'],
        ];
        for (const [v, how] of tries) {
          const text = JSON.stringify(v);
          if (text !== ctx.bodyText)
            yield {
              bytes: withBody(ctx, utf8Encode(text)),
              detail: `The signer hashed the body with its keys ${how}, but the body was sent in another order. Sign the exact bytes sent.`,
            };
        }
      }
    },
  },
  {
    id: 'body-reserialised',
    title: 'body re-serialised: JSON.parse then JSON.stringify',
    *variants(ctx) {
      for (const [, value] of jsonBodies(ctx)) {
        const text = JSON.stringify(value);
        if (text !== ctx.bodyText)
          yield {
            bytes: withBody(ctx, utf8Encode(text)),
            detail:
              'The signer parsed the body and serialised it again (compact JSON.stringify), which is not what was sent (whitespace, escapes or number forms differ). Sign the exact bytes sent.',
          };
      }
    },
  },
  {
    id: 'body-trailing-newline',
    title: 'body trailing newline added or removed',
    *variants(ctx) {
      if (!ctx.hasBodyPart) return;
      const text = ctx.bodyText;
      const trimmed = text.replace(/[\r\n]+$/, '');
      if (trimmed !== text)
        yield {
          bytes: withBody(ctx, utf8Encode(trimmed)),
          detail: 'The body was sent with a trailing newline that the signer did not include.',
        };
      for (const nl of ['\n', '\r\n'])
        yield {
          bytes: withBody(ctx, utf8Encode(text + nl)),
          detail: `The signer hashed the body with a trailing ${JSON.stringify(nl)} that was not sent (e.g. a file read with its newline, then sent by curl -d, which strips it).`,
        };
    },
  },
  {
    id: 'body-signed-empty',
    title: 'body signed empty',
    *variants(ctx) {
      if (!ctx.hasBodyPart || ctx.body.length === 0) return;
      yield {
        bytes: withBody(ctx, new Uint8Array(0)),
        detail: 'The signer hashed an empty body (`body=&…`), e.g. before the body was set.',
      };
    },
  },
  {
    id: 'query-dropped',
    title: 'query dropped from the signed url',
    *variants(ctx) {
      const { path, query } = splitTarget(ctx.target);
      if (query === undefined) return;
      yield {
        bytes: withUrl(ctx, percentDecode(path)),
        detail: `The request was sent with the query \`?${query}\` but the signer hashed only the path. The url is the path plus \`?query\` (REFERENCE.md §3.1).`,
      };
    },
  },
  {
    id: 'query-mark',
    title: 'empty `?` kept or dropped',
    *variants(ctx) {
      const { path, query } = splitTarget(ctx.target);
      if (query === undefined)
        yield { bytes: withUrl(ctx, percentDecode(`${path}?`)), detail: 'The signer hashed the url with an empty `?` that was not sent.' };
      else if (query === '')
        yield { bytes: withUrl(ctx, percentDecode(path)), detail: 'The request was sent with an empty `?` that the signer did not include.' };
    },
  },
  {
    id: 'url-not-decoded',
    title: 'url not decoded (signed percent-encoded)',
    *variants(ctx) {
      const raw = utf8Encode(ctx.target);
      const decoded = percentDecode(ctx.target);
      if (utf8Decode(raw) !== utf8Decode(decoded))
        yield {
          bytes: withUrl(ctx, raw),
          detail:
            'The signer hashed the request target still percent-encoded. The url is signed percent-decoded (each %XX as its byte, + as a space).',
        };
    },
  },
  {
    id: 'url-plus-not-decoded',
    title: 'url decoded without turning `+` into a space',
    *variants(ctx) {
      if (!ctx.target.includes('+')) return;
      // decodeURIComponent-style: %XX decoded, + left as is.
      yield {
        bytes: withUrl(ctx, percentDecode(ctx.target.replace(/\+/g, '%2B'))),
        detail: 'The signer decoded %XX escapes but kept `+` as a plus (decodeURIComponent does this). In the signed url, `+` is a space.',
      };
    },
  },
  {
    id: 'url-with-host',
    title: 'full URL signed instead of path and query',
    *variants(ctx) {
      if (!ctx.host) return;
      for (const scheme of ['http', 'https'])
        yield {
          bytes: withUrl(ctx, percentDecode(`${scheme}://${undecodable(ctx.host)}${ctx.target}`)),
          detail: `The signer hashed the whole URL (${scheme}://${ctx.host}…). The url part is only the path plus \`?query\`.`,
        };
    },
  },
  {
    id: 'url-trailing-slash',
    title: 'trailing slash added or removed',
    *variants(ctx) {
      const { path, query } = splitTarget(ctx.target);
      const q = query === undefined ? '' : `?${query}`;
      if (path.endsWith('/') && path.length > 1)
        yield {
          bytes: withUrl(ctx, percentDecode(path.slice(0, -1) + q)),
          detail: 'The request was sent to a path with a trailing slash, but the signer hashed it without one. The trailing slash is part of the signed url.',
        };
      else
        yield {
          bytes: withUrl(ctx, percentDecode(`${path}/${q}`)),
          detail: 'The signer hashed the path with a trailing slash that was not sent.',
        };
    },
  },
  {
    id: 'trailing-amp-not-trimmed',
    title: 'trailing `&` not trimmed',
    *variants(ctx) {
      const untrimmed = assemble(ctx.parts, { trim: false });
      const trimmed = assemble(ctx.parts);
      if (untrimmed.length !== trimmed.length)
        yield {
          bytes: untrimmed,
          detail: 'The url ends with `&` and the signer kept it. All trailing `&` of the whole canonical string are removed before hashing (REFERENCE.md §3.1 rule 3).',
        };
    },
  },
  {
    id: 'timestamp-reformatted',
    title: 'timestamp reformatted after signing (same instant, other form)',
    *variants(ctx) {
      yield* timestampVariants(ctx, 0, 0);
    },
  },
  {
    id: 'timestamp-changed',
    title: 'timestamp changed after signing',
    *variants(ctx) {
      yield* timestampVariants(ctx, 1, ctx.maxSkew);
    },
  },
  {
    id: 'secret-whitespace',
    title: 'whitespace in the secret',
    *variants(ctx) {
      const tries: Array<[string, string]> = [
        [`${ctx.secret}\n`, 'a trailing newline (\\n)'],
        [`${ctx.secret}\r\n`, 'a trailing CRLF (\\r\\n)'],
        [`${ctx.secret} `, 'a trailing space'],
        [`${ctx.secret}\t`, 'a trailing tab'],
        [` ${ctx.secret}`, 'a leading space'],
        [`\n${ctx.secret}`, 'a leading newline'],
        [` ${ctx.secret} `, 'a leading and a trailing space'],
      ];
      const trimmed = ctx.secret.trim();
      if (trimmed !== ctx.secret && trimmed !== '') tries.push([trimmed, 'its surrounding whitespace removed (the secret you gave has leading or trailing whitespace)']);
      for (const [secret, how] of tries)
        yield {
          bytes: assemble({ ...ctx.parts, secretKey: utf8Encode(secret) }),
          detail: `The client signed with the secret plus ${how}, e.g. read from a file or an environment variable without trimming.`,
        };
    },
  },
  {
    id: 'field-order',
    title: 'wrong field order',
    *variants(ctx) {
      const fields = CANONICAL_FIELDS.filter((f) => f !== 'body' || ctx.hasBodyPart);
      for (const order of permutations(fields)) {
        if (order.join() === fields.join()) continue;
        yield {
          bytes: assemble(ctx.parts, { order }),
          detail: `The signer joined the fields in the order ${order.join(', ')}. The order is fixed and alphabetical: ${fields.join(', ')}.`,
        };
      }
    },
  },
  {
    id: 'access-key-signed',
    title: 'accessKey added to the signed fields',
    *variants(ctx) {
      if (ctx.accessKey === undefined) return;
      yield {
        bytes: assemble(ctx.parts, { extra: { accessKey: utf8Encode(ctx.accessKey) } }),
        detail: 'The signer added `accessKey=…` to the canonical string. Only body, nonce, secretKey, timestamp and url are signed.',
      };
    },
  },
  {
    id: 'values-escaped',
    title: 'values URL-encoded before joining',
    *variants(ctx) {
      const p = ctx.parts;
      const enc = (b: Uint8Array) => utf8Encode(encodeURIComponent(utf8Decode(b)));
      yield {
        bytes: assemble({
          body: p.body === null ? null : enc(p.body),
          nonce: enc(p.nonce),
          secretKey: enc(p.secretKey),
          timestamp: enc(p.timestamp),
          url: enc(p.url),
        }),
        detail: 'The signer URL-encoded each value (like a form encoder) before joining. Values are never escaped.',
      };
    },
  },
];

function* timestampVariants(ctx: Context, minDelta: number, maxDelta: number): Generator<Variant> {
  const parsed = parseTimestamp(ctx.timestamp);
  if (!parsed) return;
  const baseMs = parsed.epochSeconds * 1000 + Math.floor(parsed.nanos / 1_000_000);
  const millis = baseMs % 1000;
  const seen = new Set<string>([ctx.timestamp]);
  const forms: Array<{ offset: 'Z' | number; milliseconds: boolean }> = [];
  for (const milliseconds of millis === 0 ? [false, true] : [true, false]) {
    forms.push({ offset: 'Z', milliseconds });
    for (const offset of TIMESTAMP_OFFSETS) forms.push({ offset, milliseconds });
  }
  for (let d = minDelta; d <= maxDelta; d++) {
    for (const delta of d === 0 ? [0] : [-d, d]) {
      for (const form of forms) {
        const stamp = formatTimestamp({ now: baseMs, skewSeconds: delta, ...form });
        if (seen.has(stamp)) continue;
        seen.add(stamp);
        const when =
          delta === 0
            ? 'the same instant written differently'
            : `${Math.abs(delta)} s ${delta < 0 ? 'earlier' : 'later'} than X-Timestamp`;
        yield {
          bytes: assemble({ ...ctx.parts, timestamp: utf8Encode(stamp) }),
          detail: `The request was signed with timestamp ${stamp} (${when}) but sent with X-Timestamp ${ctx.timestamp}. X-Timestamp is signed verbatim: set it once, sign, and send that same string.`,
        };
      }
    }
  }
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) yield [items[i]!, ...p];
  }
}

function headerValue(headers: ReadonlyArray<readonly [string, string]>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find(([k]) => k.toLowerCase() === lower)?.[1];
}

/** For display: secret masked (also its trimmed form), control characters escaped. */
export function displayCanonical(bytes: Uint8Array, secret: string): string {
  let text = utf8Decode(bytes);
  const secrets = [secret, secret.trim()].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  for (const s of secrets) text = maskSecret(text, s);
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

export function explain(input: ExplainInput): Explanation {
  const ts = headerValue(input.headers, 'X-Timestamp');
  const nonceValue = headerValue(input.headers, 'X-Nonce');
  const received = headerValue(input.headers, 'X-Signature');
  const missing = [
    ['X-Timestamp', ts],
    ['X-Nonce', nonceValue],
    ['X-Signature', received],
  ].filter(([, v]) => v === undefined).map(([n]) => n);
  if (missing.length) {
    throw new ExplainInputError(
      `header ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} required (pass --header '${missing[0]}: …')`,
    );
  }
  const hasBodyPart = includesBodyPart(input.method);
  const ctx: Context = {
    method: input.method,
    target: input.target,
    host: input.host,
    body: input.body,
    bodyText: utf8Decode(input.body),
    nonce: nonceValue!,
    timestamp: ts!,
    secret: input.secretKey,
    accessKey: headerValue(input.headers, 'X-AccessKey'),
    hasBodyPart,
    maxSkew: input.maxSkewSeconds ?? TIMESTAMP_WINDOW_SECONDS,
    parts: canonicalParts({
      method: input.method,
      target: input.target,
      body: input.body,
      nonce: nonceValue!,
      secretKey: input.secretKey,
      timestamp: ts!,
    }),
  };
  const receivedSignature = received!.trim();
  const want = receivedSignature.toLowerCase();
  const correctBytes = assemble(ctx.parts);
  const expectedSignature = md5(correctBytes);
  const notes: string[] = [];
  const matches: ExplainMatch[] = [];
  const checked: Explanation['checked'] = [];
  const uppercase = receivedSignature !== want;

  if (received !== receivedSignature) notes.push('X-Signature has surrounding whitespace.');
  if (!/^[0-9a-fA-F]{32}$/.test(receivedSignature)) notes.push('X-Signature is not 32 hex characters: it cannot be an MD5 in hex.');
  const parsedTs = parseTimestamp(ctx.timestamp);
  if (!parsedTs) notes.push(`X-Timestamp ${JSON.stringify(ctx.timestamp)} is not an RFC3339 date-time with an offset: expect ${Code.INVALID_HEADER}, not ${Code.SIGNATURE_FAILED}.`);
  else if (!withinWindow(parsedTs, input.now ?? Date.now()))
    notes.push(`X-Timestamp is outside ±${TIMESTAMP_WINDOW_SECONDS} s of now: a live server answers ${Code.AUTH_FAILED} before checking the signature.`);
  if (!nonceWellFormed(ctx.nonce)) notes.push(`X-Nonce is not ${NONCE_MIN_LENGTH}–${NONCE_MAX_LENGTH} visible ASCII characters: expect ${Code.INVALID_HEADER}.`);
  if (ctx.accessKey === undefined) notes.push(`No X-AccessKey header given: expect ${Code.INVALID_HEADER}.`);

  const signatureCorrect = want === expectedSignature;
  if (uppercase) {
    checked.push({ id: 'uppercase-hex', title: 'uppercase hex', variants: 1 });
    if (signatureCorrect)
      matches.push({
        id: 'uppercase-hex',
        title: 'uppercase hex',
        detail: 'The signature is right but written in uppercase hex. The comparison is exact: write the MD5 as 32 lowercase hex characters.',
        canonical: displayCanonical(correctBytes, ctx.secret),
      });
  }
  if (signatureCorrect && !uppercase) {
    notes.push(
      `The signature is correct for this request and secret. If the server still says ${Code.SIGNATURE_FAILED}, the request it received differs from the one given here (body bytes, url, headers changed in transit) or the server uses another secret for this access key.`,
    );
  }

  if (!signatureCorrect) {
    for (const mistake of MISTAKES) {
      let count = 0;
      let found: Variant | undefined;
      for (const variant of mistake.variants(ctx)) {
        count++;
        if (!found && md5(variant.bytes) === want) found = variant;
      }
      checked.push({ id: mistake.id, title: mistake.title, variants: count });
      if (found)
        matches.push({
          id: mistake.id,
          title: mistake.title,
          detail: found.detail,
          canonical: displayCanonical(found.bytes, ctx.secret),
        });
    }
    if (uppercase && matches.length > 0)
      matches.push({
        id: 'uppercase-hex',
        title: 'uppercase hex',
        detail: 'Also, the signature is written in uppercase hex: the comparison is exact, use lowercase.',
        canonical: matches[0]!.canonical,
      });
  }

  return {
    receivedSignature,
    expectedSignature,
    signatureCorrect: signatureCorrect && !uppercase,
    canonical: displayCanonical(correctBytes, ctx.secret),
    matches,
    checked,
    notes,
  };
}

