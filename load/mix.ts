// The weighted check-for-update mix (load/mix.json): reading it, and the signed traffic built from it
// for the journey and arrival-rate scenarios.
import { readFile } from 'node:fs/promises';
import { Code } from '../generated/operations.ts';
import type { Answer, ArrivalSource, OutgoingRequest } from './arrival.ts';
import { createFastSigner, type FastSignTemplate } from './fastsign.ts';
import { addCode, sortedCodes, type Counts, type EndpointStats } from './metrics.ts';
import { LoadUsageError } from './target.ts';

export const DEFAULT_MIX = 'load/mix.json';

/** A mix other than the default, for a load-runner container: the file to copy in and the flag naming it there. */
export function mixForContainer(mix: string | undefined): { files: Array<{ source: string; target: string }>; args: string[] } {
  if (mix === undefined || mix === DEFAULT_MIX) return { files: [], args: [] };
  const target = '/app/custom/mix.json';
  return { files: [{ source: mix, target }], args: ['--mix', target] };
}

/** Codes that mean the load generator itself is wrong (signature, nonce, timestamp). */
export const SIGNING_REJECTIONS: ReadonlySet<number> = new Set([Code.INVALID_HEADER, Code.AUTH_FAILED, Code.SIGNATURE_FAILED]);

export interface MixEntry {
  name: string;
  weight: number;
  path: string;
  body: unknown;
  expect: number[];
}

export async function readMix(file: string): Promise<MixEntry[]> {
  let parsed: { requests?: MixEntry[] };
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new LoadUsageError(`--mix: cannot read the request mix ${file}: ${(error as Error).message.split('\n')[0]}`);
  }
  const entries = parsed.requests;
  if (!Array.isArray(entries) || entries.length === 0) throw new LoadUsageError(`--mix ${file}: "requests" must be a non-empty array`);
  entries.forEach((entry, i) => {
    const where = `--mix ${file}: requests[${i}]`;
    if (typeof entry.path !== 'string' || !entry.path.startsWith('/')) throw new LoadUsageError(`${where}.path must be a path like /v1/apk/upgrade`);
    if (!Number.isInteger(entry.weight) || entry.weight < 1) throw new LoadUsageError(`${where}.weight must be a positive integer`);
    if (!Array.isArray(entry.expect) || entry.expect.length === 0) throw new LoadUsageError(`${where}.expect must list the acceptable business codes`);
    entry.name ??= `${entry.path} #${i}`;
  });
  return entries;
}

/** The business code of a JSON envelope, or undefined when the body is not one. */
export function envelopeCode(body: string): number | undefined {
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}

export interface Credentials {
  accessKey: string;
  secretKey: string;
}

/** Signed requests in a deterministic weighted order (entry i appears weight(i) times per cycle). */
export class MixTraffic implements ArrivalSource<number> {
  private readonly bodies: Buffer[];
  private readonly templates: FastSignTemplate[];
  private readonly cycle: number[];
  private readonly perEntry: Array<{ sent: number; codes: Map<number, number>; unexpected: number }>;
  private position: number;
  private readonly signer;

  constructor(
    readonly mix: MixEntry[],
    credentials: Credentials,
    /** Where the judgements are counted (a scenario recorder's counts). */
    private readonly counts: Counts,
    /** Start the weighted cycle at this position (a segment starts where its share of the requests begins). */
    offset = 0,
  ) {
    this.signer = createFastSigner(credentials);
    this.bodies = mix.map((entry) => Buffer.from(JSON.stringify(entry.body), 'utf8'));
    this.templates = mix.map((entry, i) => this.signer.template('POST', entry.path, this.bodies[i]!));
    this.cycle = mix.flatMap((entry, i) => Array.from({ length: entry.weight }, () => i));
    this.perEntry = mix.map(() => ({ sent: 0, codes: new Map(), unexpected: 0 }));
    this.position = offset;
  }

  next(): { request: OutgoingRequest; tag: number } {
    const index = this.cycle[this.position++ % this.cycle.length]!;
    const entry = this.mix[index]!;
    this.perEntry[index]!.sent++;
    return {
      request: { path: entry.path, body: this.bodies[index]!, headers: { 'content-type': 'application/json', ...this.signer.signWith(this.templates[index]!) } },
      tag: index,
    };
  }

  /** Judges an answer's body against the entry's `expect`; returns its business code. */
  judge(index: number, body: string): number | undefined {
    const code = envelopeCode(body);
    if (code === undefined) return undefined;
    const stats = this.perEntry[index]!;
    addCode(stats.codes, code);
    if (SIGNING_REJECTIONS.has(code)) this.counts.signingRejections++;
    if (!this.mix[index]!.expect.includes(code)) {
      this.counts.unexpected++;
      stats.unexpected++;
    }
    return code;
  }

  onAnswer(index: number, answer: Answer): number | undefined {
    return this.judge(index, answer.body);
  }

  endpoints(): EndpointStats[] {
    return this.mix.map((entry, i) => ({
      name: entry.name,
      path: entry.path,
      sent: this.perEntry[i]!.sent,
      codes: sortedCodes(this.perEntry[i]!.codes),
      unexpected: this.perEntry[i]!.unexpected,
    }));
  }
}
