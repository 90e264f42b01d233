// Programmatic entry: start the sandbox in-process (tests, benches) and drive its clock.

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { TIMESTAMP_WINDOW_SECONDS } from '../lib/signing/index.ts';
import { createClock, type SandboxClock } from './clock.ts';
import { parseFaults } from './faults.ts';
import { DEFAULT_FIXTURES_PATH, loadFixtures, type FixtureIndex, type SandboxFixtures } from './fixtures.ts';
import { Pipeline } from './pipeline.ts';
import { DEFAULT_SPEC_PATH, compileOperations, readBundle, type Operation } from './spec.ts';
import { createControlServer, createPublicServer } from './server.ts';

export { FAULTS, listFaults } from './faults.ts';
export { Code } from './codes.ts';
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
  spec?: string | Record<string, unknown>;
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

const compiledSpecs = new Map<string, Map<string, Operation>>();
const loadedFixtures = new Map<string, FixtureIndex>();

/** Builds the pipeline without listening: spec and fixtures are loaded and validators compiled here. */
export function createPipeline(options: SandboxOptions = {}, clock: SandboxClock = options.clock ?? createClock()): Pipeline {
  const faults = parseFaults(options.faults ?? []);
  const spec = options.spec ?? DEFAULT_SPEC_PATH;
  const fixtureSource = options.fixtures ?? DEFAULT_FIXTURES_PATH;
  // Validators and the fixture index are immutable: compile each source once per process.
  let operations = typeof spec === 'string' ? compiledSpecs.get(spec) : undefined;
  if (!operations) {
    operations = compileOperations(readBundle(spec));
    if (typeof spec === 'string') compiledSpecs.set(spec, operations);
  }
  let fixtures = typeof fixtureSource === 'string' ? loadedFixtures.get(fixtureSource) : undefined;
  if (!fixtures) {
    fixtures = loadFixtures(fixtureSource);
    if (typeof fixtureSource === 'string') loadedFixtures.set(fixtureSource, fixtures);
  }
  const windowSeconds = options.windowSeconds ?? TIMESTAMP_WINDOW_SECONDS;
  if (!Number.isFinite(windowSeconds) || windowSeconds <= 0) throw new RangeError(`windowSeconds must be positive, got ${windowSeconds}`);
  return new Pipeline({ operations, fixtures, faults, clock, windowSeconds });
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
