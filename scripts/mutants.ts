// Mutation self-test of the contract suite: `npm run test:mutants [-- NAME…] [--each]`.
//
// The whole suite must first give no finding on the clean sandbox. Then every sandbox fault switch
// (sandbox/faults.ts) must be reported under the rule it declares it breaks, and under no other.
//
// Rule-targeted runs: a run covers only the tests of the rules under test (with their prerequisites
// and the baselines). A rule that is only ever checked inside other tests (an exact code, the
// envelope, the data schema) is tested through the rules its fault names in `seenIn`, else the whole
// suite. To keep it quick, compatible faults (scripts/fault-runs.ts: different rules, not
// prerequisites of each other, not changing the same decision) share a run: it must report exactly
// their rules, one finding each. When a shared run is not exact, its faults are run alone, so the report
// names the one that is not caught by its rule; when all it lacks is some of the rules (nothing extra),
// only the faults of those rules are run alone. A fault that a targeted run alone does not
// show is run once more on the whole suite. `--each` runs every fault alone; `--whole-suite` runs the
// whole suite every time (slow; the strictest check of each fault).
// Writes reports/mutants.json and reports/mutants.md; prints its wall time; exit 1 naming any fault
// not caught by its declared rule.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { collectTests } from '../contract/catalogue.ts';
import { FAULTS, REPORTS, RUNS_DIR, inexact, missedOnly, pack, runCheck, type CheckRun, type Fault } from './fault-runs.ts';

// Runs are CPU-bound (the sandbox and the suite): one per CPU.
const PARALLEL = Math.max(1, Number(process.env.MUTANTS_PARALLEL ?? os.availableParallelism()));
const GROUP_SIZE = Math.max(1, Number(process.env.MUTANTS_GROUP ?? 40));

interface FaultOutcome {
  name: string;
  rule: string;
  stage: string;
  /** Reported under its declared rule and no other. */
  killed: boolean;
  /** The run that showed it: shared with other faults, or alone. */
  run: string;
  findings: string[];
  seconds: number;
  problem?: string;
}

async function inParallel<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return out;
}

function renderMarkdown(outcomes: FaultOutcome[], wall: number, runs: number): string {
  const killed = outcomes.filter((o) => o.killed).length;
  const out = [
    '# Mutation self-test',
    '',
    'Each sandbox fault switch must be reported under the rule it declares it breaks, and under no other. Runs cover only the tests of the rules under test (with their prerequisites and baselines); a rule only checked inside other tests is tested through the tests its fault is seen in (`seenIn`), else the whole suite. Compatible faults share a run, which must then report exactly their rules, one finding each; a fault its targeted run alone does not show is run on the whole suite. The whole suite gave no finding on the clean sandbox.',
    '',
    `**${killed} of ${outcomes.length} faults caught by their declared rule** in ${wall.toFixed(1)} s (${runs} runs, ${PARALLEL} at a time, ${os.cpus().length} CPUs).`,
    '',
    '| Fault | Stage | Declared rule | Caught | Run | Findings of the run |',
    '|---|---|---|---|---|---|',
  ];
  for (const o of outcomes) out.push(`| \`${o.name}\` | ${o.stage} | ${o.rule} | ${o.killed ? 'yes' : `**NO**: ${o.problem}`} | ${o.run} | ${o.findings.join(', ') || '–'} |`);
  return `${out.join('\n')}\n`;
}

