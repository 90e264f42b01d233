// `upgradelink-contract check`: judge a deployment (or the local sandbox) against the contract and
// write the findings report. Flags first, then the environment, then defaults:
//
//   --base-url URL        a remote target (else UPGRADELINK_BASE_URL with --target remote; default: the
//                         local sandbox, started here)
//   --target KIND         sandbox | mock | remote (CONTRACT_TARGET)
//   --fixtures FILE       what is seeded on the target (CONTRACT_FIXTURES; default fixtures/sandbox.json)
//   --target-file FILE    what else differs on the target: role keys, capabilities, debug headers (CONTRACT_TARGET_FILE)
//   --access-key KEY      (UPGRADELINK_ACCESS_KEY); the secret only from UPGRADELINK_SECRET_KEY or --secret-file
//   --baseline FILE       known findings do not fail the run; --update-baseline writes the file
//   --fail-on SEVERITY    critical | major (default) | minor | advisory | none
//   --rule ID             only this rule's tests (repeatable), with its prerequisites
//   --allow flow-quota    let the run use up flow-limit quota on a remote target (also: bursts)
//   --fault NAME          sandbox fault switches (repeatable; CONTRACT_FAULTS)
//   --runtime R           container | process | auto (UPGRADELINK_RUNTIME), for the local services
//   --prism / --no-prism  a Prism validation proxy in front of the target (CONTRACT_PRISM=0|1; default: when installed)
//   --report-dir DIR      (CONTRACT_REPORT_DIR; default reports)
//   --timeout SECONDS     per request (default 10)
//   --verbose             every test on the console
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ContractUsageError, runContract, type ContractOptions, type Io } from '../contract/run.ts';
import { FixturesError } from '../contract/fixtures.ts';
import { SEVERITIES, type Severity } from '../contract/rules.ts';
import { TargetFileError, type Capabilities, type TargetKind } from '../contract/support/target.ts';

export const CHECK_USAGE = `usage: upgradelink-contract check [--base-url URL] [--fixtures FILE] [--baseline FILE [--update-baseline]]
         [--fail-on critical|major|minor|advisory|none] [--target sandbox|mock|remote] [--target-file FILE]
         [--access-key KEY] [--secret-file FILE] [--rule ID]... [--allow flow-quota|bursts]...
         [--fault NAME]... [--runtime container|process|auto] [--prism|--no-prism] [--report-dir DIR]
         [--timeout SECONDS] [--verbose]
Judges a deployment against the UpgradeLink contract and writes reports/contract-report.md (findings
first), contract-findings.json and contract-junit.xml. Without --base-url it starts the local sandbox.
The secret comes only from UPGRADELINK_SECRET_KEY or --secret-file. Exit: 0 no new finding at or above
--fail-on (default major), 1 there is one, 2 the target could not be judged or the input is wrong.`;

