// The executors the scenarios declare (load/scenarios.ts): one runner, two engines.
//   closed             autocannon: `connections` requests in flight, each sent when the previous
//                      answer arrives, as fast as the target goes (loopback only)
//   arrival            the open model, load/arrival.ts: arrivals at an exact rate curve
//   ratelimit-windows  bursts into the windows of a flow-limited strategy (node:http, load/arrival.ts's transport)
//   replay             one signed request sent by many connections at once, then fresh nonces
// Every executor counts into a Recorder (load/metrics.ts) and returns what it measured plus its own
// figures, tables and data; load/run.ts evaluates the thresholds.
import autocannon from 'autocannon';
import { Code } from '../generated/operations.ts';
import { createTransport, nextWholeSecond, perfAt, runArrivalsTo, sleepUntil, type OutgoingRequest, type RateCurve } from './arrival.ts';
import { createFastSigner } from './fastsign.ts';
import { codesText, countOther, Recorder, type Measured } from './metrics.ts';
import { envelopeCode, MixTraffic, type MixEntry } from './mix.ts';
import type { Figures } from './scenarios.ts';
import { LoadUsageError, type LoadTarget } from './target.ts';

export interface Table {
  title: string;
  columns: string[];
  rows: Array<Array<string | number | null>>;
}

/**
 * The run's cap per second of the Unix clock (--rate, and the staging cap), for the requests no
 * schedule spaces out: the probe and the bursts of the replay and rate-limit scenarios. Arrival-rate
 * scenarios note their sends here too, and start on a fresh second, so no second of the run ever
 * holds more than the cap.
 */
export class SecondBudget {
  private second = -1;
  private used = 0;
  constructor(readonly cap: number | undefined) {}

  /** Moves to the second `at` falls in, with nothing used yet when it is a new one. */
  private roll(at: number): void {
    const second = Math.floor(at / 1000);
    if (second !== this.second) {
      this.second = second;
      this.used = 0;
    }
  }

  /** Notes sends made without asking (arrival-rate scenarios are within the cap by construction). */
  note(n = 1, at = Date.now()): void {
    this.roll(at);
    this.used += n;
  }

  /** Waits until `n` more requests fit into the current second, and takes them. */
  async take(n: number): Promise<void> {
    if (this.cap !== undefined && n > this.cap) throw new LoadUsageError(`--rate ${this.cap} is below a burst of ${n} requests this run needs; raise --rate`);
    for (;;) {
      this.roll(Date.now());
      if (this.cap === undefined || this.used + n <= this.cap) {
        this.used += n;
        return;
      }
      await sleepUntil(perfAt((this.second + 1) * 1000));
    }
  }
}

export interface ExecContext {
  target: LoadTarget;
  mix: MixEntry[];
  budget: SecondBudget;
  timeoutMs: number;
  log(line: string): void;
}

/** What one runner runs of one scenario instance (load/run.ts resolves it from a profile and the flags). */
export interface ScenarioPlan {
  name: string;
  durationSeconds: number;
  connections: number;
  /** arrival: this runner's rate curve (req/s, seconds) and budget. */
  curve?: RateCurve;
  budget?: number;
  /** Where this runner's share of the requests starts in the weighted mix. */
  mixOffset?: number;
  /** Start instant (epoch ms, a whole second): a distributed run's shared instant; else the next whole second. */
  startAt?: number;
  /** ratelimit-windows */
  rateLimit?: { appKey: string; limit: number; windowSeconds: number; windows: number; perWindow: number; path: string; versionCode: number; mode: 'auto' | 'clock' | 'wall' };
  /** replay */
  replay?: { rounds: number; copies: number };
}

export interface Outcome {
  measured: Measured;
  /** Figures of this executor (they take precedence over the measured ones). */
  figures: Figures;
  tables: Table[];
  data: Record<string, unknown>;
  /** ratelimit on the wall clock. */
  wallClock?: boolean;
  startedAt: number;
  wallSeconds: number;
}

