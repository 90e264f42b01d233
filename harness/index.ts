// Starts what a run needs — the reference sandbox and/or a Prism mock or validation proxy — either as
// containers (testcontainers, host networking, fixed ports, log-line readiness) or as local processes,
// and hands back their URLs and one stop().
//
//   const services = await startServices({ runtime: 'auto', sandbox: { controlPort: true }, prism: { mode: 'proxy' } });
//   try { … services.prismUrl … } finally { await services.stop(); }
//
// runtime 'auto' (default; env UPGRADELINK_RUNTIME overrides the default) = containers when a Docker
// engine answers AND the needed images exist locally AND the sandbox image matches the checkout's
// sources; otherwise processes, after printing exactly one line saying why. With no engine the
// decision takes milliseconds (the socket is probed directly, with a 500 ms timeout).
// runtime 'container' never falls back: it throws with the reason instead.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { maskSecret } from '../lib/signing/index.ts';
import { applyTestcontainersDefaults, runOneShotContainer, startContainer } from './container.ts';
import { inspectImage, probeEngine, removeOrphans, sourceHash, type EngineEndpoint } from './probe.ts';
import { PRISM_CLI, PROJECT_ROOT, freePort, startNodeProcess, type RunningService } from './process.ts';

export { probeEngine, removeOrphans, sourceHash, engineEndpoint, inspectImage } from './probe.ts';
export { freePort, PROJECT_ROOT } from './process.ts';
export { applyTestcontainersDefaults } from './container.ts';

export type RuntimeKind = 'container' | 'process';
export type RuntimeChoice = RuntimeKind | 'auto';

export interface SandboxServiceOptions {
  /** Fault switches (`--fault NAME`). */
  faults?: string[];
  /** A fixtures file on this host (default: the sandbox's fixtures/sandbox.json). */
  fixtures?: string;
  /** Start the loopback control listener: true or 0 = a free port, a number = that port. */
  controlPort?: boolean | number;
  /** Public port (default: a free one). */
  port?: number;
  windowSeconds?: number;
}

export interface PrismServiceOptions {
  mode: 'mock' | 'proxy';
  /** proxy only: where to forward (default: the sandbox started alongside). */
  upstream?: string;
  /** Spec file on this host (default generated/openapi.yaml). */
  spec?: string;
  /** Pass --errors (Prism answers invalid requests/responses itself). Default false. */
  errors?: boolean;
  /** Port (default: a free one). */
  port?: number;
  /**
   * Prism's log level (`-v`). Default info, which logs every request (four lines each); warn logs only
   * violations and problems, which costs Prism much less CPU under load. Above info Prism prints no
   * "listening" line, so readiness is its port accepting connections instead.
   */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Extra prism CLI arguments, appended. */
  extraArgs?: string[];
}

