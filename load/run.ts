// The one load runner: `npm run load -- <profile|scenario> [flags]` (load:smoke = the smoke profile).
// Profiles and scenarios are data (load/scenarios.ts); executors in load/executors.ts. In order:
//   1. flags checked (any invalid flag or value: exit 2, one line naming it and what is allowed);
//   2. the target: the embedded sandbox, started through harness/ in its own process or container
//      (--runtime), or --base-url / UPGRADELINK_BASE_URL with the credentials from the environment;
//   3. the safety check (load/safety.ts): loopback, or LOAD_CONFIRM_HOST and the remote caps, for the
//      whole run (a distributed run's total rate, not one runner's share);
//   4. one signed probe, as k6's setup() (the target must answer and accept the credentials);
//   5. the scenarios in order, each on a fresh second of the Unix clock; the reports (load/report.ts).
// Exit 0: every threshold passed; 1: a threshold failed; 2: the run was refused or misconfigured.
//
// A runner of a distributed run (a pod of load/k8s/job.yaml, or load:distributed --local N) gets
// JOB_COMPLETION_INDEX, LOAD_SEGMENTS and LOAD_START_AT (or --segment I/N --start-at ISO): it runs
// segment I of N of the rate and the request budget from the shared instant, writes its summary to
// --out, and prints it to stdout as `load-summary k/n <gzip+base64>` lines for `load:merge`.
//
// --runner container hands the run to the load-runner image (harness launcher, testcontainers):
// this process starts the sandbox, checks safety and the credentials, the container generates.
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { chooseLauncher, containerFailure } from '../harness/index.ts';
import { maskSecret } from '../lib/signing/index.ts';
import { FAULT_NAMES } from '../sandbox/faults.ts';
import { arrivalCount, curveSeconds, nextWholeSecond, peakRate, type RateCurve } from './arrival.ts';
import { EXECUTORS, SecondBudget, type ExecContext, type Outcome, type ScenarioPlan } from './executors.ts';
import { DEFAULT_MIX, mixForContainer, readMix } from './mix.ts';
import { reportsToShow, summarize, textSummary, writeRunReports, type RunSummary, type ScenarioResult } from './report.ts';
import { LOCAL_CAPS, REMOTE_CAPS } from './safety.ts';
import {
  judgeScenario,
  PROFILES,
  SCENARIOS,
  type ExecutorName,
  type ProfileDecl,
  type ProfileName,
  type ScenarioInstance,
  type ScenarioName,
  type Stage,
  type ThresholdParams,
} from './scenarios.ts';
import { assertSafe, LoadUsageError, loopbackUrl, openTarget, probe, runCommand, type LoadTarget } from './target.ts';

// ---- flags -------------------------------------------------------------------------------------------

const FLAGS = {
  'base-url': { type: 'string', help: 'URL of the target (default: UPGRADELINK_BASE_URL, else the embedded sandbox)' },
  scenarios: { type: 'string', help: "comma-separated: run only these of the profile's scenarios" },
  rate: { type: 'string', help: 'requests per second (the peak of a ramp); required against a remote target, at most 50' },
  duration: { type: 'string', help: 'seconds (scenarios take their share of it)' },
  connections: { type: 'string', help: 'connections (for an open model: requests in flight at most)' },
  'p99-ms': { type: 'string', help: "the p99 latency threshold in ms (default: the profile's)" },
  mix: { type: 'string', help: `the weighted request mix (default ${DEFAULT_MIX})` },
  out: { type: 'string', help: 'where the reports go (default reports)' },
  runtime: { type: 'string', help: 'where the embedded sandbox runs: container, process or auto (default; UPGRADELINK_RUNTIME)' },
  runner: { type: 'string', help: 'where the load is generated: process (default) or container (the load-runner image)' },
  fault: { type: 'string', multiple: true, help: 'embedded sandbox only: start it with this fault switch (repeatable)' },
  'control-url': { type: 'string', help: "a sandbox given with --base-url: its loopback control listener (clock-stepped rate-limit windows)" },
  'app-key': { type: 'string', help: 'ratelimit: a flow-limited app key (default apk-flow-second-1 of the sandbox)' },
  limit: { type: 'string', help: "ratelimit: the strategy's code-200 answers per window (default 1)" },
  'window-seconds': { type: 'string', help: "ratelimit: the rule's window size in seconds (default 1)" },
  windows: { type: 'string', help: 'ratelimit: windows to measure (at least 2)' },
  'per-window': { type: 'string', help: 'ratelimit: requests per window (more than --limit)' },
  mode: { type: 'string', help: 'ratelimit: auto (default), clock (sandbox clock stepped) or wall' },
  rounds: { type: 'string', help: 'replay: rounds of one nonce' },
  copies: { type: 'string', help: 'replay: copies of the replayed request per round, all at once (at least 2)' },
  segment: { type: 'string', help: 'run segment I of N of the load: I/N (default: JOB_COMPLETION_INDEX / LOAD_SEGMENTS)' },
  'start-at': { type: 'string', help: "a distributed run's shared start instant, ISO 8601 (default: LOAD_START_AT)" },
  quiet: { type: 'boolean', help: 'only the summary' },
  help: { type: 'boolean', help: 'this text' },
} as const;

