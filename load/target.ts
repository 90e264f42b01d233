// Where load goes: the embedded sandbox (default; started through harness/ in its own process or
// container, never inside the load process) or UPGRADELINK_BASE_URL, with the credentials, the safety
// check (load/safety.ts) and a fail-fast probe shared by every scenario.
import { sendRaw } from '../lib/client/raw.ts';
import path from 'node:path';
import { chooseLauncher, containerFailure, parseRuntime, type RuntimeChoice } from '../harness/index.ts';
import { createNodeSigner } from '../lib/signing/node.ts';
import { Code } from '../generated/operations.ts';
import { checkPlan, isLoopbackHost, type LoadPlan } from './safety.ts';

export const SANDBOX_ACCESS_KEY = 'ak-sandbox-0001';
/** Fictitious: the fixtures' test pair. Only used for the embedded sandbox. */
export const SANDBOX_SECRET_KEY = 'test-secret-DO-NOT-USE-0001';

/** A problem with how the run was asked for: the CLI prints it and exits 2. */
export class LoadUsageError extends Error {
  override name = 'LoadUsageError';
}

/**
 * Runs a load command's main and exits with its code (0 passed, 1 a threshold failed); 2 with one line
 * on a usage problem, 3 with one line on anything else (LOAD_DEBUG=1 adds the stack). Never a trace
 * for bad input.
 */
export async function runCommand(name: string, main: () => Promise<number>): Promise<never> {
  try {
    process.exit(await main());
  } catch (error) {
    // node's parseArgs refusing a flag (ERR_PARSE_ARGS_*) is misuse too.
    if (error instanceof LoadUsageError || String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')) {
      console.error(`${name}: ${(error as Error).message}`);
      process.exit(2);
    }
    const message = (error as Error).message?.split('\n')[0] ?? String(error);
    console.error(`${name}: failed: ${message}${process.env.LOAD_DEBUG ? `\n${(error as Error).stack}` : ' (LOAD_DEBUG=1 shows where)'}`);
    process.exit(3);
  }
}

/** The sandbox's clock, when this process may drive it (embedded sandbox or its control listener). */
export interface ClockControl {
  /** Stop the server's clock at this instant (epoch ms). */
  freezeAt(ms: number): Promise<void>;
  /** Let it run again at real time. */
  release(): Promise<void>;
}

export interface LoadTarget {
  baseUrl: string;
  accessKey: string;
  secretKey: string;
  /** For reports: never contains the secret. */
  label: string;
  embedded: boolean;
  loopback: boolean;
  /** Where the embedded sandbox runs; absent for a remote target. */
  runtime?: 'container' | 'process';
  /** The sandbox's control listener, when there is one (the embedded sandbox, or `--control-url`). */
  controlUrl?: string;
  clock?: ClockControl;
  close(): Promise<void>;
}

export interface TargetRequest {
  baseUrl?: string;
  faults?: string[];
  /** A sandbox's loopback control listener (`--control-url`), to drive its clock. */
  controlUrl?: string;
  /** Start the embedded sandbox even when UPGRADELINK_BASE_URL is set (tests). */
  embedded?: boolean;
  /**
   * Where the embedded sandbox runs (`--runtime`): container (the sandbox image through
   * testcontainers), process (a child process) or auto (default, or UPGRADELINK_RUNTIME): a container
   * when an engine answers and the image is built. Tests that pass `embedded` default to process.
   */
  runtime?: string;
  /** Where a container's log goes (default reports/). */
  logDir?: string;
}

function runtimeChoice(request: TargetRequest): RuntimeChoice {
  try {
    return parseRuntime(request.runtime) ?? (request.embedded ? 'process' : parseRuntime(process.env.UPGRADELINK_RUNTIME)) ?? 'auto';
  } catch (error) {
    throw new LoadUsageError(`${request.runtime !== undefined ? '--runtime' : 'UPGRADELINK_RUNTIME'}: ${(error as Error).message}`);
  }
}

function controlClock(controlUrl: string): ClockControl {
  const url = new URL(controlUrl);
  if (!isLoopbackHost(url.hostname)) throw new LoadUsageError(`--control-url must be a loopback address (the sandbox's control listener), got ${url.hostname}`);
  const post = async (body: unknown) => {
    const response = await sendRaw({
      baseUrl: controlUrl,
      method: 'POST',
      target: '/clock',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: 5_000,
    });
    if (response.status !== 200) throw new Error(`sandbox control answered ${response.status}: ${response.bodyText}`);
  };
  return {
    async freezeAt(ms) {
      await post({ freeze: true });
      await post({ set: new Date(ms).toISOString() });
    },
    async release() {
      await post({ unfreeze: true });
      await post({ offsetMs: 0 });
    },
  };
}

