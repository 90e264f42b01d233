// What a run is pointed at, and what the harness may do to it. Capabilities describe the harness,
// never the target's conformance: every rule runs against every real target, and a target that breaks
// one gets a finding. The runner (contract/run.ts) resolves these in the main process and hands the
// tests a ResolvedTarget through vitest's `provide`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Fixtures } from '../fixtures.ts';
import { Code } from '../../generated/operations.ts';

export const CONTRACT_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const PROJECT_ROOT = path.dirname(CONTRACT_DIR);
export const DEFAULT_FIXTURES = path.join(PROJECT_ROOT, 'fixtures', 'sandbox.json');

export type TargetKind = 'sandbox' | 'mock' | 'remote';

/** What the harness can or may do to the target (not what the target does). */
export interface Capabilities {
  /** The sandbox's loopback control API can move the target's clock (exact window edges, second and minute flow windows). */
  clockControl: boolean;
  /** The target holds the sandbox-only records that produce Code.INTERNAL_ERROR and Code.DATA_INVALID (never seeded into staging). */
  faultFixtures: boolean;
  /** Bursts of up to 50 concurrent requests may be sent (nonce, gray and flow-limit atomicity). */
  bursts: boolean;
  /** Flow-limited strategies may be exhausted; their quota stays used until the window ends (up to a UTC day). */
  flowQuota: boolean;
}

export const CAPABILITY_REASONS: Record<keyof Capabilities, string> = {
  clockControl: 'the target\'s clock cannot be moved from the test (only the local sandbox has a control API)',
  faultFixtures: `the target has no sandbox-only fault records (${Code.INTERNAL_ERROR}/${Code.DATA_INVALID} triggers are never seeded into staging)`,
  bursts: 'concurrency bursts are not allowed against this target',
  flowQuota: 'using up flow-limit quota is not allowed against this target (it stays used until the window ends); allow it with --allow flow-quota',
};

export const DEFAULT_CAPABILITIES: Record<TargetKind, Capabilities> = {
  sandbox: { clockControl: true, faultFixtures: true, bursts: true, flowQuota: true },
  mock: { clockControl: false, faultFixtures: false, bursts: false, flowQuota: false },
  remote: { clockControl: false, faultFixtures: false, bursts: true, flowQuota: false },
};

/** Header names and values tried by the debug-header probes (auth.debug-headers-ignored). */
export const DEFAULT_DEBUG_HEADERS: ReadonlyArray<string> = ['test', 'debug', 'x-debug', 'x-test', 'x-bypass', 'x-internal', 'x-skip-auth'];

/** An optional target file (`--target-file`): what differs on a team's staging. */
export interface TargetFile {
  name?: string;
  baseUrl?: string;
  accessKey?: string;
  /** A fixtures file, relative to the target file. */
  fixtures?: string;
  /** Role key overrides: `{"upgrading.apk": "staging-apk-key"}` (see contract/fixtures.ts). */
  roles?: Record<string, string>;
  capabilities?: Partial<Capabilities>;
  /** More debug-style header names to probe, with the values to try (besides `1`, `true` and the name itself). */
  debugHeaders?: Record<string, string[]>;
  /** Extra seconds of slack for replay-window tests (no clock control); default 5. */
  clockToleranceSeconds?: number;
}

export class TargetFileError extends Error {
  override name = 'TargetFileError';
}

/** Reads and checks a target file; errors name the file and the field. */
export function readTargetFile(file: string): TargetFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TargetFileError(`cannot read the target file ${file} (--target-file): ${(error as Error).message}`);
  }
  const problems: string[] = [];
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TargetFileError(`the target file ${file} must hold a JSON object`);
  const t = parsed as Record<string, unknown>;
  const known = ['$schema', 'description', 'name', 'baseUrl', 'accessKey', 'fixtures', 'roles', 'capabilities', 'debugHeaders', 'clockToleranceSeconds'];
  for (const key of Object.keys(t)) if (!known.includes(key)) problems.push(`unknown field "${key}" (known: ${known.slice(2).join(', ')})`);
  for (const key of ['name', 'baseUrl', 'accessKey', 'fixtures'] as const) {
    if (t[key] !== undefined && (typeof t[key] !== 'string' || t[key] === '')) problems.push(`"${key}" must be a non-empty string`);
  }
  if (t.roles !== undefined && (typeof t.roles !== 'object' || t.roles === null || Object.values(t.roles).some((v) => typeof v !== 'string'))) {
    problems.push('"roles" must map role names to keys (strings)');
  }
  if (t.capabilities !== undefined) {
    const caps = t.capabilities as Record<string, unknown>;
    for (const [k, v] of Object.entries(caps ?? {})) {
      if (!(k in CAPABILITY_REASONS)) problems.push(`capabilities.${k} is not a capability (${Object.keys(CAPABILITY_REASONS).join(', ')})`);
      else if (typeof v !== 'boolean') problems.push(`capabilities.${k} must be true or false`);
    }
  }
  if (t.debugHeaders !== undefined) {
    const dh = t.debugHeaders as Record<string, unknown>;
    for (const [k, v] of Object.entries(dh ?? {})) if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) problems.push(`debugHeaders.${k} must be a list of strings`);
  }
  if (t.clockToleranceSeconds !== undefined && !(typeof t.clockToleranceSeconds === 'number' && t.clockToleranceSeconds >= 0)) {
    problems.push('"clockToleranceSeconds" must be a number ≥ 0');
  }
  if (problems.length) throw new TargetFileError(`the target file ${file} is invalid:\n  - ${problems.join('\n  - ')}`);
  const out = t as TargetFile;
  if (out.fixtures) out.fixtures = path.resolve(path.dirname(file), out.fixtures);
  return out;
}

/** What the tests receive through `inject('contract')`. The secret is in it; it never leaves the process. */
export interface ResolvedTarget {
  name: string;
  kind: TargetKind;
  /** Where tests send requests: the Prism proxy when it runs, else the target itself. */
  baseUrl: string;
  /** The target itself, bypassing Prism (for requests Prism would alter, see README). */
  directUrl: string;
  /** Sandbox control API, when the harness has clock control. */
  controlUrl?: string;
  /** 'proxy' when a Prism validation proxy sits in front, 'mock' when Prism is the target. */
  prism: 'proxy' | 'mock' | 'none';
  accessKey: string;
  secretKey: string;
  capabilities: Capabilities;
  fixtures: Fixtures;
  /** Where the fixtures came from, for skip reasons. */
  fixturesLabel: string;
  /** Roles whose app the preflight found missing on the target: role → reason. */
  missingOnTarget: Record<string, string>;
  /** Debug-style header names and the values to try with each. */
  debugHeaders: Array<{ name: string; values: string[] }>;
  clockToleranceSeconds: number;
  /** Every request's timeout. */
  requestTimeoutMs: number;
  /** Sandbox faults switched on for this run (the self-tests), if any. */
  faults: string[];
}
