import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  assemble,
  CANONICAL_FIELDS,
  canonicalBytes,
  canonicalParts,
  canonicalString,
  createSigner,
  maskSecret,
  nonce,
  nonceWellFormed,
  parseTimestamp,
  percentDecode,
  SECRET_MASK,
  sign,
  SIGNING_HEADER_NAMES,
  SigningError,
  timestamp,
  TIMESTAMP_WINDOW_SECONDS,
  verify,
  withinWindow,
  type CanonicalInput,
} from './index.ts';
import { createNodeSigner, md5 } from './node.ts';

interface Vector {
  id: string;
  source: string;
  input: {
    method: string;
    target: string;
    body: string;
    bodyHex?: string;
    nonce: string;
    timestamp: string;
    secretKey: string;
  };
  expected: { canonical: string; canonicalHex?: string; signature: string };
  sameSignatureAs?: string;
  differsFrom?: string[];
}

const file = JSON.parse(readFileSync(new URL('../../fixtures/signing/vectors.json', import.meta.url), 'utf8')) as {
  secretKey: string;
  vectors: Vector[];
};
const vectors = file.vectors;
const byId = new Map(vectors.map((v) => [v.id, v]));

const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const utf8 = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'utf8'));

function inputOf(v: Vector): CanonicalInput {
  return {
    method: v.input.method,
    target: v.input.target,
    body: v.input.bodyHex !== undefined ? fromHex(v.input.bodyHex) : v.input.body,
    nonce: v.input.nonce,
    secretKey: v.input.secretKey,
    timestamp: v.input.timestamp,
  };
}

const SECRET = 'test-secret-DO-NOT-USE-0001';
const NONCE = 'fc812cc0b9b51e8c';
const TS = '2025-02-17T02:34:55Z';
const V1_BODY =
  '{"apkKey":"isVZBUvkFhv6oHxk_X-D0Q","versionCode":1,"appointVersionCode":0,"devModelKey":"stv1","devKey":"LOYlLXNy7w"}';
const base = { nonce: NONCE, secretKey: SECRET, timestamp: TS };
const V1_EPOCH_MS = Date.UTC(2025, 1, 17, 2, 34, 55);

describe('vectors', () => {
  it('the file holds V1 and a derived vector for each rule, each naming its source', () => {
    expect(byId.get('v1')?.source).toBe('REFERENCE.md §3.4 V1');
    expect(byId.get('v1')?.expected.signature).toBe('a3b35614fce8d1fcb915d6789ea41369');
    for (const v of vectors) expect(v.source).toMatch(/^(REFERENCE\.md §3\.4 V1|derived: .+)$/);
    for (const id of [
      'empty-post-body',
      'get-with-query',
      'query-percent-encoded',
      'query-plus',
      'query-percent20',
      'query-trailing-amp',
      'trailing-slash',
      'body-non-ascii',
      'body-unicode-escaped',
      'body-amp-equals',
      'timestamp-offset-0800',
    ]) {
      expect(byId.has(id), id).toBe(true);
    }
    expect(new Set(vectors.map((v) => v.id)).size).toBe(vectors.length);
  });

  it('bodyHex, where given, spells out the same bytes as body', () => {
    for (const v of vectors.filter((x) => x.input.bodyHex !== undefined)) {
      expect(Buffer.from(v.input.bodyHex!, 'hex').toString('utf8'), v.id).toBe(v.input.body);
    }
  });

  describe.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    it('canonical bytes', () => {
      const expected = v.expected.canonicalHex !== undefined ? fromHex(v.expected.canonicalHex) : utf8(v.expected.canonical);
      expect(Buffer.from(canonicalBytes(inputOf(v))).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    });

    it('canonical string', () => {
      expect(canonicalString(inputOf(v))).toBe(v.expected.canonical);
    });

    it('signature', () => {
      expect(sign(inputOf(v), md5)).toBe(v.expected.signature);
    });

    it('signature through the Node signer', () => {
      const signer = createNodeSigner();
      const { headers, canonicalMasked } = signer.sign({
        method: v.input.method,
        target: v.input.target,
        body: inputOf(v).body,
        accessKey: 'ak-test',
        secretKey: v.input.secretKey,
        nonce: v.input.nonce,
        timestamp: v.input.timestamp,
      });
      expect(headers['X-Signature']).toBe(v.expected.signature);
      expect(canonicalMasked).not.toContain(v.input.secretKey);
    });

    if (v.sameSignatureAs) {
      it(`signs the same as ${v.sameSignatureAs}`, () => {
        expect(v.expected.signature).toBe(byId.get(v.sameSignatureAs!)!.expected.signature);
      });
    }
    for (const other of v.differsFrom ?? []) {
      it(`signs differently from ${other}`, () => {
        expect(v.expected.signature).not.toBe(byId.get(other)!.expected.signature);
      });
    }
  });
});