/** Whether a target URL is on this machine; a URL that does not parse is a usage error. */
export function loopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    throw new LoadUsageError(`--base-url must be an http or https URL such as http://127.0.0.1:8787; got "${url}"`);
  }
}

/** Starts the embedded sandbox (its own process or container), or describes the given target from flags and environment. */
export async function openTarget(request: TargetRequest): Promise<LoadTarget> {
  const faults = request.faults ?? [];
  const baseUrl = request.embedded ? undefined : (request.baseUrl ?? process.env.UPGRADELINK_BASE_URL);
  if (!baseUrl) {
    if (request.controlUrl) throw new LoadUsageError('--control-url applies to a sandbox given with --base-url');
    if (process.env.UPGRADELINK_LOAD_RUNNER_IMAGE === '1') {
      throw new LoadUsageError('the load-runner image starts no sandbox: give the target with --base-url or UPGRADELINK_BASE_URL');
    }
    const choice = runtimeChoice(request);
    let launcher;
    try {
      launcher = await chooseLauncher({ choice, needs: { sandbox: true } });
    } catch (error) {
      throw new LoadUsageError(`--runtime ${choice}: ${containerFailure(error)}; or use --runtime process`);
    }
    // Always its own process or container: the load process only generates. Its clock is driven
    // over its loopback control listener (clock-stepped rate-limit windows).
    const sandbox = await launcher.startSandbox({
      faults,
      controlPort: true,
      secret: SANDBOX_SECRET_KEY,
      ...(request.logDir ? { logFile: path.join(request.logDir, 'sandbox.log') } : {}),
    });
    const where = launcher.kind === 'container' ? `sandbox container ${launcher.images.sandbox}` : 'sandbox process';
    return {
      baseUrl: sandbox.url,
      accessKey: SANDBOX_ACCESS_KEY,
      secretKey: SANDBOX_SECRET_KEY,
      label: `${where} at ${sandbox.url}${faults.length ? ` with fault ${faults.join(', ')}` : ''}`,
      embedded: true,
      loopback: true,
      runtime: launcher.kind,
      controlUrl: sandbox.controlUrl!,
      clock: controlClock(sandbox.controlUrl!),
      close: () => sandbox.stop(),
    };
  }
  if (faults.length) throw new LoadUsageError('--fault applies to the embedded sandbox only; unset UPGRADELINK_BASE_URL and --base-url');
  if (request.runtime !== undefined) throw new LoadUsageError(`--runtime applies to the embedded sandbox only: with --base-url or UPGRADELINK_BASE_URL (${baseUrl}) nothing is started`);
  const accessKey = process.env.UPGRADELINK_ACCESS_KEY;
  const secretKey = process.env.UPGRADELINK_SECRET_KEY;
  if (!accessKey) throw new LoadUsageError('UPGRADELINK_ACCESS_KEY is not set (the access key for the target)');
  if (!secretKey) throw new LoadUsageError('UPGRADELINK_SECRET_KEY is not set (the secret paired with UPGRADELINK_ACCESS_KEY)');
  const loopback = loopbackUrl(baseUrl);
  return {
    baseUrl,
    accessKey,
    secretKey,
    // LOAD_TARGET_LABEL: set for runner containers so their reports name the real target.
    label: process.env.LOAD_TARGET_LABEL || baseUrl,
    embedded: false,
    loopback,
    ...(request.controlUrl ? { controlUrl: request.controlUrl, clock: controlClock(request.controlUrl) } : {}),
    close: async () => {},
  };
}

/** Throws LoadUsageError listing every reason the plan may not run. */
export function assertSafe(plan: LoadPlan): void {
  const problems = checkPlan(plan);
  if (problems.length > 0) throw new LoadUsageError(`refusing to run: ${problems.join('; ')}`);
}

/** Fail fast, as k6's setup() would: the target must answer and accept the credentials. */
export async function probe(target: LoadTarget, path: string, body: string): Promise<void> {
  const signed = createNodeSigner().sign({ method: 'POST', target: path, body, accessKey: target.accessKey, secretKey: target.secretKey });
  let code: number | undefined;
  try {
    const response = await sendRaw({
      baseUrl: target.baseUrl,
      method: 'POST',
      target: path,
      headers: { 'Content-Type': 'application/json', ...signed.headers },
      body,
      timeoutMs: 5_000,
    });
    code = (response.json as { code?: number } | undefined)?.code;
  } catch (error) {
    throw new LoadUsageError(`the target ${target.baseUrl} is not answering (${(error as Error).message}); start it or fix UPGRADELINK_BASE_URL`);
  }
  if (code === Code.AUTH_FAILED || code === Code.SIGNATURE_FAILED) {
    throw new LoadUsageError(`the target rejected the credentials (code ${code}): check UPGRADELINK_ACCESS_KEY and UPGRADELINK_SECRET_KEY`);
  }
}
