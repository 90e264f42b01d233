// Target descriptions: which deployment the suite talks to, which fixture keys exist there and which
// rules it can be expected to enforce. Read by global setup (main process); the tests get the
// resolved result through vitest's `inject('contract')`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONTRACT_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const PROJECT_ROOT = path.dirname(CONTRACT_DIR);

export type TargetKind = 'sandbox' | 'mock' | 'remote';

/**
 * What a target can be expected to enforce. A test that needs a capability the target lacks is
 * skipped with the reason shown, never silently.
 */
export interface Capabilities {
  /** Checks X-Signature (401002) and the signing headers. */
  verifiesSignatures: boolean;
  /** Enforces the ±5 min timestamp window and single-use nonces (401001). */
  rejectsReplays: boolean;
  /** Holds the fixture apps, versions, devices and strategies named in `fixtures`. */
  hasFixtures: boolean;
  /** Enforces strategy flow limits (429001) with the fixture's flow-limited strategy. */
  enforcesFlowLimits: boolean;
  /** Has a loopback control API to read, set and freeze the clock (the sandbox). */
  clockControl: boolean;
  /** Answers malformed requests with the contract's 4000xx codes (not a mock's canned example). */
  validatesRequests: boolean;
  /** Answers unknown paths with the 404003 / 404004 envelopes. */
  routesUnknownPaths: boolean;
  /** Has fixture records that deterministically produce 500001 and 500002. */
  faultFixtures: boolean;
  /** Serves every documented response on request (`Prefer: code=…`), like the Prism mock. */
  servesExamples: boolean;
  /** Has an access key that exists but is disabled (`fixtures.disabledAccessKey`). */
  hasDisabledAccessKey: boolean;
}

export const CAPABILITY_NAMES: ReadonlyArray<keyof Capabilities> = [
  'verifiesSignatures',
  'rejectsReplays',
  'hasFixtures',
  'enforcesFlowLimits',
  'clockControl',
  'validatesRequests',
  'routesUnknownPaths',
  'faultFixtures',
  'servesExamples',
  'hasDisabledAccessKey',
];

/** Fixture keys the tests use. Every value must exist on the target (see contract/README.md). */
export type FixtureKeys = Record<string, unknown>;

export interface TargetDescription {
  name: string;
  kind: TargetKind;
  description?: string;
  /** Remote only; `UPGRADELINK_BASE_URL` overrides it. The sandbox and mock URLs come from global setup. */
  baseUrl?: string;
  accessKey: string;
  /**
   * Only for the local sandbox: its published test secret. Every other target takes the secret from
   * `UPGRADELINK_SECRET_KEY` and nowhere else.
   */
  testSecretKey?: string;
  /** Extra seconds of slack for replay-window tests on a target without clock control. */
  clockToleranceSeconds?: number;
  capabilities: Capabilities;
  fixtures: FixtureKeys;
}

/** What the tests receive through `inject('contract')`. */
export interface ResolvedTarget extends Omit<TargetDescription, 'testSecretKey'> {
  /** Where tests send requests: the Prism proxy when it runs, else the target itself. */
  baseUrl: string;
  /** The target itself, bypassing Prism (for requests Prism would alter, see README). */
  directUrl: string;
  /** Sandbox control API, when the target has clock control. */
  controlUrl?: string;
  /** 'proxy' when a Prism validation proxy sits in front, 'mock' when Prism is the target. */
  prism: 'proxy' | 'mock' | 'none';
  secretKey: string;
  /** Sandbox faults switched on for this run (mutation self-test), if any. */
  faults: string[];
}

export function targetFile(kind: string): string {
  return process.env.CONTRACT_TARGET_FILE
    ? path.resolve(process.env.CONTRACT_TARGET_FILE)
    : path.join(CONTRACT_DIR, 'targets', `${kind}.json`);
}

export function targetKindFromEnv(): TargetKind {
  const kind = (process.env.CONTRACT_TARGET ?? 'sandbox').trim();
  if (kind !== 'sandbox' && kind !== 'mock' && kind !== 'remote') {
    throw new Error(`CONTRACT_TARGET must be sandbox, mock or remote, got "${kind}"`);
  }
  return kind;
}

export function loadTargetDescription(kind: TargetKind): TargetDescription {
  const file = targetFile(kind);
  let parsed: TargetDescription;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as TargetDescription;
  } catch (error) {
    throw new Error(`cannot read target description ${file}: ${(error as Error).message}`);
  }
  const problems: string[] = [];
  if (parsed.kind !== kind) problems.push(`"kind" is ${JSON.stringify(parsed.kind)}, expected "${kind}"`);
  if (typeof parsed.accessKey !== 'string' || parsed.accessKey === '') problems.push('"accessKey" must be a non-empty string');
  for (const name of CAPABILITY_NAMES) {
    if (typeof parsed.capabilities?.[name] !== 'boolean') problems.push(`capabilities.${name} must be true or false`);
  }
  if (typeof parsed.fixtures !== 'object' || parsed.fixtures === null) problems.push('"fixtures" must be an object');
  if (problems.length > 0) throw new Error(`target description ${file} is invalid:\n  - ${problems.join('\n  - ')}`);
  // The access key of a remote target may come from the environment, like its URL and secret.
  if (kind === 'remote' && process.env.UPGRADELINK_ACCESS_KEY) parsed.accessKey = process.env.UPGRADELINK_ACCESS_KEY;
  return parsed;
}

/** The secret: UPGRADELINK_SECRET_KEY, or for the local sandbox its published test secret. */
export function resolveSecret(description: TargetDescription): string {
  const fromEnv = process.env.UPGRADELINK_SECRET_KEY;
  if (fromEnv) return fromEnv;
  if (description.kind !== 'remote' && description.testSecretKey) return description.testSecretKey;
  if (description.kind === 'mock') return 'mock-target-does-not-verify-signatures';
  throw new Error(`target "${description.name}": set UPGRADELINK_SECRET_KEY (the secret paired with ${description.accessKey})`);
}