export interface StartServicesOptions {
  /** Default: env UPGRADELINK_RUNTIME, else 'auto'. */
  runtime?: RuntimeChoice;
  /** What resolveRuntime already decided for these same services: used as is instead of probing again. */
  decision?: RuntimeDecision;
  /** The sandbox (default {}: started); false = none (e.g. a Prism mock only, or a proxy to a remote). */
  sandbox?: SandboxServiceOptions | false;
  /** Prism in front of the sandbox (proxy) or alone (mock); omitted = no Prism. */
  prism?: PrismServiceOptions;
  /** Service logs go here as sandbox.log, prism-mock.log, prism-proxy.log (default reports/). */
  logDir?: string;
  /** Masked out of the logs. */
  secret?: string;
  /** Per-service readiness timeout (default 30 s; containers 60 s). */
  startupTimeoutMs?: number;
  /** Where the one-line fallback notice goes (default stderr). */
  notice?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface Services {
  runtime: RuntimeKind;
  /** Set when 'auto' chose processes: why (the same text as the notice). */
  fallbackReason?: string;
  sandboxUrl?: string;
  controlUrl?: string;
  prismUrl?: string;
  /** prismUrl when Prism runs, else sandboxUrl. */
  baseUrl: string;
  /** Container image names actually used (container runtime only). */
  images?: { sandbox?: string; prism?: string };
  /** Stops everything started, in reverse order; safe to call more than once; never throws. */
  stop(): Promise<void>;
}

export const DEFAULT_SANDBOX_IMAGE = 'upgradelink/sandbox:local';
export const DEFAULT_PRISM_IMAGE = 'upgradelink/prism:local';
export const DEFAULT_LOAD_IMAGE = 'upgradelink/load:local';
const SANDBOX_READY = /sandbox listening on (http:\/\/\S+?)(?: control (http:\/\/\S+))?\s*$/m;
const PRISM_READY = /Prism is listening on (http:\/\/\S+)/;
const CONTAINER_SPEC_PATH = '/tmp/upgradelink/openapi.yaml';
const CONTAINER_FIXTURES_DIR = '/app/fixtures/custom';

export function imageNames(env: NodeJS.ProcessEnv = process.env): { sandbox: string; prism: string } {
  return {
    sandbox: env.UPGRADELINK_SANDBOX_IMAGE || DEFAULT_SANDBOX_IMAGE,
    prism: env.UPGRADELINK_PRISM_IMAGE || DEFAULT_PRISM_IMAGE,
  };
}

export function loadImageName(env: NodeJS.ProcessEnv = process.env): string {
  return env.UPGRADELINK_LOAD_IMAGE || DEFAULT_LOAD_IMAGE;
}

/** Why an image built by scripts/build-images.sh cannot serve this checkout, or undefined. */
async function builtImageProblem(endpoint: EngineEndpoint, name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const image = await inspectImage(endpoint, name);
  if (!image) return `image ${name} not found (build it: npm run docker:build)`;
  const files = image.labels['org.upgradelink.source-files'];
  const built = image.labels['org.upgradelink.source-hash'];
  // Images from elsewhere (no labels) are taken as they are.
  if (env.UPGRADELINK_ALLOW_STALE_IMAGES !== '1' && files && built && sourceHash(PROJECT_ROOT, files.split(',')) !== built) {
    return `image ${name} was built from other sources than this checkout (rebuild: npm run docker:build; or UPGRADELINK_ALLOW_STALE_IMAGES=1)`;
  }
  return undefined;
}

/** Parses a --runtime / UPGRADELINK_RUNTIME value. */
export function parseRuntime(value: string | undefined): RuntimeChoice | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'auto' || value === 'container' || value === 'process') return value;
  throw new Error(`runtime must be container, process or auto; got "${value}"`);
}

export type RuntimeDecision =
  | { runtime: 'container'; endpoint: EngineEndpoint; images: { sandbox?: string; prism?: string } }
  | { runtime: 'process'; reason?: string };

/** Why the images cannot serve this run, or undefined when they can. */
async function imageProblem(endpoint: EngineEndpoint, needs: { sandbox: boolean; prism: boolean }, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const names = imageNames(env);
  const allowStale = env.UPGRADELINK_ALLOW_STALE_IMAGES === '1';
  if (needs.sandbox) {
    const problem = await builtImageProblem(endpoint, names.sandbox, env);
    if (problem) return problem;
  }
  if (needs.prism) {
    const image = await inspectImage(endpoint, names.prism);
    if (!image) return `image ${names.prism} not found (build it: npm run docker:build, or pull one and set UPGRADELINK_PRISM_IMAGE)`;
    const built = image.labels['org.upgradelink.prism-cli-version'];
    const { createRequire } = await import('node:module');
    const installed = (createRequire(import.meta.url)(path.join(PROJECT_ROOT, 'node_modules/@stoplight/prism-cli/package.json')) as { version: string }).version;
    if (!allowStale && built && built !== installed) {
      return `image ${names.prism} has prism-cli ${built}, the lockfile pins ${installed} (rebuild: npm run docker:build)`;
    }
  }
  return undefined;
}

/**
 * Decides where the services run. 'auto' returns process with a reason instead of failing; 'container'
 * throws when containers cannot be used.
 */
