// Scenario `ratelimit`: a flow-limited strategy (REFERENCE.md §6.5) under bursts. In each of
// several windows a burst of --per-window eligible requests goes out over --connections
// connections; a correct server answers exactly `limit` of them with code 200 and the rest with
// 429001, and allows successes again in the next window.
//
// Windows are the server's: index = floor(unix seconds / window size). Two ways to hit them:
//   - clock-stepped (the embedded sandbox, or a sandbox given with --control-url): the sandbox's
//     clock is frozen inside window k for burst k, so the window of every answer is known exactly
//     and wall time does not matter. Timestamps are signed with that frozen clock.
//   - wall clock (staging): each burst is fired a quarter into a window of this machine's clock,
//     and every answer is bucketed by the server's own time, its `Date` header (falling back to
//     the time the answer arrived). An answer outside the window its burst aimed at is counted.
//
// Default: the sandbox app apk-flow-second-1 (dimension 1: per second, limit 1). On staging pass the
// seeded app's --app-key, --limit and --window-seconds. Flow quotas are shared by every client of
// the strategy, so nothing else may use it during the run.
import { parseArgs } from 'node:util';
import { cliMain, finishRun, isMain, numberOption, TARGET_CLI_OPTIONS, targetRequest } from './cli.ts';
import { envelopeCode, increment, runLoad } from './engine.ts';
import { createFastSigner } from './fastsign.ts';
import { mustBeZero, scenarioResult, type ScenarioResult, type Threshold } from './report.ts';
import { assertSafe, LoadUsageError, openTarget, probe, type Target } from './target.ts';

export const FLOW_LIMITED = 429001;
export const SUCCESS = 200;

export interface RateLimitPlan {
  appKey: string;
  limit: number;
  windowSeconds: number;
  windows: number;
  perWindow: number;
  connections: number;
  path: string;
  versionCode: number;
  /** 'auto': clock-stepped when the target's clock can be driven, else wall clock. */
  mode: 'auto' | 'clock' | 'wall';
  quiet?: boolean;
}

export interface WindowStats {
  /** Server window index: floor(unix seconds / window size). */
  index: number;
  windowStart: string;
  sent: number;
  answered: number;
  success: number;
  limited: number;
  other: Record<string, number>;
  /** The first 429001: its position among the window's answers (1-based) and ms after the burst began. */
  onsetOrdinal: number | null;
  onsetMs: number | null;
  /** Code-200 answers that arrived after the window's first 429001 (arrival order across connections is only approximate). */
  successAfterOnset: number;
  /** Answers whose server time fell outside this window (wall-clock mode). */
  strays: number;
}

function waitUntil(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now())));
}

/** The server's time for an answer: its Date header (second resolution) or, failing that, arrival. */
function serverSeconds(headers: Record<string, string | string[]>, receivedAt: number): number {
  const raw = headers.date ?? headers.Date;
  const parsed = typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
  return Math.floor((Number.isNaN(parsed) ? receivedAt : parsed) / 1000);
}