type FlagName = keyof typeof FLAGS;
type Values = { [K in FlagName]?: (typeof FLAGS)[K]['type'] extends 'boolean' ? boolean : K extends 'fault' ? string[] : string };

export function usage(): string {
  const profiles = Object.entries(PROFILES as Record<string, ProfileDecl>).map(([name, p]) => `  ${name.padEnd(12)} ${p.summary}`);
  const scenarios = Object.entries(SCENARIOS).map(([name, s]) => `  ${name.padEnd(12)} ${s.summary}`);
  const flags = Object.entries(FLAGS).map(([name, f]) => `  --${name.padEnd(16)} ${f.help}`);
  return [
    'usage: npm run load -- <profile|scenario> [flags]      (npm run load:smoke = the smoke profile)',
    '',
    'profiles:',
    ...profiles,
    '',
    'scenarios (each also runs alone: npm run load -- <scenario>):',
    ...scenarios,
    '',
    'flags:',
    ...flags,
  ].join('\n');
}

const knownFlags = () => Object.keys(FLAGS).map((f) => `--${f}`);

/** Parses the arguments; every problem becomes a LoadUsageError of one line. */
export function parseCli(argv: string[]): { target: string | undefined; values: Values } {
  // `--rate -5`: node's parseArgs refuses a value that starts with a dash; read it as the value, so the
  // message can say what is wrong with it.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const flag = arg.startsWith('--') ? (FLAGS as Record<string, { type: string }>)[arg.slice(2)] : undefined;
    if (flag?.type === 'string' && i + 1 < argv.length && argv[i + 1]!.startsWith('-') && !knownFlags().includes(argv[i + 1]!)) {
      args.push(`${arg}=${argv[++i]}`);
    } else args.push(arg);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options: FLAGS, allowPositionals: true, strict: true });
  } catch (error) {
    const e = error as Error & { code?: string };
    const name = /'(--[^' <]+)/.exec(e.message)?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new LoadUsageError(`unknown flag ${name}; the flags are ${knownFlags().join(' ')} (npm run load -- --help)`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /does not take an argument/.test(e.message)) throw new LoadUsageError(`${name} takes no value`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new LoadUsageError(`${name} needs a value: ${FLAGS[name?.slice(2) as FlagName]?.help ?? ''}`);
    throw new LoadUsageError(e.message.split('\n')[0]!);
  }
  const positionals = parsed.positionals;
  if (positionals.length > 1) throw new LoadUsageError(`one profile or scenario at a time; got ${positionals.map((p) => `"${p}"`).join(', ')}`);
  return { target: positionals[0], values: parsed.values as Values };
}

function positiveNumber(flag: string, value: string | undefined, what: string, options: { integer?: boolean; min?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || (options.integer && !Number.isInteger(n)) || (options.min !== undefined && n < options.min)) {
    throw new LoadUsageError(`--${flag} must be ${what}; got "${value}"`);
  }
  return n;
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new LoadUsageError(`--${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}; got "${value}"`);
  return value as T;
}

// ---- what runs -----------------------------------------------------------------------------------------

export interface Segment {
  index: number;
  count: number;
}

/** This segment's share [from, to) of a whole: round(total·i/N) .. round(total·(i+1)/N). */
export function segmentShare(total: number, segment: Segment): { from: number; to: number; share: number } {
  const from = Math.round((total * segment.index) / segment.count);
  const to = Math.round((total * (segment.index + 1)) / segment.count);
  return { from, to, share: to - from };
}