const USAGE = 'npm run test:mutants -- [FAULT…] [--each] [--whole-suite] (faults: npm run sandbox -- --list-faults)';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ options: { each: { type: 'boolean' }, 'whole-suite': { type: 'boolean' }, help: { type: 'boolean' } }, allowPositionals: true });
  } catch (error) {
    throw new Error(`${(error as Error).message.split('. ')[0]}; usage: ${USAGE}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`usage: ${USAGE}\n`);
    return 0;
  }
  const each = parsed.values.each ?? false;
  const wholeSuite = parsed.values['whole-suite'] ?? false;
  const only = parsed.positionals;
  for (const n of only) if (!FAULTS.some((f) => f.name === n)) throw new Error(`unknown fault ${n} (npm run sandbox -- --list-faults)`);
  const faults = only.length ? FAULTS.filter((f) => only.includes(f.name)) : [...FAULTS];
  mkdirSync(RUNS_DIR, { recursive: true });
  const started = performance.now();
  let runs = 0;
  const check = (name: string, args: string[]) => {
    runs++;
    return runCheck(name, args);
  };
  const outcome = (f: Fault, run: CheckRun, how: string, problem?: string): FaultOutcome => ({
    name: f.name,
    rule: f.rule,
    stage: f.stage,
    killed: !problem,
    run: how,
    findings: run.doc?.findings.map((x) => x.rule) ?? [],
    seconds: Math.round(run.seconds * 10) / 10,
    ...(problem ? { problem } : {}),
  });

  // The clean sandbox on the whole suite, the first run of the pool: no fault result means anything
  // unless it gives no finding.
  let cleanProblem: string | undefined = 'not run';
  const runClean = async (): Promise<FaultOutcome[]> => {
    const clean = await check('clean', []);
    cleanProblem = inexact(clean, []);
    process.stdout.write(`mutants: the clean sandbox, whole suite: ${cleanProblem ?? 'no findings'} (${clean.seconds.toFixed(1)} s)\n`);
    return [];
  };

  // A rule that is the rule of tests of its own gets a run of those tests; one that is only ever a
  // check inside other tests gets the tests its fault is seen in (`seenIn`), else the whole suite.
  const ownTests = new Set((await collectTests()).keys());
  const testedThrough = (f: Fault): string[] | undefined => (ownTests.has(f.rule) ? [f.rule] : f.seenIn ? [...f.seenIn] : undefined);
  const targeted = (group: readonly Fault[]) => !wholeSuite && group.every((f) => testedThrough(f) !== undefined);
  const runArgs = (group: readonly Fault[], whole = !targeted(group)) => [
    ...group.flatMap((f) => ['--fault', f.name]),
    ...(whole ? [] : [...new Set(group.flatMap((f) => testedThrough(f)!))].flatMap((rule) => ['--rule', rule])),
  ];
  const alone = async (fault: Fault): Promise<FaultOutcome> => {
    let run = await check(fault.name, runArgs([fault]));
    let problem = inexact(run, [fault.rule]);
    let how = 'alone';
    if (problem && targeted([fault])) {
      run = await check(`${fault.name}-whole-suite`, runArgs([fault], true));
      problem = inexact(run, [fault.rule]);
      how = 'alone, whole suite';
      process.stdout.write(`mutants: ${fault.name}: its targeted run did not show it; the whole suite ${problem ? 'did not either' : 'did'}\n`);
    }
    return outcome(fault, run, how, problem);
  };
  const report = (o: FaultOutcome) =>
    process.stdout.write(`mutants: ${o.killed ? 'caught  ' : 'PROBLEM '} ${o.name.padEnd(34)} ${o.killed ? `by ${o.rule}` : o.problem} (${o.run}, ${o.seconds.toFixed(1)} s)\n`);
  const aloneReported = async (fault: Fault): Promise<FaultOutcome> => {
    const o = await alone(fault);
    report(o);
    return o;
  };

  // Faults on the whole suite go first: they take longest.
  const groups = each ? faults.map((f) => [f]) : pack([...faults].sort((a, b) => Number(testedThrough(a) !== undefined) - Number(testedThrough(b) !== undefined)), GROUP_SIZE);
  process.stdout.write(`mutants: ${faults.length} faults in ${groups.length} run(s)${each ? ' (each alone)' : ` (compatible faults share a run, up to ${GROUP_SIZE})`}\n`);
  const outcomes = (
    await inParallel([null, ...groups], async (group) => {
      if (group === null) return runClean();
      if (group.length === 1) return [await aloneReported(group[0]!)];
      const run = await check(`group-${group[0]!.name}`, runArgs(group));
      const problem = inexact(run, group.map((f) => f.rule));
      if (!problem) {
        const done = group.map((f) => outcome(f, run, `shared by ${group.length}`));
        done.forEach(report);
        return done;
      }
      // Only rules missing: the faults whose rules it reported are caught by it, as in an exact run; the
      // others run alone (a timing fault can miss its race on a busy machine, or another fault masked it).
      const missed = missedOnly(run, group.map((f) => f.rule));
      const again = missed ? group.filter((f) => missed.includes(f.rule)) : group;
      process.stdout.write(`mutants: the run shared by ${group.map((f) => f.name).join(', ')} was not exact (${problem}): ${missed ? `${again.map((f) => f.name).join(', ')} alone` : 'each alone'}\n`);
      const done = group.filter((f) => !again.includes(f)).map((f) => outcome(f, run, `shared by ${group.length}`));
      done.forEach(report);
      for (const f of again) done.push(await aloneReported(f));
      return done;
    })
  ).flat();
  const order = new Map(faults.map((f, i) => [f.name, i]));
  outcomes.sort((a, b) => order.get(a.name)! - order.get(b.name)!);

  const wall = (performance.now() - started) / 1000;
  if (cleanProblem) {
    process.stderr.write(`mutants: the clean sandbox must give no finding before faults mean anything: ${cleanProblem} (reports/mutants/clean/)\n`);
    return 1;
  }
  writeFileSync(path.join(REPORTS, 'mutants.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), wallSeconds: Math.round(wall * 10) / 10, runs, faults: outcomes }, null, 2)}\n`);
  writeFileSync(path.join(REPORTS, 'mutants.md'), renderMarkdown(outcomes, wall, runs));
  const problems = outcomes.filter((o) => !o.killed);
  process.stdout.write(`mutants: ${outcomes.length - problems.length}/${outcomes.length} faults caught by their declared rule in ${runs} runs; wall time ${wall.toFixed(1)} s; reports/mutants.json, reports/mutants.md\n`);
  if (problems.length > 0) {
    process.stderr.write(`mutants: not caught by their declared rule alone: ${problems.map((p) => p.name).join(', ')}\n`);
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
