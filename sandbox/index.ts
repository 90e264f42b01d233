// Programmatic entry: start the sandbox in-process (tests, benches) and drive its clock.

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { TIMESTAMP_WINDOW_SECONDS } from '../lib/signing/index.ts';
import type { Bundle } from '../lib/spec/index.ts';
import { createClock, type SandboxClock } from './clock.ts';
import { parseFaults, tableWith } from './faults.ts';
import { DEFAULT_FIXTURES_PATH, loadFixtures, type FixtureIndex, type SandboxFixtures } from './fixtures.ts';
import { Pipeline } from './pipeline.ts';
import { DEFAULT_SPEC_PATH, compileOperations } from './operations.ts';
import { createControlServer, createPublicServer } from './server.ts';

export { FAULTS, listFaults } from './faults.ts';
export type { SandboxClock } from './clock.ts';

export interface SandboxOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Path to a fixtures file, or the fixtures themselves. */
  fixtures?: string | SandboxFixtures;
  faults?: string[];
  windowSeconds?: number;
  /** Enables the loopback-only control listener (0 picks a free port). */
  controlPort?: number;
  /** Path to the bundled spec, or the bundle itself. */
  spec?: string | Bundle;
  clock?: SandboxClock;
}

export interface SandboxHandle {
  url: string;
  port: number;
  controlUrl?: string;
  clock: SandboxClock;
  pipeline: Pipeline;
  /** Forget nonces, gray admissions and flow counters; clock back to real time. */
  reset(): void;
  close(): Promise<void>;
}

const loadedFixtures = new Map<string, FixtureIndex>();

/**
 * Builds the pipeline without listening: spec and fixtures are loaded, validators compiled and the
 * stage table (with any faults) built here, once.
 */
export function createPipeline(options: SandboxOptions = {}, clock: SandboxClock = options.clock ?? createClock()): Pipeline {
  const table = tableWith(parseFaults(options.faults ?? []));
  // Validators (lib/spec caches them per bundle) and the fixture index are immutable: once per process.
  const operations = compileOperations(options.spec ?? DEFAULT_SPEC_PATH);
  const fixtureSource = options.fixtures ?? DEFAULT_FIXTURES_PATH;
  let fixtures = typeof fixtureSource === 'string' ? loadedFixtures.get(fixtureSource) : undefined;
  if (!fixtures) {
    fixtures = loadFixtures(fixtureSource);
    if (typeof fixtureSource === 'string') loadedFixtures.set(fixtureSource, fixtures);
  }
  const windowSeconds = options.windowSeconds ?? TIMESTAMP_WINDOW_SECONDS;
  if (!Number.isFinite(windowSeconds) || windowSeconds <= 0) throw new RangeError(`windowSeconds must be positive, got ${windowSeconds}`);
  return new Pipeline({ operations, fixtures, clock, windowSeconds, table });
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  return (server.address() as AddressInfo).port;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<SandboxHandle> {
  const clock = options.clock ?? createClock();
  const pipeline = createPipeline(options, clock);
  const host = options.host ?? '127.0.0.1';
  const reset = () => {
    pipeline.reset();
    clock.reset();
  };
  const server = createPublicServer(pipeline);
  const port = await listen(server, options.port ?? 8787, host);
  let control: Server | undefined;
  let controlUrl: string | undefined;
  if (options.controlPort !== undefined) {
    control = createControlServer({ clock, reset });
    try {
      controlUrl = `http://127.0.0.1:${await listen(control, options.controlPort, '127.0.0.1')}`;
    } catch (error) {
      server.close();
      throw error;
    }
  }
  const closeServer = (s: Server) =>
    new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  return {
    url: `http://${hostForUrl(host)}:${port}`,
    port,
    controlUrl,
    clock,
    pipeline,
    reset,
    async close() {
      await Promise.all([closeServer(server), control ? closeServer(control) : Promise.resolve()]);
    },
  };
}
