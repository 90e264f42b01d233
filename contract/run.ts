// The contract runner: `upgradelink-contract check` and `npm run test:contract` both come here.
//
//   resolve the target and the fixture roles → start what the target needs (sandbox, Prism) →
//   preflight (fail fast) → the vitest suite, in this process → findings → reports → exit code
//
// Exit codes: 0 no new finding at or above --fail-on (default major); 1 there is one; 2 the run could
// not judge the target (unreachable, credentials refused, bad input) or some tests could not be judged.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chooseLauncher, stopAll, type RunningSandbox, type RunningService } from '../harness/index.ts';
import { maskSecret } from '../lib/signing/index.ts';
import type { PostPath } from '../lib/client/index.ts';
import { OK_BODIES } from './support/bodies.ts';
import { baselineOf, compareWithBaseline, computeFindings, failsRun, type BaselineFile } from './findings.ts';
import { isMissing, markMissing, readFixturesFile, resolveFixtures } from './fixtures.ts';
import { preflight } from './preflight.ts';
import { writeReports, type ContractReport, type RunDescription } from './report.ts';
import { ContractReporter } from './reporter.ts';
import { BASELINE_RULE, isRuleId, prerequisites, type Severity } from './rules.ts';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_DEBUG_HEADERS,
  DEFAULT_FIXTURES,
  PROJECT_ROOT,
  readTargetFile,
  type Capabilities,
  type ResolvedTarget,
  type TargetKind,
} from './support/target.ts';

export interface ContractOptions {
  target: TargetKind;
  /** Remote only. */
  baseUrl?: string;
  /** Remote only (the sandbox and the mock use the fixtures file's first enabled pair). */
  accessKey?: string;
  secretKey?: string;
  fixtures?: string;
  targetFile?: string;
  /** Sandbox fault switches (the self-tests). */
  faults: string[];
  /** A Prism validation proxy in front of the target: auto = when prism-cli is installed. */
  prism: 'auto' | 'on' | 'off';
  runtime?: 'auto' | 'container' | 'process';
  reportDir: string;
  failOn: Severity | 'none';
  baseline?: string;
  updateBaseline: boolean;
  /** Only the tests of these rules (and of their prerequisites and the baselines). */
  rules: string[];
  /** Harness permissions beyond the target's defaults (e.g. flowQuota on a remote target). */
  allow: Array<keyof Capabilities>;
  requestTimeoutSeconds: number;
  /** vitest's own console reporter (every test) instead of the progress line. */
  verbose: boolean;
}

export interface Io {
  log(line: string): void;
  error(line: string): void;
}

export class ContractUsageError extends Error {
  override name = 'ContractUsageError';
}

const CONFIG = path.join(PROJECT_ROOT, 'contract', 'vitest.config.ts');

function prismInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@stoplight/prism-cli/package.json');
    return true;
  } catch {
    return false;
  }
}

/** The rules a `--rule` run covers: those named, their prerequisites and the baselines. */
function selectedRules(rules: string[]): Set<string> {
  const all = new Set<string>([BASELINE_RULE]);
  for (const r of rules) {
    if (!isRuleId(r)) throw new ContractUsageError(`--rule ${r}: no such rule (see contract/RULES.md)`);
    all.add(r);
    for (const p of prerequisites(r)) all.add(p);
  }
  return all;
}

/** A regex over test names (`… [rule-id]`) selecting those rules' tests. */
function rulePattern(rules: Set<string>): string {
  return `\\[(${[...rules].map((r) => r.replace(/[.]/g, '\\.')).join('|')})\\]$`;
}

/** The test files that declare tests of those rules (test files name their rules as string literals). */
function ruleFiles(rules: Set<string>): string[] {
  const dir = path.join(PROJECT_ROOT, 'contract');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.contract.test.ts'))
    .filter((f) => {
      const text = readFileSync(path.join(dir, f), 'utf8');
      return [...rules].some((r) => text.includes(`'${r}'`));
    })
    .map((f) => path.join('contract', f));
}

