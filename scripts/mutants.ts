// Mutation self-test of the contract suite: `npm run test:mutants [-- NAME…]`.
//
// The suite must first pass on the clean sandbox with no finding. Then, for every sandbox fault switch
// (sandbox/faults.ts), a run narrowed to the tests of the rule the fault declares it breaks (with that
// rule's prerequisites and the baselines; the whole suite for a rule only ever checked inside other
// tests) must report exactly one finding: that rule. So each fault is
// shown to be caught, and caught by the rule that says what it breaks. Runs go without Prism
// (in-process validation is the conformance check here) and through local processes, several at once.
// Writes reports/mutants.json and reports/mutants.md; prints its wall time; exits 1 naming any fault
// that survives or is reported under another rule.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectTests } from '../contract/catalogue.ts';
import { FAULTS } from '../sandbox/faults.ts';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const reports = path.join(root, 'reports');
const runsDir = path.join(reports, 'mutants');
const BIN = path.join(root, 'bin', 'upgradelink-contract.mjs');
const PARALLEL = Math.max(1, Number(process.env.MUTANTS_PARALLEL ?? 3));

interface FindingsDoc {
  judged: boolean;
  reason?: string;
  exitCode: number;
  findings: Array<{ rule: string; severity: string; tests: unknown[] }>;
  errors: Array<{ test: string; message: string }>;
}

interface RunOutcome {
  name: string;
  seconds: number;
  doc?: FindingsDoc;
  error?: string;
}

export function runCheck(name: string, args: string[]): Promise<RunOutcome> {
  const dir = path.join(runsDir, name);
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(path.join(dir, 'check.log'));
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'check', '--runtime', 'process', '--no-prism', '--fail-on', 'none', '--timeout', '5', '--report-dir', dir, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CONTRACT_TARGET: '', CONTRACT_FAULTS: '', FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('close', () => {
      log.end();
      const seconds = (performance.now() - started) / 1000;
      try {
        resolve({ name, seconds, doc: JSON.parse(readFileSync(path.join(dir, 'contract-findings.json'), 'utf8')) as FindingsDoc });
      } catch (error) {
        resolve({ name, seconds, error: `no findings report (${(error as Error).message}); see ${path.relative(root, dir)}/check.log` });
      }
    });
  });
}

interface FaultOutcome {
  name: string;
  rule: string;
  stage: string;
  /** Reported under its declared rule, and only under it. */
  killed: boolean;
  findings: string[];
  seconds: number;
  problem?: string;
}

function judge(fault: (typeof FAULTS)[number], run: RunOutcome): FaultOutcome {
  const findings = run.doc?.findings.map((f) => f.rule) ?? [];
  let problem: string | undefined;
  if (run.error) problem = run.error;
  else if (!run.doc!.judged) problem = `the run could not judge the sandbox: ${run.doc!.reason}`;
  else if (run.doc!.errors.length) problem = `${run.doc!.errors.length} test(s) could not be judged: ${run.doc!.errors[0]!.message.split('\n')[0]}`;
  else if (!findings.includes(fault.rule)) problem = findings.length ? `reported under ${findings.join(', ')} instead of ${fault.rule}` : 'survived: no finding';
  else if (findings.length > 1) problem = `also reported under ${findings.filter((f) => f !== fault.rule).join(', ')}`;
  return { name: fault.name, rule: fault.rule, stage: fault.stage, killed: problem === undefined, findings, seconds: Math.round(run.seconds * 10) / 10, ...(problem ? { problem } : {}) };
}

