// npm run bench:sandbox — signed upgrade requests at the sandbox and at a Prism mock of the same spec,
// in one run, on loopback, ~5 s each. Writes reports/bench-sandbox.json and prints one line.
// Both servers run as local child processes (harness/, logs in reports/bench-sandbox/), one at a
// time, so neither shares CPU time with the other; the load generator (this process) signs every
// request in setupRequest.

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { chooseLauncher, stopAll, type RunningService } from '../harness/index.ts';

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
const cannon = autocannon as unknown as (options: Record<string, unknown>) => Promise<CannonResult>;
import { createNodeSigner } from '../lib/signing/node.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPORTS = `${ROOT}reports`;
const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const TARGET = '/v1/apk/upgrade';
const BODY = '{"apkKey":"apk-basic","versionCode":1,"appointVersionCode":0,"devModelKey":"stv1","devKey":"LOYlLXNy7w"}';
const KEY = { accessKey: 'ak-sandbox-0001', secretKey: 'test-secret-DO-NOT-USE-0001' };

const signer = createNodeSigner();
const runId = randomBytes(6).toString('hex');
let sequence = 0;

interface Figures { rps: number; p99_ms: number; requests: number; non2xx: number; errors: number }

async function drive(url: string, durationSeconds = DURATION_SECONDS): Promise<Figures> {
  const result = await cannon({
    url,
    connections: CONNECTIONS,
    duration: durationSeconds,
    requests: [
      {
        method: 'POST',
        path: TARGET,
        setupRequest: (request: Record<string, unknown>) => {
          // A fresh nonce per request: unique per run and per request.
          const nonce = `${runId}${(sequence++).toString(16).padStart(12, '0')}`;
          const { headers } = signer.sign({ method: 'POST', target: TARGET, body: BODY, nonce, ...KEY });
          return { ...request, headers: { ...(request.headers as Record<string, string>), 'content-type': 'application/json', ...headers }, body: BODY };
        },
      },
    ],
  });
  return {
    rps: Math.round(result.requests.average),
    p99_ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function main(): Promise<void> {
  mkdirSync(REPORTS, { recursive: true });
  const logDir = `${REPORTS}/bench-sandbox`;
  const running: RunningService[] = [];
  const launcher = await chooseLauncher({ choice: 'process', needs: { sandbox: true, prism: true } });
  try {
    const sandbox = await launcher.startSandbox({ logFile: `${logDir}/sandbox.log` });
    running.push(sandbox);
    const sandboxUrl = sandbox.url;

    // Sandbox first, alone: Prism's start-up is CPU-heavy and must not overlap the measurement.
    await drive(sandboxUrl, 1); // warm-up
    const sandboxFigures = await drive(sandboxUrl);
    await sandbox.stop();

    // Prism at its default log level, as a team would run the mock.
    const prism = await launcher.startPrism({ mode: 'mock', logFile: `${logDir}/prism-mock.log`, timeoutMs: 60_000 });
    running.push(prism);
    const prismUrl = prism.url;
    await drive(prismUrl, 1); // warm-up
    const prismFigures = await drive(prismUrl);

    const ratio = prismFigures.rps > 0 ? sandboxFigures.rps / prismFigures.rps : Number.POSITIVE_INFINITY;
    const report = {
      sandbox: { rps: sandboxFigures.rps, p99_ms: sandboxFigures.p99_ms },
      prism: { rps: prismFigures.rps, p99_ms: prismFigures.p99_ms },
      ratio: Math.round(ratio * 100) / 100,
      details: {
        durationSeconds: DURATION_SECONDS,
        connections: CONNECTIONS,
        endpoint: `POST ${TARGET}`,
        sandbox: sandboxFigures,
        prism: prismFigures,
        targets: { rps: 5000, p99_ms: 20, ratio: 4 },
        at: new Date().toISOString(),
      },
    };
    writeFileSync(`${REPORTS}/bench-sandbox.json`, `${JSON.stringify(report, null, 2)}\n`);
    const ok = sandboxFigures.rps >= 5000 && sandboxFigures.p99_ms < 20 && ratio >= 4 && sandboxFigures.non2xx === 0;
    process.stdout.write(
      `bench: sandbox ${sandboxFigures.rps} req/s p99 ${sandboxFigures.p99_ms} ms (${sandboxFigures.non2xx} non-2xx) | ` +
        `prism ${prismFigures.rps} req/s p99 ${prismFigures.p99_ms} ms | sandbox/prism ${ratio.toFixed(1)}x | ` +
        `targets ≥5000 req/s, p99 <20 ms, ≥4x: ${ok ? 'met' : 'NOT met'} → reports/bench-sandbox.json\n`,
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    await stopAll(running);
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exit(1);
});