describe('rules', () => {
  const canon = (method: string, target: string, body?: string | Uint8Array | null) =>
    canonicalString({ ...base, method, target, body });

  it('field order > body, nonce, secretKey, timestamp, url', () => {
    expect(canon('POST', '/p', 'B')).toBe(`body=B&nonce=${NONCE}&secretKey=${SECRET}&timestamp=${TS}&url=/p`);
  });

  it('body part > present for POST and PUT even when empty, absent for GET and HEAD', () => {
    expect(canon('POST', '/p', '')).toMatch(/^body=&nonce=/);
    expect(canon('POST', '/p')).toMatch(/^body=&nonce=/);
    expect(canon('POST', '/p', null)).toMatch(/^body=&nonce=/);
    expect(canon('PUT', '/p', '')).toMatch(/^body=&nonce=/);
    expect(canon('GET', '/p', '{"a":1}')).toMatch(/^nonce=/);
    expect(canon('HEAD', '/p')).toMatch(/^nonce=/);
  });

  it('body part > method compared case-insensitively', () => {
    expect(canon('post', '/p', '')).toBe(canon('POST', '/p', ''));
    expect(canon('get', '/p')).toBe(canon('GET', '/p'));
  });

  it('body > bytes and the equivalent string sign the same', () => {
    const text = '{"k":"ü你"}';
    expect(canon('POST', '/p', utf8(text))).toBe(canon('POST', '/p', text));
  });

  it('body > raw UTF-8 and \\u escapes of the same JSON sign differently', () => {
    const raw = '{"k":"ü"}';
    const escaped = '{"k":"\\u00fc"}';
    expect(JSON.parse(raw)).toEqual(JSON.parse(escaped));
    expect(sign({ ...base, method: 'POST', target: '/p', body: raw }, md5)).not.toBe(
      sign({ ...base, method: 'POST', target: '/p', body: escaped }, md5),
    );
  });

  it('body > never re-serialised: whitespace and key order are signed as sent', () => {
    const a = sign({ ...base, method: 'POST', target: '/p', body: '{"a":1,"b":2}' }, md5);
    expect(sign({ ...base, method: 'POST', target: '/p', body: '{"b":2,"a":1}' }, md5)).not.toBe(a);
    expect(sign({ ...base, method: 'POST', target: '/p', body: '{"a": 1, "b": 2}' }, md5)).not.toBe(a);
  });

  it('joining > & and = in values are not escaped', () => {
    expect(canon('POST', '/p', 'a=1&b=2')).toMatch(/^body=a=1&b=2&nonce=/);
  });

  it('url > percent-decoded, + as a space, %2B as +', () => {
    expect(canon('POST', '/p?q=a+b', '')).toMatch(/&url=\/p\?q=a b$/);
    expect(canon('POST', '/p?q=a%20b', '')).toMatch(/&url=\/p\?q=a b$/);
    expect(canon('POST', '/p?q=a%2Bb', '')).toMatch(/&url=\/p\?q=a\+b$/);
    expect(canon('POST', '/p?q=%e4%bd%a0', '')).toMatch(/&url=\/p\?q=你$/);
  });

  it('url > trailing slash kept and signed', () => {
    expect(sign({ ...base, method: 'POST', target: '/p/', body: '' }, md5)).not.toBe(
      sign({ ...base, method: 'POST', target: '/p', body: '' }, md5),
    );
  });

  it('url > query kept (dropping it changes the signature)', () => {
    expect(sign({ ...base, method: 'POST', target: '/p?a=1', body: '' }, md5)).not.toBe(
      sign({ ...base, method: 'POST', target: '/p', body: '' }, md5),
    );
  });

  it('trimming > every trailing & of the whole string, only at its end', () => {
    expect(canon('POST', '/p?a=1&&', '')).toMatch(/&url=\/p\?a=1$/);
    expect(canon('GET', '/p?a=1&')).toMatch(/&url=\/p\?a=1$/);
    expect(canon('POST', '/p', 'x&')).toMatch(/^body=x&&nonce=/);
  });

  it('hash > 32 lowercase hex characters', () => {
    const upperMd5 = (data: Uint8Array) => md5(data).toUpperCase();
    const s = sign({ ...base, method: 'POST', target: '/p', body: '' }, upperMd5);
    expect(s).toMatch(/^[0-9a-f]{32}$/);
  });

  it('percentDecode > bad escapes throw SigningError', () => {
    for (const bad of ['/p%', '/p%4', '/p%zz', '/p?q=%G0', '/p?q=100%']) {
      expect(() => percentDecode(bad), bad).toThrow(SigningError);
    }
    expect(() => canonicalBytes({ ...base, method: 'POST', target: '/p%zz', body: '' })).toThrow(SigningError);
  });

  it('percentDecode > decodes to raw bytes, including bytes that are not UTF-8', () => {
    expect(Array.from(percentDecode('/%FF%00+%41a'))).toEqual([0x2f, 0xff, 0x00, 0x20, 0x41, 0x61]);
  });
});

