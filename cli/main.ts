// upgradelink-contract: sign, send and debug UpgradeLink signed requests.
//
// The secret comes only from UPGRADELINK_SECRET_KEY or --secret-file (never a flag value, which
// would land in shell history and process lists) and is never printed: every output line passes
// through one masking function.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { sendRaw } from '../lib/client/raw.ts';
import { canonicalBytes, includesBodyPart, maskSecret, SigningError } from '../lib/signing/index.ts';
import { createNodeSigner } from '../lib/signing/node.ts';
import { displayCanonical, explain, ExplainInputError } from './explain.ts';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8787';

const USAGE = `usage: upgradelink-contract <command> [options]

commands:
  sign     --method M --url TARGET (--body STRING | --body-file FILE) --access-key K
           [--timestamp T] [--nonce N] [--base-url URL] [--json]
           Print the canonical string (secret masked), the signature, the headers and a curl command.
  call     same options as sign, plus [--header 'Name: value']... [--base-url URL]
           Send the signed request and print the status and body.
  explain  --url TARGET --header 'X-Timestamp: …' --header 'X-Nonce: …' --header 'X-Signature: …'
           [--header 'X-AccessKey: …'] (--body STRING | --body-file FILE) [--method M] [--max-skew S] [--json]
           Find which common signing mistake reproduces the X-Signature of a failing request.
  check    [--base-url URL] [--fixtures FILE] [--baseline FILE] [--fail-on SEVERITY] … (check --help)
           Judge a deployment (default: the local sandbox) against the contract; findings report in reports/.

TARGET is a path plus optional ?query as sent (/v1/apk/upgrade?x=1), or a full URL.
The secret is read from UPGRADELINK_SECRET_KEY, or from --secret-file FILE (one trailing newline is
dropped). The base URL defaults to UPGRADELINK_BASE_URL, then ${DEFAULT_BASE_URL}.
--body-file - reads the body from standard input. Exit codes: 0 ok, 1 failure, 2 usage error.`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Io {
  argv: string[];
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => Buffer;
  now?: () => number;
}

