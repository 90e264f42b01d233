// Child processes the suite starts: the sandbox and Prism. Output goes to log files under reports/
// (secret masked); readiness is a line on stdout, never a fixed sleep.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { maskSecret } from '../../lib/signing/index.ts';
import { PROJECT_ROOT } from './target.ts';

export interface Started {
  child: ChildProcess;
  match: RegExpMatchArray;
  stop(): Promise<void>;
}

export { freePort } from '../../lib/runtime/process.ts';

export interface StartOptions {
  name: string;
  args: string[];
  /** Resolves once a stdout/stderr line matches, or once this loopback port accepts connections. */
  ready: RegExp | { port: number };
  logFile: string;
  secret?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export function startProcess(options: StartOptions): Promise<Started> {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile);
  const child = spawn(process.execPath, options.args, {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...options.env },
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        log.end();
        return resolve();
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(timer);
        log.end();
        resolve();
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let settled = false;
    let tail = '';
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      void stop();
      reject(new Error(`${options.name} did not become ready within ${options.timeoutMs ?? 20_000} ms; see ${options.logFile}\n${tail}`));
    }, options.timeoutMs ?? 20_000);
    const ready = options.ready;
    const onData = (chunk: Buffer) => {
      const text = options.secret ? maskSecret(chunk.toString('utf8'), options.secret) : chunk.toString('utf8');
      log.write(text);
      tail = (tail + text).slice(-2000);
      if (settled || !(ready instanceof RegExp)) return;
      // eslint-disable-next-line no-control-regex
      const match = tail.replace(/\x1b\[[0-9;]*m/g, '').match(ready);
      if (match) {
        settled = true;
        clearTimeout(timer);
        resolve({ child, match, stop });
      }
    };
    if (!(ready instanceof RegExp)) {
      const poll = () => {
        if (settled) return;
        const socket = net.connect(ready.port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ child, match: [`http://127.0.0.1:${ready.port}`] as unknown as RegExpMatchArray, stop });
        });
        socket.once('error', () => {
          socket.destroy();
          setTimeout(poll, 50);
        });
      };
      setTimeout(poll, 300);
    }
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${signal ?? code}) before it was ready; see ${options.logFile}\n${tail}`));
    });
  });
}

export const PRISM_BIN = path.join(PROJECT_ROOT, 'node_modules', '@stoplight', 'prism-cli', 'dist', 'index.js');
export const SPEC_YAML = path.join(PROJECT_ROOT, 'generated', 'openapi.yaml');