function renderMarkdown(outcomes: FaultOutcome[], baseline: RunOutcome, wall: number): string {
  const killed = outcomes.filter((o) => o.killed).length;
  const out = [
    '# Mutation self-test',
    '',
    `Each sandbox fault switch is run against the tests of the rule it declares it breaks (plus that rule's prerequisites and the baselines; the whole suite for a rule that is only checked inside other tests, such as the envelope's); it is **killed** when the run reports exactly one finding, under that rule. Baseline (no fault, whole suite): ${baseline.doc && baseline.doc.findings.length === 0 && baseline.doc.errors.length === 0 ? 'no findings' : 'FAILED'}.`,
    '',
    `**${killed} of ${outcomes.length} faults killed by their declared rule** in ${wall.toFixed(1)} s (${PARALLEL} runs at a time, ${os.cpus().length} CPUs).`,
    '',
    '| Fault | Stage | Declared rule | Killed | Findings | s |',
    '|---|---|---|---|---|---:|',
  ];
  for (const o of outcomes) out.push(`| \`${o.name}\` | ${o.stage} | ${o.rule} | ${o.killed ? 'yes' : `**NO**: ${o.problem}`} | ${o.findings.join(', ') || '–'} | ${o.seconds} |`);
  return `${out.join('\n')}\n`;
}

async function main(): Promise<number> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  for (const n of only) if (!FAULTS.some((f) => f.name === n)) throw new Error(`unknown fault ${n} (npm run sandbox -- --list-faults)`);
  const faults = only.length ? FAULTS.filter((f) => only.includes(f.name)) : [...FAULTS];
  mkdirSync(runsDir, { recursive: true });
  const started = performance.now();

  process.stdout.write('mutants: baseline (no fault, whole suite) … ');
  const baseline = await runCheck('baseline', []);
  if (!baseline.doc || baseline.doc.findings.length > 0 || baseline.doc.errors.length > 0 || !baseline.doc.judged) {
    process.stdout.write('FAILED\n');
    process.stderr.write(`mutants: the clean sandbox must give no finding before faults mean anything: ${baseline.error ?? baseline.doc?.reason ?? baseline.doc?.findings.map((f) => f.rule).join(', ')} (reports/mutants/baseline/)\n`);
    return 1;
  }
  process.stdout.write(`no findings (${baseline.seconds.toFixed(1)} s)\n`);

  // A rule that is the rule of tests of its own gets a run of those tests; a rule that is only ever a
  // check inside other tests (the envelope, the exact codes, data schemas) gets the whole suite.
  const ownTests = new Set((await collectTests()).keys());
  const outcomes: FaultOutcome[] = new Array(faults.length);
  let next = 0;
  let done = 0;
  const width = Math.max(...faults.map((f) => f.name.length));
  const worker = async () => {
    while (next < faults.length) {
      const index = next++;
      const fault = faults[index]!;
      const outcome = judge(fault, await runCheck(fault.name, ['--fault', fault.name, ...(ownTests.has(fault.rule) ? ['--rule', fault.rule] : [])]));
      outcomes[index] = outcome;
      done++;
      process.stdout.write(`mutants: [${String(done).padStart(2)}/${faults.length}] ${outcome.killed ? 'killed  ' : 'PROBLEM '} ${fault.name.padEnd(width)}  ${outcome.killed ? `by ${fault.rule}` : outcome.problem}  ${outcome.seconds.toFixed(1)} s\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, faults.length) }, worker));

  const wall = (performance.now() - started) / 1000;
  writeFileSync(path.join(reports, 'mutants.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), wallSeconds: Math.round(wall * 10) / 10, faults: outcomes }, null, 2)}\n`);
  writeFileSync(path.join(reports, 'mutants.md'), renderMarkdown(outcomes, baseline, wall));
  const problems = outcomes.filter((o) => !o.killed);
  process.stdout.write(`mutants: ${outcomes.length - problems.length}/${outcomes.length} faults killed by their declared rule; wall time ${wall.toFixed(1)} s; reports/mutants.json, reports/mutants.md\n`);
  if (problems.length > 0) {
    process.stderr.write(`mutants: not killed by their declared rule: ${problems.map((p) => p.name).join(', ')}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`mutants: ${(error as Error).message}\n`);
      process.exit(2);
    },
  );
}