function parseSegment(text: string, source: string): Segment {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!(count >= 1 && count <= 64 && index >= 0 && index < count)) throw new LoadUsageError(`${source} must be INDEX/COUNT with 0 ≤ INDEX < COUNT ≤ 64 (e.g. 0/2); got "${text}"`);
  return { index, count };
}

/** The segment from --segment, or from a Kubernetes Indexed Job's environment. */
function segmentOf(values: Values, env: NodeJS.ProcessEnv): Segment | undefined {
  if (values.segment !== undefined) return parseSegment(values.segment, '--segment');
  const index = env.JOB_COMPLETION_INDEX;
  const count = env.LOAD_SEGMENTS;
  if (index === undefined && count === undefined) return undefined;
  if (index === undefined || count === undefined) throw new LoadUsageError('a distributed runner needs both JOB_COMPLETION_INDEX and LOAD_SEGMENTS (or --segment I/N)');
  return parseSegment(`${index}/${count}`, 'JOB_COMPLETION_INDEX/LOAD_SEGMENTS');
}

export interface ResolvedScenario {
  instance: ScenarioInstance;
  kind: ScenarioName;
  executor: ExecutorName;
  openModel: boolean;
  plan: ScenarioPlan;
  /** For the reports: the plan as the user would read it. */
  planRecord: Record<string, unknown>;
  /** The whole run's peak rate for this scenario (all segments). */
  totalPeakRate: number | null;
  vars: Record<string, string | number>;
}

export interface ResolvedRun {
  name: string;
  profile: string;
  params: ThresholdParams;
  /** Explicit --rate (or a remote target): every scenario is held to it. */
  rate: number | undefined;
  /** What this runner may send in any second: the rate, or its segment's share of it. */
  cap: number | undefined;
  durationSeconds: number;
  connections: number;
  segment: Segment | undefined;
  startAt: number | undefined;
  scenarios: ResolvedScenario[];
}

const scaleCurve = (decl: { startRate?: number; stages?: readonly Stage[] }, instance: Partial<ScenarioInstance>, rate: number, seconds: number): RateCurve => ({
  startRate: (instance.startRate ?? decl.startRate ?? 1) * rate,
  stages: (instance.stages ?? decl.stages ?? [{ duration: 1, target: 1 }]).map((s) => ({ seconds: s.duration * seconds, target: s.target * rate })),
});

