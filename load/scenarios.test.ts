// The declaration itself: every profile names declared scenarios, every threshold reads a declared
// figure and can fail, stages cover the whole duration, and every profile resolves within the caps,
// on loopback and against a remote target (where ratelimit runs only when named).
import { describe, expect, it } from 'vitest';
import { curveSeconds } from './arrival.ts';
import { resolveRun } from './run.ts';
import { evaluateThresholds, FIGURES, PROFILES, SCENARIOS, type FigureName, type Figures, type ScenarioDecl, type ThresholdDecl } from './scenarios.ts';

const params = { p99Ms: 100, maxFailedRatio: 0.01, minAchievedRatio: 0.95, minAnswered: 100, maxP99GrowthMs: 50 };

/** Figures that pass a threshold, and a change of its own figure that makes it fail. */
function passingAndFailing(d: ThresholdDecl): { pass: Figures; fail: Figures } {
  const limit = typeof d.limit === 'number' ? d.limit : d.limit.startsWith('param:') ? params[d.limit.slice(6) as keyof typeof params] : 10;
  const base: Figures = {};
  if (typeof d.limit === 'string' && d.limit.startsWith('figure:')) base[d.limit.slice(7) as FigureName] = limit;
  const step = d.percent || limit < 1 ? 0.001 : 1;
  const ok = d.op === '<' ? limit - step : d.op === '>' ? limit + step : limit;
  const bad = d.op === '<' || d.op === '<=' ? limit + step : d.op === '>' || d.op === '>=' ? limit - step : limit + 1;
  return { pass: { ...base, [d.figure]: ok }, fail: { ...base, [d.figure]: bad } };
}

describe('load scenarios > the declaration', () => {
  it('load scenarios > every profile names declared scenarios; every stage list covers the whole duration', () => {
    for (const [name, profile] of Object.entries(PROFILES)) {
      expect(profile.scenarios.length, name).toBeGreaterThan(0);
      for (const instance of profile.scenarios) {
        expect(Object.keys(SCENARIOS), name).toContain(instance.scenario);
        const stages = ('stages' in instance ? instance.stages : undefined) ?? (SCENARIOS[instance.scenario] as ScenarioDecl).stages;
        if (stages) expect(stages.reduce((n, s) => n + s.duration, 0), `${name}/${instance.scenario}`).toBeCloseTo(1, 9);
      }
    }
  });

  it('load scenarios > every threshold reads a declared figure, passes inside its limit and fails outside it', () => {
    let checked = 0;
    for (const [name, decl] of Object.entries(SCENARIOS) as Array<[string, ScenarioDecl]>) {
      for (const t of decl.thresholds) {
        expect(Object.keys(FIGURES), `${name}: ${t.name}`).toContain(t.figure);
        if (typeof t.limit === 'string' && t.limit.startsWith('figure:')) expect(Object.keys(FIGURES)).toContain(t.limit.slice(7));
        const applies = { openModel: t.when !== 'closed-model', wallClock: t.when === 'wall-clock' };
        const { pass, fail } = passingAndFailing(t);
        const [ok] = evaluateThresholds([t], pass, params, applies);
        const [broken] = evaluateThresholds([t], fail, params, applies);
        expect(ok!.ok, `${name}: ${t.name} with ${JSON.stringify(pass)}`).toBe(true);
        expect(broken!.ok, `${name}: ${t.name} with ${JSON.stringify(fail)}`).toBe(false);
        expect(evaluateThresholds([t], {}, params, applies)[0]!.ok, `${name}: ${t.name} without its figure`).toBe(false);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('load scenarios > every profile resolves within the caps, on loopback and against a remote target at 50 req/s', () => {
    for (const name of Object.keys(PROFILES)) {
      const local = resolveRun(name, {}, true, {});
      for (const s of local.scenarios) if (s.plan.curve) expect(curveSeconds(s.plan.curve), `${name}/${s.instance.scenario}`).toBeCloseTo(s.plan.durationSeconds, 6);
      const remote = resolveRun(name, { rate: '50', duration: '60' }, false, {});
      expect(remote.scenarios.map((s) => s.kind), name).not.toContain('ratelimit');
      for (const s of remote.scenarios) {
        expect(s.executor, `${name}/${s.kind}`).not.toBe('closed'); // a remote target is never loaded closed-model
        expect(s.plan.connections).toBeLessThanOrEqual(10);
        if (s.plan.curve) expect(Math.max(s.plan.curve.startRate, ...s.plan.curve.stages.map((x) => x.target))).toBeLessThanOrEqual(50);
      }
    }
    expect(resolveRun('smoke', { rate: '50', scenarios: 'ratelimit' }, false, {}).scenarios.map((s) => s.kind)).toEqual(['ratelimit']);
  });

  it('load scenarios > a segment takes its share of the rate and of the budget; the shares add up', () => {
    const shares = [0, 1, 2].map((index) => resolveRun('throughput', { rate: '50', duration: '4' }, true, { JOB_COMPLETION_INDEX: String(index), LOAD_SEGMENTS: '3', LOAD_START_AT: '2030-01-01T00:00:00Z' }).scenarios[0]!);
    expect(shares.map((s) => s.plan.curve!.stages[0]!.target)).toEqual([17, 16, 17]);
    expect(shares.map((s) => s.plan.budget)).toEqual([68, 64, 68]);
    expect(shares.map((s) => s.plan.mixOffset)).toEqual([0, 68, 132]);
    expect(shares.map((s) => s.plan.startAt)).toEqual([Date.UTC(2030, 0, 1), Date.UTC(2030, 0, 1), Date.UTC(2030, 0, 1)]);
  });
});