const OPTIONS = {
  'base-url': { type: 'string' },
  target: { type: 'string' },
  fixtures: { type: 'string' },
  'target-file': { type: 'string' },
  'access-key': { type: 'string' },
  'secret-file': { type: 'string' },
  baseline: { type: 'string' },
  'update-baseline': { type: 'boolean' },
  'fail-on': { type: 'string' },
  rule: { type: 'string', multiple: true },
  allow: { type: 'string', multiple: true },
  fault: { type: 'string', multiple: true },
  runtime: { type: 'string' },
  prism: { type: 'boolean' },
  'no-prism': { type: 'boolean' },
  'report-dir': { type: 'string' },
  timeout: { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const ALLOW: Record<string, keyof Capabilities> = { 'flow-quota': 'flowQuota', bursts: 'bursts' };
const TARGETS: readonly TargetKind[] = ['sandbox', 'mock', 'remote'];

export class CheckUsageError extends Error {
  override name = 'CheckUsageError';
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new CheckUsageError(`${flag} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  return value as T;
}

/** Flags and environment → ContractOptions. Throws CheckUsageError naming the flag or variable. */
export function checkOptions(argv: string[], env: Record<string, string | undefined>, readFile: (p: string) => string = (p) => readFileSync(p, 'utf8')): ContractOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new CheckUsageError((error as Error).message.split('\n')[0]!);
  }
  if (values.help) return 'help';
  const baseUrl = values['base-url'] ?? undefined;
  const target = oneOf('--target', values.target, TARGETS) ?? oneOf('CONTRACT_TARGET', env.CONTRACT_TARGET, TARGETS) ?? (baseUrl ? 'remote' : 'sandbox');
  if (baseUrl && target !== 'remote') throw new CheckUsageError(`--base-url points at a deployment, but --target is ${target}; drop one of them`);
  const failOn = oneOf<Severity | 'none'>('--fail-on', values['fail-on'], [...SEVERITIES, 'none']) ?? 'major';
  const runtime = oneOf('--runtime', values.runtime, ['auto', 'container', 'process'] as const) ?? oneOf('UPGRADELINK_RUNTIME', env.UPGRADELINK_RUNTIME, ['auto', 'container', 'process'] as const);
  const allow = (values.allow ?? []).flatMap((a) => a.split(',')).filter(Boolean).map((a) => {
    const cap = ALLOW[a.trim()];
    if (!cap) throw new CheckUsageError(`--allow must be one of ${Object.keys(ALLOW).join(', ')}; got ${JSON.stringify(a)}`);
    return cap;
  });
  let timeout = 10;
  if (values.timeout !== undefined) {
    timeout = Number(values.timeout);
    if (!(timeout > 0 && timeout <= 300)) throw new CheckUsageError(`--timeout must be a number of seconds from 1 to 300; got ${JSON.stringify(values.timeout)}`);
  }
  if (values['update-baseline'] && !values.baseline) throw new CheckUsageError('--update-baseline needs --baseline FILE (the file to write)');
  const envPrism = env.CONTRACT_PRISM;
  const prism = values['no-prism'] ? 'off' : values.prism ? 'on' : envPrism === '0' ? 'off' : envPrism === '1' ? 'on' : 'auto';
  let secretKey = env.UPGRADELINK_SECRET_KEY || undefined;
  if (values['secret-file'] !== undefined) {
    try {
      secretKey = readFile(values['secret-file']).replace(/\r?\n$/, '');
    } catch (error) {
      throw new CheckUsageError(`cannot read --secret-file ${values['secret-file']}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (!secretKey) throw new CheckUsageError(`--secret-file ${values['secret-file']} is empty`);
  }
  const remoteUrl = target === 'remote' ? (baseUrl ?? env.UPGRADELINK_BASE_URL) : undefined;
  const accessKey = values['access-key'] ?? env.UPGRADELINK_ACCESS_KEY ?? undefined;
  const fixtures = values.fixtures ?? env.CONTRACT_FIXTURES ?? undefined;
  const targetFile = values['target-file'] ?? env.CONTRACT_TARGET_FILE ?? undefined;
  return {
    target,
    ...(remoteUrl ? { baseUrl: remoteUrl } : {}),
    ...(accessKey ? { accessKey } : {}),
    ...(secretKey ? { secretKey } : {}),
    ...(fixtures ? { fixtures } : {}),
    ...(targetFile ? { targetFile } : {}),
    faults: [...(values.fault ?? []), ...(env.CONTRACT_FAULTS ?? '').split(',')].map((f) => f.trim()).filter(Boolean),
    prism,
    ...(runtime ? { runtime } : {}),
    reportDir: values['report-dir'] ?? env.CONTRACT_REPORT_DIR ?? 'reports',
    failOn,
    ...(values.baseline ? { baseline: values.baseline } : {}),
    updateBaseline: values['update-baseline'] ?? false,
    rules: values.rule ?? [],
    allow,
    requestTimeoutSeconds: timeout,
    verbose: values.verbose ?? false,
  };
}

/** Runs `check`; returns the exit code (2 for bad input, with one line naming what is wrong). */
export async function runCheck(argv: string[], env: Record<string, string | undefined>, io: Io): Promise<number> {
  let options: ContractOptions | 'help';
  try {
    options = checkOptions(argv, env);
  } catch (error) {
    if (error instanceof CheckUsageError) {
      io.error(`upgradelink-contract check: ${error.message}\n${CHECK_USAGE}`);
      return 2;
    }
    throw error;
  }
  if (options === 'help') {
    io.log(CHECK_USAGE);
    return 0;
  }
  try {
    return await runContract(options, io);
  } catch (error) {
    if (error instanceof ContractUsageError || error instanceof FixturesError || error instanceof TargetFileError) {
      io.error(`upgradelink-contract check: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