describe('parts and assembly', () => {
  const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));
  const parts = canonicalParts({ ...base, method: 'POST', target: '/p?q=a+b&', body: 'B' });

  it('canonicalParts > each field as signed bytes, in the fixed order; body null for GET and HEAD', () => {
    expect(CANONICAL_FIELDS).toEqual(['body', 'nonce', 'secretKey', 'timestamp', 'url']);
    expect(Object.fromEntries(CANONICAL_FIELDS.map((f) => [f, text(parts[f])]))).toEqual({
      body: 'B',
      nonce: NONCE,
      secretKey: SECRET,
      timestamp: TS,
      url: '/p?q=a b&',
    });
    expect(canonicalParts({ ...base, method: 'POST', target: '/p' }).body).toEqual(new Uint8Array(0));
    expect(canonicalParts({ ...base, method: 'GET', target: '/p', body: 'B' }).body).toBeNull();
    expect(canonicalParts({ ...base, method: 'head', target: '/p' }).body).toBeNull();
  });

  it('assemble > of the parts is canonicalBytes, for every vector', () => {
    for (const v of vectors) expect(assemble(canonicalParts(inputOf(v))), v.id).toEqual(canonicalBytes(inputOf(v)));
  });

  it('assemble > another order, no trimming, an extra field placed by name, a replaced part', () => {
    expect(text(assemble(parts, { order: ['url', 'body', 'nonce', 'secretKey', 'timestamp'] }))).toBe(
      `url=/p?q=a b&&body=B&nonce=${NONCE}&secretKey=${SECRET}&timestamp=${TS}`,
    );
    expect(text(assemble(parts, { trim: false }))).toBe(`body=B&nonce=${NONCE}&secretKey=${SECRET}&timestamp=${TS}&url=/p?q=a b&`);
    expect(text(assemble(parts, { extra: { accessKey: utf8('ak') } }))).toBe(
      `accessKey=ak&body=B&nonce=${NONCE}&secretKey=${SECRET}&timestamp=${TS}&url=/p?q=a b`,
    );
    expect(text(assemble({ ...parts, body: null, url: utf8('/x&&') }))).toBe(`nonce=${NONCE}&secretKey=${SECRET}&timestamp=${TS}&url=/x`);
  });
});

