// The process launcher: the sandbox through tsx, Prism through the installed prism-cli, as child
// processes of this one, ready on a line of their output (or their port).
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import type { ProcessLauncher } from './index.ts';
import { openServiceLog } from './logs.ts';
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

const PRISM_CLI = path.join(PROJECT_ROOT, 'node_modules', '@stoplight', 'prism-cli', 'dist', 'index.js');
const TIMEOUT_MS = 30_000;

/** A free loopback TCP port (bound and released; the caller binds it again right away). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The requested port, or a free one when none (or 0) is requested. */
export async function portOr(requested: number | undefined): Promise<number> {
  return requested !== undefined && requested > 0 ? requested : freePort();
}

/** Polls 127.0.0.1:port every 50 ms until it accepts a connection, `gone()` is true or the deadline passes. */
export async function waitForPort(port: number, deadline: number, gone: () => string | undefined): Promise<void> {
  for (;;) {
    const why = gone();
    if (why) throw new Error(why);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(1000);
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => (socket.destroy(), resolve(false)));
      socket.once('timeout', () => (socket.destroy(), resolve(false)));
    });
    if (open) return;
    if (Date.now() >= deadline) throw new Error(`port ${port} did not accept connections in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface ProcessPlan {
  name: string;
  /** Arguments after the node binary. */
  args: string[];
  ready: Readiness;
  logFile: string;
  timeoutMs: number;
  secret?: string | undefined;
}

interface StartedProcess {
  /** The ready line's match (for a port wait: just the URL). */
  match: RegExpMatchArray;
  pid: number;
  stop(): Promise<void>;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

function startNodeProcess(spec: ProcessPlan): Promise<StartedProcess> {
  const log = openServiceLog(spec.logFile, spec.secret);
  const child = spawn(process.execPath, spec.args, {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= new Promise<void>((resolve) => {
      const done = () => {
        log.close();
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill('SIGTERM');
    }));
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop().then(() => reject(log.failure(message)));
    };
    const timer = setTimeout(() => fail(`${spec.name} (process) not ready within ${spec.timeoutMs} ms`), spec.timeoutMs);
    const ready = spec.ready;
    if (!(ready instanceof RegExp)) {
      waitForPort(ready.port, Date.now() + spec.timeoutMs, () => (settled ? 'settled' : undefined)).then(
        () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ match: [`http://127.0.0.1:${ready.port}`] as unknown as RegExpMatchArray, pid: child.pid!, stop });
        },
        () => undefined, // the timer or the exit handler reports
      );
    }
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (settled || !(ready instanceof RegExp)) return;
      const match = log.tail().replace(ANSI, '').match(ready);
      if (match) {
        settled = true;
        clearTimeout(timer);
        resolve({ match, pid: child.pid!, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (error) => fail(`${spec.name} (process) could not start: ${error.message}`));
    child.once('exit', (code, signal) => fail(`${spec.name} (process) exited (${signal ?? code}) before it was ready`));
  });
}

function urlOf(match: RegExpMatchArray, group: number): string | undefined {
  return match[group]?.replace(/\/$/, '');
}

export function processLauncher(fallbackReason?: string): ProcessLauncher {
  return {
    kind: 'process',
    ...(fallbackReason ? { fallbackReason } : {}),

    async startSandbox(options) {
      // Port 0 is fine here: the ready line says which ports the sandbox picked.
      const args = sandboxArgs(options, {
        port: options.port ?? 0,
        controlPort: requestedControlPort(options),
        fixtures: options.fixtures && path.resolve(options.fixtures),
      });
      const started = await startNodeProcess({
        name: 'sandbox',
        args: ['--import', 'tsx', 'sandbox/main.ts', ...args],
        ready: SANDBOX_READY,
        logFile: logFileFor('sandbox', options.logFile),
        timeoutMs: options.timeoutMs ?? TIMEOUT_MS,
        secret: options.secret,
      });
      const url = urlOf(started.match, 1);
      const controlUrl = urlOf(started.match, 2);
      if (!url) {
        await started.stop();
        throw new Error(`sandbox: ready line without a URL: ${started.match[0]}`);
      }
      return { url, ...(controlUrl ? { controlUrl } : {}), pid: started.pid, stop: started.stop };
    },

    async startPrism(options) {
      const port = await portOr(options.port);
      const { args, ready } = prismCommand(options, { spec: hostSpecFile(options), port });
      const started = await startNodeProcess({
        name: `prism ${options.mode}`,
        args: [PRISM_CLI, ...args],
        ready,
        logFile: logFileFor(`prism-${options.mode}`, options.logFile),
        timeoutMs: options.timeoutMs ?? TIMEOUT_MS,
        secret: options.secret,
      });
      return { url: `http://127.0.0.1:${port}`, stop: started.stop };
    },
  };
}
