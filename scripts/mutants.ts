// Mutation self-test of the contract suite: `npm run test:mutants`.
//
// Runs the suite once without faults (the baseline must pass), then once per fault switch of the
// sandbox (sandbox/faults.ts), two at a time, and checks that every fault makes at least one test
// fail ("killed"). Prism is left out here (CONTRACT_PRISM=0): the in-process validation against the
// bundled spec is the conformance check, and the runs are several times faster without the proxy.
// Writes reports/mutants.json and reports/mutants.md; exits 1 naming any fault that survives.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_NAMES, faultByName, isFaultName } from '../sandbox/faults.ts';
import type { ContractResults } from '../contract/reporters/conformance.ts';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const reports = path.join(root, 'reports');
const runsDir = path.join(reports, 'mutants');
const VITEST = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const PARALLEL = Math.max(1, Number(process.env.MUTANTS_PARALLEL ?? 2));

interface RunOutcome {
  name: string;
  exitCode: number;
  seconds: number;
  results?: ContractResults;
  error?: string;
}

export interface FaultOutcome {
  name: string;
  description: string;
  killed: boolean;
  failedTests: string[];
  failedByFamily: Record<string, number>;
  seconds: number;
  error?: string;
}

function runSuite(name: string, faults: string[]): Promise<RunOutcome> {
  const dir = path.join(runsDir, name);
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(path.join(dir, 'vitest.log'));
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VITEST, 'run', '--config', 'contract/vitest.config.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CONTRACT_TARGET: 'sandbox',
        CONTRACT_TARGET_FILE: '',
        CONTRACT_PRISM: '0',
        CONTRACT_FAULTS: faults.join(','),
        // Forty-odd short runs of the sandbox alone: local processes start fastest. The self-test checks
        // the suite, not the runtime (both runtimes run the suite in `npm test`).
        UPGRADELINK_RUNTIME: process.env.MUTANTS_RUNTIME ?? 'process',
        CONTRACT_REPORT_DIR: path.relative(root, dir),
        FORCE_COLOR: '0',
        NO_COLOR: '1',
      },
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('close', (code) => {
      log.end();
      const seconds = (performance.now() - started) / 1000;
      try {
        const results = JSON.parse(readFileSync(path.join(dir, 'contract-results.json'), 'utf8')) as ContractResults;
        resolve({ name, exitCode: code ?? 1, seconds, results });
      } catch (error) {
        resolve({ name, exitCode: code ?? 1, seconds, error: `no results (${(error as Error).message}); see ${path.relative(root, dir)}/vitest.log` });
      }
    });
  });
}

function outcomeOf(run: RunOutcome): FaultOutcome {
  const failed = run.results?.tests.filter((t) => t.state === 'failed') ?? [];
  const byFamily: Record<string, number> = {};
  for (const t of failed) byFamily[t.family] = (byFamily[t.family] ?? 0) + 1;
  const outcome: FaultOutcome = {
    name: run.name,
    description: faultByName(run.name)?.description ?? '',
    // A run that could not start (no results) proves nothing about the tests.
    killed: failed.length > 0,
    failedTests: failed.map((t) => t.fullName),
    failedByFamily: byFamily,
    seconds: Math.round(run.seconds * 10) / 10,
  };
  if (run.error) outcome.error = run.error;
  else if ((run.results?.unhandledErrors.length ?? 0) > 0) outcome.error = run.results!.unhandledErrors.join('; ').slice(0, 500);
  return outcome;
}

