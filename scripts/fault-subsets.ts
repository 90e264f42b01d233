// Findings are exact: `npm run test:fault-subsets [-- --seed N --subsets K --size S] [--skip-clean]`.
//
// The whole suite runs against the clean sandbox (no finding allowed) and then against the sandbox with
// several faults on at once, drawn at random (seeded, so a failure can be replayed) from the faults
// that can be combined. Each run must report exactly the rules the faults declare, one finding each:
// no rule missing (a fault masked by another), none extra (a fault reported twice, or blamed on a
// rule it does not break).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FAULTS, inexact, pack, rng, runCheck, type Fault } from './fault-runs.ts';

/** `count` subsets of up to `size` mutually compatible faults, drawn with the seed. */
function drawSubsets(seed: number, count: number, size: number, pool: readonly Fault[] = FAULTS): Fault[][] {
  const random = rng(seed);
  const subsets: Fault[][] = [];
  for (let k = 0; k < count; k++) {
    const order = [...pool].map((f) => ({ f, r: random() })).sort((a, b) => a.r - b.r).map((x) => x.f);
    // The first group packing makes from this order: the first `size` faults compatible with each other.
    subsets.push(pack(order, size)[0] ?? []);
  }
  return subsets;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { seed: { type: 'string' }, subsets: { type: 'string', default: '3' }, size: { type: 'string', default: '5' }, 'skip-clean': { type: 'boolean' } },
  });
  const seed = Number(values.seed ?? process.env.FAULT_SUBSETS_SEED ?? 20261130);
  const count = Number(values.subsets);
  const size = Number(values.size);
  for (const [flag, n] of [['--seed', seed], ['--subsets', count], ['--size', size]] as const) {
    if (!Number.isInteger(n) || n < 1) {
      process.stderr.write(`fault-subsets: ${flag} must be a positive integer, got ${JSON.stringify(n)}\n`);
      return 2;
    }
  }
  const started = performance.now();
  const problems: string[] = [];
  if (values['skip-clean']) {
    // npm test: test:mutants, the step before, has just judged the clean sandbox on the whole suite.
    process.stdout.write('fault-subsets: clean sandbox not run again (--skip-clean: judged by test:mutants)\n');
  } else {
    process.stdout.write('fault-subsets: clean sandbox (whole suite) … ');
    const clean = await runCheck('subset-clean', []);
    const cleanProblem = inexact(clean, []);
    if (cleanProblem) problems.push(`clean sandbox: ${cleanProblem}`);
    process.stdout.write(`${cleanProblem ?? 'no findings'} (${clean.seconds.toFixed(1)} s)\n`);
  }

  for (const [i, subset] of drawSubsets(seed, count, size).entries()) {
    const names = subset.map((f) => f.name);
    const expected = [...new Set(subset.map((f) => f.rule))].sort();
    const run = await runCheck(`subset-${seed}-${i + 1}`, names.flatMap((n) => ['--fault', n]));
    const problem = inexact(run, expected);
    process.stdout.write(`fault-subsets: seed ${seed} #${i + 1} [${names.join(', ')}] → ${problem ? `WRONG: ${problem}` : `exact: ${expected.length} finding(s), one per rule`} (${run.seconds.toFixed(1)} s)\n`);
    if (problem) problems.push(`seed ${seed} #${i + 1} [${names.join(', ')}]: ${problem}`);
  }
  process.stdout.write(`fault-subsets: ${problems.length === 0 ? 'findings exact in every run' : `${problems.length} problem(s)`}; wall time ${((performance.now() - started) / 1000).toFixed(1)} s (replay: --seed ${seed} --subsets ${count} --size ${size})\n`);
  for (const p of problems) process.stderr.write(`fault-subsets: ${p}\n`);
  return problems.length === 0 ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then((code) => process.exit(code), (error) => {
    process.stderr.write(`fault-subsets: ${(error as Error).message}\n`);
    process.exit(2);
  });
}