export async function resolveRuntime(
  choice: RuntimeChoice,
  needs: { sandbox: boolean; prism: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Promise<RuntimeDecision> {
  if (choice === 'process') return { runtime: 'process' };
  const probe = await probeEngine(500, env);
  let problem = probe.ok ? undefined : probe.reason;
  if (probe.ok) {
    try {
      problem = await imageProblem(probe.endpoint, needs, env);
    } catch (error) {
      problem = `cannot inspect images: ${(error as Error).message}`;
    }
  }
  if (problem === undefined && probe.ok) {
    const names = imageNames(env);
    return {
      runtime: 'container',
      endpoint: probe.endpoint,
      images: { ...(needs.sandbox ? { sandbox: names.sandbox } : {}), ...(needs.prism ? { prism: names.prism } : {}) },
    };
  }
  if (choice === 'container') throw new Error(`runtime container: ${problem}`);
  return { runtime: 'process', reason: problem };
}

/** The one line printed when 'auto' falls back to processes. */
export function fallbackNotice(reason: string): string {
  return `upgradelink runtime: falling back to local processes: ${reason}`;
}

function urlOf(match: RegExpMatchArray, group: number): string | undefined {
  return match[group]?.replace(/\/$/, '');
}

async function portOr(requested: number | undefined): Promise<number> {
  return requested !== undefined && requested > 0 ? requested : freePort();
}

export async function startServices(options: StartServicesOptions = {}): Promise<Services> {
  const env = options.env ?? process.env;
  const choice = options.runtime ?? parseRuntime(env.UPGRADELINK_RUNTIME) ?? 'auto';
  const sandboxOptions = options.sandbox === false ? undefined : (options.sandbox ?? {});
  const prismOptions = options.prism;
  if (!sandboxOptions && !prismOptions) throw new Error('startServices: nothing to start (sandbox: false and no prism)');
  if (prismOptions?.mode === 'proxy' && !sandboxOptions && !prismOptions.upstream) {
    throw new Error('startServices: a Prism proxy needs an upstream when no sandbox is started');
  }
  const notice = options.notice ?? ((line: string) => process.stderr.write(`${line}\n`));
  const decision = options.decision ?? (await resolveRuntime(choice, { sandbox: !!sandboxOptions, prism: !!prismOptions }, env));
  if (decision.runtime === 'process' && decision.reason) notice(fallbackNotice(decision.reason));

  const logDir = path.resolve(PROJECT_ROOT, options.logDir ?? 'reports');
  const mask = options.secret ? (text: string) => maskSecret(text, options.secret!) : undefined;
  const inContainers = decision.runtime === 'container';
  const timeoutMs = options.startupTimeoutMs ?? (inContainers ? 60_000 : 30_000);
  const running: RunningService[] = [];
  let stopped: Promise<void> | undefined;
  const stopAll = () =>
    (stopped ??= (async () => {
      // Reverse start order: Prism before the sandbox it proxies to.
      for (const service of running.reverse()) await service.stop().catch(() => undefined);
    })());

  try {
    if (inContainers) {
      applyTestcontainersDefaults(env);
      const removed = await removeOrphans(decision.endpoint).catch(() => []);
      if (removed.length) notice(`upgradelink runtime: removed containers left by earlier runs: ${removed.join(', ')}`);
    }
    const result: Omit<Services, 'stop' | 'baseUrl'> = {
      runtime: decision.runtime,
      ...(decision.runtime === 'process' && decision.reason ? { fallbackReason: decision.reason } : {}),
      ...(inContainers ? { images: decision.images } : {}),
    };

    if (sandboxOptions) {
      const args = ['--host', '127.0.0.1'];
      const files: Array<{ source: string; target: string }> = [];
      for (const fault of sandboxOptions.faults ?? []) args.push('--fault', fault);
      if (sandboxOptions.windowSeconds !== undefined) args.push('--window-seconds', String(sandboxOptions.windowSeconds));
      const wantsControl = sandboxOptions.controlPort !== undefined && sandboxOptions.controlPort !== false;
      const requestedControl = typeof sandboxOptions.controlPort === 'number' ? sandboxOptions.controlPort : 0;
      const logFile = path.join(logDir, 'sandbox.log');
      let service: RunningService;
      if (inContainers) {
        // Host networking: ports are fixed up front (port 0 would be invisible to us).
        const port = await portOr(sandboxOptions.port);
        args.push('--port', String(port));
        result.sandboxUrl = `http://127.0.0.1:${port}`;
        if (wantsControl) {
          const controlPort = await portOr(requestedControl);
          args.push('--control-port', String(controlPort));
          result.controlUrl = `http://127.0.0.1:${controlPort}`;
        }
        if (sandboxOptions.fixtures) {
          const target = `${CONTAINER_FIXTURES_DIR}/${path.basename(sandboxOptions.fixtures)}`;
          files.push({ source: path.resolve(sandboxOptions.fixtures), target });
          args.push('--fixtures', target);
        }
        service = await startContainer({
          name: 'sandbox',
          image: decision.images.sandbox!,
          command: args,
          ready: SANDBOX_READY,
          logFile,
          timeoutMs,
          endpoint: decision.endpoint,
          files,
          ...(mask ? { mask } : {}),
        });
      } else {
        args.push('--port', String(sandboxOptions.port ?? 0));
        if (wantsControl) args.push('--control-port', String(requestedControl));
        if (sandboxOptions.fixtures) args.push('--fixtures', path.resolve(sandboxOptions.fixtures));
        service = await startNodeProcess({
          name: 'sandbox',
          args: ['--import', 'tsx', 'sandbox/main.ts', ...args],
          ready: SANDBOX_READY,
          logFile,
          timeoutMs,
          ...(mask ? { mask } : {}),
        });
      }
      running.push(service);
      if (!inContainers) {
        // Port 0 in process mode: the ready line says which ports were picked.
        result.sandboxUrl = urlOf(service.match, 1);
        const control = urlOf(service.match, 2);
        if (control) result.controlUrl = control;
        if (!result.sandboxUrl) throw new Error(`sandbox: ready line without a URL: ${service.match[0]}`);
      }
    }

    if (prismOptions) {
      const port = await portOr(prismOptions.port);
      const spec = path.resolve(PROJECT_ROOT, prismOptions.spec ?? 'generated/openapi.yaml');
      const specArg = inContainers ? CONTAINER_SPEC_PATH : spec;
      const args =
        prismOptions.mode === 'mock'
          ? ['mock', specArg]
          : ['proxy', specArg, (prismOptions.upstream ?? result.sandboxUrl)!.replace(/\/$/, '')];
      args.push('-h', '127.0.0.1', '-p', String(port));
      if (prismOptions.errors) args.push('--errors');
      const logLevel = prismOptions.logLevel ?? 'info';
      if (logLevel !== 'info') args.push('-v', logLevel);
      args.push(...(prismOptions.extraArgs ?? []));
      const ready = ['trace', 'debug', 'info'].includes(logLevel) ? PRISM_READY : { port };
      const logFile = path.join(logDir, `prism-${prismOptions.mode}.log`);
      const service = inContainers
        ? await startContainer({
            name: `prism-${prismOptions.mode}`,
            image: decision.images.prism!,
            command: args,
            ready,
            logFile,
            timeoutMs,
            endpoint: decision.endpoint,
            files: [{ source: spec, target: CONTAINER_SPEC_PATH }],
            // Prism runs as PID 1 without a SIGTERM handler, so SIGTERM would be ignored; it keeps no state.
            stopTimeoutMs: 0,
            ...(mask ? { mask } : {}),
          })
        : await startNodeProcess({ name: `prism ${prismOptions.mode}`, args: [PRISM_CLI, ...args], ready, logFile, timeoutMs, ...(mask ? { mask } : {}) });
      running.push(service);
      result.prismUrl = `http://127.0.0.1:${port}`;
    }

    return { ...result, baseUrl: (result.prismUrl ?? result.sandboxUrl)!, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export interface LoadRunnerOptions {
  /** Arguments for the runner (load/smoke.ts flags); --out is set here. */
  args: string[];
  /** Host directory the reports are written to (mounted at /app/reports). */
  out: string;
  /** Environment for the runner (credentials, LOAD_CONFIRM_HOST). */
  env: Record<string, string>;
  /** Host files the arguments name, mounted read-only at the given container paths. */
  files?: Array<{ source: string; target: string }>;
  secret?: string;
  timeoutMs?: number;
  onOutput?: (text: string) => void;
  processEnv?: NodeJS.ProcessEnv;
}

/**
 * Runs the load runner image (load/smoke.ts bundled; the role a k6 image plays) as a one-shot
 * container on the host network, and returns its exit code. Needs an engine and a current image:
 * it throws with the reason otherwise (no fallback: the caller asked for a container).
 */
export async function runLoadRunner(options: LoadRunnerOptions): Promise<{ exitCode: number; image: string }> {
  const env = options.processEnv ?? process.env;
  const probe = await probeEngine(500, env);
  if (!probe.ok) throw new Error(`runner container: ${probe.reason}`);
  const image = loadImageName(env);
  const problem = await builtImageProblem(probe.endpoint, image, env);
  if (problem) throw new Error(`runner container: ${problem}`);
  applyTestcontainersDefaults(env);
  const out = path.resolve(options.out);
  mkdirSync(out, { recursive: true });
  const mask = options.secret ? (text: string) => maskSecret(text, options.secret!) : undefined;
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const { exitCode } = await runOneShotContainer({
    name: 'load-runner',
    image,
    command: [...options.args, '--out', '/app/reports'],
    logFile: path.join(out, 'load-runner.log'),
    timeoutMs: options.timeoutMs ?? 15 * 60_000,
    endpoint: probe.endpoint,
    env: options.env,
    binds: [{ source: out, target: '/app/reports' }, ...(options.files ?? []).map((f) => ({ source: path.resolve(f.source), target: f.target, mode: 'ro' as const }))],
    ...(uid !== undefined && gid !== undefined ? { user: `${uid}:${gid}` } : {}),
    ...(mask ? { mask } : {}),
    ...(options.onOutput ? { onOutput: options.onOutput } : {}),
  });
  return { exitCode, image };
}