function renderMarkdown(baseline: RunOutcome, outcomes: FaultOutcome[], families: string[], wallSeconds: number): string {
  const killed = outcomes.filter((o) => o.killed).length;
  const out = [
    '# Mutation self-test: kill matrix',
    '',
    `Each row is a sandbox fault switch (sandbox/faults.ts); each cell counts the contract tests of that rule family that failed with the fault on. A fault is **killed** when at least one test fails. Baseline (no fault): ${baseline.results?.totals.failed === 0 ? 'passed' : 'FAILED'}, ${baseline.results?.totals.passed ?? 0} passed, ${baseline.results?.totals.skipped ?? 0} skipped. Runs without Prism (in-process spec validation), ${PARALLEL} in parallel.`,
    '',
    `**${killed} of ${outcomes.length} faults killed** in ${wallSeconds.toFixed(1)} s.`,
    '',
    `| Fault | Killed | ${families.join(' | ')} | Example failing test |`,
    `|---|---|${families.map(() => '---:').join('|')}|---|`,
  ];
  for (const o of outcomes) {
    const cells = families.map((f) => (o.failedByFamily[f] ? String(o.failedByFamily[f]) : '·'));
    const example = (o.failedTests[0] ?? o.error ?? '—').replace(/\|/g, '\\|');
    out.push(`| \`${o.name}\` | ${o.killed ? 'yes' : '**NO**'} | ${cells.join(' | ')} | ${example} |`);
  }
  out.push('', '## Faults', '');
  for (const o of outcomes) out.push(`- \`${o.name}\`: ${o.description}`);
  return `${out.join('\n')}\n`;
}

async function main(): Promise<number> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = only.length > 0 ? only : [...FAULT_NAMES];
  for (const n of names) if (!isFaultName(n)) throw new Error(`unknown fault ${n}`);
  mkdirSync(runsDir, { recursive: true });
  const started = performance.now();

  process.stdout.write(`mutants: baseline (no fault) … `);
  const baseline = await runSuite('baseline', []);
  const baseResults = baseline.results;
  if (!baseResults || baseResults.totals.failed > 0 || baseline.exitCode !== 0) {
    process.stdout.write(`FAILED\n`);
    process.stderr.write(
      `mutants: the suite must pass without faults before faults mean anything; ${baseline.error ?? `${baseResults?.totals.failed} failing tests`} (see reports/mutants/baseline/)\n`,
    );
    return 1;
  }
  process.stdout.write(`passed (${baseResults.totals.passed} tests, ${baseline.seconds.toFixed(1)} s)\n`);

  const outcomes: FaultOutcome[] = new Array(names.length);
  let next = 0;
  let done = 0;
  const width = Math.max(...names.map((n) => n.length));
  const worker = async () => {
    while (next < names.length) {
      const index = next++;
      const name = names[index]!;
      const outcome = outcomeOf(await runSuite(name, [name]));
      outcomes[index] = outcome;
      done++;
      const families = Object.entries(outcome.failedByFamily).map(([f, n]) => `${f} ${n}`).join(', ');
      process.stdout.write(
        `mutants: [${String(done).padStart(2)}/${names.length}] ${outcome.killed ? 'killed  ' : 'SURVIVED'} ${name.padEnd(width)}  ${outcome.killed ? `${outcome.failedTests.length} failing (${families})` : outcome.error ?? 'no test failed'}  ${outcome.seconds.toFixed(1)} s\n`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, names.length) }, worker));

  const wall = (performance.now() - started) / 1000;
  const families = [...new Set([...Object.keys(baseResults.families), ...outcomes.flatMap((o) => Object.keys(o.failedByFamily))])];
  writeFileSync(
    path.join(reports, 'mutants.json'),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), baseline: { passed: baseResults.totals.passed, skipped: baseResults.totals.skipped }, faults: outcomes.map(({ name, killed, failedTests, description, failedByFamily, seconds, error }) => ({ name, killed, failedTests, description, failedByFamily, seconds, ...(error ? { error } : {}) })) }, null, 2)}\n`,
  );
  writeFileSync(path.join(reports, 'mutants.md'), renderMarkdown(baseline, outcomes, families, wall));
  const survivors = outcomes.filter((o) => !o.killed);
  process.stdout.write(`mutants: ${outcomes.length - survivors.length}/${outcomes.length} faults killed in ${wall.toFixed(1)} s (cpus ${os.cpus().length}); reports/mutants.json, reports/mutants.md\n`);
  if (survivors.length > 0) {
    process.stderr.write(`mutants: surviving faults (no test failed): ${survivors.map((s) => s.name).join(', ')}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`mutants: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  },
);
