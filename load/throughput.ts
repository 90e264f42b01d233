// Scenario `throughput`: the journey mix at a constant requested rate (autocannon `overallRate`) for
// a fixed time, bounded by a request budget of rate × duration. Reports the achieved rate against
// the requested one and the shortfall: requests that were due but not sent in time (k6's "dropped
// iterations"; autocannon's per-second quota model, see load/engine.ts). Threshold: achieved ≥ 95 %.
//
// `--segment a:b` runs only that share of the load, like a k6 execution segment: rate and budget are
// cut so that the segments of one split add up exactly (load/split.ts runs 0:1/2 and 1/2:1).
//
//   npm run load:throughput -- --rate 500 --duration 10
//   npm run load:throughput -- --rate 40 --duration 60 --segment 0:1/2   # this machine's half, staging
import { parseArgs } from 'node:util';
import { cliMain, finishRun, isMain, numberOption, TARGET_CLI_OPTIONS, targetRequest } from './cli.ts';
import { runLoad, sortedCodes } from './engine.ts';
import { DEFAULT_MIX, MixTraffic, readMix, type MixEntry } from './mix.ts';
import { failedRate, mustBeZero, endpointTable, scenarioResult, type ScenarioResult, type Threshold } from './report.ts';
import { assertSafe, LoadUsageError, openTarget, probe, type Target } from './target.ts';

/** A share [start, end) of the load, as fractions of 1. */
export interface Segment {
  start: number;
  end: number;
  text: string;
}

function fraction(text: string): number {
  const m = /^(\d+)(?:\/(\d+))?$|^(\d*\.\d+)$/.exec(text.trim());
  if (!m) return Number.NaN;
  if (m[3] !== undefined) return Number(m[3]);
  return m[2] === undefined ? Number(m[1]) : Number(m[1]) / Number(m[2]);
}

/** Parses `a:b` (fractions like 0, 1/2, 1, 0.25), k6 execution-segment style. */
export function parseSegment(text: string): Segment {
  const parts = text.split(':');
  const [start, end] = parts.length === 2 ? [fraction(parts[0]!), fraction(parts[1]!)] : [Number.NaN, Number.NaN];
  if (!(start >= 0 && end <= 1 && start < end)) {
    throw new LoadUsageError(`--segment must be "start:end" with 0 ≤ start < end ≤ 1 (e.g. 0:1/2, 1/2:1), got "${text}"`);
  }
  return { start, end, text };
}

/** This segment's integer share of a total, so that the shares of a split sum to the total exactly. */
export function share(total: number, segment: Segment): number {
  return Math.round(total * segment.end) - Math.round(total * segment.start);
}

export interface ThroughputPlan {
  mix: MixEntry[];
  mixFile: string;
  /** The whole run's rate and budget; this process takes `segment` of them. */
  rate: number;
  durationSeconds: number;
  connections: number;
  segment: Segment;
  p99Ms: number;
  quiet?: boolean;
}

export interface ThroughputFigures {
  segment: string;
  requestedRate: number;
  achievedRate: number;
  achievedRatio: number;
  budget: number;
  sent: number;
  answered: number;
  /** Due within the run but not sent in time. */
  shortfall: number;
  durationSeconds: number;
  wallSeconds: number;
  connections: number;
}

