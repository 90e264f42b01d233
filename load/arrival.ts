// The open-model (arrival-rate) executor: the project's own scheduler, because autocannon has none
// (its `overallRate` lets each connection send its per-second share back to back at the tick; see
// node_modules/autocannon/lib/httpClient.js). Also the HTTP transport every executor but the closed
// model uses: node:http(s) on a keep-alive Agent, at most `connections` sockets.
//
// Schedule. Arrival i is due where the integrated rate Λ(t) reaches i + ½ (constant and ramping rates
// alike: the rate is linear within each stage), counted from a start instant on a whole second of the
// Unix clock. So every second of the clock, the seconds a server counts in (REFERENCE.md §6.5), holds
// exactly the arrivals the rate asks for in it, spread evenly across it, never bunched at the tick.
//
// Dispatch. A timer loop sleeps to the next due arrival (timers only, no busy waiting; a fraction of
// a millisecond early at most, a millisecond or two late). An arrival is sent when it is due, unless
//   - every connection is busy (an answer is still outstanding on each), or
//   - it is later than the grace (two arrival intervals, at least 20 ms, at most 50 ms), or would be sent
//     in another second than the one it is due in, or less than a quarter interval (2 to 5 ms) before
//     that second ends, or
//   - sending it would put more than K requests into the last 1000 ms, K being the number of arrivals
//     the schedule puts into the 1000 ms ending at its due instant (for a constant rate R, K = R);
// then it is counted as dropped (k6's dropped iterations), never sent late in a burst.
//
// Counting. An arrival is counted due when its instant comes, sent when the request has been written
// to the socket ('finish'), so `sent` is what the target received, at the instant its bytes went to
// the kernel (not the later 'finish' callback); answered with the latency from dispatch to the last
// byte of the answer.
import http from 'node:http';
import https from 'node:https';
import type { Recorder } from './metrics.ts';

export interface OutgoingRequest {
  path: string;
  body: Buffer;
  headers: Record<string, string>;
  method?: string;
}

export interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  /** performance.now() when the last byte arrived. */
  at: number;
  latencyMs: number;
}

export interface SendHooks {
  /** The request has been written to the socket. */
  onSent?(at: number): void;
  onAnswer?(answer: Answer): void;
  /** No answer: a connection error or a timeout (`sent` tells whether the request went out first). */
  onError?(at: number, error: Error, sent: boolean): void;
}

/** Sends requests to one base URL over at most `connections` keep-alive sockets. */
export interface Transport {
  send(request: OutgoingRequest, hooks: SendHooks): void;
  /** Requests sent and not yet answered or failed. */
  readonly inFlight: number;
  /** Resolves when nothing is in flight. */
  drain(): Promise<void>;
  close(): void;
}

