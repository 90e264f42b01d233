// Starts what the chosen target needs, through harness/ (containers or local processes), and hands
// the tests a ResolvedTarget through provide():
//   sandbox  the reference sandbox (with its control port) behind a Prism validation proxy (no
//            --errors, so negative tests see the sandbox's own answer)
//   mock     a Prism mock of the bundled spec
//   remote   nothing of its own; UPGRADELINK_BASE_URL, behind a Prism proxy started here
// Where they run: UPGRADELINK_RUNTIME=container|process|auto (default auto: containers when a Docker
// engine answers and the images are built, else processes after one line saying why); the contract
// command's --runtime flag sets it (scripts/contract.ts).
// CONTRACT_PRISM=0 skips the proxy (the mutation self-test relies on in-process validation only);
// CONTRACT_FAULTS=a,b starts the sandbox with those fault switches.
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { chooseLauncher, stopAll, type Launcher, type PrismOptions, type RunningSandbox, type RunningService } from '../harness/index.ts';
import { loadTargetDescription, resolveSecret, targetKindFromEnv, PROJECT_ROOT, type ResolvedTarget } from './support/target.ts';

export function reportDir(): string {
  return path.resolve(PROJECT_ROOT, process.env.CONTRACT_REPORT_DIR ?? 'reports');
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/**
 * Prism logs four info lines per request, which costs more CPU than its validation: log warnings
 * (the violations) and up only, which more than halves the suite's wall time. Request validation
 * is off: request violations are expected in negative tests and ignored, and Prism is the suite's
 * busiest process. CORS is off so answers keep the target's own headers. CONTRACT_PRISM_ARGS
 * replaces these arguments (its `-v LEVEL`, if any, sets the log level).
 */
export function prismTuning(mode: 'proxy' | 'mock', override = process.env.CONTRACT_PRISM_ARGS): Pick<PrismOptions, 'logLevel' | 'extraArgs'> {
  if (override === undefined) {
    // `prism mock` has no --validate-request flag (it always validates, to pick its answer).
    return { logLevel: 'warn', extraArgs: mode === 'proxy' ? ['--cors', 'false', '--validate-request', 'false'] : ['--cors', 'false'] };
  }
  const args = override.split(/\s+/).filter(Boolean);
  const at = args.findIndex((a) => a === '-v' || a === '--verbose');
  if (at === -1) return { logLevel: 'info', extraArgs: args };
  const level = args[at + 1];
  if (!level || !LOG_LEVELS.has(level)) throw new Error(`CONTRACT_PRISM_ARGS: ${args[at]} needs one of ${[...LOG_LEVELS].join(', ')}, got ${JSON.stringify(level ?? '')}`);
  return { logLevel: level as PrismOptions['logLevel'] & string, extraArgs: [...args.slice(0, at), ...args.slice(at + 2)] };
}

export default async function setup(project: TestProject) {
  const kind = targetKindFromEnv();
  const description = loadTargetDescription(kind);
  const secretKey = resolveSecret(description);
  const faults = (process.env.CONTRACT_FAULTS ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  const usePrismProxy = process.env.CONTRACT_PRISM !== '0' && kind !== 'mock';
  const logDir = reportDir();

  let remoteUrl: string | undefined;
  if (kind === 'remote') {
    const url = process.env.UPGRADELINK_BASE_URL ?? description.baseUrl;
    if (!url || /\.invalid\b/.test(url)) throw new Error('CONTRACT_TARGET=remote: set UPGRADELINK_BASE_URL to the deployment under test');
    remoteUrl = url.replace(/\/$/, '');
  }

  // A remote target without the proxy needs nothing started.
  const prismMode = kind === 'mock' ? 'mock' : usePrismProxy ? 'proxy' : undefined;
  let launcher: Launcher | undefined;
  let sandbox: RunningSandbox | undefined;
  let prismService: RunningService | undefined;
  const teardown = () => stopAll([sandbox, prismService]);

  try {
    if (kind === 'sandbox' || prismMode) launcher = await chooseLauncher({ needs: { sandbox: kind === 'sandbox', prism: !!prismMode } });
    if (kind === 'sandbox') {
      sandbox = await launcher!.startSandbox({ faults, controlPort: true, logFile: path.join(logDir, 'sandbox.log'), secret: secretKey });
    }
    if (prismMode) {
      prismService = await launcher!.startPrism({
        mode: prismMode,
        ...(prismMode === 'proxy' ? { upstream: sandbox?.url ?? remoteUrl! } : {}),
        ...prismTuning(prismMode),
        logFile: path.join(logDir, `prism-${prismMode}.log`),
        secret: secretKey,
      });
    }
    const directUrl = kind === 'sandbox' ? sandbox!.url : kind === 'mock' ? prismService!.url : remoteUrl!;
    const prism: ResolvedTarget['prism'] = kind === 'mock' ? 'mock' : usePrismProxy ? 'proxy' : 'none';
    const resolved: ResolvedTarget = {
      name: description.name,
      kind,
      ...(description.description ? { description: description.description } : {}),
      accessKey: description.accessKey,
      ...(description.clockToleranceSeconds !== undefined ? { clockToleranceSeconds: description.clockToleranceSeconds } : {}),
      capabilities: description.capabilities,
      fixtures: description.fixtures,
      baseUrl: prismService?.url ?? directUrl,
      directUrl,
      ...(sandbox?.controlUrl ? { controlUrl: sandbox.controlUrl } : {}),
      prism,
      secretKey,
      faults,
    };
    // For the conformance reporter (same process); no secret in it.
    const runtime = launcher ? launcher.kind : 'none (remote target, nothing started)';
    const images = launcher?.kind === 'container' ? launcher.images : {};
    process.env.CONTRACT_RUN_INFO = JSON.stringify({ target: description.name, kind, prism, faults, directUrl, runtime, images });
    if (process.env.CONTRACT_QUIET_RUNTIME !== '1') console.log(`contract: target ${description.name} at ${directUrl} (Prism ${prism}; runtime ${runtime})`);
    project.provide('contract', resolved);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