// ---- arrival: the open model ---------------------------------------------------------------------

function scheduleStart(given: number | undefined, budget: SecondBudget): number {
  // A fresh second of the Unix clock, so that no earlier request shares a second with this schedule.
  const startAt = given ?? nextWholeSecond(20);
  if (budget.cap !== undefined) budget.note(0, startAt);
  return startAt;
}

export async function runArrival(ctx: ExecContext, plan: ScenarioPlan): Promise<Outcome> {
  const curve = plan.curve!;
  const startAt = scheduleStart(plan.startAt, ctx.budget);
  const origin = perfAt(startAt);
  const recorder = new Recorder(origin, true);
  const traffic = new MixTraffic(ctx.mix, ctx.target, recorder.counts, plan.mixOffset ?? 0);
  const source = {
    next: () => {
      ctx.budget.note();
      return traffic.next();
    },
    onAnswer: traffic.onAnswer.bind(traffic),
  };
  await runArrivalsTo(ctx.target.baseUrl, ctx.timeoutMs, { curve, budget: plan.budget ?? Number.MAX_SAFE_INTEGER, connections: plan.connections, origin }, source, recorder);
  return {
    measured: recorder.measured(traffic.endpoints()),
    figures: {},
    tables: [],
    data: {},
    startedAt: startAt,
    wallSeconds: (performance.now() - origin) / 1000,
  };
}

// ---- closed: autocannon ------------------------------------------------------------------------------

/** autocannon for `durationSeconds` over `connections`; a request counts as sent when autocannon writes it. */
function closedLoop(
  ctx: ExecContext,
  connections: number,
  durationSeconds: number,
  traffic: { next(): { request: OutgoingRequest; tag: number }; judge(tag: number, body: string): number | undefined },
  recorder: Recorder,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const instance = autocannon(
      {
        url: ctx.target.baseUrl,
        connections,
        duration: durationSeconds,
        timeout: ctx.timeoutMs / 1000,
        // autocannon notices the end of the run on a sample only: sample often for short runs.
        sampleInt: 100,
        requests: [
          {
            // Called right before autocannon writes the request to the socket.
            setupRequest(request: Record<string, unknown>, context: Record<string, unknown>) {
              const { request: out, tag } = traffic.next();
              const now = performance.now();
              context.tag = tag;
              context.sentAt = now;
              recorder.due(now);
              recorder.sent(now);
              return { ...request, method: 'POST', path: out.path, body: out.body, headers: out.headers };
            },
            onResponse(status: number, body: string, context: Record<string, unknown>) {
              const now = performance.now();
              recorder.answered(now, now - (context.sentAt as number), status, traffic.judge(context.tag as number, body));
            },
          },
        ],
      },
      (error: Error | null) => (error ? reject(error) : resolve()),
    );
    instance.on('reqError', () => recorder.failed(performance.now()));
  });
}

export async function runClosed(ctx: ExecContext, plan: ScenarioPlan): Promise<Outcome> {
  if (plan.startAt !== undefined) await sleepUntil(perfAt(plan.startAt));
  const startedAt = Date.now();
  const origin = performance.now();
  const recorder = new Recorder(origin, false);
  const traffic = new MixTraffic(ctx.mix, ctx.target, recorder.counts, plan.mixOffset ?? 0);
  await closedLoop(ctx, plan.connections, plan.durationSeconds, traffic, recorder);
  return {
    measured: recorder.measured(traffic.endpoints()),
    figures: {},
    tables: [],
    data: {},
    startedAt,
    wallSeconds: (performance.now() - origin) / 1000,
  };
}

// ---- ratelimit-windows -------------------------------------------------------------------------------

