// Starts what the chosen target needs and hands the tests a ResolvedTarget through provide():
//   sandbox  the reference sandbox (child process, port 0, control port) behind a Prism validation
//            proxy (no --errors, so negative tests see the sandbox's own answer)
//   mock     a Prism mock of the bundled spec
//   remote   nothing to start; base URL from UPGRADELINK_BASE_URL, optionally behind the proxy
// CONTRACT_PRISM=0 skips the proxy (the mutation self-test relies on in-process validation only);
// CONTRACT_FAULTS=a,b starts the sandbox with those fault switches.
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadTargetDescription, resolveSecret, targetKindFromEnv, PROJECT_ROOT, type ResolvedTarget } from './support/target.ts';
import { freePort, startProcess, PRISM_BIN, SPEC_YAML, type Started } from './support/processes.ts';

export function reportDir(): string {
  return path.resolve(PROJECT_ROOT, process.env.CONTRACT_REPORT_DIR ?? 'reports');
}

/**
 * Prism logs four info lines per request, which costs more CPU than its validation: log warnings
 * (the violations) and up only, which more than halves the suite's wall time. Request validation
 * is off: request violations are expected in negative tests and ignored, and Prism is the suite's
 * busiest process. CORS is off so answers keep the target's own headers. CONTRACT_PRISM_ARGS
 * overrides.
 */
function prismTuning(mode: 'proxy' | 'mock'): string[] {
  if (process.env.CONTRACT_PRISM_ARGS !== undefined) return process.env.CONTRACT_PRISM_ARGS.split(/\s+/).filter(Boolean);
  // `prism mock` has no --validate-request flag (it always validates, to pick its answer).
  return mode === 'proxy' ? ['--cors', 'false', '--validate-request', 'false', '-v', 'warn'] : ['--cors', 'false', '-v', 'warn'];
}

export default async function setup(project: TestProject) {
  const kind = targetKindFromEnv();
  const description = loadTargetDescription(kind);
  const secretKey = resolveSecret(description);
  const faults = (process.env.CONTRACT_FAULTS ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  const usePrismProxy = process.env.CONTRACT_PRISM !== '0' && kind !== 'mock';
  const started: Started[] = [];
  const logs = reportDir();

  const teardown = async () => {
    await Promise.all(started.reverse().map((s) => s.stop()));
  };

  try {
    let directUrl: string;
    let controlUrl: string | undefined;
    let prism: ResolvedTarget['prism'] = 'none';

    if (kind === 'sandbox') {
      const sandbox = await startProcess({
        name: 'sandbox',
        args: ['--import', 'tsx', 'sandbox/main.ts', '--port', '0', '--control-port', '0', ...faults.flatMap((f) => ['--fault', f])],
        ready: /sandbox listening on (http:\/\/\S+) control (http:\/\/\S+)/,
        logFile: path.join(logs, 'sandbox.log'),
        secret: secretKey,
      });
      started.push(sandbox);
      directUrl = sandbox.match[1]!.replace(/\/$/, '');
      controlUrl = sandbox.match[2]!.replace(/\/$/, '');
    } else if (kind === 'mock') {
      const port = await freePort();
      const mock = await startProcess({
        name: 'prism mock',
        args: [PRISM_BIN, 'mock', SPEC_YAML, '-h', '127.0.0.1', '-p', String(port), ...prismTuning('mock')],
        ready: { port },
        logFile: path.join(logs, 'prism-mock.log'),
        secret: secretKey,
      });
      started.push(mock);
      directUrl = `http://127.0.0.1:${port}`;
      prism = 'mock';
    } else {
      const url = process.env.UPGRADELINK_BASE_URL ?? description.baseUrl;
      if (!url || /\.invalid\b/.test(url)) throw new Error('CONTRACT_TARGET=remote: set UPGRADELINK_BASE_URL to the deployment under test');
      directUrl = url.replace(/\/$/, '');
    }

    let baseUrl = directUrl;
    if (usePrismProxy) {
      const port = await freePort();
      const proxy = await startProcess({
        name: 'prism proxy',
        args: [PRISM_BIN, 'proxy', SPEC_YAML, directUrl, '-h', '127.0.0.1', '-p', String(port), ...prismTuning('proxy')],
        // At log level warn Prism prints no "listening" line: wait for its port instead.
        ready: { port },
        logFile: path.join(logs, 'prism-proxy.log'),
        secret: secretKey,
      });
      started.push(proxy);
      baseUrl = `http://127.0.0.1:${port}`;
      prism = 'proxy';
    }

    const resolved: ResolvedTarget = {
      name: description.name,
      kind,
      ...(description.description ? { description: description.description } : {}),
      accessKey: description.accessKey,
      ...(description.clockToleranceSeconds !== undefined ? { clockToleranceSeconds: description.clockToleranceSeconds } : {}),
      capabilities: description.capabilities,
      fixtures: description.fixtures,
      baseUrl,
      directUrl,
      ...(controlUrl ? { controlUrl } : {}),
      prism,
      secretKey,
      faults,
    };
    // For the conformance reporter (same process); no secret in it.
    process.env.CONTRACT_RUN_INFO = JSON.stringify({ target: description.name, kind, prism, faults, directUrl });
    project.provide('contract', resolved);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