export function createTransport(baseUrl: string, connections: number, timeoutMs = 10_000): Transport {
  const url = new URL(baseUrl);
  const secure = url.protocol === 'https:';
  const module = secure ? https : http;
  const agent = new module.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const prefix = url.pathname.replace(/\/$/, '');
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port || (secure ? 443 : 80);
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  const settle = () => {
    inFlight--;
    if (inFlight === 0 && waiters.length) {
      const done = waiters;
      waiters = [];
      for (const w of done) w();
    }
  };
  return {
    get inFlight() {
      return inFlight;
    },
    send(request, hooks) {
      inFlight++;
      const started = performance.now();
      let sent = false;
      let finished = false;
      const finish = () => {
        if (finished) return false;
        finished = true;
        settle();
        return true;
      };
      const req = module.request({
        agent,
        protocol: url.protocol,
        hostname,
        port,
        method: request.method ?? 'POST',
        path: prefix + request.path,
        headers: { ...request.headers, 'content-length': String(request.body.length) },
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      // When the bytes went to the kernel: as the socket is handed over when it is already connected
      // (node flushes the request right then), else once it connects. 'finish' (the write callback)
      // comes a loop turn later, and on a busy loop that can be in the next second, so the request is
      // counted at 'finish' (sent = what the target received) but stamped with this instant.
      let writtenAt: number | undefined;
      req.on('socket', (socket) => {
        if (!socket.connecting) writtenAt = performance.now();
        else socket.once(secure ? 'secureConnect' : 'connect', () => (writtenAt = performance.now()));
      });
      req.on('finish', () => {
        sent = true;
        hooks.onSent?.(writtenAt ?? performance.now());
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const at = performance.now();
          if (finish()) hooks.onAnswer?.({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, at, latencyMs: at - started });
        });
        res.on('error', (error) => {
          if (finish()) hooks.onError?.(performance.now(), error, sent);
        });
      });
      req.on('error', (error) => {
        if (finish()) hooks.onError?.(performance.now(), error, sent);
      });
      req.end(request.body);
    },
    drain() {
      return inFlight === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
    close() {
      agent.destroy();
    },
  };
}

// ---- the schedule ----------------------------------------------------------------------------------

/** A stage of a rate curve: the rate moves linearly to `target` (req/s) over `seconds`. */
export interface RateStage {
  seconds: number;
  target: number;
}

export interface RateCurve {
  startRate: number;
  stages: RateStage[];
}

export const curveSeconds = (curve: RateCurve): number => curve.stages.reduce((n, s) => n + s.seconds, 0);

export const peakRate = (curve: RateCurve): number => Math.max(curve.startRate, ...curve.stages.map((s) => s.target));

/** The arrivals of a curve: Λ over its whole length (the rate is linear within each stage), rounded. */
export function arrivalCount(curve: RateCurve): number {
  let total = 0;
  let from = curve.startRate;
  for (const stage of curve.stages) {
    total += ((from + stage.target) / 2) * stage.seconds;
    from = stage.target;
  }
  return Math.max(0, Math.round(total));
}

/** Due offsets (ms from the start) of arrivals 0, 1, 2, … while they fall within the curve. */
export function* dueOffsets(curve: RateCurve): Generator<number> {
  let i = 0;
  let stageStart = 0; // seconds
  let before = 0; // Λ at the stage start
  let from = curve.startRate;
  for (const stage of curve.stages) {
    const a = from;
    const b = stage.target;
    const d = stage.seconds;
    const area = ((a + b) / 2) * d;
    while (i + 0.5 <= before + area + 1e-9) {
      const x = i + 0.5 - before; // arrivals into this stage
      // Solve a τ + (b − a) τ² / (2d) = x for τ in [0, d] (the stable form of the quadratic root).
      const tau = b === a ? x / a : (2 * x) / (a + Math.sqrt(Math.max(0, a * a + (2 * (b - a) * x) / d)));
      yield (stageStart + Math.min(d, tau)) * 1000;
      i++;
    }
    stageStart += d;
    before += area;
    from = b;
  }
}

// ---- the executor ----------------------------------------------------------------------------------

export interface ArrivalPlan {
  curve: RateCurve;
  /** Send at most this many (a segment's share of the budget). */
  budget: number;
  connections: number;
  /** performance.now() of the schedule's start (a whole second of the Unix clock). */
  origin: number;
  /** Ms after a due instant an arrival may still be sent (default: two intervals, 20..50 ms). */
  graceMs?: number;
}

export interface ArrivalSource<T> {
  next(): { request: OutgoingRequest; tag: T };
  /** Judges an answer; returns its business code (undefined: not a JSON envelope). */
  onAnswer(tag: T, answer: Answer): number | undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sleeps until performance.now() ≥ at − early, on timers only (they fire up to a millisecond or two
 * late, well within the grace). No busy waiting: on a machine of two cores the generator must not take
 * the target's CPU.
 */
export async function sleepUntil(at: number, early = 0): Promise<void> {
  for (;;) {
    const left = at - performance.now();
    if (left <= early) return;
    await sleep(Math.max(1, left));
  }
}

/** performance.now() for an instant of the Unix clock (epoch ms). */
export const perfAt = (epochMs: number): number => performance.now() + (epochMs - Date.now());

/** The next whole second of the Unix clock at least `leadMs` from now (epoch ms). */
export const nextWholeSecond = (leadMs = 0): number => Math.ceil((Date.now() + leadMs) / 1000) * 1000;

/** A microsecond: what two float instants may differ by when they are meant to be equal. */
const EPSILON_MS = 1e-3;

/** The last `size` send instants, to find the k-th most recent one. */
class SendLog {
  private readonly times: Float64Array;
  private count = 0;
  constructor(private readonly size: number) {
    this.times = new Float64Array(size);
  }
  record(at: number): void {
    this.times[this.count % this.size] = at;
    this.count++;
  }
  /** The k-th most recent send (k = 1: the last one), or -Infinity when there were fewer. */
  kthLast(k: number): number {
    if (k > this.count || k > this.size) return -Infinity;
    return this.times[(this.count - k) % this.size]!;
  }
}

/** runArrivals on a transport of its own to `baseUrl`, `plan.connections` sockets, closed at the end. */
export async function runArrivalsTo<T>(baseUrl: string, timeoutMs: number, plan: ArrivalPlan, source: ArrivalSource<T>, recorder: Recorder): Promise<void> {
  const transport = createTransport(baseUrl, plan.connections, timeoutMs);
  try {
    await runArrivals(transport, plan, source, recorder);
  } finally {
    transport.close();
  }
}

/**
 * Runs a curve's arrivals through a transport; counts go to the recorder. Resolves when every
 * arrival has been sent or dropped and every answer is in (or failed).
 */
export async function runArrivals<T>(transport: Transport, plan: ArrivalPlan, source: ArrivalSource<T>, recorder: Recorder): Promise<void> {
  const peak = peakRate(plan.curve);
  const window = Math.ceil(peak) + 2;
  const dues = new Float64Array(window); // due instants of the last `window` arrivals, by index % window
  const sends = new SendLog(window);
  let oldest = 0; // the first arrival index still within 1000 ms of the current one's due instant
  let index = 0;
  const interval = 1000 / Math.max(peak, 1e-9);
  const grace = plan.graceMs ?? Math.min(50, Math.max(20, 2 * interval));
  const band = Math.min(5, Math.max(2, interval / 4));
  const early = Math.min(0.5, interval / 4);
  for (const offset of dueOffsets(plan.curve)) {
    if (index >= plan.budget) break;
    const due = plan.origin + offset;
    dues[index % window] = due;
    // Float sums make instants exactly 1000 ms apart differ by an ulp: EPSILON_MS counts such a pair as
    // 1000 ms apart, so K is never one too many.
    while (oldest < index && (index - oldest >= window || dues[oldest % window]! <= due - 1000 + EPSILON_MS)) oldest++;
    const k = index - oldest + 1; // arrivals due in (due − 1000, due]
    // The second this arrival is due in ends at `secondEnd`; it must be written `band` before that, so
    // that it reaches the target within its second.
    const secondEnd = plan.origin + Math.floor(offset / 1000 + 1) * 1000;
    const deadline = Math.min(due + grace, secondEnd - band);
    index++;
    // A fraction of a millisecond early is allowed (it stays in its slot): timers have 1 ms steps.
    await sleepUntil(due, early);
    recorder.due(due);
    const notBefore = sends.kthLast(k) + 1000 + EPSILON_MS;
    if (notBefore > performance.now()) {
      if (notBefore > deadline) {
        recorder.dropped(due);
        continue;
      }
      await sleepUntil(notBefore);
    }
    const now = performance.now();
    if (now > deadline || transport.inFlight >= plan.connections) {
      recorder.dropped(due, now <= deadline);
      continue;
    }
    const { request, tag } = source.next();
    transport.send(request, {
      // The instant the request was written: what the 1000 ms rule above counts from.
      onSent: (at) => {
        sends.record(at);
        recorder.sent(at);
      },
      onAnswer: (answer) => recorder.answered(answer.at, answer.latencyMs, answer.status, source.onAnswer(tag, answer)),
      onError: (at) => recorder.failed(at),
    });
  }
  await transport.drain();
}