export interface WindowStats {
  /** Server window index: floor(unix seconds / window size). */
  index: number;
  windowStart: string;
  sent: number;
  answered: number;
  success: number;
  limited: number;
  other: Record<string, number>;
  /** The first Code.FLOW_LIMITED: its position among the window's answers (1-based) and ms after the burst began. */
  onsetOrdinal: number | null;
  onsetMs: number | null;
  /** Answers whose server time fell outside this window (wall clock). */
  strays: number;
  /** Exactly `limit` code-200 answers and every other answer Code.FLOW_LIMITED. */
  exact: boolean;
}

/** The server's time for an answer: its Date header (second resolution) or, failing that, arrival. */
function serverSeconds(headers: Record<string, string | string[] | undefined>, receivedAtEpoch: number): number {
  const raw = headers.date;
  const parsed = typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
  return Math.floor((Number.isNaN(parsed) ? receivedAtEpoch : parsed) / 1000);
}

export async function runRateLimit(ctx: ExecContext, plan: ScenarioPlan): Promise<Outcome> {
  const rl = plan.rateLimit!;
  const { target } = ctx;
  const mode = rl.mode === 'auto' ? (target.clock ? 'clock' : 'wall') : rl.mode;
  if (mode === 'clock' && !target.clock) throw new LoadUsageError('--mode clock needs the embedded sandbox or --control-url');
  const sizeMs = rl.windowSeconds * 1000;
  const connections = Math.min(plan.connections, rl.perWindow);
  let signingNow = Date.now();
  const signer = createFastSigner({ accessKey: target.accessKey, secretKey: target.secretKey, now: () => (mode === 'clock' ? signingNow : Date.now()) });
  const body = Buffer.from(JSON.stringify({ apkKey: rl.appKey, versionCode: rl.versionCode, appointVersionCode: 0, devModelKey: 'load', devKey: 'load-ratelimit' }));
  const template = signer.template('POST', rl.path, body);
  const startedAt = Date.now();
  const origin = performance.now();
  const recorder = new Recorder(origin, false);
  ctx.log(
    `ratelimit: ${rl.windows} windows of ${rl.windowSeconds}s (${mode === 'clock' ? 'sandbox clock stepped' : 'wall clock'}), ` +
      `${rl.perWindow} requests per window over ${connections} connections, ${rl.appKey} limit ${rl.limit}`,
  );
  const windows = new Map<number, WindowStats>();
  const windowOf = (index: number): WindowStats => {
    let w = windows.get(index);
    if (!w) {
      w = { index, windowStart: new Date(index * sizeMs).toISOString(), sent: 0, answered: 0, success: 0, limited: 0, other: {}, onsetOrdinal: null, onsetMs: null, strays: 0, exact: false };
      windows.set(index, w);
    }
    return w;
  };
  const aimed: number[] = [];
  const transport = createTransport(target.baseUrl, connections, Math.max(ctx.timeoutMs, sizeMs));
  try {
    // Clock-stepped: the next window of real time, so the counter is fresh and timestamps are near now.
    let index = Math.floor(Date.now() / sizeMs) + 1;
    for (let k = 0; k < rl.windows; k++) {
      if (mode === 'clock') {
        signingNow = index * sizeMs + Math.floor(sizeMs / 2);
        await target.clock!.freezeAt(signingNow);
      } else {
        // A quarter into the next window of this machine's clock, clear of both boundaries.
        index = Math.floor(Date.now() / sizeMs) + 1;
        await sleepUntil(perfAt(index * sizeMs + sizeMs / 4));
      }
      await ctx.budget.take(rl.perWindow);
      const aimedAt = index;
      aimed.push(aimedAt);
      windowOf(aimedAt).sent += rl.perWindow;
      const burstStart = performance.now();
      for (let i = 0; i < rl.perWindow; i++) {
        recorder.due(burstStart);
        transport.send(
          { path: rl.path, body, headers: { 'content-type': 'application/json', ...signer.signWith(template) } },
          {
            onSent: (at) => recorder.sent(at),
            onError: (at) => recorder.failed(at),
            onAnswer: (answer) => {
              const receivedAtEpoch = Date.now();
              const at = mode === 'clock' ? aimedAt : Math.floor(serverSeconds(answer.headers, receivedAtEpoch) / rl.windowSeconds);
              const bucket = windowOf(at);
              bucket.answered++;
              if (at !== aimedAt) bucket.strays++;
              const code = envelopeCode(answer.body);
              recorder.answered(answer.at, answer.latencyMs, answer.status, code);
              if (code === Code.OK) bucket.success++;
              else if (code === Code.FLOW_LIMITED) {
                bucket.limited++;
                if (bucket.onsetOrdinal === null) {
                  bucket.onsetOrdinal = bucket.answered;
                  bucket.onsetMs = Math.round(answer.at - burstStart);
                }
              } else countOther(bucket.other, code);
            },
          },
        );
      }
      await transport.drain();
      if (mode === 'clock') index++;
    }
  } finally {
    transport.close();
    if (mode === 'clock') await target.clock!.release();
  }
  const ordered = [...windows.values()].sort((a, b) => a.index - b.index);
  for (const w of ordered) w.exact = w.success === rl.limit && w.limited === w.sent - rl.limit && w.answered === w.sent;
  const measuredWindows = aimed.map((i) => windows.get(i)!);
  let recoveries = 0;
  for (let k = 1; k < measuredWindows.length; k++) if (measuredWindows[k - 1]!.limited > 0 && measuredWindows[k]!.success > 0) recoveries++;
  const otherCount = (w: WindowStats) => Object.values(w.other).reduce((a, b) => a + b, 0);
  return {
    measured: recorder.measured(),
    figures: {
      windows: rl.windows,
      windows_exact: measuredWindows.filter((w) => w.exact).length,
      recoveries,
      recoveries_expected: rl.windows - 1,
      other_answers: ordered.reduce((n, w) => n + otherCount(w), 0) + recorder.counts.errors,
      strays: ordered.reduce((n, w) => n + w.strays, 0),
    },
    tables: [
      {
        title: 'Per window',
        columns: ['window index', 'window start (UTC)', 'sent', 'answered', 'code 200', String(Code.FLOW_LIMITED), 'other', `first ${Code.FLOW_LIMITED}: answer #`, `first ${Code.FLOW_LIMITED}: ms after burst start`, 'strays', `exactly ${rl.limit} × 200, rest ${Code.FLOW_LIMITED}`],
        rows: ordered.map((w) => [
          w.index,
          w.windowStart,
          w.sent,
          w.answered,
          w.success,
          w.limited,
          codesText(w.other, '0'),
          w.onsetOrdinal,
          w.onsetMs,
          w.strays,
          w.exact ? 'yes' : 'NO',
        ]),
      },
    ],
    data: { mode, limit: rl.limit, windowSeconds: rl.windowSeconds, windows: ordered },
    wallClock: mode === 'wall',
    startedAt,
    wallSeconds: (Date.now() - startedAt) / 1000,
  };
}