/** Profile + flags + target → what this runner runs. Throws LoadUsageError naming the flag. */
export function resolveRun(targetName: string, values: Values, loopback: boolean, env: NodeJS.ProcessEnv = process.env): ResolvedRun {
  const isProfile = targetName in PROFILES;
  if (!isProfile && !(targetName in SCENARIOS)) throw new LoadUsageError(`unknown profile or scenario "${targetName}"; profiles: ${Object.keys(PROFILES).join(', ')}; scenarios: ${Object.keys(SCENARIOS).join(', ')}`);
  const profile: ProfileDecl = isProfile ? PROFILES[targetName as ProfileName] : { ...PROFILES.smoke, scenarios: [{ scenario: targetName as ScenarioName }] };
  const remoteNote = loopback ? '' : ' against a remote target';
  const rateGiven = positiveNumber('rate', values.rate, `a positive number of requests per second (at most ${REMOTE_CAPS.maxRate} against a remote target)`);
  if (rateGiven !== undefined && !loopback && rateGiven > REMOTE_CAPS.maxRate) {
    throw new LoadUsageError(`--rate must be a positive number of requests per second (at most ${REMOTE_CAPS.maxRate} against a remote target); got "${values.rate}"`);
  }
  const maxDuration = loopback ? LOCAL_CAPS.maxDurationSeconds : REMOTE_CAPS.maxDurationSeconds;
  const durationSeconds =
    positiveNumber('duration', values.duration, `a positive number of seconds (at most ${LOCAL_CAPS.maxDurationSeconds} on loopback, ${REMOTE_CAPS.maxDurationSeconds} against a remote target)`) ?? profile.duration;
  if (durationSeconds > maxDuration) throw new LoadUsageError(`--duration must be a positive number of seconds (at most ${maxDuration}${remoteNote}); got "${values.duration ?? durationSeconds}"`);
  const maxConnections = loopback ? LOCAL_CAPS.maxConnections : REMOTE_CAPS.maxConnections;
  const connections =
    positiveNumber('connections', values.connections, `a positive whole number (at most ${LOCAL_CAPS.maxConnections} on loopback, ${REMOTE_CAPS.maxConnections} against a remote target)`, { integer: true }) ??
    Math.min(profile.connections, maxConnections);
  if (connections > maxConnections) throw new LoadUsageError(`--connections must be a positive whole number (at most ${maxConnections}${remoteNote}); got "${values.connections}"`);
  const p99Ms = positiveNumber('p99-ms', values['p99-ms'], 'a positive number of milliseconds');
  const params: ThresholdParams = { ...profile.thresholds, ...(p99Ms !== undefined ? { p99Ms } : {}) };
  const limit = positiveNumber('limit', values.limit, "a positive whole number (the strategy's code-200 answers per window)", { integer: true }) ?? 1;
  const windowSeconds = positiveNumber('window-seconds', values['window-seconds'], 'a positive whole number of seconds (the flow-limit rule: 1, 60, 3600 or 86400)', { integer: true }) ?? 1;
  const windowsFlag = positiveNumber('windows', values.windows, 'a whole number of windows, at least 2', { integer: true, min: 2 });
  const perWindowFlag = positiveNumber('per-window', values['per-window'], 'a whole number of requests per window, more than --limit', { integer: true, min: limit + 1 });
  const mode = oneOf('mode', values.mode, ['auto', 'clock', 'wall'] as const) ?? 'auto';
  const roundsFlag = positiveNumber('rounds', values.rounds, 'a positive whole number of replay rounds', { integer: true });
  const copiesFlag = positiveNumber('copies', values.copies, 'a whole number of copies, at least 2', { integer: true, min: 2 });
  oneOf('runner', values.runner, ['process', 'container'] as const);
  for (const fault of values.fault ?? []) {
    if (!(FAULT_NAMES as string[]).includes(fault)) throw new LoadUsageError(`--fault must name a sandbox fault switch (npm run sandbox -- --list-faults); got "${fault}"`);
  }
  const segment = segmentOf(values, env);
  let startAt: number | undefined;
  const startText = values['start-at'] ?? env.LOAD_START_AT;
  if (startText !== undefined) {
    const parsed = Date.parse(startText);
    if (!/^\d{4}-\d\d-\d\dT/.test(startText) || Number.isNaN(parsed)) throw new LoadUsageError(`--start-at (LOAD_START_AT) must be an ISO 8601 instant such as 2030-01-01T12:00:00Z; got "${startText}"`);
    startAt = Math.ceil(parsed / 1000) * 1000;
  }
  if (segment && startAt === undefined) throw new LoadUsageError('a distributed runner needs the shared start instant: --start-at or LOAD_START_AT (ISO 8601)');

  // Which scenarios: the profile's, or those --scenarios names (a remote target skips ratelimit unless named).
  const available = profile.scenarios.map((s) => s.scenario as string);
  let instances = [...profile.scenarios];
  if (values.scenarios !== undefined) {
    const wanted = values.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = wanted.filter((w) => !available.includes(w));
    if (wanted.length === 0 || unknown.length) throw new LoadUsageError(`--scenarios must list scenarios of ${targetName} (${available.join(', ')}); got "${values.scenarios}"`);
    instances = instances.filter((i) => wanted.includes(i.scenario));
  } else if (!loopback) {
    // It uses up a flow quota that every client of the strategy shares: only when asked for.
    instances = instances.filter((i) => i.scenario !== 'ratelimit');
  }

  const rate = rateGiven;
  const baseRate = rate ?? profile.rate;
  if (segment && rate !== undefined && !Number.isInteger(rate)) throw new LoadUsageError(`--rate must be a whole number of requests per second in a distributed run (shares are whole numbers); got "${values.rate}"`);
  const segmentRate = segment ? segmentShare(baseRate, segment) : undefined;
  if (segmentRate && segmentRate.share === 0) throw new LoadUsageError(`--rate ${baseRate} over ${segment!.count} runners leaves runner ${segment!.index} nothing to send; raise --rate or use fewer runners`);
  const fraction = segmentRate ? segmentRate.share / baseRate : 1;
  const runnerConnections = segment ? Math.max(1, segmentShare(connections, segment).share) : connections;
  const cap = rate === undefined ? undefined : segmentRate ? segmentRate.share : rate;

  let offset = 0;
  const scenarios: ResolvedScenario[] = instances.map((instance) => {
    const decl = SCENARIOS[instance.scenario];
    const seconds = durationSeconds * (instance.duration ?? 1);
    let executor: ExecutorName = decl.executor;
    if (executor === 'closed' && rate !== undefined) executor = 'arrival'; // at --rate: the open model
    if (segment && (executor === 'ratelimit-windows' || executor === 'replay')) {
      throw new LoadUsageError(
        `--scenarios: ${instance.scenario} cannot be split over runners (its exact counts per nonce or window need one runner); run it with npm run load, or pick arrival-rate scenarios`,
      );
    }
    const openModel = executor === 'arrival' || (executor === 'replay' && rate !== undefined);
    const base: ScenarioPlan = { name: instance.scenario, durationSeconds: seconds, connections: runnerConnections };
    const planRecord: Record<string, unknown> = { durationSeconds: Number(seconds.toFixed(3)), connections: runnerConnections };
    let totalPeakRate: number | null = null;
    const vars: Record<string, string | number> = {};
    if (openModel) {
      const whole = executor === 'replay' ? scaleCurve({}, {}, rate!, seconds) : scaleCurve(decl as { startRate?: number; stages?: readonly Stage[] }, instance, baseRate, seconds);
      const total = arrivalCount(whole);
      // Segment i takes the fraction [round(R·i/N), round(R·(i+1)/N)) / R of the budget too, rounded at
      // the boundaries: the budgets add up to the whole, and for a constant rate over whole seconds each
      // is exactly its rate share × the duration.
      const budget = segmentRate ? Math.round((total * segmentRate.to) / baseRate) - Math.round((total * segmentRate.from) / baseRate) : total;
      const curve: RateCurve = { startRate: whole.startRate * fraction, stages: whole.stages.map((s) => ({ seconds: s.seconds, target: s.target * fraction })) };
      base.curve = curve;
      base.budget = budget;
      base.mixOffset = segmentRate ? Math.round((total * segmentRate.from) / baseRate) : 0;
      totalPeakRate = peakRate(whole);
      Object.assign(planRecord, {
        rate: baseRate,
        peakRate: Number(peakRate(curve).toFixed(3)),
        totalPeakRate: Number(totalPeakRate.toFixed(3)),
        budget,
        totalBudget: total,
        stages: curve.stages.map((s) => ({ seconds: Number(s.seconds.toFixed(3)), target: Number(s.target.toFixed(3)) })),
        startRate: Number(curve.startRate.toFixed(3)),
      });
    }
    if (segment) {
      base.startAt = startAt! + offset;
      planRecord.segment = `${segment.index}/${segment.count}`;
      planRecord.startAt = new Date(base.startAt).toISOString();
      offset += (Math.ceil(base.curve ? curveSeconds(base.curve) : seconds) + 1) * 1000;
    }
    if (executor === 'ratelimit-windows') {
      let perWindow = perWindowFlag ?? Math.max(10, 3 * limit);
      if (cap !== undefined && perWindow > cap) {
        if (perWindowFlag !== undefined || cap <= limit) {
          throw new LoadUsageError(`--rate must be at least the rate-limit burst: ${perWindow} requests per window go out within one second (--per-window, more than --limit ${limit}); got "${values.rate}"`);
        }
        perWindow = Math.floor(cap);
      }
      base.rateLimit = { appKey: values['app-key'] ?? 'apk-flow-second-1', limit, windowSeconds, windows: windowsFlag ?? instance.windows ?? 5, perWindow, path: '/v1/apk/upgrade', versionCode: 1, mode };
      vars.limit = limit;
      delete planRecord.durationSeconds; // the windows set the time, not --duration
      Object.assign(planRecord, { appKey: base.rateLimit.appKey, limit, windowSeconds, windows: base.rateLimit.windows, perWindow, mode });
    }
    if (executor === 'replay') {
      let copies = copiesFlag ?? (loopback ? 16 : Math.max(2, connections));
      if (cap !== undefined && copies > cap) {
        if (copiesFlag !== undefined || cap < 2) throw new LoadUsageError(`--rate must be at least the replay burst: ${copies} copies go out at once (--copies); got "${values.rate}"`);
        copies = Math.floor(cap);
      }
      base.replay = { rounds: roundsFlag ?? instance.rounds ?? 3, copies };
      Object.assign(planRecord, { rounds: base.replay.rounds, copies, freshRate: rate ?? 'closed model' });
    }
    return { instance, kind: instance.scenario, executor, openModel, plan: base, planRecord, totalPeakRate, vars };
  });
  if (scenarios.length === 0) throw new LoadUsageError(`--scenarios: nothing to run against a remote target (ratelimit runs there only when --scenarios names it)`);
  return {
    name: `load:${targetName}`,
    profile: targetName,
    params,
    rate,
    cap,
    durationSeconds,
    connections,
    segment,
    startAt,
    scenarios,
  };
}

