// Runs a list of named commands in order, streaming their output, and prints one line per step
// with its time, then a summary. Used by `npm test` (scripts/test.ts) and `npm start` (scripts/main.ts).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface Step {
  name: string;
  command: string;
  /** What to tell the user when the step fails. */
  hint?: string;
  /** A vitest JSON result file this step writes, counted in the closing line. */
  vitestJson?: string;
}

export interface StepResult {
  step: Step;
  ok: boolean;
  seconds: number;
}

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

function run(command: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: 'inherit', env: { ...process.env, REDOCLY_TELEMETRY: 'off' } });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on('error', () => resolve(127));
  });
}

/** Counts from a vitest `--reporter=json` file (jest-compatible field names). */
export function readVitestCounts(file: string): TestCounts | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
    return {
      passed: json.numPassedTests ?? 0,
      failed: json.numFailedTests ?? 0,
      skipped: (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0),
    };
  } catch {
    return undefined;
  }
}

/** Runs every step (stopping at the first failure unless keepGoing) and returns the results. */
export async function runSteps(title: string, steps: Step[], options: { keepGoing?: boolean } = {}): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const [i, step] of steps.entries()) {
    console.log(`\n${title}: [${i + 1}/${steps.length}] ${step.name}: ${step.command}`);
    const started = Date.now();
    const code = await run(step.command);
    const result = { step, ok: code === 0, seconds: (Date.now() - started) / 1000 };
    results.push(result);
    console.log(`${title}: [${i + 1}/${steps.length}] ${step.name} ${result.ok ? 'ok' : `FAILED (exit ${code})`} in ${result.seconds.toFixed(1)} s`);
    if (!result.ok) {
      if (step.hint) console.log(`${title}: ${step.hint}`);
      if (!options.keepGoing) break;
    }
  }
  console.log(`\n${title}: summary`);
  for (const r of results) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.step.name.padEnd(16)} ${r.seconds.toFixed(1).padStart(6)} s`);
  for (const s of steps.slice(results.length)) console.log(`  skip ${s.name} (not run: an earlier step failed)`);
  return results;
}

export function sumCounts(steps: Step[]): TestCounts {
  const total: TestCounts = { passed: 0, failed: 0, skipped: 0 };
  for (const step of steps) {
    const counts = step.vitestJson ? readVitestCounts(step.vitestJson) : undefined;
    if (!counts) continue;
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.skipped += counts.skipped;
  }
  return total;
}