describe('timestamp', () => {
  it('UTC with Z, no fraction when the milliseconds are zero', () => {
    expect(timestamp({ now: V1_EPOCH_MS })).toBe('2025-02-17T02:34:55Z');
    expect(timestamp({ now: new Date(V1_EPOCH_MS) })).toBe('2025-02-17T02:34:55Z');
  });

  it('auto milliseconds > only when non-zero; forced on or off', () => {
    expect(timestamp({ now: V1_EPOCH_MS + 123 })).toBe('2025-02-17T02:34:55.123Z');
    expect(timestamp({ now: V1_EPOCH_MS + 7, milliseconds: 'auto' })).toBe('2025-02-17T02:34:55.007Z');
    expect(timestamp({ now: V1_EPOCH_MS + 123, milliseconds: false })).toBe('2025-02-17T02:34:55Z');
    expect(timestamp({ now: V1_EPOCH_MS, milliseconds: true })).toBe('2025-02-17T02:34:55.000Z');
  });

  it('offsets > +08:00, -05:00, +00:00, +05:45', () => {
    expect(timestamp({ now: V1_EPOCH_MS, offset: 480 })).toBe('2025-02-17T10:34:55+08:00');
    expect(timestamp({ now: V1_EPOCH_MS, offset: -300 })).toBe('2025-02-16T21:34:55-05:00');
    expect(timestamp({ now: V1_EPOCH_MS, offset: 0 })).toBe('2025-02-17T02:34:55+00:00');
    expect(timestamp({ now: V1_EPOCH_MS, offset: 345 })).toBe('2025-02-17T08:19:55+05:45');
  });

  it('offsets > invalid offsets throw', () => {
    expect(() => timestamp({ now: V1_EPOCH_MS, offset: 1440 })).toThrow(SigningError);
    expect(() => timestamp({ now: V1_EPOCH_MS, offset: 1.5 })).toThrow(SigningError);
  });

  it('skew > shifts the stamped instant by whole or fractional seconds', () => {
    expect(timestamp({ now: V1_EPOCH_MS, skewSeconds: -300 })).toBe('2025-02-17T02:29:55Z');
    expect(timestamp({ now: V1_EPOCH_MS, skewSeconds: 301 })).toBe('2025-02-17T02:39:56Z');
    expect(timestamp({ now: V1_EPOCH_MS, skewSeconds: 300.5 })).toBe('2025-02-17T02:39:55.500Z');
    expect(timestamp({ now: V1_EPOCH_MS, skewSeconds: -60, offset: 480 })).toBe('2025-02-17T10:33:55+08:00');
  });

  it('round trip > parseTimestamp(timestamp(x)) gives back the instant for every form', () => {
    for (const offset of ['Z', 480, -300, 0] as const) {
      for (const ms of [0, 1, 999]) {
        const parsed = parseTimestamp(timestamp({ now: V1_EPOCH_MS + ms, offset }));
        expect(parsed).toEqual({ epochSeconds: V1_EPOCH_MS / 1000, nanos: ms * 1_000_000 });
      }
    }
  });
});

