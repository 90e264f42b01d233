// npm run bench:sandbox:memory — a million distinct nonces through the real pipeline (in-process),
// with the sandbox clock advancing 1 s per 1 000 requests (so the run spans ~17 simulated minutes,
// longer than the 10-minute nonce retention). Prints RSS and heap before, after, and once the
// retention period has passed: remembered nonces are bounded by the window, not by the run.

import { randomBytes } from 'node:crypto';
import { createNodeSigner } from '../lib/signing/node.ts';
import { Code } from '../lib/spec/index.ts';
import { createClock } from './clock.ts';
import { createPipeline } from './index.ts';

const TOTAL = Number(process.env.BENCH_NONCES ?? 1_000_000);
const PER_SECOND = 1_000;
const TARGET = '/v1/apk/upgrade';
const BODY = Buffer.from('{"apkKey":"apk-basic","versionCode":2}');
const KEY = { accessKey: 'ak-sandbox-0001', secretKey: 'test-secret-DO-NOT-USE-0001' };

const gc = (globalThis as { gc?: () => void }).gc;
const mib = (n: number) => `${(n / 1_048_576).toFixed(1)} MiB`;
function memory(label: string, remembered: number): void {
  gc?.();
  const m = process.memoryUsage();
  process.stdout.write(`${label.padEnd(28)} rss ${mib(m.rss).padStart(10)}  heap ${mib(m.heapUsed).padStart(10)}  nonces remembered ${remembered}\n`);
}

async function main(): Promise<void> {
  const start = Date.parse('2025-02-17T00:00:00Z');
  const clock = createClock();
  clock.freeze(start);
  const pipeline = createPipeline({ clock });
  const signer = createNodeSigner({ now: () => clock.now() });
  const run = randomBytes(4).toString('hex');
  memory('before', pipeline.nonces.size);
  const began = performance.now();
  let accepted = 0;
  for (let i = 0; i < TOTAL; i++) {
    if (i % PER_SECOND === 0) clock.set(start + (i / PER_SECOND) * 1000);
    const nonce = `${run}${i.toString(16).padStart(12, '0')}`;
    const { headers } = signer.sign({ method: 'POST', target: TARGET, body: BODY, nonce, ...KEY });
    const answer = await pipeline.handle({
      method: 'POST',
      target: TARGET,
      rawHeaders: ['Content-Type', 'application/json', 'X-Timestamp', headers['X-Timestamp'], 'X-Nonce', nonce, 'X-AccessKey', KEY.accessKey, 'X-Signature', headers['X-Signature']],
      readBody: () => ({ ok: true, bytes: BODY }),
    });
    if (answer.code === Code.LATEST) accepted++;
    if ((i + 1) % 250_000 === 0) memory(`after ${i + 1} nonces`, pipeline.nonces.size);
  }
  const seconds = (performance.now() - began) / 1000;
  process.stdout.write(`${TOTAL} distinct nonces, ${accepted} accepted, ${Math.round(TOTAL / seconds)} req/s in-process\n`);
  clock.set(clock.now() + 11 * 60_000);
  pipeline.nonces.has('probe', clock.now());
  memory('11 min later (pruned)', pipeline.nonces.size);
  if (accepted !== TOTAL) process.exitCode = 1;
}

void main();
