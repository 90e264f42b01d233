// The weighted check-for-update mix (load/mix.json): reading it, and the signed traffic built from it
// for the journey and throughput scenarios.
import { readFile } from 'node:fs/promises';
import { SIGNING_REJECTIONS, envelopeCode, increment, type OutgoingRequest } from './engine.ts';
import { createFastSigner, type FastSignTemplate } from './fastsign.ts';
import { LoadUsageError, type Target } from './target.ts';

export const DEFAULT_MIX = 'load/mix.json';

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
    throw new LoadUsageError(`cannot read the request mix ${file}: ${(error as Error).message}`);
  }
  const entries = parsed.requests;
  if (!Array.isArray(entries) || entries.length === 0) throw new LoadUsageError(`${file}: "requests" must be a non-empty array`);
  entries.forEach((entry, i) => {
    const where = `${file}: requests[${i}]`;
    if (typeof entry.path !== 'string' || !entry.path.startsWith('/')) throw new LoadUsageError(`${where}.path must be a path like /v1/apk/upgrade`);
    if (!Number.isInteger(entry.weight) || entry.weight < 1) throw new LoadUsageError(`${where}.weight must be a positive integer`);
    if (!Array.isArray(entry.expect) || entry.expect.length === 0) throw new LoadUsageError(`${where}.expect must list the acceptable business codes`);
    entry.name ??= `${entry.path} #${i}`;
  });
  return entries;
}

export interface EndpointStats {
  name: string;
  path: string;
  sent: number;
  codes: Record<string, number>;
  unexpected: number;
}

/** Signed requests in a deterministic weighted order (entry i appears weight(i) times per cycle). */
export class MixTraffic {
  readonly codes = new Map<number, number>();
  signingRejections = 0;
  unexpected = 0;
  unparsable = 0;
  private readonly bodies: Buffer[];
  private readonly templates: FastSignTemplate[];
  private readonly cycle: number[];
  private readonly perEntry: Array<{ sent: number; codes: Map<number, number>; unexpected: number }>;
  private position = 0;
  private readonly signer;

  constructor(
    readonly mix: MixEntry[],
    target: Target,
    /** Start the weighted cycle at this position (a split segment starts where its share begins). */
    offset = 0,
  ) {
    this.signer = createFastSigner({ accessKey: target.accessKey, secretKey: target.secretKey });
    this.bodies = mix.map((entry) => Buffer.from(JSON.stringify(entry.body), 'utf8'));
    this.templates = mix.map((entry, i) => this.signer.template('POST', entry.path, this.bodies[i]!));
    this.cycle = mix.flatMap((entry, i) => Array.from({ length: entry.weight }, () => i));
    this.perEntry = mix.map(() => ({ sent: 0, codes: new Map(), unexpected: 0 }));
    this.position = offset;
  }

  next(): { request: OutgoingRequest; tag: number } {
    const index = this.cycle[this.position++ % this.cycle.length]!;
    const entry = this.mix[index]!;
    const body = this.bodies[index]!;
    this.perEntry[index]!.sent++;
    return {
      request: { path: entry.path, body, headers: { 'content-type': 'application/json', ...this.signer.signWith(this.templates[index]!) } },
      tag: index,
    };
  }

  record(index: number, body: string): void {
    const code = envelopeCode(body);
    if (code === undefined) {
      this.unparsable++;
      return;
    }
    increment(this.codes, code);
    const stats = this.perEntry[index]!;
    increment(stats.codes, code);
    if (SIGNING_REJECTIONS.has(code)) this.signingRejections++;
    if (!this.mix[index]!.expect.includes(code)) {
      this.unexpected++;
      stats.unexpected++;
    }
  }

  endpoints(): EndpointStats[] {
    return this.mix.map((entry, i) => ({
      name: entry.name,
      path: entry.path,
      sent: this.perEntry[i]!.sent,
      codes: Object.fromEntries([...this.perEntry[i]!.codes].sort((a, b) => a[0] - b[0])),
      unexpected: this.perEntry[i]!.unexpected,
    }));
  }
}