describe('parseTimestamp (REFERENCE.md §4.1)', () => {
  const v1Seconds = V1_EPOCH_MS / 1000;
  it.each([
    ['2025-02-17T10:34:55+08:00', v1Seconds, 0],
    ['2025-02-17T02:34:55Z', v1Seconds, 0],
    ['2025-02-17T02:34:55.123Z', v1Seconds, 123_000_000],
    ['2025-02-17T02:34:55.123456789-05:00', v1Seconds + 5 * 3600, 123_456_789],
    ['2025-02-17T02:34:55+00:00', v1Seconds, 0],
    ['2025-02-17T02:34:55.5Z', v1Seconds, 500_000_000],
    ['2025-02-17T02:34:55.1234567891Z', v1Seconds, 123_456_789],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29) / 1000, 0],
    ['0001-01-01T00:00:00Z', Date.UTC(2000, 0, 1) / 1000 - 63_082_281_600, 0],
  ])('accepts %s', (value, epochSeconds, nanos) => {
    expect(parseTimestamp(value)).toEqual({ epochSeconds, nanos });
  });

  it.each([
    ['2025-02-17 10:34:55+08:00', 'space instead of T'],
    ['2025-02-17T10:34:55', 'no offset'],
    ['2025-02-17T10:34:55+0800', 'offset not ±HH:MM'],
    ['2025-02-17T10:34:55+08', 'offset not ±HH:MM'],
    ['2025-02-17t02:34:55z', 'lowercase t and z'],
    ['2025-02-17T02:34:55z', 'lowercase z'],
    ['1739759695', 'epoch seconds'],
    ['Mon, 17 Feb 2025 02:34:55 GMT', 'HTTP date'],
    ['2025-02-17', 'date only'],
    ['2025-13-01T00:00:00Z', 'month out of range'],
    ['2025-02-17T24:00:00Z', 'hour out of range'],
    ['2025-02-17T02:34:60Z', 'second out of range'],
    ['2025-02-17T02:60:00Z', 'minute out of range'],
    ['2025-02-29T00:00:00Z', 'no 29 February in 2025'],
    ['2025-00-10T00:00:00Z', 'month zero'],
    ['2025-02-00T00:00:00Z', 'day zero'],
    ['2025-02-17T02:34:55+24:00', 'offset hour out of range'],
    ['2025-02-17T02:34:55.Z', 'fraction without digits'],
    [' 2025-02-17T02:34:55Z', 'leading space'],
    ['2025-02-17T02:34:55Z ', 'trailing space'],
    ['', 'empty'],
  ])('rejects %s (%s)', (value) => {
    expect(parseTimestamp(value)).toBeNull();
  });
});

describe('withinWindow (±300 s inclusive, fractions exact)', () => {
  const at = (iso: string) => parseTimestamp(iso)!;
  const now = V1_EPOCH_MS; // 2025-02-17T02:34:55Z

  it('uses the contract window by default', () => {
    expect(TIMESTAMP_WINDOW_SECONDS).toBe(300);
  });

  it.each([
    ['2025-02-17T02:34:55Z', true, 'now'],
    ['2025-02-17T02:39:55Z', true, '+300 s'],
    ['2025-02-17T02:29:55Z', true, '-300 s'],
    ['2025-02-17T10:39:55+08:00', true, '+300 s as +08:00'],
    ['2025-02-17T02:39:55.001Z', false, '+300.001 s'],
    ['2025-02-17T02:29:54.999Z', false, '-300.001 s'],
    ['2025-02-17T02:39:55.000000001Z', false, '+300 s + 1 ns'],
    ['2025-02-17T02:39:56Z', false, '+301 s'],
    ['2025-02-17T02:29:54Z', false, '-301 s'],
    ['2025-02-17T02:40:55Z', false, '+6 min'],
  ])('%s is %s (%s)', (iso, expected) => {
    expect(withinWindow(at(iso), now)).toBe(expected);
  });

  it('compares against a clock with milliseconds exactly', () => {
    const nowMs = now + 500;
    expect(withinWindow(at('2025-02-17T02:39:55.500Z'), nowMs)).toBe(true);
    expect(withinWindow(at('2025-02-17T02:39:55.501Z'), nowMs)).toBe(false);
    expect(withinWindow(at('2025-02-17T02:29:55.500Z'), nowMs)).toBe(true);
    expect(withinWindow(at('2025-02-17T02:29:55.499Z'), nowMs)).toBe(false);
  });

  it('takes another window size', () => {
    expect(withinWindow(at('2025-02-17T02:35:05Z'), now, 10)).toBe(true);
    expect(withinWindow(at('2025-02-17T02:35:06Z'), now, 10)).toBe(false);
  });
});

