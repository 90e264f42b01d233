// Each load scenario, in process against the embedded sandbox: it passes on a correct target, and its
// thresholds fail when the sandbox breaks the rule the scenario guards (a fault switch).
import { describe, expect, it } from 'vitest';
import { readMix } from './mix.ts';
import { runRateLimit, type RateLimitPlan } from './ratelimit.ts';
import { runReplay, type ReplayPlan } from './replay.ts';
import type { ScenarioResult } from './report.ts';
import { openTarget, type Target } from './target.ts';
import { runThroughput, type ThroughputPlan } from './throughput.ts';

async function withSandbox<T>(faults: string[], fn: (target: Target) => Promise<T>): Promise<T> {
  const target = await openTarget({ embedded: true, faults });
  try {
    return await fn(target);
  } finally {
    await target.close();
  }
}

const failedNames = (r: ScenarioResult) => r.thresholds.filter((t) => !t.ok).map((t) => t.name);

const mix = await readMix('load/mix.json');
const throughputPlan: ThroughputPlan = {
  mix,
  mixFile: 'load/mix.json',
  rate: 200,
  durationSeconds: 1,
  connections: 4,
  segment: { start: 0, end: 1, text: '0:1' },
  p99Ms: 250,
  quiet: true,
};
const rateLimitPlan: RateLimitPlan = {
  appKey: 'apk-flow-second-1',
  limit: 1,
  windowSeconds: 1,
  windows: 4,
  perWindow: 10,
  connections: 8,
  path: '/v1/apk/upgrade',
  versionCode: 1,
  mode: 'auto',
  quiet: true,
};
const replayPlan: ReplayPlan = { mix, mixFile: 'load/mix.json', connections: 16, rounds: 2, durationSeconds: 0.5, freshConnections: 4, quiet: true };

describe('load scenarios', () => {
  it('load scenarios > throughput reaches the requested rate against the sandbox', async () => {
    const result = await withSandbox([], (t) => runThroughput(t, throughputPlan));
    expect(result.passed, failedNames(result).join('; ')).toBe(true);
    expect(result.data).toMatchObject({ requestedRate: 200, budget: 200, shortfall: 0 });
    expect(result.data.achievedRatio as number).toBeGreaterThanOrEqual(0.95);
  });

  it('load scenarios > throughput fails on wrong business codes, and on a rate the target cannot take', async () => {
    const wrong = await withSandbox(['latest-code-200'], (t) => runThroughput(t, throughputPlan));
    expect(failedNames(wrong)).toEqual(['business code outside the expected set']);
    // One connection cannot carry 100 000 req/s: the shortfall shows and the 95 % threshold fails.
    const tooFast = await withSandbox([], (t) => runThroughput(t, { ...throughputPlan, rate: 100_000, connections: 1 }));
    expect(failedNames(tooFast)).toContain('achieved rate / requested rate');
    expect(tooFast.data.shortfall as number).toBeGreaterThan(50_000);
  });

  it('load scenarios > ratelimit sees exactly the limit per window, then 429001, then recovery', async () => {
    const result = await withSandbox([], (t) => runRateLimit(t, rateLimitPlan));
    expect(result.passed, failedNames(result).join('; ')).toBe(true);
    const windows = result.data.windows as Array<{ success: number; limited: number; onsetOrdinal: number | null }>;
    expect(windows.map((w) => [w.success, w.limited])).toEqual([
      [1, 9],
      [1, 9],
      [1, 9],
      [1, 9],
    ]);
    for (const w of windows) expect(w.onsetOrdinal).toBeGreaterThanOrEqual(2);
  });

  it('load scenarios > ratelimit fails when the server allows limit + 1 per window', async () => {
    const result = await withSandbox(['flow-limit-off-by-one'], (t) => runRateLimit(t, { ...rateLimitPlan, windows: 2 }));
    expect(result.passed).toBe(false);
    expect(failedNames(result)[0]).toMatch(/windows with exactly 1 code-200 answer\(s\) \(per window: 2, 2\)/);
  });

  it('load scenarios > ratelimit on the wall clock (the staging path) buckets by the server Date header', async () => {
    // No clock control: bursts a quarter into real 1-second windows, counted by the Date header.
    const result = await withSandbox([], (t) => runRateLimit(t, { ...rateLimitPlan, windows: 2, mode: 'wall', appKey: 'apk-flow-second-1' }));
    expect(result.data.mode).toBe('wall');
    expect(result.passed, failedNames(result).join('; ')).toBe(true);
  });

  it('load scenarios > replay: one nonce gets through once; fresh nonces are never rejected', async () => {
    const result = await withSandbox([], (t) => runReplay(t, replayPlan));
    expect(result.passed, failedNames(result).join('; ')).toBe(true);
    expect((result.data.rounds as Array<{ accepted: number; replayRejected: number }>).map((r) => [r.accepted, r.replayRejected])).toEqual([
      [1, 15],
      [1, 15],
    ]);
    expect(result.data.nonces).toMatchObject({ duplicates: 0 });
  });

  it('load scenarios > replay fails when the server forgets nonces', async () => {
    const result = await withSandbox(['forget-nonces'], (t) => runReplay(t, replayPlan));
    expect(failedNames(result)).toEqual(['replay rounds where exactly one of 16 copies got through', 'replayed copies answered 401001']);
  });
});