/** Builds a scenario's result: measured + executor figures, thresholds evaluated. */
export function scenarioResult(run: Pick<ResolvedRun, 'params'>, s: ResolvedScenario, outcome: Outcome, target: string): ScenarioResult {
  const peak = s.openModel && s.plan.curve ? peakRate(s.plan.curve) : null;
  const { figures, thresholds, passed } = judgeScenario(s.kind, outcome.measured, peak, outcome.figures, run.params, { openModel: s.openModel, wallClock: outcome.wallClock ?? false }, s.vars);
  return {
    scenario: s.instance.scenario,
    kind: s.kind,
    title: SCENARIOS[s.kind].title,
    executor: s.executor,
    openModel: s.openModel,
    wallClock: outcome.wallClock ?? false,
    target,
    startedAt: new Date(outcome.startedAt).toISOString(),
    wallSeconds: outcome.wallSeconds,
    plan: s.planRecord,
    params: run.params,
    vars: s.vars,
    measured: outcome.measured,
    figures,
    executorFigures: outcome.figures,
    thresholds,
    passed,
    tables: outcome.tables,
    data: outcome.data,
  };
}

// ---- the summary on stdout (distributed runners) ---------------------------------------------------------

const BLOCK_CHUNK = 3000;

/** The summary as `load-summary k/n <chunk>` lines: gzip, base64, in chunks that survive any log pipeline. */
export function summaryBlock(summary: RunSummary): string[] {
  const encoded = gzipSync(Buffer.from(JSON.stringify(summary))).toString('base64');
  const chunks = Math.max(1, Math.ceil(encoded.length / BLOCK_CHUNK));
  return Array.from({ length: chunks }, (_, i) => `load-summary ${i + 1}/${chunks} ${encoded.slice(i * BLOCK_CHUNK, (i + 1) * BLOCK_CHUNK)}`);
}

