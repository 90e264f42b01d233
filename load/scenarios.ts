// The one declaration of the load scenarios and profiles (k6's scenarios and named load profiles).
//
// A scenario is an executor, its parameters and its thresholds. A profile is a named list of scenario
// instances with defaults for the flags and the parameters its thresholds use. Rates and durations in
// here are shares: `target: 1` is the run's --rate, `duration: 0.4` is 40 % of its --duration, so one
// set of flags scales a whole profile. Adding a scenario is one entry in SCENARIOS (and, to run it
// in a profile, one line in PROFILES); load/run.ts reads nothing else.
//
// Executors (load/executors.ts):
//   closed             autocannon, `connections` requests in flight, as fast as the target answers
//                      (loopback only; with --rate the scenario runs open-model at that rate instead)
//   arrival            the open model: arrivals at an exact rate curve (load/arrival.ts)
//   ratelimit-windows  bursts into the windows of a flow-limited strategy, one window at a time
//   replay             one signed request sent by many connections at once, then fresh nonces
//
// A threshold names exactly what it checks, and reads one figure of the scenario (figures() below).
// Its limit is a number, a profile parameter (`param:p99Ms`) or another figure (`figure:windows`).
// `when` declares up front when it applies.
import { p99Between, type Measured } from './metrics.ts';
import { Code } from '../generated/operations.ts';

export type ExecutorName = 'closed' | 'arrival' | 'ratelimit-windows' | 'replay';

/** A stage of a rate curve, in shares: the rate moves linearly to `target` × --rate over `duration` × the scenario's duration. */
export interface Stage {
  duration: number;
  target: number;
}

export type Op = '<' | '<=' | '=' | '>=' | '>';

export interface ThresholdDecl {
  name: string;
  figure: FigureName;
  op: Op;
  limit: number | `param:${keyof ThresholdParams}` | `figure:${FigureName}`;
  /** Shown as a percentage. */
  percent?: boolean;
  when?: 'open-model' | 'closed-model' | 'wall-clock';
}

export interface ScenarioDecl {
  title: string;
  executor: ExecutorName;
  /** What it is for, in one line (the README's table and `load --help`). */
  summary: string;
  /** arrival: the rate curve (shares). Default: constant at --rate. */
  startRate?: number;
  stages?: Stage[];
  thresholds: ThresholdDecl[];
}

/** Parameters the thresholds read; each profile sets them. */
export interface ThresholdParams {
  /** p99 latency limit in ms (--p99-ms). */
  p99Ms: number;
  maxFailedRatio: number;
  /** Answered / due, open model. */
  minAchievedRatio: number;
  /** Answers a closed-model run must get. */
  minAnswered: number;
  /** How far the p99 of the last quarter may exceed the first quarter's (soak). */
  maxP99GrowthMs: number;
}

/** Every figure a threshold may read (computed by figures()). */
export const FIGURES = {
  due: 'arrivals the schedule asked for (open model); requests started (closed model)',
  sent: 'requests written to the target',
  answered: 'answers received',
  dropped: 'due but not sent: every connection busy, or later than the grace',
  failed_ratio: 'failed requests (non-2xx answers, connection errors, timeouts) / requests sent',
  p50_ms: 'median latency, send to last byte',
  p95_ms: 'p95 latency',
  p99_ms: 'p99 latency',
  signing_rejections: `answers ${Code.INVALID_HEADER}, ${Code.AUTH_FAILED} or ${Code.SIGNATURE_FAILED} (the generator signed wrongly)`,
  unexpected_codes: "business codes outside the request's `expect` list",
  not_envelope: 'answers that are not a JSON envelope',
  achieved_ratio: 'answered / due',
  max_sent_in_a_second: 'most requests sent in one second of the Unix clock',
  peak_rate: 'the highest rate the curve asks for (req/s, rounded up)',
  p99_growth_ms: 'p99 of the last quarter of the seconds − p99 of the first quarter',
  windows: 'rate-limit windows measured',
  windows_exact: `windows with exactly \`limit\` code-200 answers and every other answer ${Code.FLOW_LIMITED}`,
  recoveries: `windows with code 200 after a window with ${Code.FLOW_LIMITED}`,
  recoveries_expected: 'windows − 1',
  other_answers: 'rate-limit answers with another code, errors or timeouts',
  strays: 'rate-limit answers outside the window their burst aimed at (wall clock)',
  rounds: 'replay rounds',
  rounds_exactly_one: 'replay rounds where exactly one copy got through',
  replayed_rejected: `replayed copies answered ${Code.AUTH_FAILED}`,
  replayed_expected: 'rounds × (copies − 1)',
  duplicate_nonces: 'nonces generated more than once',
  fresh_failures: 'fresh-nonce answers outside the expected codes, errors or timeouts',
} as const;