export async function runRateLimit(target: Target, plan: RateLimitPlan): Promise<ScenarioResult> {
  if (plan.perWindow <= plan.limit) throw new LoadUsageError(`--per-window (${plan.perWindow}) must exceed --limit (${plan.limit}) to reach the limit`);
  const mode = plan.mode === 'auto' ? (target.clock ? 'clock' : 'wall') : plan.mode;
  if (mode === 'clock' && !target.clock) throw new LoadUsageError('clock-stepped mode needs the embedded sandbox or --control-url');
  const sizeMs = plan.windowSeconds * 1000;
  const connections = Math.min(plan.connections, plan.perWindow);
  let signingNow = Date.now();
  const signer = createFastSigner({ accessKey: target.accessKey, secretKey: target.secretKey, now: () => (mode === 'clock' ? signingNow : Date.now()) });
  const body = Buffer.from(JSON.stringify({ apkKey: plan.appKey, versionCode: plan.versionCode, appointVersionCode: 0, devModelKey: 'load', devKey: 'load-ratelimit' }));
  const template = signer.template('POST', plan.path, body);
  const startedAt = Date.now();
  if (!plan.quiet) {
    console.log(
      `ratelimit: ${plan.windows} windows of ${plan.windowSeconds}s (${mode === 'clock' ? 'sandbox clock stepped' : 'wall clock'}), ` +
        `${plan.perWindow} requests per window over ${connections} connections, ${plan.appKey} limit ${plan.limit}, against ${target.label}`,
    );
  }
  const windows = new Map<number, WindowStats>();
  const windowOf = (index: number): WindowStats => {
    let w = windows.get(index);
    if (!w) {
      w = {
        index,
        windowStart: new Date(index * sizeMs).toISOString(),
        sent: 0,
        answered: 0,
        success: 0,
        limited: 0,
        other: {},
        onsetOrdinal: null,
        onsetMs: null,
        successAfterOnset: 0,
        strays: 0,
      };
      windows.set(index, w);
    }
    return w;
  };
  const aimed: number[] = [];
  let errors = 0;
  try {
    // Clock mode starts at the next window of real time: a fresh counter, and timestamps near now.
    let index = Math.floor(Date.now() / sizeMs) + 1;
    for (let k = 0; k < plan.windows; k++) {
      if (mode === 'clock') {
        signingNow = index * sizeMs + Math.floor(sizeMs / 2);
        await target.clock!.freezeAt(signingNow);
      } else {
        // A quarter into the next window of this machine's clock, clear of both boundaries.
        index = Math.floor(Date.now() / sizeMs) + 1;
        await waitUntil(index * sizeMs + sizeMs / 4);
      }
      const w = windowOf(index);
      aimed.push(index);
      const burstStart = Date.now();
      const burstIndex = index;
      w.sent += plan.perWindow;
      const outcome = await runLoad<number>({
        url: target.baseUrl,
        connections,
        amount: plan.perWindow,
        timeoutSeconds: Math.max(2, plan.windowSeconds),
        next: () => ({ request: { path: plan.path, body, headers: { 'content-type': 'application/json', ...signer.signWith(template) } }, tag: burstIndex }),
        onResponse: (aimedAt, _status, text, headers, receivedAt) => {
          const at = mode === 'clock' ? aimedAt : Math.floor(serverSeconds(headers, receivedAt) / plan.windowSeconds);
          const bucket = windowOf(at);
          bucket.answered++;
          if (at !== aimedAt) bucket.strays++;
          const code = envelopeCode(text);
          if (code === SUCCESS) {
            bucket.success++;
            if (bucket.onsetOrdinal !== null) bucket.successAfterOnset++;
          } else if (code === FLOW_LIMITED) {
            bucket.limited++;
            if (bucket.onsetOrdinal === null) {
              bucket.onsetOrdinal = bucket.answered;
              bucket.onsetMs = receivedAt - burstStart;
            }
          } else {
            const key = code === undefined ? 'not JSON' : String(code);
            bucket.other[key] = (bucket.other[key] ?? 0) + 1;
          }
        },
      });
      errors += outcome.errors + outcome.timeouts;
      if (mode === 'clock') index++;
    }
  } finally {
    if (mode === 'clock') await target.clock!.release();
  }
  const wallSeconds = (Date.now() - startedAt) / 1000;
  const ordered = [...windows.values()].sort((a, b) => a.index - b.index);
  const measured = aimed.map((i) => windows.get(i)!);
  const otherCount = (w: WindowStats) => Object.values(w.other).reduce((a, b) => a + b, 0);
  const exact = measured.filter((w) => w.success === plan.limit).length;
  const restLimited = measured.filter((w) => w.limited > 0 && w.success + w.limited === w.answered && w.answered === w.sent).length;
  let recoveries = 0;
  for (let k = 1; k < measured.length; k++) if (measured[k - 1]!.limited > 0 && measured[k]!.success > 0) recoveries++;
  const others = ordered.reduce((n, w) => n + otherCount(w), 0) + errors;
  const strays = ordered.reduce((n, w) => n + w.strays, 0);
  const perWindow = measured.map((w) => w.success).join(', ');
  const thresholds: Threshold[] = [
    { name: `windows with exactly ${plan.limit} code-200 answer(s) (per window: ${perWindow})`, limit: `= ${plan.windows}`, actual: exact, ok: exact === plan.windows },
    { name: 'windows where every answer past the limit was 429001', limit: `= ${plan.windows}`, actual: restLimited, ok: restLimited === plan.windows },
    { name: 'recovery: code 200 again in the window after a limited one', limit: `= ${plan.windows - 1}`, actual: recoveries, ok: recoveries === plan.windows - 1 },
    mustBeZero('answers with another code, errors or timeouts', others),
  ];
  if (mode === 'wall') {
    thresholds.push(mustBeZero('answers outside the window their burst aimed at', strays));
  }
  const onsets = measured.map((w) => w.onsetMs).filter((v): v is number => v !== null);
  return scenarioResult({
    scenario: 'ratelimit',
    title: 'Rate limit (flow limit) per window',
    target: target.label,
    startedAt: new Date(startedAt).toISOString(),
    wallSeconds,
    plan: {
      appKey: plan.appKey,
      limit: plan.limit,
      windowSeconds: plan.windowSeconds,
      windows: plan.windows,
      perWindow: plan.perWindow,
      connections,
      mode: mode === 'clock' ? 'sandbox clock stepped per window' : 'wall clock, bucketed by the server Date header',
    },
    metrics: {
      windows: plan.windows,
      'code 200 per window': perWindow,
      '429001 per window': measured.map((w) => w.limited).join(', '),
      'first 429001 after (ms, median)': onsets.length ? onsets.sort((a, b) => a - b)[Math.floor(onsets.length / 2)]! : null,
      'code 200 after the first 429001 (arrival order)': measured.reduce((n, w) => n + w.successAfterOnset, 0),
    },
    tables: [
      {
        title: 'Per window',
        columns: ['window index', 'window start (UTC)', 'sent', 'answered', 'code 200', '429001', 'other', 'first 429001: answer #', 'first 429001: ms after burst start', 'strays'],
        rows: ordered.map((w) => [
          w.index,
          w.windowStart,
          w.sent,
          w.answered,
          w.success,
          w.limited,
          Object.entries(w.other)
            .map(([c, n]) => `${c}: ${n}`)
            .join(', ') || '0',
          w.onsetOrdinal,
          w.onsetMs,
          w.strays,
        ]),
      },
    ],
    thresholds,
    data: { mode, limit: plan.limit, windowSeconds: plan.windowSeconds, windows: ordered },
  });
}