const COMMON_OPTIONS = {
  method: { type: 'string' },
  url: { type: 'string' },
  body: { type: 'string' },
  'body-file': { type: 'string' },
  'access-key': { type: 'string' },
  'secret-file': { type: 'string' },
  'base-url': { type: 'string' },
  timestamp: { type: 'string' },
  nonce: { type: 'string' },
  header: { type: 'string', multiple: true },
  'max-skew': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

type Values = ReturnType<typeof parseArgs<{ options: typeof COMMON_OPTIONS; strict: true; allowPositionals: false }>>['values'];

const ALLOWED: Record<string, ReadonlyArray<keyof typeof COMMON_OPTIONS>> = {
  sign: ['method', 'url', 'body', 'body-file', 'access-key', 'secret-file', 'base-url', 'timestamp', 'nonce', 'json', 'help'],
  call: ['method', 'url', 'body', 'body-file', 'access-key', 'secret-file', 'base-url', 'timestamp', 'nonce', 'header', 'json', 'help'],
  explain: ['method', 'url', 'body', 'body-file', 'secret-file', 'header', 'max-skew', 'json', 'help'],
};

function parse(command: string, args: string[]): Values {
  const allowed = ALLOWED[command]!;
  const options = Object.fromEntries(Object.entries(COMMON_OPTIONS).filter(([k]) => (allowed as readonly string[]).includes(k)));
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Values;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
}

function required(values: Values, name: 'method' | 'url' | 'access-key'): string {
  const v = values[name];
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

function readSecret(values: Values, io: Io): string {
  const file = values['secret-file'];
  if (file !== undefined) {
    let text: string;
    try {
      text = io.readFile(file).toString('utf8');
    } catch (err) {
      throw new UsageError(`cannot read --secret-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const secret = text.replace(/\r?\n$/, '');
    if (secret === '') throw new UsageError(`--secret-file ${file} is empty`);
    return secret;
  }
  const env = io.env.UPGRADELINK_SECRET_KEY;
  if (env === undefined || env === '') throw new UsageError('UPGRADELINK_SECRET_KEY is not set (or pass --secret-file FILE)');
  return env;
}

function readBody(values: Values, io: Io, method: string): Uint8Array | undefined {
  if (values.body !== undefined && values['body-file'] !== undefined) throw new UsageError('pass either --body or --body-file, not both');
  if (values.body !== undefined) return Buffer.from(values.body, 'utf8');
  const file = values['body-file'];
  if (file !== undefined) {
    try {
      return file === '-' ? readFileSync(0) : io.readFile(file);
    } catch (err) {
      throw new UsageError(`cannot read --body-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (includesBodyPart(method)) throw new UsageError(`--body or --body-file is required for ${method.toUpperCase()} (use --body '' for an empty body)`);
  return undefined;
}

/** Splits `--url` into the request target (verbatim) and, for a full URL, its origin. */
export function splitUrl(url: string): { target: string; origin: string | undefined; host: string | undefined } {
  const m = /^(https?):\/\/([^/?#]+)(.*)$/i.exec(url);
  if (!m) {
    if (!url.startsWith('/')) throw new UsageError(`--url must be a path starting with / or an http(s) URL, got ${JSON.stringify(url)}`);
    return { target: url, origin: undefined, host: undefined };
  }
  const rest = m[3]!.replace(/#.*$/, '');
  return { target: rest === '' ? '/' : rest, origin: `${m[1]!.toLowerCase()}://${m[2]}`, host: m[2] };
}

function baseUrlFor(values: Values, io: Io, origin: string | undefined): string {
  const base = origin ?? values['base-url'] ?? io.env.UPGRADELINK_BASE_URL ?? DEFAULT_BASE_URL;
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new UsageError(`base URL ${JSON.stringify(base)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`base URL must be http:// or https://, got ${base}`);
  if (parsed.pathname !== '/' || parsed.search !== '') throw new UsageError(`base URL must not contain a path or query (put them in --url), got ${base}`);
  return parsed.origin;
}

function parseHeaderFlags(list: string[] | undefined): Array<[string, string]> {
  return (list ?? []).map((h) => {
    const i = h.indexOf(':');
    if (i <= 0) throw new UsageError(`--header must look like 'Name: value', got ${JSON.stringify(h)}`);
    return [h.slice(0, i).trim(), h.slice(i + 1).trim()];
  });
}

/** POSIX shell single-quoting. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

interface Prepared {
  method: string;
  target: string;
  baseUrl: string;
  url: string;
  body: Uint8Array | undefined;
  bodyFile: string | undefined;
  headers: Array<[string, string]>;
  signature: string;
  canonical: string;
  secret: string;
}

function prepare(values: Values, io: Io): Prepared {
  const method = required(values, 'method').toUpperCase();
  const { target, origin } = splitUrl(required(values, 'url'));
  const accessKey = required(values, 'access-key');
  const body = readBody(values, io, method);
  const secret = readSecret(values, io);
  const signer = createNodeSigner(io.now ? { now: io.now } : {});
  const request: Parameters<typeof signer.sign>[0] = { method, target, body: body ?? '', accessKey, secretKey: secret };
  if (values.timestamp !== undefined) request.timestamp = values.timestamp;
  if (values.nonce !== undefined) request.nonce = values.nonce;
  const signed = signer.sign(request);
  const bytes = canonicalBytes({
    method,
    target,
    body: body ?? '',
    nonce: signed.headers['X-Nonce'],
    secretKey: secret,
    timestamp: signed.headers['X-Timestamp'],
  });
  const baseUrl = baseUrlFor(values, io, origin);
  const headers: Array<[string, string]> = [];
  if (includesBodyPart(method)) headers.push(['Content-Type', 'application/json']);
  for (const [k, v] of Object.entries(signed.headers)) headers.push([k, v]);
  return {
    method,
    target,
    baseUrl,
    url: baseUrl + target,
    body,
    bodyFile: values['body-file'] !== '-' ? values['body-file'] : undefined,
    headers,
    signature: signed.headers['X-Signature'],
    canonical: displayCanonical(bytes, secret),
    secret,
  };
}

export function curlCommand(p: Pick<Prepared, 'method' | 'url' | 'target' | 'headers' | 'body' | 'bodyFile'>): string {
  const parts = ['curl', '-sS'];
  // curl resolves ./ and ../ segments unless told not to; the signed url is the path as written.
  if (/(^|\/)\.\.?(\/|\?|$)/.test(p.target.split('?')[0]!)) parts.push('--path-as-is');
  parts.push('-X', p.method, shellQuote(p.url));
  for (const [k, v] of p.headers) parts.push('-H', shellQuote(`${k}: ${v}`));
  if (p.body !== undefined && (p.body.length > 0 || includesBodyPart(p.method))) {
    if (p.bodyFile !== undefined) parts.push('--data-binary', `@${shellQuote(p.bodyFile)}`);
    else {
      const text = Buffer.from(p.body).toString('utf8');
      // --data-binary reads a file when the value starts with @; --data-raw never does.
      parts.push(text.startsWith('@') ? '--data-raw' : '--data-binary', shellQuote(text));
    }
  }
  return parts.join(' ');
}

function safe(text: string, secret: string): string {
  return secret ? maskSecret(maskSecret(text, secret), secret.trim() || secret) : text;
}

async function runSign(values: Values, io: Io): Promise<number> {
  const p = prepare(values, io);
  const out = (text: string) => io.stdout(safe(text, p.secret));
  const curl = curlCommand(p);
  if (values.json) {
    out(
      JSON.stringify(
        {
          method: p.method,
          target: p.target,
          url: p.url,
          canonical: p.canonical,
          signature: p.signature,
          headers: Object.fromEntries(p.headers),
          curl,
        },
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  out(
    [
      `canonical: ${p.canonical}`,
      `signature: ${p.signature}`,
      'headers:',
      ...p.headers.map(([k, v]) => `  ${k}: ${v}`),
      'curl:',
      `  ${curl}`,
      '',
    ].join('\n'),
  );
  return 0;
}

async function runCall(values: Values, io: Io): Promise<number> {
  const p = prepare(values, io);
  const extra = parseHeaderFlags(values.header);
  const headers = [...p.headers, ...extra];
  const out = (text: string) => io.stdout(safe(text, p.secret));
  const err = (text: string) => io.stderr(safe(text, p.secret));
  let response;
  try {
    response = await sendRaw({ baseUrl: p.baseUrl, method: p.method, target: p.target, headers, body: p.body ?? new Uint8Array(0) });
  } catch (e) {
    err(`error: request to ${p.url} failed: ${(e as Error).message}\n`);
    return 1;
  }
  if (values.json) {
    out(
      JSON.stringify(
        {
          request: {
            method: p.method,
            url: p.url,
            headers: Object.fromEntries(headers),
            body: p.body ? Buffer.from(p.body).toString('utf8') : '',
            canonical: p.canonical,
          },
          response: {
            status: response.status,
            headers: response.headers,
            body: response.bodyText,
            json: response.json,
          },
          durationMs: Math.round(response.durationMs * 10) / 10,
        },
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  err(`> ${p.method} ${p.url}\n`);
  for (const [k, v] of headers) err(`> ${k}: ${v}\n`);
  err(`> canonical: ${p.canonical}\n`);
  out(`HTTP ${response.status}\n`);
  out(response.json !== undefined ? JSON.stringify(response.json, null, 2) + '\n' : response.bodyText + (response.bodyText.endsWith('\n') ? '' : '\n'));
  return 0;
}

async function runExplain(values: Values, io: Io): Promise<number> {
  const method = (values.method ?? 'POST').toUpperCase();
  const { target, host } = splitUrl(required(values, 'url'));
  const headers = parseHeaderFlags(values.header);
  const body = readBody(values, io, method) ?? new Uint8Array(0);
  const secret = readSecret(values, io);
  let maxSkew: number | undefined;
  if (values['max-skew'] !== undefined) {
    maxSkew = Number(values['max-skew']);
    if (!Number.isInteger(maxSkew) || maxSkew < 0 || maxSkew > 86_400) throw new UsageError('--max-skew must be whole seconds from 0 to 86400');
  }
  const hostHeader = headers.find(([k]) => k.toLowerCase() === 'host')?.[1];
  const input: Parameters<typeof explain>[0] = { method, target, headers, body, secretKey: secret };
  if (host ?? hostHeader) input.host = (host ?? hostHeader)!;
  if (maxSkew !== undefined) input.maxSkewSeconds = maxSkew;
  if (io.now) input.now = io.now();
  let result;
  try {
    result = explain(input);
  } catch (e) {
    if (e instanceof ExplainInputError) throw new UsageError(e.message);
    throw e;
  }
  const out = (text: string) => io.stdout(safe(text, secret));
  const likelyCause = result.matches[0]?.id ?? null;
  if (values.json) {
    out(JSON.stringify({ likelyCause, ...result }, null, 2) + '\n');
    return 0;
  }
  const lines = [
    `received X-Signature: ${result.receivedSignature}`,
    `correct signature:    ${result.expectedSignature}`,
    `correct canonical:    ${result.canonical}`,
    '',
  ];
  if (result.signatureCorrect) {
    lines.push('The signature is correct for this request, secret and headers.');
  } else if (result.matches.length > 0) {
    lines.push(`likely cause: ${result.matches[0]!.title} [${result.matches[0]!.id}]`);
    for (const [i, m] of result.matches.entries()) {
      lines.push(`${i === 0 ? '' : `also matches: ${m.title} [${m.id}]\n`}  ${m.detail}`, `  the client hashed: ${m.canonical}`);
    }
  } else {
    lines.push(
      'No known mistake reproduces the received signature. Remaining suspects: a different secret, a body',
      'changed in other ways, a nonce or timestamp changed to an unrelated value, or several mistakes at once.',
    );
  }
  lines.push('', 'checked:');
  for (const c of result.checked) lines.push(`  ${c.variants > 0 ? '-' : ' '} ${c.title} [${c.id}]${c.variants === 0 ? ' (not applicable)' : ''}`);
  if (result.notes.length) lines.push('', 'notes:', ...result.notes.map((n) => `  - ${n}`));
  out(lines.join('\n') + '\n');
  return result.signatureCorrect || result.matches.length > 0 ? 0 : 1;
}

export async function main(io: Io): Promise<number> {
  const [command, ...args] = io.argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      (command === undefined ? io.stderr : io.stdout)(USAGE + '\n');
      return command === undefined ? 2 : 0;
    }
    if (command === 'check') {
      // Loaded only here: it brings vitest and the contract suite.
      const { runCheck } = await import('./check.ts');
      const secret = io.env.UPGRADELINK_SECRET_KEY ?? '';
      return await runCheck(args, io.env, { log: (line) => io.stdout(`${safe(line, secret)}\n`), error: (line) => io.stderr(`${safe(line, secret)}\n`) });
    }
    if (!(command in ALLOWED)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    const values = parse(command, args);
    if (values.help) {
      io.stdout(USAGE + '\n');
      return 0;
    }
    if (command === 'sign') return await runSign(values, io);
    if (command === 'call') return await runCall(values, io);
    return await runExplain(values, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`error: ${e.message}\n${USAGE.split('\n')[0]}\n`);
      return 2;
    }
    if (e instanceof SigningError) {
      io.stderr(`error: ${e.message}\n`);
      return 2;
    }
    const secret = io.env.UPGRADELINK_SECRET_KEY ?? '';
    io.stderr(safe(`error: ${(e as Error).stack ?? String(e)}\n`, secret));
    return 1;
  }
}

/** Runs the CLI against the real process (used by bin/upgradelink-contract.mjs). */
export async function runProcess(): Promise<void> {
  process.exitCode = await main({
    argv: process.argv.slice(2),
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readFile: (p) => readFileSync(p),
  });
}