export type FigureName = keyof typeof FIGURES;

// ---- thresholds shared by the mix-driven scenarios ------------------------------------------------

const MIX_THRESHOLDS: ThresholdDecl[] = [
  { name: 'p99 latency (ms)', figure: 'p99_ms', op: '<', limit: 'param:p99Ms' },
  { name: 'failed requests (non-2xx, errors, timeouts) / requests sent', figure: 'failed_ratio', op: '<', limit: 'param:maxFailedRatio', percent: true },
  { name: `answers rejected for signature, nonce or timestamp (${Code.INVALID_HEADER}, ${Code.AUTH_FAILED}, ${Code.SIGNATURE_FAILED})`, figure: 'signing_rejections', op: '=', limit: 0 },
  { name: "business codes outside the request's expected set", figure: 'unexpected_codes', op: '=', limit: 0 },
  { name: 'answers that are not a JSON envelope', figure: 'not_envelope', op: '=', limit: 0 },
];

const OPEN_MODEL_THRESHOLDS: ThresholdDecl[] = [
  { name: 'answered / due (achieved rate / requested rate)', figure: 'achieved_ratio', op: '>=', limit: 'param:minAchievedRatio', percent: true, when: 'open-model' },
  { name: 'most requests sent in one second ≤ the peak requested rate', figure: 'max_sent_in_a_second', op: '<=', limit: 'figure:peak_rate', when: 'open-model' },
];

// ---- the scenarios -----------------------------------------------------------------------------------

export const SCENARIOS = {
  journey: {
    title: 'Check-for-update journey (weighted mix)',
    executor: 'closed',
    summary: 'the weighted mix (load/mix.json), closed model on loopback; open model at --rate',
    thresholds: [
      ...MIX_THRESHOLDS,
      { name: 'requests answered', figure: 'answered', op: '>=', limit: 'param:minAnswered', when: 'closed-model' },
      ...OPEN_MODEL_THRESHOLDS,
    ],
  },
  throughput: {
    title: 'Constant arrival rate',
    executor: 'arrival',
    summary: 'the mix at a constant arrival rate: achieved vs requested, dropped arrivals',
    stages: [{ duration: 1, target: 1 }],
    startRate: 1,
    thresholds: [...OPEN_MODEL_THRESHOLDS, ...MIX_THRESHOLDS],
  },
  ramp: {
    title: 'Ramping arrival rate',
    executor: 'arrival',
    summary: 'the mix at a rate ramped through stages (up 10 %, hold 80 %, down 10 % by default)',
    startRate: 0,
    stages: [
      { duration: 0.1, target: 1 },
      { duration: 0.8, target: 1 },
      { duration: 0.1, target: 0 },
    ],
    thresholds: [...OPEN_MODEL_THRESHOLDS, ...MIX_THRESHOLDS],
  },
  spike: {
    title: 'Spike',
    executor: 'arrival',
    summary: 'a tenth of --rate, a sudden rise to --rate, a hold, back down: does it recover?',
    startRate: 0.1,
    stages: [
      { duration: 0.2, target: 0.1 },
      { duration: 0.05, target: 1 },
      { duration: 0.2, target: 1 },
      { duration: 0.05, target: 0.1 },
      { duration: 0.5, target: 0.1 },
    ],
    thresholds: [...OPEN_MODEL_THRESHOLDS, ...MIX_THRESHOLDS],
  },
  soak: {
    title: 'Soak',
    executor: 'arrival',
    summary: 'a constant rate for long: no latency growth from the first quarter to the last',
    startRate: 1,
    stages: [{ duration: 1, target: 1 }],
    thresholds: [
      ...OPEN_MODEL_THRESHOLDS,
      ...MIX_THRESHOLDS,
      { name: 'p99 growth from the first quarter of the run to the last (ms)', figure: 'p99_growth_ms', op: '<', limit: 'param:maxP99GrowthMs' },
    ],
  },
  ratelimit: {
    title: 'Rate limit (flow limit) per window',
    executor: 'ratelimit-windows',
    summary: `bursts into the windows of a flow-limited strategy: exactly \`limit\` code 200 per window, the rest ${Code.FLOW_LIMITED}`,
    thresholds: [
      { name: `windows where exactly {limit} answer(s) were code 200 and every other answer ${Code.FLOW_LIMITED}`, figure: 'windows_exact', op: '=', limit: 'figure:windows' },
      { name: 'recovery: code 200 again in the window after a limited one', figure: 'recoveries', op: '=', limit: 'figure:recoveries_expected' },
      { name: 'answers with another code, errors or timeouts', figure: 'other_answers', op: '=', limit: 0 },
      { name: 'answers outside the window their burst aimed at', figure: 'strays', op: '=', limit: 0, when: 'wall-clock' },
    ],
  },
  replay: {
    title: 'Replay protection under load',
    executor: 'replay',
    summary: 'one signed request sent by many connections at once (exactly one gets through), then fresh nonces',
    thresholds: [
      { name: 'replay rounds where exactly one copy got through', figure: 'rounds_exactly_one', op: '=', limit: 'figure:rounds' },
      { name: `replayed copies answered ${Code.AUTH_FAILED}`, figure: 'replayed_rejected', op: '=', limit: 'figure:replayed_expected' },
      { name: 'fresh-nonce answers rejected for signature, nonce or timestamp', figure: 'signing_rejections', op: '=', limit: 0 },
      { name: 'nonces generated more than once', figure: 'duplicate_nonces', op: '=', limit: 0 },
      { name: 'fresh-nonce answers outside the expected codes, errors or timeouts', figure: 'fresh_failures', op: '=', limit: 0 },
      { name: 'fresh-nonce requests answered', figure: 'answered', op: '>=', limit: 'param:minAnswered', when: 'closed-model' },
      { name: 'fresh-nonce answered / due', figure: 'achieved_ratio', op: '>=', limit: 'param:minAchievedRatio', percent: true, when: 'open-model' },
    ],
  },
} as const satisfies Record<string, ScenarioDecl>;

