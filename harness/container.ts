// The container launcher, all through testcontainers: its container-runtime client for image labels
// and orphans, GenericContainer for the services. Host networking only (this project's engines run
// with --bridge=none), fixed ports chosen here, readiness from a log line or the host port. In host
// mode getMappedPort() throws, so nothing here calls it.
//
// testcontainers is imported lazily: it costs 0.6-0.9 s to load, which process runs should not pay,
// and the load-runner image bundles this module without it (esbuild --external:testcontainers).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ContainerRuntimeClient, GenericContainer, WaitStrategy } from 'testcontainers';
import type { ContainerLauncher, Images, LauncherNeeds, LoadRunnerOptions } from './index.ts';
import { openServiceLog, type ServiceLog } from './logs.ts';
import { portOr, waitForPort } from './process.ts';
import {
  hostSpecFile,
  logFileFor,
  prismCommand,
  PROJECT_ROOT,
  requestedControlPort,
  SANDBOX_READY,
  sandboxArgs,
  type Readiness,
} from './services.ts';

export const DEFAULT_IMAGES: Images = {
  sandbox: 'upgradelink/sandbox:local',
  prism: 'upgradelink/prism:local',
  loadRunner: 'upgradelink/load:local',
};

export function imageNames(env: NodeJS.ProcessEnv = process.env): Images {
  return {
    sandbox: env.UPGRADELINK_SANDBOX_IMAGE || DEFAULT_IMAGES.sandbox,
    prism: env.UPGRADELINK_PRISM_IMAGE || DEFAULT_IMAGES.prism,
    loadRunner: env.UPGRADELINK_LOAD_IMAGE || DEFAULT_IMAGES.loadRunner,
  };
}

/** Label key on every container the harness starts; the value is the starting process's PID. */
export const OWNER_LABEL = 'org.upgradelink.runtime.owner-pid';
const CONTAINER_SPEC_PATH = '/tmp/upgradelink/openapi.yaml';
const CONTAINER_FIXTURES_DIR = '/app/fixtures/custom';
const TIMEOUT_MS = 60_000;

/**
 * testcontainers settings this machine needs, set only when the caller has not set them: Ryuk needs a
 * registry image (the harness removes its own leftovers instead), and the engine is on this host.
 * testcontainers reads them from process.env.
 */
function applyTestcontainersDefaults(): void {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
}

async function testcontainers(): Promise<typeof import('testcontainers')> {
  applyTestcontainersDefaults();
  return import('testcontainers');
}

// ---- images --------------------------------------------------------------------------------------

/**
 * The hash scripts/build-images.sh stores in the sandbox and load-runner images: `sha256sum FILES |
 * sha256sum` over the files listed in the image's label, in that order. Undefined when a listed file
 * is missing.
 */
export function sourceHash(root: string, files: string[]): string | undefined {
  let listing = '';
  for (const file of files) {
    let content: Buffer;
    try {
      content = readFileSync(path.join(root, file));
    } catch {
      return undefined;
    }
    listing += `${createHash('sha256').update(content).digest('hex')}  ${file}\n`;
  }
  return createHash('sha256').update(listing).digest('hex');
}