export async function runThroughput(target: Target, plan: ThroughputPlan): Promise<ScenarioResult> {
  const totalBudget = Math.round(plan.rate * plan.durationSeconds);
  const rate = share(plan.rate, plan.segment);
  const budget = share(totalBudget, plan.segment);
  if (rate < 1 || budget < 1) throw new LoadUsageError(`segment ${plan.segment.text} of ${plan.rate} req/s gets no requests; raise --rate`);
  const connections = Math.max(1, Math.min(Math.round(plan.connections * (plan.segment.end - plan.segment.start)) || 1, rate));
  // Start the weighted cycle where this segment's share of the requests begins.
  const traffic = new MixTraffic(plan.mix, target, Math.round(totalBudget * plan.segment.start));
  if (!plan.quiet) {
    console.log(
      `throughput: ${rate} req/s for ${plan.durationSeconds}s (budget ${budget}${plan.segment.text === '0:1' ? '' : `, segment ${plan.segment.text} of ${plan.rate} req/s`}), ` +
        `${connections} connections against ${target.label}`,
    );
  }
  const outcome = await runLoad({
    url: target.baseUrl,
    connections,
    durationSeconds: plan.durationSeconds,
    overallRate: rate,
    maxRequests: budget,
    next: () => traffic.next(),
    onResponse: (tag, _status, body) => traffic.record(tag, body),
    ...(plan.quiet ? {} : { onSecond: (s: number, n: number) => console.log(`  ${String(s).padStart(3)}s  ${String(n).padStart(6)} answers`) }),
  });
  // Answers per second of the schedule: autocannon only notices the end on its next 1-second sample,
  // so wall time runs a little over the duration and would understate short runs.
  const achievedRate = outcome.answered / plan.durationSeconds;
  const figures: ThroughputFigures = {
    segment: plan.segment.text,
    requestedRate: rate,
    achievedRate,
    achievedRatio: achievedRate / rate,
    budget,
    sent: outcome.sent,
    answered: outcome.answered,
    shortfall: Math.max(0, budget - outcome.sent),
    durationSeconds: plan.durationSeconds,
    wallSeconds: outcome.wallSeconds,
    connections,
  };
  const failed = outcome.non2xx + outcome.errors + outcome.timeouts;
  const total = outcome.answered;
  const thresholds: Threshold[] = [
    {
      name: 'achieved rate / requested rate',
      limit: '>= 95%',
      actual: `${(figures.achievedRatio * 100).toFixed(1)}%`,
      ok: figures.achievedRatio >= 0.95,
    },
    failedRate(total, failed),
    mustBeZero('rejected for signature, nonce or timestamp', traffic.signingRejections),
    mustBeZero('business code outside the expected set', traffic.unexpected + traffic.unparsable),
    { name: 'p99 latency (ms)', limit: `< ${plan.p99Ms}`, actual: outcome.latencyMs.p99, ok: outcome.latencyMs.p99 < plan.p99Ms },
  ];
  const codes = sortedCodes(traffic.codes);
  return scenarioResult({
    scenario: 'throughput',
    title: 'Throughput at a constant arrival rate',
    target: target.label,
    startedAt: new Date(outcome.startedAt).toISOString(),
    wallSeconds: outcome.wallSeconds,
    plan: {
      rate: plan.rate,
      durationSeconds: plan.durationSeconds,
      connections: plan.connections,
      segment: plan.segment.text,
      mix: plan.mixFile,
    },
    metrics: {
      'requested req/s': rate,
      'achieved req/s': Number(achievedRate.toFixed(2)),
      'achieved / requested': `${(figures.achievedRatio * 100).toFixed(1)}%`,
      'budget (rate × duration)': budget,
      sent: outcome.sent,
      answered: outcome.answered,
      'not sent in time (shortfall)': figures.shortfall,
      'p50 ms': outcome.latencyMs.p50,
      'p99 ms': outcome.latencyMs.p99,
      'max ms': outcome.latencyMs.max,
      'p99 ms, autocannon (coordinated-omission corrected)': outcome.latencyAutocannonMs.p99,
    },
    tables: [
      endpointTable(traffic.endpoints()),
    ],
    thresholds,
    data: { ...figures, latencyMs: outcome.latencyMs, latencyAutocannonMs: outcome.latencyAutocannonMs, codes },
  });
}

export const throughputCliOptions = {
  ...TARGET_CLI_OPTIONS,
  mix: { type: 'string', default: DEFAULT_MIX },
  rate: { type: 'string', default: '200' },
  duration: { type: 'string', default: '5' },
  connections: { type: 'string', default: '8' },
  segment: { type: 'string', default: '0:1' },
  'p99-ms': { type: 'string', default: '100' },
  'out-name': { type: 'string' },
  quiet: { type: 'boolean', default: false },
} as const;

async function main(): Promise<boolean> {
  const { values } = parseArgs({ options: throughputCliOptions });
  const startedAt = Date.now();
  const plan: ThroughputPlan = {
    mix: await readMix(values.mix),
    mixFile: values.mix,
    rate: numberOption('rate', values.rate, { integer: true, min: 1 })!,
    durationSeconds: numberOption('duration', values.duration)!,
    connections: numberOption('connections', values.connections, { integer: true, min: 1 })!,
    segment: parseSegment(values.segment),
    p99Ms: numberOption('p99-ms', values['p99-ms'])!,
    quiet: values.quiet,
  };
  const target = await openTarget(targetRequest(values));
  try {
    // The caps apply to the whole run's rate, not this segment's: a split cannot dodge them.
    assertSafe({ baseUrl: target.baseUrl, durationSeconds: plan.durationSeconds, connections: plan.connections, rate: plan.rate, confirmHost: process.env.LOAD_CONFIRM_HOST });
    await probe(target, plan.mix[0]!.path, JSON.stringify(plan.mix[0]!.body));
    const result = await runThroughput(target, plan);
    return await finishRun({
      run: 'load:throughput',
      results: [result],
      out: values.out,
      startedAt,
      secret: target.secretKey,
      ...(values['out-name'] ? { fileNames: { throughput: [values['out-name']] } } : {}),
    });
  } finally {
    await target.close();
  }
}

if (isMain(import.meta.url, 'throughput')) await cliMain('load:throughput', main);
