// Findings are exact: `npm run test:fault-subsets [-- --seed N --subsets K --size S]`.
//
// The whole suite runs against the clean sandbox (no finding allowed) and then against the sandbox with
// several faults on at once, drawn at random (seeded, so a failure can be replayed) from the faults
// that can be combined. Each run must report exactly the rules the faults declare, one finding each:
// no rule missing (a fault masked by another), none extra (a fault reported twice, or blamed on a
// rule it does not break).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BASELINE_RULE, prerequisites } from '../contract/rules.ts';
import { FAULTS } from '../sandbox/faults.ts';
import { runCheck } from './mutants.ts';

type Fault = (typeof FAULTS)[number];

/** Faults that cannot share a run: they mask everything else, or the mask is the point of the rule. */
const ALONE_RULES = new Set([BASELINE_RULE, 'envelope.json-body', 'transport.answered']);

/** Whether two faults can be on together and still each be reported under its own rule. */
export function compatible(a: Fault, b: Fault): boolean {
  if (a.name === b.name || a.rule === b.rule) return false;
  if (ALONE_RULES.has(a.rule) || ALONE_RULES.has(b.rule)) return false;
  if (prerequisites(a.rule).has(b.rule) || prerequisites(b.rule).has(a.rule)) return false;
  const conflicts = (f: Fault) => ((f as { conflicts?: readonly string[] }).conflicts ?? []) as readonly string[];
  return !conflicts(a).includes(b.name) && !conflicts(b).includes(a.name);
}

/** mulberry32: a small seeded generator, so a subset can be drawn again from its seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` subsets of up to `size` mutually compatible faults, drawn with the seed. */
export function drawSubsets(seed: number, count: number, size: number, pool: readonly Fault[] = FAULTS): Fault[][] {
  const random = rng(seed);
  const subsets: Fault[][] = [];
  for (let k = 0; k < count; k++) {
    const order = [...pool].map((f) => ({ f, r: random() })).sort((a, b) => a.r - b.r).map((x) => x.f);
    const subset: Fault[] = [];
    for (const f of order) {
      if (subset.length >= size) break;
      if (subset.every((g) => compatible(f, g))) subset.push(f);
    }
    subsets.push(subset);
  }
  return subsets;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { seed: { type: 'string' }, subsets: { type: 'string', default: '3' }, size: { type: 'string', default: '5' } } });
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
  process.stdout.write('fault-subsets: clean sandbox (whole suite) … ');
  const clean = await runCheck('subset-clean', []);
  const cleanFindings = clean.doc?.findings.map((f) => f.rule) ?? [];
  if (!clean.doc?.judged || cleanFindings.length || clean.doc.errors.length) problems.push(`clean sandbox: ${clean.error ?? `findings ${cleanFindings.join(', ') || '–'}, ${clean.doc?.errors.length ?? 0} errors`}`);
  process.stdout.write(`${cleanFindings.length} finding(s) (${clean.seconds.toFixed(1)} s)\n`);

  for (const [i, subset] of drawSubsets(seed, count, size).entries()) {
    const names = subset.map((f) => f.name);
    const expected = [...new Set(subset.map((f) => f.rule))].sort();
    const run = await runCheck(`subset-${seed}-${i + 1}`, names.flatMap((n) => ['--fault', n]));
    const got = [...(run.doc?.findings.map((f) => f.rule) ?? [])].sort();
    const missing = expected.filter((r) => !got.includes(r));
    const extra = got.filter((r) => !expected.includes(r));
    const ok = run.doc?.judged && missing.length === 0 && extra.length === 0 && got.length === expected.length && run.doc.errors.length === 0;
    process.stdout.write(`fault-subsets: seed ${seed} #${i + 1} [${names.join(', ')}] → ${ok ? 'exact' : 'WRONG'}: ${got.length} finding(s)${missing.length ? `; missing ${missing.join(', ')}` : ''}${extra.length ? `; extra ${extra.join(', ')}` : ''} (${run.seconds.toFixed(1)} s)\n`);
    if (!ok) problems.push(`seed ${seed} #${i + 1} [${names.join(', ')}]: expected ${expected.join(', ')}; got ${got.join(', ') || run.error || run.doc?.reason || 'nothing'}${run.doc?.errors.length ? `; ${run.doc.errors.length} errors` : ''}`);
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