// ---- the run --------------------------------------------------------------------------------------------

async function inRunnerContainer(target: LoadTarget, argv: string[], values: Values, out: string): Promise<number> {
  // The same arguments, minus what only this process uses, pointed at the target it started.
  const dropWithValue = new Set(['--runner', '--runtime', '--out', '--base-url', '--control-url', '--fault', '--mix']);
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.split('=')[0]!;
    if (dropWithValue.has(name)) {
      if (!arg.includes('=')) i++;
      continue;
    }
    args.push(arg);
  }
  args.push('--base-url', target.baseUrl);
  if (target.controlUrl) args.push('--control-url', target.controlUrl);
  const { files, args: mixArgs } = mixForContainer(values.mix);
  args.push(...mixArgs);
  const env: Record<string, string> = {
    UPGRADELINK_ACCESS_KEY: target.accessKey,
    UPGRADELINK_SECRET_KEY: target.secretKey,
    LOAD_TARGET_LABEL: `${target.label} (load generated in a runner container)`,
  };
  if (process.env.LOAD_CONFIRM_HOST) env.LOAD_CONFIRM_HOST = process.env.LOAD_CONFIRM_HOST;
  console.log(`load: generating from a runner container against ${target.label}`);
  let result;
  try {
    const launcher = await chooseLauncher({ choice: 'container', needs: { loadRunner: true } });
    result = await launcher.runLoadRunner({ args, out, env, files, secret: target.secretKey, onOutput: (text) => process.stdout.write(text) });
  } catch (error) {
    throw new LoadUsageError(`--runner container: ${containerFailure(error).split('\n')[0]}; or use --runner process`);
  }
  console.log(`load: runner container ${result.image} exited ${result.exitCode}; its reports are in ${out}/`);
  if (result.exitCode > 1) throw new Error(`the runner container exited ${result.exitCode}; see ${out}/load-runner.log`);
  return result.exitCode;
}