// ---- replay --------------------------------------------------------------------------------------------

export interface ReplayRound {
  round: number;
  copies: number;
  answered: number;
  accepted: number;
  replayRejected: number;
  other: Record<string, number>;
}

export async function runReplay(ctx: ExecContext, plan: ScenarioPlan): Promise<Outcome> {
  const { rounds: roundCount, copies } = plan.replay!;
  const entry = ctx.mix[0]!;
  const body = Buffer.from(JSON.stringify(entry.body), 'utf8');
  const signer = createFastSigner({ accessKey: ctx.target.accessKey, secretKey: ctx.target.secretKey });
  const startedAt = Date.now();
  const origin = performance.now();
  const recorder = new Recorder(origin, false);
  const nonces = new Set<string>();
  let noncesMade = 0;
  const track = (nonce: string) => {
    noncesMade++;
    nonces.add(nonce);
  };

  // 1. One nonce, many copies at once, each on its own connection.
  const rounds: ReplayRound[] = [];
  for (let r = 1; r <= roundCount; r++) {
    const headers = { 'content-type': 'application/json', ...signer.sign('POST', entry.path, body) };
    track(headers['X-Nonce']);
    const round: ReplayRound = { round: r, copies, answered: 0, accepted: 0, replayRejected: 0, other: {} };
    await ctx.budget.take(copies);
    const transport = createTransport(ctx.target.baseUrl, copies, ctx.timeoutMs);
    for (let i = 0; i < copies; i++) {
      const at = performance.now();
      recorder.due(at);
      transport.send(
        { path: entry.path, body, headers },
        {
          onSent: (sentAt) => recorder.sent(sentAt),
          onError: (failedAt) => recorder.failed(failedAt),
          onAnswer: (answer) => {
            round.answered++;
            const code = envelopeCode(answer.body);
            recorder.answered(answer.at, answer.latencyMs, answer.status, code);
            if (code !== undefined && entry.expect.includes(code)) round.accepted++;
            else if (code === Code.AUTH_FAILED) round.replayRejected++;
            else countOther(round.other, code);
          },
        },
      );
    }
    await transport.drain();
    transport.close();
    rounds.push(round);
  }

  // 2. The mix with a fresh nonce per request: at the run's rate (open model), else closed model.
  const before = { ...recorder.counts };
  const traffic = new MixTraffic(ctx.mix, ctx.target, recorder.counts);
  const tracked = {
    next: () => {
      const made = traffic.next();
      track(made.request.headers['X-Nonce']!);
      ctx.budget.note();
      return made;
    },
    onAnswer: traffic.onAnswer.bind(traffic),
  };
  if (plan.curve) {
    const origin = perfAt(scheduleStart(undefined, ctx.budget));
    await runArrivalsTo(ctx.target.baseUrl, ctx.timeoutMs, { curve: plan.curve, budget: plan.budget ?? Number.MAX_SAFE_INTEGER, connections: plan.connections, origin }, tracked, recorder);
  } else {
    await closedLoop(ctx, plan.connections, plan.durationSeconds, { next: tracked.next, judge: traffic.judge.bind(traffic) }, recorder);
  }
  const fresh = {
    due: recorder.counts.due - before.due,
    answered: recorder.counts.answered - before.answered,
    failures: recorder.counts.unexpected - before.unexpected + (recorder.counts.notEnvelope - before.notEnvelope) + (recorder.counts.errors - before.errors) + (recorder.counts.non2xx - before.non2xx),
  };
  const duplicates = noncesMade - nonces.size;
  const exactlyOne = rounds.filter((r) => r.accepted === 1).length;
  const rejected = rounds.reduce((n, r) => n + r.replayRejected, 0);
  return {
    measured: recorder.measured(traffic.endpoints()),
    figures: {
      rounds: roundCount,
      rounds_exactly_one: exactlyOne,
      replayed_rejected: rejected,
      replayed_expected: roundCount * (copies - 1),
      duplicate_nonces: duplicates,
      fresh_failures: fresh.failures,
      answered: fresh.answered,
      achieved_ratio: fresh.due ? fresh.answered / fresh.due : 0,
    },
    tables: [
      {
        title: 'Replay rounds (one nonce each)',
        columns: ['round', 'copies sent', 'answered', 'got through', String(Code.AUTH_FAILED), 'other'],
        rows: rounds.map((r) => [
          r.round,
          r.copies,
          r.answered,
          r.accepted,
          r.replayRejected,
          codesText(r.other, '0'),
        ]),
      },
    ],
    data: { replayed: `${entry.name} (${entry.path})`, rounds, nonces: { generated: noncesMade, unique: nonces.size, duplicates } },
    startedAt,
    wallSeconds: (Date.now() - startedAt) / 1000,
  };
}

export const EXECUTORS = {
  closed: runClosed,
  arrival: runArrival,
  'ratelimit-windows': runRateLimit,
  replay: runReplay,
} as const;
