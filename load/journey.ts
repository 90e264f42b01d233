// Scenario `journey`: the weighted check-for-update mix (load/mix.json), signed per request, for a
// fixed time, unthrottled on loopback or at --rate. The first part of `npm run load:smoke`.
import { runLoad, sortedCodes } from './engine.ts';
import { MixTraffic, type MixEntry } from './mix.ts';
import { failedRate, mustBeZero, endpointTable, scenarioResult, type ScenarioResult, type Threshold } from './report.ts';
import type { Target } from './target.ts';

export interface JourneyPlan {
  mix: MixEntry[];
  mixFile: string;
  durationSeconds: number;
  connections: number;
  rate?: number;
  p99Ms: number;
  /** Minimum requests for the run to count (default 100). */
  minRequests?: number;
  quiet?: boolean;
}

export async function runJourney(target: Target, plan: JourneyPlan): Promise<ScenarioResult> {
  const traffic = new MixTraffic(plan.mix, target);
  if (!plan.quiet) {
    console.log(
      `journey: ${plan.durationSeconds}s, ${plan.connections} connections${plan.rate ? `, ${plan.rate} req/s` : ', unthrottled'} against ${target.label}`,
    );
  }
  const outcome = await runLoad({
    url: target.baseUrl,
    connections: plan.connections,
    durationSeconds: plan.durationSeconds,
    ...(plan.rate ? { overallRate: plan.rate } : {}),
    maxRequests: 2_000_000,
    next: () => traffic.next(),
    onResponse: (tag, _status, body) => traffic.record(tag, body),
    ...(plan.quiet ? {} : { onSecond: (s: number, n: number) => console.log(`  ${String(s).padStart(3)}s  ${String(n).padStart(6)} answers`) }),
  });
  const total = outcome.answered;
  const failed = outcome.non2xx + outcome.errors + outcome.timeouts;
  const rps = total / Math.max(outcome.wallSeconds, 1e-9);
  const minRequests = plan.minRequests ?? 100;
  const thresholds: Threshold[] = [
    { name: 'p99 latency (ms)', limit: `< ${plan.p99Ms}`, actual: outcome.latencyMs.p99, ok: outcome.latencyMs.p99 < plan.p99Ms },
    failedRate(total, failed),
    mustBeZero('rejected for signature, nonce or timestamp', traffic.signingRejections),
    mustBeZero('business code outside the expected set', traffic.unexpected),
    mustBeZero('responses that are not a JSON envelope', traffic.unparsable),
    { name: 'requests completed', limit: `>= ${minRequests}`, actual: total, ok: total >= minRequests },
  ];
  const endpoints = traffic.endpoints();
  const codes = sortedCodes(traffic.codes);
  return scenarioResult({
    scenario: 'journey',
    title: 'Check-for-update journey (weighted mix)',
    target: target.label,
    startedAt: new Date(outcome.startedAt).toISOString(),
    wallSeconds: outcome.wallSeconds,
    plan: { durationSeconds: plan.durationSeconds, connections: plan.connections, rate: plan.rate ?? null, mix: plan.mixFile },
    metrics: {
      requests: total,
      'req/s': rps,
      'p50 ms': outcome.latencyMs.p50,
      'p99 ms': outcome.latencyMs.p99,
      'max ms': outcome.latencyMs.max,
      'business codes': Object.entries(codes)
        .map(([c, n]) => `${c}: ${n}`)
        .join(', '),
    },
    tables: [
      endpointTable(endpoints),
    ],
    thresholds,
    data: {
      requests: total,
      rps,
      latencyMs: { p50: outcome.latencyMs.p50, p90: outcome.latencyMs.p90, p99: outcome.latencyMs.p99, max: outcome.latencyMs.max },
      codes,
      endpoints,
    },
  });
}
