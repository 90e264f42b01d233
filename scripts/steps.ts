// Runs a list of named commands in order, streaming their output, and prints one line per step
// with its time, then a summary. Used by `npm test` (scripts/test.ts) and `npm start` (scripts/main.ts).
//
// A step may need a Docker engine (`requires: 'engine'`) or the container runtime (`requires:
// 'containers'`: an engine and built images). When that is missing the step is not run and the
// summary says so with the reason and the command that fixes it; with UPGRADELINK_REQUIRE_CONTAINERS=1
// (CI) it fails instead. Nothing is skipped silently.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chooseLauncher, containerFailure, probeEngine } from '../harness/index.ts';

export interface Step {
  name: string;
  command: string;
  /** What to tell the user when the step fails. */
  hint?: string;
  /**
   * Result files this step writes, counted in the closing line: a vitest `--reporter=json` file or
   * the contract suite's contract-results.json.
   */
  results?: string;
  requires?: 'engine' | 'containers';
}

export interface StepResult {
  step: Step;
  ok: boolean;
  seconds: number;
  /** Set when the step was not run because what it requires is missing (and not required by CI). */
  notRun?: string;
}

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.bin');

/** Runs a shell command as `npm run` would: node_modules/.bin first on PATH. */
function run(command: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: 'inherit', env: { ...env, PATH: `${BIN}${path.delimiter}${env.PATH ?? ''}`, REDOCLY_TELEMETRY: 'off' } });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on('error', () => resolve(127));
  });
}

/**
 * Counts from a vitest `--reporter=json` file (jest-compatible field names) or from the contract
 * suite's contract-results.json (`totals`).
 */
export function readCounts(file: string): TestCounts | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const totals = json.totals as TestCounts | undefined;
    if (totals && typeof totals.passed === 'number') return { passed: totals.passed, failed: totals.failed, skipped: totals.skipped };
    const n = json as Record<string, number>;
    return {
      passed: n.numPassedTests ?? 0,
      failed: n.numFailedTests ?? 0,
      skipped: (n.numPendingTests ?? 0) + (n.numTodoTests ?? 0),
    };
  } catch {
    return undefined;
  }
}

const FIX = {
  engine: 'start one: npm run docker:engine (installs docker.io and starts dockerd; needs root)',
  containers: 'npm run docker:engine && npm run docker:build',
};

/** Why a step's requirement is not met, or undefined when it is. */
export async function missingRequirement(requires: Step['requires'], env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (!requires) return undefined;
  if (requires === 'engine') {
    const probe = await probeEngine(1000, env);
    return probe.ok ? undefined : `${probe.reason} (${FIX.engine})`;
  }
  try {
    // Every image `npm run docker:build` makes: the container steps use all three between them.
    await chooseLauncher({ choice: 'container', needs: { sandbox: true, prism: true, loadRunner: true }, env });
    return undefined;
  } catch (error) {
    return `${containerFailure(error)} (${FIX.containers})`;
  }
}

export function containersRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.UPGRADELINK_REQUIRE_CONTAINERS === '1';
}

/** Runs every step (stopping at the first failure unless keepGoing) and returns the results. */
export async function runSteps(
  title: string,
  steps: Step[],
  options: { keepGoing?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<StepResult[]> {
  const env = options.env ?? process.env;
  const results: StepResult[] = [];
  for (const [i, step] of steps.entries()) {
    console.log(`\n${title}: [${i + 1}/${steps.length}] ${step.name}: ${step.command}`);
    const started = Date.now();
    const missing = await missingRequirement(step.requires, env);
    let result: StepResult;
    if (missing && !containersRequired(env)) {
      result = { step, ok: true, seconds: (Date.now() - started) / 1000, notRun: missing };
      console.log(`${title}: [${i + 1}/${steps.length}] ${step.name} NOT RUN: ${missing}`);
    } else if (missing) {
      result = { step, ok: false, seconds: (Date.now() - started) / 1000 };
      console.log(`${title}: [${i + 1}/${steps.length}] ${step.name} FAILED: UPGRADELINK_REQUIRE_CONTAINERS=1 but ${missing}`);
    } else {
      const code = await run(step.command, env);
      result = { step, ok: code === 0, seconds: (Date.now() - started) / 1000 };
      console.log(`${title}: [${i + 1}/${steps.length}] ${step.name} ${result.ok ? 'ok' : `FAILED (exit ${code})`} in ${result.seconds.toFixed(1)} s`);
    }
    results.push(result);
    if (!result.ok) {
      if (step.hint) console.log(`${title}: ${step.hint}`);
      if (!options.keepGoing) break;
    }
  }
  const width = Math.max(16, ...steps.map((s) => s.name.length));
  console.log(`\n${title}: summary`);
  for (const r of results) {
    const mark = r.notRun ? 'NOT RUN' : r.ok ? 'ok     ' : 'FAIL   ';
    console.log(`  ${mark} ${r.step.name.padEnd(width)} ${r.seconds.toFixed(1).padStart(6)} s${r.notRun ? `  (${r.notRun})` : ''}`);
  }
  for (const s of steps.slice(results.length)) console.log(`  skip    ${s.name} (not run: an earlier step failed)`);
  return results;
}

export function sumCounts(steps: Step[]): TestCounts {
  const total: TestCounts = { passed: 0, failed: 0, skipped: 0 };
  for (const step of steps) {
    const counts = step.results ? readCounts(step.results) : undefined;
    if (!counts) continue;
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.skipped += counts.skipped;
  }
  return total;
}
