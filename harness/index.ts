// Service start-up for the suite's own commands: the reference sandbox, a Prism mock or validation
// proxy, and (containers only) the one-shot load-runner job, behind one launcher chosen once per run.
//
//   const launcher = await chooseLauncher({ choice: 'auto', needs: { sandbox: true, prism: true } });
//   const sandbox = await launcher.startSandbox({ controlPort: true });
//   const prism = await launcher.startPrism({ mode: 'proxy', upstream: sandbox.url, logLevel: 'warn' });
//   try { … prism.url … } finally { await stopAll([sandbox, prism]); }
//
// choice 'auto' (default; UPGRADELINK_RUNTIME overrides the default) = the container launcher when a
// Docker engine answers AND the needed images exist locally AND match the checkout's sources;
// otherwise the process launcher, after exactly one line saying why (milliseconds with no engine:
// see probe.ts). choice 'container' never falls back: it throws with the reason.
import { openContainerLauncher } from './container.ts';
import { probeEngine } from './probe.ts';
import { processLauncher } from './process.ts';
import type { PrismOptions, RunningSandbox, RunningService, SandboxOptions } from './services.ts';

export { imageNames, sourceHash } from './container.ts';
export { probeEngine } from './probe.ts';
export { freePort } from './process.ts';
export { PROJECT_ROOT, type PrismOptions, type RunningSandbox, type RunningService, type SandboxOptions } from './services.ts';

export type RuntimeKind = 'container' | 'process';
export type RuntimeChoice = RuntimeKind | 'auto';

export interface Images {
  sandbox: string;
  prism: string;
  loadRunner: string;
}

/** What the run will start: for containers, the images that must be present and current. */
export type LauncherNeeds = { [role in keyof Images]?: boolean };

interface StartsServices {
  startSandbox(options: SandboxOptions): Promise<RunningSandbox>;
  startPrism(options: PrismOptions): Promise<RunningService>;
}

export interface ProcessLauncher extends StartsServices {
  kind: 'process';
  /** Set when 'auto' fell back: why (the text of the notice). */
  fallbackReason?: string;
}

export interface LoadRunnerOptions {
  /** load/run.ts arguments (a profile and flags); --out is set to the mounted directory. */
  args: string[];
  /** Host directory the reports are written to (mounted at /app/reports). */
  out: string;
  /** Environment for the runner (credentials, LOAD_CONFIRM_HOST). */
  env: Record<string, string>;
  /** Host files the arguments name, mounted read-only at the given container paths. */
  files?: Array<{ source: string; target: string }>;
  secret?: string;
  timeoutMs?: number;
  /** Each chunk of the runner's output, masked, as it arrives. */
  onOutput?: (text: string) => void;
}

export interface ContainerLauncher extends StartsServices {
  kind: 'container';
  /** The images this run uses (the needed ones). */
  images: Partial<Images>;
  /** Runs the load-runner image to completion; exit code 1 = a threshold failed. Needs needs.loadRunner. */
  runLoadRunner(options: LoadRunnerOptions): Promise<{ exitCode: number; image: string }>;
}

export type Launcher = ProcessLauncher | ContainerLauncher;

export interface ChooseLauncherOptions {
  /** Default: env UPGRADELINK_RUNTIME, else 'auto'. */
  choice?: RuntimeChoice;
  needs: LauncherNeeds;
  /** Where the one-line fallback notice goes (default stderr). */
  notice?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** Parses a --runtime / UPGRADELINK_RUNTIME value. */
export function parseRuntime(value: string | undefined): RuntimeChoice | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'auto' || value === 'container' || value === 'process') return value;
  throw new Error(`runtime must be container, process or auto; got "${value}"`);
}

/** The one line printed when 'auto' falls back to processes. */
export function fallbackNotice(reason: string): string {
  return `upgradelink runtime: falling back to local processes: ${reason}`;
}

/** Thrown when containers were asked for and cannot run; `reason` says why, without the prefix. */
export class ContainersUnavailable extends Error {
  constructor(readonly reason: string) {
    super(`runtime container: ${reason}`);
    this.name = 'ContainersUnavailable';
  }
}

/** Why a container launch failed: a ContainersUnavailable's reason, else the error's message. */
export const containerFailure = (error: unknown): string => (error instanceof ContainersUnavailable ? error.reason : (error as Error).message);

export async function chooseLauncher(options: ChooseLauncherOptions & { choice: 'container' }): Promise<ContainerLauncher>;
export async function chooseLauncher(options: ChooseLauncherOptions): Promise<Launcher>;
export async function chooseLauncher(options: ChooseLauncherOptions): Promise<Launcher> {
  const env = options.env ?? process.env;
  const choice = options.choice ?? parseRuntime(env.UPGRADELINK_RUNTIME) ?? 'auto';
  const notice = options.notice ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (choice === 'process') return processLauncher();
  const probe = await probeEngine(500, env);
  const opened = probe.ok ? await openContainerLauncher(options.needs, env, notice) : { problem: probe.reason };
  if ('launcher' in opened) return opened.launcher;
  if (choice === 'container') throw new ContainersUnavailable(opened.problem);
  notice(fallbackNotice(opened.problem));
  return processLauncher(opened.problem);
}

/** Stops services in reverse start order (a Prism proxy before its sandbox); never throws. */
export async function stopAll(services: Array<{ stop(): Promise<void> } | undefined>): Promise<void> {
  for (const service of [...services].reverse()) await service?.stop().catch(() => undefined);
}