export async function runContract(options: ContractOptions, io: Io): Promise<number> {
  const started = Date.now();
  const kind = options.target;
  const file = options.targetFile ? readTargetFile(options.targetFile) : {};
  const fixturesPath = path.resolve(options.fixtures ?? file.fixtures ?? DEFAULT_FIXTURES);
  const fixturesFile = readFixturesFile(fixturesPath);
  const fixturesLabel = path.relative(process.cwd(), fixturesPath) || fixturesPath;
  const selected = options.rules.length ? selectedRules(options.rules) : undefined;
  // Read before anything starts: a wrong path fails in a second, not after the suite. A baseline
  // being adopted (--update-baseline) need not exist yet.
  const baselineFile = options.baseline && !(options.updateBaseline && !existsSync(options.baseline)) ? readBaseline(options.baseline) : undefined;

  // Credentials: the local targets use the fixtures' own published test pair, never the environment.
  let accessKey: string;
  let secretKey: string;
  if (kind === 'remote') {
    accessKey = options.accessKey ?? file.accessKey ?? '';
    secretKey = options.secretKey ?? '';
    if (!accessKey) throw new ContractUsageError('the access key for the target is not set: export UPGRADELINK_ACCESS_KEY (or pass --access-key)');
    if (!secretKey) throw new ContractUsageError(`the secret paired with ${accessKey} is not set: export UPGRADELINK_SECRET_KEY (or pass --secret-file FILE)`);
  } else {
    const main = fixturesFile.accessKeys.find((k) => k.enabled);
    if (!main) throw new ContractUsageError(`${fixturesLabel} has no enabled access key to sign with`);
    accessKey = main.accessKey;
    secretKey = main.secretKey;
    if (options.secretKey || options.accessKey) io.log(`contract: UPGRADELINK_ACCESS_KEY / UPGRADELINK_SECRET_KEY are ignored for the ${kind} target (it signs with ${accessKey} from ${fixturesLabel})`);
  }
  if (kind !== 'sandbox' && options.faults.length) throw new ContractUsageError('--fault (CONTRACT_FAULTS) applies to the sandbox target only');

  const capabilities: Capabilities = { ...DEFAULT_CAPABILITIES[kind], ...file.capabilities };
  for (const a of options.allow) capabilities[a] = true;
  const usePrism = kind !== 'mock' && (options.prism === 'on' || (options.prism === 'auto' && prismInstalled()));
  if (options.prism === 'on' && !prismInstalled()) throw new ContractUsageError('--prism needs @stoplight/prism-cli installed (npm install @stoplight/prism-cli@5.14.2)');

  let remoteUrl: string | undefined;
  if (kind === 'remote') {
    const url = options.baseUrl ?? file.baseUrl;
    if (!url) throw new ContractUsageError('no target URL: pass --base-url URL or export UPGRADELINK_BASE_URL');
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new ContractUsageError(`--base-url / UPGRADELINK_BASE_URL ${JSON.stringify(url)} is not an http(s) URL`);
    }
    remoteUrl = url.replace(/\/$/, '');
  }

  const resolved = resolveFixtures(fixturesFile, { label: fixturesLabel, mainAccessKey: accessKey, faultFixtures: capabilities.faultFixtures, ...(file.roles ? { overrides: file.roles } : {}) });
  const reportDir = path.resolve(options.reportDir);
  const services: Array<RunningService | undefined> = [];
  const run: RunDescription = { target: file.name ?? kind, kind, url: remoteUrl ?? '', prism: usePrism ? 'proxy' : kind === 'mock' ? 'mock' : 'none', runtime: 'none', fixtures: fixturesLabel, faults: options.faults, ...(options.rules.length ? { rules: options.rules } : {}) };
  const finish = (report: Omit<ContractReport, 'generatedAt' | 'run' | 'wallTimeMs'>): number => {
    const full: ContractReport = { ...report, generatedAt: new Date().toISOString(), run, wallTimeMs: Date.now() - started };
    const written = writeReports(reportDir, full, secretKey);
    printSummary(full, io);
    io.log(`contract: reports ${written.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
    return full.exitCode;
  };

  // Fail fast: a remote target is checked before anything is started for it; the local targets once up.
  const happyPath = (['/v1/apk/upgrade', '/v1/file/upgrade'] as PostPath[]).map((p) => ({ path: p, body: OK_BODIES[p](resolved.fixtures) })).find((h) => !isMissing(h.body));
  const semver = { ...(isMissing(resolved.fixtures.semver.tauri) ? {} : { tauri: resolved.fixtures.semver.tauri }), ...(isMissing(resolved.fixtures.semver.electron) ? {} : { electron: resolved.fixtures.semver.electron }) };
  const preflightOf = (url: string) =>
    preflight({ url, accessKey, secretKey, credentialsKnownGood: kind !== 'remote' }, kind === 'mock' ? undefined : happyPath, kind === 'mock' ? [] : resolved.apps, semver, io.log);
  const notJudged = (url: string, reason: string) => {
    io.error(`contract: cannot judge ${url}: ${reason}`);
    return finish({ judged: false, reason, failOn: options.failOn, exitCode: 2, totals: { tests: 0, passed: 0, failed: 0, blocked: 0, skipped: 0, errors: 0 }, result: { findings: [], errors: [], rules: [], blockedTests: 0 }, tests: [] });
  };

  try {
    let check = kind === 'remote' ? await preflightOf(remoteUrl!) : undefined;
    if (check && !check.ok) return notJudged(remoteUrl!, check.reason);

    // Where the local services run: chosen once (containers when an engine and current images are there).
    let sandbox: RunningSandbox | undefined;
    let prism: RunningService | undefined;
    if (kind !== 'remote' || usePrism) {
      const launcher = await chooseLauncher({ ...(options.runtime ? { choice: options.runtime } : {}), needs: { sandbox: kind === 'sandbox', prism: usePrism || kind === 'mock' }, notice: io.log });
      run.runtime = launcher.kind === 'container' ? `container (${Object.values(launcher.images).join(', ')})` : 'process';
      const logs = (name: string) => path.join(reportDir, `${name}.log`);
      if (kind === 'sandbox') {
        sandbox = await launcher.startSandbox({ faults: options.faults, controlPort: true, ...(options.fixtures ? { fixtures: fixturesPath } : {}), logFile: logs('sandbox'), secret: secretKey });
        services.push(sandbox);
      }
      const upstream = sandbox?.url ?? remoteUrl;
      if (kind === 'mock') prism = await launcher.startPrism({ mode: 'mock', logLevel: 'warn', extraArgs: ['--cors', 'false'], logFile: logs('prism-mock'), secret: secretKey });
      else if (usePrism) prism = await launcher.startPrism({ mode: 'proxy', upstream: upstream!, logLevel: 'warn', extraArgs: ['--cors', 'false', '--validate-request', 'false'], logFile: logs('prism-proxy'), secret: secretKey });
      services.push(prism);
    } else run.runtime = 'none (remote target, nothing started)';
    const directUrl = sandbox?.url ?? (kind === 'mock' ? prism!.url : remoteUrl!);
    const controlUrl = sandbox?.controlUrl;
    run.url = directUrl;
    io.log(`contract: target ${run.target} at ${directUrl} (Prism ${run.prism}; runtime ${run.runtime}${options.faults.length ? `; faults ${options.faults.join(', ')}` : ''})`);
    check ??= await preflightOf(directUrl);
    if (!check.ok) return notJudged(directUrl, check.reason);
    for (const note of check.notes) io.log(`contract: ${note}`);
    for (const m of check.missing) markMissing(resolved.fixtures, m.role, m.reason);

    const target: ResolvedTarget = {
      name: run.target,
      kind,
      baseUrl: prism?.url ?? directUrl,
      directUrl,
      ...(controlUrl && capabilities.clockControl ? { controlUrl } : {}),
      prism: run.prism as ResolvedTarget['prism'],
      accessKey,
      secretKey,
      capabilities: { ...capabilities, clockControl: capabilities.clockControl && Boolean(controlUrl) },
      fixtures: resolved.fixtures,
      fixturesLabel,
      missingOnTarget: Object.fromEntries(check.missing.map((m) => [m.role, m.reason])),
      debugHeaders: [
        ...DEFAULT_DEBUG_HEADERS.map((name) => ({ name, values: ['1', 'true', name] })),
        ...Object.entries(file.debugHeaders ?? {}).map(([name, values]) => ({ name, values: [...new Set([...values, '1', 'true', name])] })),
      ],
      clockToleranceSeconds: file.clockToleranceSeconds ?? 5,
      requestTimeoutMs: options.requestTimeoutSeconds * 1000,
      faults: options.faults,
    };

    const reporter = new ContractReporter(options.verbose ? undefined : io.log);
    // Loaded only now: the preflight above answers in milliseconds without it.
    const { createVitest } = await import('vitest/node');
    const vitest = await createVitest('test', {
      config: CONFIG,
      watch: false,
      reporters: options.verbose ? ['default', reporter] : [reporter],
      ...(selected ? { testNamePattern: rulePattern(selected) } : {}),
    });
    vitest.provide('contract', target);
    try {
      await vitest.start(selected ? ruleFiles(selected) : undefined);
    } finally {
      await vitest.close();
    }
    const raw = reporter.result;
    if (!raw) throw new Error('the contract suite produced no results');

    const known = new Set((baselineFile?.findings ?? []).map((f) => f.rule));
    const result = computeFindings(raw.tests, known);
    for (const u of raw.unhandled) result.errors.push({ test: '(outside any test)', message: u });
    const totals = {
      tests: raw.tests.length,
      passed: raw.tests.filter((t) => t.state === 'passed').length,
      failed: raw.tests.filter((t) => t.state === 'failed').length,
      blocked: result.blockedTests,
      skipped: raw.tests.filter((t) => t.state === 'skipped').length,
      errors: result.errors.length,
    };
    const failing = failsRun(result, options.failOn);
    const exitCode: 0 | 1 | 2 = failing ? 1 : result.errors.length > 0 || totals.tests === 0 ? 2 : 0;
    if (options.updateBaseline) {
      const where = options.baseline ?? path.join(reportDir, 'contract-baseline.json');
      writeFileSync(where, `${maskSecret(JSON.stringify(baselineOf(result.findings, run.target), null, 2), secretKey)}\n`);
      io.log(`contract: baseline written to ${where} (${result.findings.length} finding(s)); later runs with --baseline ${where} fail only on new ones`);
    }
    return finish({
      judged: true,
      failOn: options.failOn,
      exitCode: options.updateBaseline && exitCode === 1 ? 0 : exitCode,
      totals,
      ...(baselineFile && options.baseline ? { baseline: { file: options.baseline, ...compareWithBaseline(baselineFile, result) } } : {}),
      result,
      tests: raw.tests,
    });
  } finally {
    await stopAll(services);
  }
}

function readBaseline(file: string): BaselineFile {
  if (!existsSync(file)) throw new ContractUsageError(`--baseline ${file}: no such file (create it with --update-baseline)`);
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as BaselineFile;
    if (!Array.isArray(parsed.findings)) throw new Error('no "findings" array');
    return parsed;
  } catch (error) {
    throw new ContractUsageError(`--baseline ${file} is not a baseline file: ${(error as Error).message}`);
  }
}

function printSummary(report: ContractReport, io: Io): void {
  const lines: string[] = [''];
  if (!report.judged) {
    lines.push(`Contract run: COULD NOT JUDGE ${report.run.url || report.run.target}`, `  ${report.reason}`);
  } else {
    const { totals, result } = report;
    lines.push(`Contract run against ${report.run.target} (${report.run.url}): ${totals.passed} passed, ${totals.failed} failed (${totals.blocked} blocked), ${totals.skipped} skipped, ${totals.errors} errors in ${(report.wallTimeMs / 1000).toFixed(1)} s`);
    if (result.findings.length === 0) lines.push('  No findings.');
    for (const f of result.findings) {
      lines.push(`  [${f.severity}] ${f.rule}${f.status === 'known' ? ' (known)' : ''}: ${f.summary} — ${f.occurrences.length} test(s), ${f.operations.length} operation(s)${f.blocked.length ? `, blocks ${f.blocked.length}` : ''}`);
    }
    for (const e of result.errors.slice(0, 5)) lines.push(`  could not judge: ${e.test}: ${e.message.split('\n')[0]}`);
    if (report.baseline) lines.push(`  baseline ${report.baseline.file}: new ${report.baseline.added.length}, fixed ${report.baseline.fixed.length}`);
    const verdicts = { 0: 'PASS', 1: `FAIL (a new finding at or above ${report.failOn})`, 2: 'INCOMPLETE (tests the suite could not judge)' } as const;
    lines.push(`Contract run: ${verdicts[report.exitCode]} (exit ${report.exitCode}).`);
  }
  io.log(lines.join('\n'));
}