export type ScenarioName = keyof typeof SCENARIOS;

// ---- the profiles ------------------------------------------------------------------------------------

export interface ScenarioInstance {
  scenario: ScenarioName;
  /** Share of the run's --duration (default 1). */
  duration?: number;
  /** Replaces the scenario's stages (arrival). */
  stages?: Stage[];
  startRate?: number;
  /** ratelimit: windows; replay: rounds. */
  windows?: number;
  rounds?: number;
}

export interface ProfileDecl {
  summary: string;
  /** Flag defaults against the sandbox (a remote target needs --rate, at most 50). */
  rate: number;
  duration: number;
  connections: number;
  thresholds: ThresholdParams;
  scenarios: ScenarioInstance[];
}

const DEFAULT_PARAMS: ThresholdParams = { p99Ms: 100, maxFailedRatio: 0.01, minAchievedRatio: 0.95, minAnswered: 100, maxP99GrowthMs: 50 };

export const PROFILES = {
  smoke: {
    summary: 'every scenario briefly, thresholds on: the CI entry (npm start, npm test, load:smoke)',
    rate: 200,
    duration: 5,
    connections: 8,
    thresholds: DEFAULT_PARAMS,
    scenarios: [
      { scenario: 'journey' },
      { scenario: 'throughput', duration: 0.4 },
      { scenario: 'replay', duration: 0.2, rounds: 2 },
      { scenario: 'ratelimit', windows: 3 },
    ],
  },
  average: {
    summary: 'the expected load: ramp up to --rate, hold, ramp down',
    rate: 300,
    duration: 30,
    connections: 32,
    thresholds: DEFAULT_PARAMS,
    scenarios: [{ scenario: 'ramp' }],
  },
  stress: {
    summary: 'above the expected load: half of --rate, then all of it, held',
    rate: 600,
    duration: 30,
    connections: 64,
    thresholds: { ...DEFAULT_PARAMS, p99Ms: 250, maxFailedRatio: 0.02, minAchievedRatio: 0.9 },
    scenarios: [
      {
        scenario: 'ramp',
        stages: [
          { duration: 0.1, target: 0.5 },
          { duration: 0.3, target: 0.5 },
          { duration: 0.1, target: 1 },
          { duration: 0.4, target: 1 },
          { duration: 0.1, target: 0 },
        ],
      },
    ],
  },
  spike: {
    summary: 'a sudden rise from a tenth of --rate to all of it, and back',
    rate: 600,
    duration: 20,
    connections: 64,
    thresholds: { ...DEFAULT_PARAMS, p99Ms: 500, maxFailedRatio: 0.02, minAchievedRatio: 0.9 },
    scenarios: [{ scenario: 'spike' }],
  },
  soak: {
    summary: 'a steady rate for long (loopback cap 120 s, remote 300 s): latency must not grow',
    rate: 200,
    duration: 110,
    connections: 32,
    thresholds: DEFAULT_PARAMS,
    scenarios: [{ scenario: 'soak' }],
  },
} as const satisfies Record<string, ProfileDecl>;

