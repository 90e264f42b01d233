// What the two self-tests of the contract suite share (scripts/mutants.ts, scripts/fault-subsets.ts):
// running `upgradelink-contract check` against the sandbox with faults on, and which faults can be on
// together and still each be reported under its own rule.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASELINE_RULE, prerequisites } from '../contract/rules.ts';
import { FAULTS, type Fault } from '../sandbox/faults.ts';

export const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const REPORTS = path.join(ROOT, 'reports');
export const RUNS_DIR = path.join(REPORTS, 'mutants');
const BIN = path.join(ROOT, 'bin', 'upgradelink-contract.mjs');

export interface FindingsDoc {
  judged: boolean;
  reason?: string;
  exitCode: number;
  findings: Array<{ rule: string; severity: string }>;
  errors: Array<{ test: string; message: string }>;
}

export interface CheckRun {
  name: string;
  seconds: number;
  doc?: FindingsDoc;
  /** Set when the run wrote no findings report. */
  error?: string;
}

/** One `check` against the local sandbox (processes, no Prism, short request timeout), its reports under reports/mutants/<name>/. */
export function runCheck(name: string, args: string[]): Promise<CheckRun> {
  const dir = path.join(RUNS_DIR, name);
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(path.join(dir, 'check.log'));
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'check', '--runtime', 'process', '--no-prism', '--fail-on', 'none', '--timeout', '5', '--report-dir', dir, ...args], {
      cwd: ROOT,
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
        resolve({ name, seconds, error: `no findings report (${(error as Error).message}); see ${path.relative(ROOT, dir)}/check.log` });
      }
    });
  });
}

/** What is wrong with a run that should report exactly `expected` (one finding per rule), or undefined. */
export function inexact(run: CheckRun, expected: readonly string[]): string | undefined {
  if (run.error) return run.error;
  const doc = run.doc!;
  if (!doc.judged) return `the run could not judge the sandbox: ${doc.reason}`;
  if (doc.errors.length) return `${doc.errors.length} test(s) could not be judged: ${doc.errors[0]!.message.split('\n')[0]}`;
  const got = doc.findings.map((f) => f.rule);
  const missing = expected.filter((r) => !got.includes(r));
  const extra = got.filter((r) => !expected.includes(r));
  if (missing.length === 0 && extra.length === 0 && got.length === new Set(expected).size) return undefined;
  return [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `extra ${extra.join(', ')}` : ''].filter(Boolean).join('; ') || 'a rule reported twice';
}

/**
 * The expected rules a run did not report, when that is all that is wrong with it (it judged the
 * sandbox, every test was judged, and it reported no other rule and none twice); else undefined.
 */
export function missedOnly(run: CheckRun, expected: readonly string[]): string[] | undefined {
  if (run.error || !run.doc?.judged || run.doc.errors.length) return undefined;
  const got = run.doc.findings.map((f) => f.rule);
  if (got.some((r) => !expected.includes(r)) || new Set(got).size !== got.length) return undefined;
  return expected.filter((r) => !got.includes(r));
}

/**
 * Whether a fault's rule is one whose faults mask the others': the baseline (nothing else on the
 * operation is judged), the transport, and the checks on every answer (the envelope, the data of
 * success answers): a test stops at its first failing check, so what it would have shown next is hidden.
 */
const masksOthers = (rule: string) => rule === BASELINE_RULE || rule === 'transport.answered' || rule === 'response.data-schema' || rule.startsWith('envelope.');

/** Whether two faults can be on together and still each be reported under its own rule. */
export function compatible(a: Fault, b: Fault): boolean {
  if (a.name === b.name || a.rule === b.rule) return false;
  // Two modifiers of one decision: the later replaces or wraps the earlier, which then shows nothing.
  if (a.stage === b.stage && a.decision === b.decision) return false;
  if (masksOthers(a.rule) || masksOthers(b.rule)) return false;
  if (prerequisites(a.rule).has(b.rule) || prerequisites(b.rule).has(a.rule)) return false;
  return !(a.conflicts ?? []).includes(b.name) && !(b.conflicts ?? []).includes(a.name);
}

/** mulberry32: a small seeded generator, so a draw can be repeated from its seed. */
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

/** Packs faults into groups of mutually compatible ones, at most `size` each, in the given order. */
export function pack(faults: readonly Fault[], size: number): Fault[][] {
  const groups: Fault[][] = [];
  for (const f of faults) {
    const home = groups.find((g) => g.length < size && g.every((o) => compatible(f, o)));
    if (home) home.push(f);
    else groups.push([f]);
  }
  return groups;
}

export { FAULTS, type Fault };
