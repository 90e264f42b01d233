// What the harness runs, whichever launcher runs it: the sandbox's and Prism's options, command
// lines and readiness. The launchers add only where things are (ports, host or container paths).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface SandboxOptions {
  /** Fault switches (`--fault NAME`). */
  faults?: string[];
  /** A fixtures file on this host (default: the sandbox's fixtures/sandbox.json). */
  fixtures?: string;
  /** Start the loopback control listener: true or 0 = a free port, a number = that port. */
  controlPort?: boolean | number;
  /** Public port (default: a free one). */
  port?: number;
  windowSeconds?: number;
  /** Default reports/sandbox.log. */
  logFile?: string;
  /** Masked out of the log. */
  secret?: string;
  /** Readiness timeout (default 30 s as a process, 60 s as a container). */
  timeoutMs?: number;
}

export interface PrismOptions {
  mode: 'mock' | 'proxy';
  /** proxy only, and required there: where to forward, e.g. a started sandbox's url. */
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
  /** Default reports/prism-<mode>.log. */
  logFile?: string;
  /** Masked out of the log. */
  secret?: string;
  /** Readiness timeout (default 30 s as a process, 60 s as a container). */
  timeoutMs?: number;
}

export interface RunningService {
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  /** Stops and removes it; safe to call more than once; never throws. */
  stop(): Promise<void>;
}

export interface RunningSandbox extends RunningService {
  /** The loopback control listener (clock), when asked for. */
  controlUrl?: string;
  /** The sandbox's process id on this host, when it runs as a local process (for CPU figures). */
  pid?: number;
}

/**
 * When a service counts as ready: a line of its output matching the regex, or its loopback port
 * accepting connections (for a service started at a log level that prints no ready line, such as
 * Prism at `-v warn`).
 */
export type Readiness = RegExp | { port: number };

export const SANDBOX_READY = /sandbox listening on (http:\/\/\S+?)(?: control (http:\/\/\S+))?\s*$/m;
const PRISM_READY = /Prism is listening on (http:\/\/\S+)/;

export function logFileFor(name: string, logFile: string | undefined): string {
  return path.resolve(PROJECT_ROOT, logFile ?? path.join('reports', `${name}.log`));
}

/** The control port asked for: undefined = none, 0 = a free one. */
export function requestedControlPort(options: SandboxOptions): number | undefined {
  if (options.controlPort === undefined || options.controlPort === false) return undefined;
  return options.controlPort === true ? 0 : options.controlPort;
}

/** The sandbox's arguments (after its entry point), with the ports and the fixtures path as the launcher has them. */
export function sandboxArgs(options: SandboxOptions, where: { port: number; controlPort?: number | undefined; fixtures?: string | undefined }): string[] {
  const args = ['--host', '127.0.0.1', '--port', String(where.port)];
  if (where.controlPort !== undefined) args.push('--control-port', String(where.controlPort));
  if (where.fixtures) args.push('--fixtures', where.fixtures);
  for (const fault of options.faults ?? []) args.push('--fault', fault);
  if (options.windowSeconds !== undefined) args.push('--window-seconds', String(options.windowSeconds));
  return args;
}

export function hostSpecFile(options: PrismOptions): string {
  return path.resolve(PROJECT_ROOT, options.spec ?? 'generated/openapi.yaml');
}

/** Prism's CLI arguments and how to tell it is ready, with the spec path as the launcher has it. */
export function prismCommand(options: PrismOptions, where: { spec: string; port: number }): { args: string[]; ready: Readiness } {
  let args: string[];
  if (options.mode === 'mock') args = ['mock', where.spec];
  else if (options.upstream) args = ['proxy', where.spec, options.upstream.replace(/\/$/, '')];
  else throw new Error('startPrism: a Prism proxy needs an upstream (e.g. a started sandbox url)');
  args.push('-h', '127.0.0.1', '-p', String(where.port));
  if (options.errors) args.push('--errors');
  const logLevel = options.logLevel ?? 'info';
  if (logLevel !== 'info') args.push('-v', logLevel);
  args.push(...(options.extraArgs ?? []));
  return { args, ready: ['trace', 'debug', 'info'].includes(logLevel) ? PRISM_READY : { port: where.port } };
}