export type ProfileName = keyof typeof PROFILES;

// ---- evaluating thresholds -------------------------------------------------------------------------

export interface Threshold {
  name: string;
  /** The rule as shown, e.g. `< 100`, `>= 95%`, `= 3`. */
  limit: string;
  actual: number | string;
  ok: boolean;
}

export type Figures = Partial<Record<FigureName, number>>;

/** When each kind of `when` applies. */
export interface Applicability {
  openModel: boolean;
  wallClock: boolean;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** Evaluates a scenario's thresholds on its figures. A figure that is missing fails its threshold. */
export function evaluateThresholds(
  decls: readonly ThresholdDecl[],
  figures: Figures,
  params: ThresholdParams,
  applies: Applicability,
  /** Values for `{name}` placeholders in threshold names (e.g. the rate limit's `limit`). */
  vars: Record<string, string | number> = {},
): Threshold[] {
  const out: Threshold[] = [];
  for (const d of decls) {
    if (d.when === 'open-model' && !applies.openModel) continue;
    if (d.when === 'closed-model' && applies.openModel) continue;
    if (d.when === 'wall-clock' && !applies.wallClock) continue;
    const limit =
      typeof d.limit === 'number'
        ? d.limit
        : d.limit.startsWith('param:')
          ? params[d.limit.slice(6) as keyof ThresholdParams]
          : figures[d.limit.slice(7) as FigureName];
    const actual = figures[d.figure];
    const show = (v: number | undefined) => (v === undefined ? 'missing' : d.percent ? pct(v) : Number.isInteger(v) ? v : Number(v.toFixed(3)));
    let ok = false;
    if (actual !== undefined && limit !== undefined && Number.isFinite(actual)) {
      ok = d.op === '<' ? actual < limit : d.op === '<=' ? actual <= limit : d.op === '=' ? actual === limit : d.op === '>=' ? actual >= limit : actual > limit;
    }
    const name = d.name.replace(/\{(\w+)\}/g, (m, key: string) => (key in vars ? String(vars[key]) : m));
    out.push({ name, limit: `${d.op} ${show(limit)}`, actual: show(actual), ok });
  }
  return out;
}

/**
 * The figures every executor's measurements give (the executor adds its own, which take precedence).
 * A merged run computes them again from the merged measurements: counts summed, percentiles from the
 * merged histograms.
 */
export function baseFigures(measured: Measured, peakRate: number | null): Figures {
  const c = measured.counts;
  const series = measured.series;
  const quarter = Math.max(1, Math.floor(series.length / 4));
  const first = p99Between(series, 0, quarter);
  const last = p99Between(series, series.length - quarter, series.length);
  return {
    due: c.due,
    sent: c.sent,
    answered: c.answered,
    dropped: c.dropped,
    failed_ratio: c.sent ? (c.non2xx + c.errors) / c.sent : 1,
    p50_ms: measured.latency.p50,
    p95_ms: measured.latency.p95,
    p99_ms: measured.latency.p99,
    signing_rejections: c.signingRejections,
    unexpected_codes: c.unexpected,
    not_envelope: c.notEnvelope,
    achieved_ratio: c.due ? c.answered / c.due : 0,
    max_sent_in_a_second: series.reduce((m, s) => Math.max(m, s.sent), 0),
    ...(peakRate !== null ? { peak_rate: Math.ceil(peakRate - 1e-9) } : {}),
    ...(first !== null && last !== null ? { p99_growth_ms: Math.round((last - first) * 1000) / 1000 } : {}),
  };
}

/**
 * Judges a scenario: the figures its measurements give plus its executor's own, and its declared
 * thresholds on them. A run judges each scenario so, and a merged run again from the merged measurements.
 */
export function judgeScenario(
  kind: ScenarioName,
  measured: Measured,
  peakRate: number | null,
  executorFigures: Figures,
  params: ThresholdParams,
  applies: Applicability,
  vars: Record<string, string | number>,
): { figures: Figures; thresholds: Threshold[]; passed: boolean } {
  const figures = { ...baseFigures(measured, peakRate), ...executorFigures };
  const thresholds = evaluateThresholds(SCENARIOS[kind].thresholds, figures, params, applies, vars);
  return { figures, thresholds, passed: thresholds.length > 0 && thresholds.every((t) => t.ok) };
}
