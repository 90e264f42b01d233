// Containers through testcontainers' GenericContainer: host networking only (this project's engines
// run with --bridge=none), fixed ports chosen by the caller, readiness from a log line. In host mode
// getMappedPort() throws, so nothing here calls it.
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { engineRequest, type EngineEndpoint, OWNER_LABEL } from './probe.ts';
import { waitForPort, type Readiness, type RunningService } from './process.ts';
import type { GenericContainer, WaitStrategy } from 'testcontainers';

export interface ContainerSpec {
  name: string;
  image: string;
  command: string[];
  /** A log line (testcontainers' log-message wait), or the host port accepting connections. */
  ready: Readiness;
  logFile: string;
  timeoutMs: number;
  endpoint: EngineEndpoint;
  /** Host files copied into the container before it starts. */
  files?: Array<{ source: string; target: string }>;
  mask?: (text: string) => string;
  /** SIGTERM, then SIGKILL after this long (0 = SIGKILL at once). Default 5 s. */
  stopTimeoutMs?: number;
}

/**
 * testcontainers settings this machine needs, set only when the caller has not set them: Ryuk needs a
 * registry image (lib/runtime removes its own leftovers instead), and the engine is on this host.
 */
export function applyTestcontainersDefaults(env: NodeJS.ProcessEnv = process.env): void {
  env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
}

let sequence = 0;

interface LogCapture {
  consumer: (stream: Readable) => void;
  /** The last 4000 characters, masked. */
  tail(): string;
  /** Resolves when the container's log stream ends. */
  ended: Promise<void>;
  close(): void;
}

/** Writes a container's output (masked) to its log file, keeps a tail for error messages. */
function captureLogs(logFile: string, mask?: (text: string) => string, onOutput?: (text: string) => void): LogCapture {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  let tail = '';
  let streamEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => (streamEnded = resolve));
  return {
    consumer: (stream) => {
      stream.on('data', (chunk: Buffer | string) => {
        const text = mask ? mask(chunk.toString()) : chunk.toString();
        log.write(text);
        tail = (tail + text).slice(-4000);
        onOutput?.(text);
      });
      stream.on('end', () => streamEnded());
      stream.on('error', () => streamEnded());
    },
    tail: () => tail,
    ended,
    close: () => log.end(),
  };
}

/** Named, on the host network, labelled with this process's PID (for orphan removal). */
function ownedHostContainer(container: GenericContainer, name: string, command: string[]): GenericContainer {
  return container.withName(name).withNetworkMode('host').withCommand(command).withLabels({ [OWNER_LABEL]: String(process.pid) });
}

/** The startup-timeout half of testcontainers' WaitStrategy, shared by the strategies below. */
abstract class TimedWait implements WaitStrategy {
  protected timeoutMs = 60_000;
  private timeoutSet = false;
  abstract waitUntilReady(container: never): Promise<void>;
  withStartupTimeout(ms: number): this {
    this.timeoutMs = ms;
    this.timeoutSet = true;
    return this;
  }
  isStartupTimeoutSet(): boolean {
    return this.timeoutSet;
  }
  getStartupTimeout(): number {
    return this.timeoutMs;
  }
}

/**
 * Ready when 127.0.0.1:port accepts connections (host networking: the container's port is the host's).
 * testcontainers' own port wait goes through the mapped ports, which host mode has none of. Fails early
 * when the container stops running.
 */
class HostPortWait extends TimedWait {
  constructor(private readonly port: number) {
    super();
  }
  async waitUntilReady(container: { inspect(): Promise<{ State: { Running: boolean; Status: string; ExitCode: number } }> }): Promise<void> {
    let lastCheck = 0;
    let state: string | undefined;
    await waitForPort(this.port, Date.now() + this.timeoutMs, () => {
      // Check the container at most every 500 ms (the callback is sync: the answer arrives for the next poll).
      if (Date.now() - lastCheck > 500) {
        lastCheck = Date.now();
        container.inspect().then(
          (info) => {
            if (!info.State.Running) state = `container ${info.State.Status} (exit code ${info.State.ExitCode}) before port ${this.port} opened`;
          },
          () => undefined,
        );
      }
      return state;
    });
  }
}