export async function main(argv: string[], defaultTarget?: string): Promise<number> {
  const { target: named, values } = parseCli(argv);
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const targetName = named ?? defaultTarget;
  if (targetName === undefined) throw new LoadUsageError(`name a profile: npm run load -- <${Object.keys(PROFILES).join('|')}> [flags] (npm run load -- --help)`);
  oneOf('runtime', values.runtime, ['container', 'process', 'auto'] as const);
  const runner = oneOf('runner', values.runner, ['process', 'container'] as const) ?? 'process';
  // Everything about the flags is checked before anything starts (loopback assumed when no URL is given).
  const givenUrl = values['base-url'] ?? process.env.UPGRADELINK_BASE_URL;
  resolveRun(targetName, values, givenUrl === undefined || loopbackUrl(givenUrl));
  const mixFile = values.mix ?? DEFAULT_MIX;
  const mix = await readMix(mixFile);
  const out = values.out ?? 'reports';
  const log = values.quiet ? () => {} : (line: string) => console.log(line);
  const startedAt = Date.now();
  const target = await openTarget({ baseUrl: values['base-url'], runtime: values.runtime, logDir: out, faults: values.fault ?? [], ...(values['control-url'] ? { controlUrl: values['control-url'] } : {}) });
  try {
    const run = resolveRun(targetName, values, target.loopback);
    const confirmHost = process.env.LOAD_CONFIRM_HOST;
    const longest = Math.max(...run.scenarios.map((s) => (s.plan.curve ? curveSeconds(s.plan.curve) : s.plan.durationSeconds)));
    const bursts = Math.max(0, ...run.scenarios.map((s) => s.plan.replay?.copies ?? 0));
    // The caps hold for the whole run: a distributed run's total rate and connections, not one runner's.
    assertSafe({ baseUrl: target.baseUrl, durationSeconds: longest, connections: Math.max(run.connections, bursts, run.segment?.count ?? 1), rate: run.rate, confirmHost });
    if (runner === 'container') return await inRunnerContainer(target, argv, values, out);

    const budget = new SecondBudget(run.cap);
    await budget.take(1);
    await probe(target, mix[0]!.path, JSON.stringify(mix[0]!.body));
    const where = run.segment ? ` as runner ${run.segment.index} of ${run.segment.count} from ${new Date(run.startAt!).toISOString()}` : '';
    log(`${run.name}: ${run.scenarios.map((s) => s.instance.scenario).join(', ')} against ${target.label}${where}`);
    const ctx: ExecContext = { target, mix, budget, timeoutMs: 10_000, log };
    const results: ScenarioResult[] = [];
    for (const s of run.scenarios) {
      const rateText = s.plan.curve ? `${Number(peakRate(s.plan.curve).toFixed(2))} req/s peak, budget ${s.plan.budget}` : s.executor === 'closed' ? 'closed model, unthrottled' : '';
      if (s.executor !== 'ratelimit-windows') {
        log(`${s.instance.scenario}: ${s.executor}, ${Number(s.plan.durationSeconds.toFixed(2))}s, ${s.plan.connections} connections${rateText ? `, ${rateText}` : ''}`);
      }
      const outcome = await EXECUTORS[s.executor](ctx, s.plan);
      results.push(scenarioResult(run, s, outcome, target.label));
    }
    const summary = summarize(run.name, run.profile, results, startedAt, 1, run.segment ? { segment: { ...run.segment, startAt: new Date(run.startAt!).toISOString() } } : {});
    const written = await writeRunReports(out, summary, target.secretKey);
    console.log(maskSecret(textSummary(results, run.name).join('\n'), target.secretKey));
    console.log(`${run.name}: ${summary.requests.total} requests sent (${summary.requests.probe} probe); reports ${reportsToShow(written).join(', ')}`);
    if (run.segment) for (const line of summaryBlock(summary)) console.log(line);
    const hold = Number(process.env.LOAD_HOLD_SECONDS ?? 0);
    if (run.segment && hold > 0) {
      // Keeps a pod alive so that `kubectl cp` can fetch --out (an emptyDir); bounded.
      log(`${run.name}: holding ${Math.min(hold, 600)} s for kubectl cp`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(hold, 600) * 1000));
    }
    return summary.passed ? 0 : 1;
  } finally {
    await target.close();
  }
}

/** The `load` command: exit 0 / 1 from main, 2 with one line on a usage problem, 3 on anything else. */
export const cli = (name: string, argv: string[], defaultTarget?: string): Promise<never> => runCommand(name, () => main(argv, defaultTarget));

const entry = process.argv[1] ?? '';
if (/[/\\]run\.(ts|mjs|js)$/.test(entry)) await cli('load', process.argv.slice(2));
