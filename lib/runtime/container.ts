// Containers through testcontainers' GenericContainer: host networking only (this project's engines
// run with --bridge=none), fixed ports chosen by the caller, readiness from a log line. In host mode
// getMappedPort() throws, so nothing here calls it.
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { engineRequest, type EngineEndpoint, OWNER_LABEL } from './engine.ts';
import { waitForPort, type Readiness, type RunningService } from './process.ts';
import type { WaitStrategy } from 'testcontainers';

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

/**
 * Ready when 127.0.0.1:port accepts connections (host networking: the container's port is the host's).
 * testcontainers' own port wait goes through the mapped ports, which host mode has none of. Fails early
 * when the container stops running.
 */
class HostPortWait implements WaitStrategy {
  private timeoutMs = 60_000;
  private timeoutSet = false;
  constructor(private readonly port: number) {}
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
  mkdirSync(path.dirname(spec.logFile), { recursive: true });
  const log = createWriteStream(spec.logFile);
  let tail = '';
  const containerName = `upgradelink-${spec.name.replace(/\W+/g, '-')}-${process.pid}-${++sequence}`;
  const container = new GenericContainer(spec.image)
    .withName(containerName)
    .withNetworkMode('host')
    .withCommand(spec.command)
    .withLabels({ [OWNER_LABEL]: String(process.pid) })
    .withWaitStrategy(spec.ready instanceof RegExp ? Wait.forLogMessage(spec.ready) : new HostPortWait(spec.ready.port))
    .withStartupTimeout(spec.timeoutMs)
    .withLogConsumer((stream: Readable) => {
      stream.on('data', (chunk: Buffer | string) => {
        const text = spec.mask ? spec.mask(chunk.toString()) : chunk.toString();
        log.write(text);
        tail = (tail + text).slice(-4000);
      });
      stream.on('error', () => {});
    });
  if (spec.files?.length) container.withCopyFilesToContainer(spec.files);

  let started;
  try {
    started = await container.start();
  } catch (error) {
    // A failed wait removes the container, but a failure between create and start does not: remove
    // it by name (404 when it is already gone).
    await engineRequest(spec.endpoint, 'DELETE', `/containers/${containerName}?force=1&v=1`, 10_000).catch(() => undefined);
    log.end();
    throw new Error(
      `${spec.name} (container ${spec.image}) did not start: ${(error as Error).message}; log ${spec.logFile}\n${tail.slice(-1500)}`,
    );
  }
  // The log consumer reads its own stream and may lag the wait strategy: callers know the fixed ports
  // and must not rely on this match.
  const match = (spec.ready instanceof RegExp ? tail.match(spec.ready) : null) ?? ([''] as unknown as RegExpMatchArray);
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
          log.end();
        }
      })()),
  };
}
