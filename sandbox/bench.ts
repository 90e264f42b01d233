// npm run bench:sandbox — signed upgrade requests at the sandbox and at a Prism mock of the same spec,
// in one run, on loopback, ~5 s each. Writes reports/bench-sandbox.json and prints one line.
// Both servers run as child processes, one at a time, so neither shares CPU time with the other; the
// load generator (this process) signs every request in setupRequest.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process for ${url} exited with ${child.exitCode}`);
    try {
      await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

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
  const children: ChildProcess[] = [];
  try {
    const sandboxPort = await freePort();
    const sandbox = spawn(process.execPath, ['--import', 'tsx', 'sandbox/main.ts', '--port', String(sandboxPort)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(sandbox);
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    await waitForHttp(`${sandboxUrl}/healthz`, sandbox, 30_000);

    // Sandbox first, alone: Prism's start-up is CPU-heavy and must not overlap the measurement.
    await drive(sandboxUrl, 1); // warm-up
    const sandboxFigures = await drive(sandboxUrl);
    await stop(sandbox);

    const prismPort = await freePort();
    const prismLog = createWriteStream(`${REPORTS}/prism-bench.log`);
    const prism = spawn(`${ROOT}node_modules/.bin/prism`, ['mock', 'generated/openapi.yaml', '-p', String(prismPort), '-h', '127.0.0.1'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(prism);
    prism.stdout!.pipe(prismLog);
    prism.stderr!.pipe(prismLog);
    const prismUrl = `http://127.0.0.1:${prismPort}`;
    await waitForHttp(`${prismUrl}${TARGET}`, prism, 60_000);
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
    await Promise.all(children.map(stop));
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exit(1);
});