/** An image's labels through testcontainers' image client; undefined when the engine lacks the image. */
async function imageLabels(client: ContainerRuntimeClient, name: string): Promise<Record<string, string> | undefined> {
  const { ImageName } = await testcontainers();
  try {
    const info = await client.image.inspect(ImageName.fromString(name));
    return info.Config?.Labels ?? {};
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** Why an image cannot serve this checkout, or undefined. Images without our labels (built elsewhere) are taken as they are. */
async function imageProblem(client: ContainerRuntimeClient, role: keyof Images, name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const labels = await imageLabels(client, name);
  if (!labels) {
    const hint = role === 'prism' ? ', or pull one and set UPGRADELINK_PRISM_IMAGE' : '';
    return `image ${name} not found (build it: npm run docker:build${hint})`;
  }
  if (env.UPGRADELINK_ALLOW_STALE_IMAGES === '1') return undefined;
  const files = labels['org.upgradelink.source-files'];
  const built = labels['org.upgradelink.source-hash'];
  if (files && built && sourceHash(PROJECT_ROOT, files.split(',')) !== built) {
    return `image ${name} was built from other sources than this checkout (rebuild: npm run docker:build; or UPGRADELINK_ALLOW_STALE_IMAGES=1)`;
  }
  const prismCli = labels['org.upgradelink.prism-cli-version'];
  if (prismCli) {
    const pinned = (createRequire(import.meta.url)(path.join(PROJECT_ROOT, 'node_modules/@stoplight/prism-cli/package.json')) as { version: string }).version;
    if (prismCli !== pinned) return `image ${name} has prism-cli ${prismCli}, the lockfile pins ${pinned} (rebuild: npm run docker:build)`;
  }
  return undefined;
}

// ---- orphans -------------------------------------------------------------------------------------

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops (SIGKILL) and removes a container by id or name; one that is already gone is fine. */
async function forceRemove(client: ContainerRuntimeClient, idOrName: string): Promise<void> {
  const container = client.container.getById(idOrName);
  try {
    await client.container.stop(container, { timeout: 0 });
    await client.container.remove(container, { removeVolumes: true });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}

/**
 * Removes containers left behind by runs that died before their teardown (their owner PID is gone).
 * Ryuk (testcontainers' own reaper) is disabled here, because it needs a registry image.
 * ContainerClient.list() shows running containers only, hence its dockerode for the labelled list.
 */
async function removeOrphans(client: ContainerRuntimeClient): Promise<string[]> {
  const listed = await client.container.dockerode.listContainers({ all: true, filters: { label: [OWNER_LABEL] } });
  const removed: string[] = [];
  for (const c of listed) {
    const owner = Number(c.Labels?.[OWNER_LABEL]);
    if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) continue;
    await forceRemove(client, c.Id);
    removed.push(c.Names?.[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12));
  }
  return removed;
}

/** Containers this process started and has not removed (for tests). */
export async function containersOfThisProcess(): Promise<string[]> {
  const client = await (await testcontainers()).getContainerRuntimeClient();
  const listed = await client.container.dockerode.listContainers({ all: true, filters: { label: [`${OWNER_LABEL}=${process.pid}`] } });
  return listed.map((c) => c.Names[0]!.replace(/^\//, ''));
}

// ---- starting containers -------------------------------------------------------------------------

interface ContainerPlan {
  name: string;
  image: string;
  command: string[];
  /** A log line (testcontainers' log-message wait), or the host port accepting connections. */
  ready: Readiness;
  logFile: string;
  timeoutMs: number;
  /** Host files copied into the container before it starts. */
  files?: Array<{ source: string; target: string }>;
  secret?: string | undefined;
  /** SIGTERM, then SIGKILL after this long (0 = SIGKILL at once). Default 5 s. */
  stopTimeoutMs?: number;
}

let sequence = 0;

/** Named, on the host network, labelled with this process's PID (for orphan removal). */
function ownedHostContainer(container: GenericContainer, name: string, command: string[]): GenericContainer {
  return container.withName(name).withNetworkMode('host').withCommand(command).withLabels({ [OWNER_LABEL]: String(process.pid) });
}

function containerName(name: string): string {
  return `upgradelink-${name.replace(/\W+/g, '-')}-${process.pid}-${++sequence}`;
}

/** Feeds a container's log stream into a service log; resolves `ended` when the stream ends. */
function consumeLogs(log: ServiceLog): { consumer: (stream: Readable) => void; ended: Promise<void> } {
  let streamEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => (streamEnded = resolve));
  return {
    consumer: (stream) => {
      stream.on('data', (chunk: Buffer | string) => log.write(chunk));
      stream.on('end', () => streamEnded());
      stream.on('error', () => streamEnded());
    },
    ended,
  };
}

/**
 * Ready when 127.0.0.1:port accepts connections (host networking: the container's port is the host's).
 * testcontainers' own port wait goes through the mapped ports, which host mode has none of. Fails early
 * when the container stops running.
 */
class HostPortWait implements WaitStrategy {
  private timeoutMs = TIMEOUT_MS;
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

async function startContainer(client: ContainerRuntimeClient, spec: ContainerPlan): Promise<() => Promise<void>> {
  const { GenericContainer, Wait } = await testcontainers();
  const log = openServiceLog(spec.logFile, spec.secret);
  const name = containerName(spec.name);
  const container = ownedHostContainer(new GenericContainer(spec.image), name, spec.command)
    .withWaitStrategy(spec.ready instanceof RegExp ? Wait.forLogMessage(spec.ready) : new HostPortWait(spec.ready.port))
    .withStartupTimeout(spec.timeoutMs)
    .withLogConsumer(consumeLogs(log).consumer);
  if (spec.files?.length) container.withCopyFilesToContainer(spec.files);

  let started;
  try {
    started = await container.start();
  } catch (error) {
    // A failed wait removes the container, but a failure between create and start does not.
    await forceRemove(client, name).catch(() => undefined);
    log.close();
    throw log.failure(`${spec.name} (container ${spec.image}) did not start: ${(error as Error).message}`);
  }
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      try {
        await started.stop({ timeout: spec.stopTimeoutMs ?? 5_000, remove: true });
      } catch {
        await forceRemove(client, name).catch(() => undefined);
      } finally {
        log.close();
      }
    })());
}

/**
 * Runs the load-runner image (load/run.ts bundled; the role a k6 image plays) to completion on the
 * host network, reports written to `out` through a bind mount; returns its exit code (1 = a threshold
 * failed). Its output goes to out/load-runner.log and to onOutput as it comes. Removed after.
 */
async function runLoadRunner(client: ContainerRuntimeClient, image: string, options: LoadRunnerOptions): Promise<number> {
  const { GenericContainer, StartupCheckStrategy } = await testcontainers();
  // testcontainers' one-shot wait, except that any exit counts as done: the exit code is the answer.
  let exitCode: number | undefined;
  class ExitWait extends StartupCheckStrategy {
    override async checkStartupState(dockerode: import('dockerode'), id: string): Promise<'PENDING' | 'SUCCESS'> {
      const { State } = await dockerode.getContainer(id).inspect();
      if (State.Running || State.Paused) return 'PENDING';
      exitCode = State.ExitCode;
      return 'SUCCESS';
    }
  }
  const out = path.resolve(options.out);
  mkdirSync(out, { recursive: true });
  const logFile = path.join(out, 'load-runner.log');
  const log = openServiceLog(logFile, options.secret, options.onOutput);
  const logs = consumeLogs(log);
  const name = containerName('load-runner');
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const container = ownedHostContainer(new GenericContainer(image), name, [...options.args, '--out', '/app/reports'])
    .withEnvironment(options.env)
    .withWaitStrategy(new ExitWait())
    .withStartupTimeout(options.timeoutMs ?? 15 * 60_000)
    .withLogConsumer(logs.consumer)
    // Reports land in `out`, owned by the caller.
    .withBindMounts([
      { source: out, target: '/app/reports', mode: 'rw' },
      ...(options.files ?? []).map((f) => ({ source: path.resolve(f.source), target: f.target, mode: 'ro' as const })),
    ]);
  if (uid !== undefined && gid !== undefined) container.withUser(`${uid}:${gid}`);
  try {
    const started = await container.start();
    // The log stream can trail the exit by a moment: wait for its end (bounded).
    await Promise.race([logs.ended, new Promise((r) => setTimeout(r, 3000))]);
    await started.stop({ timeout: 0, remove: true }).catch(() => undefined);
    return exitCode ?? 1;
  } catch (error) {
    throw log.failure(`load-runner (container ${image}) failed: ${(error as Error).message}`);
  } finally {
    await forceRemove(client, name).catch(() => undefined);
    log.close();
  }
}

// ---- the launcher --------------------------------------------------------------------------------

/**
 * The container launcher when testcontainers reaches the engine and every needed image is there and
 * current; otherwise why not. Call only after probeEngine answered (testcontainers' own discovery
 * can hang: see probe.ts).
 */
export async function openContainerLauncher(
  needs: LauncherNeeds,
  env: NodeJS.ProcessEnv,
  notice: (line: string) => void,
): Promise<{ launcher: ContainerLauncher } | { problem: string }> {
  let client: ContainerRuntimeClient;
  try {
    client = await (await testcontainers()).getContainerRuntimeClient();
  } catch (error) {
    return { problem: `testcontainers cannot use the engine: ${(error as Error).message}` };
  }
  const names = imageNames(env);
  const images: Partial<Images> = {};
  for (const role of ['sandbox', 'prism', 'loadRunner'] as const) {
    if (!needs[role]) continue;
    let problem;
    try {
      problem = await imageProblem(client, role, names[role], env);
    } catch (error) {
      problem = `cannot inspect image ${names[role]}: ${(error as Error).message}`;
    }
    if (problem) return { problem };
    images[role] = names[role];
  }

  let orphansRemoved: Promise<void> | undefined;
  /** The image for a role, after removing earlier runs' leftovers (once, before the first start). */
  const ready = async (role: keyof Images): Promise<string> => {
    const image = images[role];
    if (!image) throw new Error(`container launcher: chooseLauncher was not told this run needs the ${role} (needs.${role})`);
    await (orphansRemoved ??= removeOrphans(client).then(
      (removed) => {
        if (removed.length) notice(`upgradelink runtime: removed containers left by earlier runs: ${removed.join(', ')}`);
      },
      () => undefined,
    ));
    return image;
  };

  return {
    launcher: {
      kind: 'container',
      images,

      async startSandbox(options) {
        const image = await ready('sandbox');
        // Host networking: ports are fixed up front (port 0 would be invisible to us).
        const port = await portOr(options.port);
        const requested = requestedControlPort(options);
        const controlPort = requested === undefined ? undefined : await portOr(requested);
        const fixtures = options.fixtures && `${CONTAINER_FIXTURES_DIR}/${path.basename(options.fixtures)}`;
        const stop = await startContainer(client, {
          name: 'sandbox',
          image,
          command: sandboxArgs(options, { port, controlPort, fixtures }),
          ready: SANDBOX_READY,
          logFile: logFileFor('sandbox', options.logFile),
          timeoutMs: options.timeoutMs ?? TIMEOUT_MS,
          files: fixtures ? [{ source: path.resolve(options.fixtures!), target: fixtures }] : [],
          secret: options.secret,
        });
        return { url: `http://127.0.0.1:${port}`, ...(controlPort !== undefined ? { controlUrl: `http://127.0.0.1:${controlPort}` } : {}), stop };
      },

      async startPrism(options) {
        const image = await ready('prism');
        const port = await portOr(options.port);
        const { args, ready: readiness } = prismCommand(options, { spec: CONTAINER_SPEC_PATH, port });
        const stop = await startContainer(client, {
          name: `prism-${options.mode}`,
          image,
          command: args,
          ready: readiness,
          logFile: logFileFor(`prism-${options.mode}`, options.logFile),
          timeoutMs: options.timeoutMs ?? TIMEOUT_MS,
          // The spec is never baked into the image: the current one is copied in.
          files: [{ source: hostSpecFile(options), target: CONTAINER_SPEC_PATH }],
          // Prism runs as PID 1 without a SIGTERM handler, so SIGTERM would be ignored; it keeps no state.
          stopTimeoutMs: 0,
          secret: options.secret,
        });
        return { url: `http://127.0.0.1:${port}`, stop };
      },

      async runLoadRunner(options) {
        const image = await ready('loadRunner');
        return { exitCode: await runLoadRunner(client, image, options), image };
      },
    },
  };
}