describe('nonce', () => {
  const counting = (length: number) => Uint8Array.from({ length }, (_, i) => (i * 37 + 11) & 0xff);

  it('32 lowercase hex characters by default', () => {
    const n = nonce(counting);
    expect(n).toMatch(/^[0-9a-f]{32}$/);
    expect(n).toBe(Buffer.from(counting(16)).toString('hex'));
  });

  it('any length from 16 to 128, odd lengths included', () => {
    expect(nonce(counting, 16)).toMatch(/^[0-9a-f]{16}$/);
    expect(nonce(counting, 17)).toMatch(/^[0-9a-f]{17}$/);
    expect(nonce(counting, 128)).toMatch(/^[0-9a-f]{128}$/);
  });

  it('rejects lengths below 16 or above 128', () => {
    for (const length of [0, 15, 129, 16.5]) expect(() => nonce(counting, length)).toThrow(SigningError);
  });

  it('the Node adapter gives fresh, well-formed nonces', () => {
    const signer = createNodeSigner();
    const seen = new Set(Array.from({ length: 200 }, () => signer.nonce()));
    expect(seen.size).toBe(200);
    for (const n of seen) {
      expect(n).toMatch(/^[0-9a-f]{32}$/);
      expect(nonceWellFormed(n)).toBe(true);
    }
  });

  it.each([
    ['a'.repeat(16), true],
    ['a'.repeat(15), false],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['!~abcdefABCDEF012', true],
    ['abcdefgh ijklmnop', false],
    ['abcdefghijklmnoü', false],
    ['abcdefgh\tijklmnop', false],
    ['', false],
  ])('nonceWellFormed(%j) is %s', (value, expected) => {
    expect(nonceWellFormed(value)).toBe(expected);
  });
});

describe('verify', () => {
  const sig = 'a3b35614fce8d1fcb915d6789ea41369';
  it.each([
    [sig, true, 'identical'],
    [sig.toUpperCase(), false, 'uppercase hex'],
    [sig.slice(0, 31) + '8', false, 'last character differs'],
    ['b' + sig.slice(1), false, 'first character differs'],
    [sig.slice(0, 31), false, 'shorter'],
    [sig + '0', false, 'longer'],
    ['', false, 'empty'],
  ])('%s → %s (%s)', (received, expected) => {
    expect(verify(sig, received)).toBe(expected);
  });

  it('empty equals empty', () => {
    expect(verify('', '')).toBe(true);
  });
});

describe('maskSecret', () => {
  it('replaces every occurrence of the secret', () => {
    expect(maskSecret(`a=${SECRET}&b=${SECRET}`, SECRET)).toBe(`a=${SECRET_MASK}&b=${SECRET_MASK}`);
    expect(SECRET_MASK).toBe('********');
  });

  it('leaves the text alone when the secret is empty or absent', () => {
    expect(maskSecret('abc', '')).toBe('abc');
    expect(maskSecret('abc', 'zzz')).toBe('abc');
  });
});

describe('createSigner', () => {
  const fixedRandom = (length: number) => new Uint8Array(length).fill(0xab);
  const signer = createSigner({ md5, randomBytes: fixedRandom, now: () => V1_EPOCH_MS });

  it('reproduces V1 from pinned inputs', () => {
    const signed = signer.sign({
      method: 'POST',
      target: '/v1/apk/upgrade',
      body: V1_BODY,
      accessKey: 'ak',
      secretKey: SECRET,
      nonce: NONCE,
      timestamp: TS,
    });
    expect(signed.headers).toEqual({
      'X-Timestamp': TS,
      'X-Nonce': NONCE,
      'X-AccessKey': 'ak',
      'X-Signature': 'a3b35614fce8d1fcb915d6789ea41369',
    });
    expect(Object.keys(signed.headers)).toEqual([...SIGNING_HEADER_NAMES]);
    expect(signed.canonicalMasked).toBe(
      `body=${V1_BODY}&nonce=${NONCE}&secretKey=${SECRET_MASK}&timestamp=${TS}&url=/v1/apk/upgrade`,
    );
  });

  it('defaults nonce and timestamp from the injected random source and clock', () => {
    const signed = signer.sign({ method: 'POST', target: '/p', accessKey: 'ak', secretKey: SECRET });
    expect(signed.headers['X-Nonce']).toBe('ab'.repeat(16));
    expect(signed.headers['X-Timestamp']).toBe(TS);
    expect(signer.timestamp({ offset: 480 })).toBe('2025-02-17T10:34:55+08:00');
    expect(signer.nonce()).toBe('ab'.repeat(16));
  });

  it('honours nonceLength', () => {
    const short = createSigner({ md5, randomBytes: fixedRandom, nonceLength: 16 });
    expect(short.nonce()).toHaveLength(16);
  });
});