export async function startContainer(spec: ContainerSpec): Promise<RunningService> {
  applyTestcontainersDefaults();
  const { GenericContainer, Wait } = await import('testcontainers');
  const logs = captureLogs(spec.logFile, spec.mask);
  const containerName = `upgradelink-${spec.name.replace(/\W+/g, '-')}-${process.pid}-${++sequence}`;
  const container = ownedHostContainer(new GenericContainer(spec.image), containerName, spec.command)
    .withWaitStrategy(spec.ready instanceof RegExp ? Wait.forLogMessage(spec.ready) : new HostPortWait(spec.ready.port))
    .withStartupTimeout(spec.timeoutMs)
    .withLogConsumer(logs.consumer);
  if (spec.files?.length) container.withCopyFilesToContainer(spec.files);

  let started;
  try {
    started = await container.start();
  } catch (error) {
    // A failed wait removes the container, but a failure between create and start does not: remove
    // it by name (404 when it is already gone).
    await engineRequest(spec.endpoint, 'DELETE', `/containers/${containerName}?force=1&v=1`, 10_000).catch(() => undefined);
    logs.close();
    throw new Error(
      `${spec.name} (container ${spec.image}) did not start: ${(error as Error).message}; log ${spec.logFile}\n${logs.tail().slice(-1500)}`,
    );
  }
  // The log consumer reads its own stream and may lag the wait strategy: callers know the fixed ports
  // and must not rely on this match.
  const match = (spec.ready instanceof RegExp ? logs.tail().match(spec.ready) : null) ?? ([''] as unknown as RegExpMatchArray);
  let stopping: Promise<void> | undefined;
  return {
    match,
    stop: () =>
      (stopping ??= (async () => {
        try {
          await started.stop({ timeout: spec.stopTimeoutMs ?? 5_000, remove: true });
        } catch {
          await engineRequest(spec.endpoint, 'DELETE', `/containers/${containerName}?force=1&v=1`, 10_000).catch(() => undefined);
        } finally {
          logs.close();
        }
      })()),
  };
}

export interface OneShotSpec {
  name: string;
  image: string;
  command: string[];
  logFile: string;
  timeoutMs: number;
  endpoint: EngineEndpoint;
  env?: Record<string, string>;
  /** Host directories or files mounted read-write (target = path in the container). */
  binds?: Array<{ source: string; target: string; mode?: 'rw' | 'ro' }>;
  /** uid:gid to run as (so files written to a bind mount belong to the caller). */
  user?: string;
  mask?: (text: string) => string;
  /** Each chunk of the container's output, masked, as it arrives. */
  onOutput?: (text: string) => void;
}

/** Ready when the container has exited, whatever its exit code (kept for the caller). */
class ExitWait extends TimedWait {
  exitCode: number | undefined;
  async waitUntilReady(container: { inspect(): Promise<{ State: { Running: boolean; Paused: boolean; ExitCode: number } }> }): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const { State } = await container.inspect();
      if (!State.Running && !State.Paused) {
        this.exitCode = State.ExitCode;
        return;
      }
      if (Date.now() >= deadline) throw new Error(`still running after ${this.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Runs a container to completion (a job, like a load run) with host networking and returns its exit
 * code; its output goes to the log file and to onOutput as it comes. The container is removed after.
 */
export async function runOneShotContainer(spec: OneShotSpec): Promise<{ exitCode: number }> {
  applyTestcontainersDefaults();
  const { GenericContainer } = await import('testcontainers');
  const logs = captureLogs(spec.logFile, spec.mask, spec.onOutput);
  const containerName = `upgradelink-${spec.name.replace(/\W+/g, '-')}-${process.pid}-${++sequence}`;
  const wait = new ExitWait();
  const container = ownedHostContainer(new GenericContainer(spec.image), containerName, spec.command)
    .withEnvironment(spec.env ?? {})
    .withWaitStrategy(wait)
    .withStartupTimeout(spec.timeoutMs)
    .withLogConsumer(logs.consumer);
  if (spec.binds?.length) container.withBindMounts(spec.binds.map((b) => ({ source: b.source, target: b.target, mode: b.mode ?? 'rw' })));
  if (spec.user) container.withUser(spec.user);
  try {
    const started = await container.start();
    // The log stream can trail the exit by a moment: wait for its end (bounded).
    await Promise.race([logs.ended, new Promise((r) => setTimeout(r, 3000))]);
    await started.stop({ timeout: 0, remove: true }).catch(() => undefined);
    return { exitCode: wait.exitCode ?? 1 };
  } catch (error) {
    throw new Error(`${spec.name} (container ${spec.image}) failed: ${(error as Error).message}; log ${spec.logFile}\n${logs.tail().slice(-1500)}`);
  } finally {
    await engineRequest(spec.endpoint, 'DELETE', `/containers/${containerName}?force=1&v=1`, 10_000).catch(() => undefined);
    logs.close();
  }
}
