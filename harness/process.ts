// Local child processes: the sandbox through tsx, Prism through the installed prism-cli.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PRISM_CLI = path.join(PROJECT_ROOT, 'node_modules', '@stoplight', 'prism-cli', 'dist', 'index.js');

export interface RunningService {
  /** The ready line's regex match. */
  match: RegExpMatchArray;
  stop(): Promise<void>;
}

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

/**
 * When a service counts as ready: a line of its output matching the regex, or its loopback port
 * accepting connections (for a service started at a log level that prints no ready line, such as
 * Prism at `-v warn`).
 */
export type Readiness = RegExp | { port: number };

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

export interface ProcessSpec {
  name: string;
  /** Arguments after the node binary. */
  args: string[];
  ready: Readiness;
  logFile: string;
  timeoutMs: number;
  mask?: (text: string) => string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

export function startNodeProcess(spec: ProcessSpec): Promise<RunningService> {
  mkdirSync(path.dirname(spec.logFile), { recursive: true });
  const log = createWriteStream(spec.logFile);
  const child = spawn(process.execPath, spec.args, {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= new Promise<void>((resolve) => {
      const done = () => {
        log.end();
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
    let tail = '';
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${message}; log ${spec.logFile}\n${tail.slice(-1500)}`)));
    };
    const timer = setTimeout(() => fail(`${spec.name} (process) not ready within ${spec.timeoutMs} ms`), spec.timeoutMs);
    const ready = spec.ready;
    if (!(ready instanceof RegExp)) {
      waitForPort(ready.port, Date.now() + spec.timeoutMs, () => (settled ? 'settled' : undefined)).then(
        () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ match: [`http://127.0.0.1:${ready.port}`] as unknown as RegExpMatchArray, stop });
        },
        () => undefined, // the timer or the exit handler reports
      );
    }
    const onData = (chunk: Buffer) => {
      const text = spec.mask ? spec.mask(chunk.toString('utf8')) : chunk.toString('utf8');
      log.write(text);
      tail = (tail + text).slice(-4000);
      if (settled || !(ready instanceof RegExp)) return;
      const match = tail.replace(ANSI, '').match(ready);
      if (match) {
        settled = true;
        clearTimeout(timer);
        resolve({ match, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (error) => fail(`${spec.name} (process) could not start: ${error.message}`));
    child.once('exit', (code, signal) => fail(`${spec.name} (process) exited (${signal ?? code}) before it was ready`));
  });
}
