// The one place autocannon is driven. Every scenario describes its requests with `next()` (called
// right before each request is written, so nonces and timestamps are fresh) and reads answers in
// `onResponse`. Counts come from these two hooks, not from autocannon's own `requests.sent` (which
// over-counts by the per-connection rate when `overallRate` is set).
//
// Rate model (autocannon's `overallRate`): the rate is split evenly over the connections, and each
// connection may send its share per one-second tick, back to back; what it has not sent when the
// next tick comes is not carried over. So a target too slow to keep up shows as a shortfall:
// requested − sent = the requests not sent in time (k6 would call them dropped iterations), and
// autocannon corrects the latency histogram for the coordinated omission.
import autocannon from 'autocannon';

export interface OutgoingRequest {
  path: string;
  body: string | Buffer;
  headers: Record<string, string>;
  method?: string;
}

export interface LoadOptions<T> {
  url: string;
  connections: number;
  /** Stop after this many seconds (ignored when `amount` is set). */
  durationSeconds?: number;
  /** Send exactly this many requests (split over the connections), then stop. */
  amount?: number;
  /** Overall requests per second (omit: as fast as the target answers). */
  overallRate?: number;
  /** Upper bound on requests when running by duration. */
  maxRequests?: number;
  timeoutSeconds?: number;
  /**
   * How often autocannon samples (ms). It also notices the end of the run only on a sample, so short
   * bursts (`amount`) sample every 20 ms instead of the default second.
   */
  sampleIntMs?: number;
  /** Called right before each request is sent. */
  next(): { request: OutgoingRequest; tag: T };
  onResponse?(tag: T, status: number, body: string, headers: Record<string, string | string[]>, receivedAt: number): void;
  /** Progress, about once a second. */
  onSecond?(second: number, answeredInSecond: number): void;
}

export interface LoadOutcome {
  sent: number;
  answered: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  wallSeconds: number;
  startedAt: number;
  /** Measured here, send to last byte, per answered request (what the server and network took). */
  latencyMs: LatencyFigures;
  /**
   * autocannon's histogram. With a rate it is corrected for coordinated omission by back-filling
   * samples at an expected interval of 1 ms, which a single pause inflates heavily on short runs:
   * reported, not used for thresholds.
   */
  latencyAutocannonMs: LatencyFigures;
}

export interface LatencyFigures {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function latencyFigures(samples: number[]): LatencyFigures {
  if (samples.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const round = (v: number) => Math.round(v * 100) / 100;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]!), mean: round(sum / sorted.length) };
}

export function runLoad<T>(options: LoadOptions<T>): Promise<LoadOutcome> {
  let sent = 0;
  let answered = 0;
  const latencies: number[] = [];
  const startedAt = Date.now();
  return new Promise<LoadOutcome>((resolve, reject) => {
    let instance: autocannon.Instance;
    try {
      instance = autocannon(
        {
          url: options.url,
          connections: options.connections,
          ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationSeconds ?? 1 }),
          ...(options.overallRate ? { overallRate: options.overallRate } : {}),
          ...(options.maxRequests !== undefined && options.amount === undefined ? { maxOverallRequests: options.maxRequests } : {}),
          timeout: options.timeoutSeconds ?? 10,
          sampleInt: options.sampleIntMs ?? (options.amount !== undefined ? 20 : 1000),
          requests: [
            {
              setupRequest(request: Record<string, unknown>, context: Record<string, unknown>) {
                const { request: out, tag } = options.next();
                context.tag = tag;
                context.sentAt = performance.now();
                sent++;
                return { ...request, method: out.method ?? 'POST', path: out.path, body: out.body, headers: out.headers };
              },
              onResponse(status: number, body: string, context: Record<string, unknown>, headers: Record<string, string | string[]>) {
                answered++;
                if (latencies.length < 2_000_000) latencies.push(performance.now() - (context.sentAt as number));
                options.onResponse?.(context.tag as T, status, body, headers ?? {}, Date.now());
              },
            },
          ],
        },
        (error: Error | null, result: autocannon.Result) => {
          if (error) return reject(error);
          resolve({
            sent,
            answered,
            errors: result.errors,
            timeouts: result.timeouts,
            non2xx: result.non2xx,
            wallSeconds: (Date.now() - startedAt) / 1000,
            startedAt,
            latencyMs: latencyFigures(latencies),
            latencyAutocannonMs: {
              p50: result.latency.p50,
              p90: result.latency.p90,
              p99: result.latency.p99,
              max: result.latency.max,
              mean: result.latency.mean,
            },
          });
        },
      );
    } catch (error) {
      reject(error as Error);
      return;
    }
    if (options.onSecond) {
      let lastTick = Date.now();
      let ticks = 0;
      instance.on('tick', (counter: { counter: number }) => {
        const now = Date.now();
        if (now - lastTick < 200) return; // the closing tick of the run
        ticks++;
        options.onSecond!(ticks, counter.counter);
        lastTick = now;
      });
    }
  });
}

/** The business code of a JSON envelope, or undefined when the body is not one. */
export function envelopeCode(body: string): number | undefined {
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Codes that mean the load generator itself is wrong (signature, nonce, timestamp). */
export const SIGNING_REJECTIONS: ReadonlySet<number> = new Set([400004, 401001, 401002]);

export function increment(map: Map<number, number>, key: number, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

export function sortedCodes(map: Map<number, number>): Record<string, number> {
  return Object.fromEntries([...map].sort((a, b) => a[0] - b[0]));
}