export const rateLimitCliOptions = {
  ...TARGET_CLI_OPTIONS,
  'control-url': { type: 'string' },
  'app-key': { type: 'string', default: 'apk-flow-second-1' },
  limit: { type: 'string', default: '1' },
  'window-seconds': { type: 'string', default: '1' },
  windows: { type: 'string', default: '5' },
  'per-window': { type: 'string' },
  connections: { type: 'string', default: '8' },
  path: { type: 'string', default: '/v1/apk/upgrade' },
  'version-code': { type: 'string', default: '1' },
  mode: { type: 'string', default: 'auto' },
  quiet: { type: 'boolean', default: false },
} as const;

export function rateLimitPlan(values: { [K in keyof typeof rateLimitCliOptions]?: string | string[] | boolean }, quiet = false): RateLimitPlan {
  const str = (k: keyof typeof rateLimitCliOptions) => values[k] as string | undefined;
  const limit = numberOption('limit', str('limit'), { integer: true, min: 1 })!;
  const mode = str('mode') ?? 'auto';
  if (mode !== 'auto' && mode !== 'clock' && mode !== 'wall') throw new LoadUsageError(`--mode must be auto, clock or wall, got "${mode}"`);
  return {
    appKey: str('app-key') ?? 'apk-flow-second-1',
    limit,
    windowSeconds: numberOption('window-seconds', str('window-seconds'), { integer: true, min: 1 })!,
    windows: numberOption('windows', str('windows'), { integer: true, min: 2 })!,
    perWindow: numberOption('per-window', str('per-window') ?? String(Math.max(10, 3 * limit)), { integer: true, min: 2 })!,
    connections: numberOption('connections', str('connections'), { integer: true, min: 1 })!,
    path: str('path') ?? '/v1/apk/upgrade',
    versionCode: numberOption('version-code', str('version-code'), { integer: true, min: 1 })!,
    mode,
    quiet,
  };
}

/**
 * What the safety check sees. On the wall clock: the average rate and the time the windows take (plus
 * alignment). Clock-stepped, the bursts go back to back, a fraction of a second each.
 */
export function rateLimitLoadPlan(plan: RateLimitPlan, target: Pick<Target, 'baseUrl' | 'clock'>) {
  const stepped = plan.mode === 'clock' || (plan.mode === 'auto' && target.clock !== undefined);
  return {
    baseUrl: target.baseUrl,
    durationSeconds: stepped ? plan.windows : (plan.windows + 1) * plan.windowSeconds,
    connections: Math.min(plan.connections, plan.perWindow),
    rate: stepped ? undefined : Math.ceil(plan.perWindow / plan.windowSeconds),
    confirmHost: process.env.LOAD_CONFIRM_HOST,
  };
}

async function main(): Promise<boolean> {
  const { values } = parseArgs({ options: rateLimitCliOptions });
  const startedAt = Date.now();
  const plan = rateLimitPlan(values, values.quiet);
  const target = await openTarget({ ...targetRequest(values), controlUrl: values['control-url'] });
  try {
    assertSafe(rateLimitLoadPlan(plan, target));
    await probe(target, plan.path, JSON.stringify({ apkKey: plan.appKey, versionCode: 999_999 }));
    const result = await runRateLimit(target, plan);
    return await finishRun({ run: 'load:ratelimit', results: [result], out: values.out, startedAt, secret: target.secretKey });
  } finally {
    await target.close();
  }
}

if (isMain(import.meta.url, 'ratelimit')) await cliMain('load:ratelimit', main);
