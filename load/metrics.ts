// What a scenario measured, in a form that adds up across runners: counts, business codes, an HDR
// latency histogram (hdr-histogram-js, microseconds, 3 significant digits) and one sample per second
// of the schedule, each with its own histogram. A distributed run's pods each write this; `load:merge`
// adds the counts and the histograms, so a merged run's percentiles come from the merged histogram
// (never an average of percentiles) and its per-second samples from the merged per-second histograms.
import * as hdr from 'hdr-histogram-js';

type Histogram = ReturnType<typeof hdr.build>;

/** Latency histograms hold microseconds with 3 significant digits (0.1 % resolution). */
export function newHistogram(): Histogram {
  return hdr.build({ numberOfSignificantValueDigits: 3, autoResize: true, lowestDiscernibleValue: 1 });
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded);
}

/** Records a latency given in milliseconds (as microseconds, at least 1). */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export interface LatencyFigures {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

const ms = (us: number) => Math.round(us) / 1000;

/** Percentiles in milliseconds, from a histogram of microseconds. */
export function latencyFigures(histogram: Histogram): LatencyFigures {
  if (histogram.totalCount === 0) return { count: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  return {
    count: histogram.totalCount,
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p95: ms(histogram.getValueAtPercentile(95)),
    p99: ms(histogram.getValueAtPercentile(99)),
    // The top of the highest bucket, as for the percentiles: the same after merging as before.
    max: ms(histogram.getValueAtPercentile(100)),
    mean: ms(histogram.mean),
  };
}

/** Counts that add up across runners: a merge sums each of them. */
export interface Counts {
  /** Arrivals the schedule asked for (open model); requests started (closed model). */
  due: number;
  /** Requests written to the target (what it received). */
  sent: number;
  /** Due but not sent: every connection was busy, or the arrival was later than the grace. */
  dropped: number;
  /** Of those, dropped because every connection was busy (the rest: late). */
  droppedBusy: number;
  answered: number;
  /** Answers with an HTTP status outside 2xx. */
  non2xx: number;
  /** Requests without an answer: connection errors and timeouts. */
  errors: number;
  /** Answers whose body is not a JSON envelope with a numeric `code`. */
  notEnvelope: number;
  /** Answers rejected for signature, nonce or timestamp: the generator is wrong. */
  signingRejections: number;
  /** Business codes outside what the request may get (the mix's `expect`). */
  unexpected: number;
}

export const zeroCounts = (): Counts => ({ due: 0, sent: 0, dropped: 0, droppedBusy: 0, answered: 0, non2xx: 0, errors: 0, notEnvelope: 0, signingRejections: 0, unexpected: 0 });

export interface SecondSample {
  /** Seconds since the scenario's start instant (shared by every runner of a distributed run). */
  t: number;
  /** Arrivals due in this second (open model); null for the closed model. */
  requested: number | null;
  sent: number;
  /** Answers that arrived in this second: the achieved rate. */
  answered: number;
  dropped: number;
  /** Failed requests: non-2xx answers, connection errors and timeouts. */
  errors: number;
  /** Business codes of the answers in this second. */
  codes: Record<string, number>;
  /** Milliseconds, from this second's histogram; null when nothing was answered. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** This second's latency histogram (µs), encoded, for merging. */
  hdr: string;
}

/** A scenario's measurements: everything `load:merge` needs to add runners together. */
export interface Measured {
  counts: Counts;
  codes: Record<string, number>;
  latency: LatencyFigures & { hdr: string };
  series: SecondSample[];
  endpoints: EndpointStats[];
}

export interface EndpointStats {
  name: string;
  path: string;
  sent: number;
  codes: Record<string, number>;
  unexpected: number;
}

interface Bucket {
  requested: number;
  sent: number;
  answered: number;
  dropped: number;
  errors: number;
  codes: Map<number, number>;
  histogram: Histogram | undefined;
}

export function addCode(map: Map<number, number>, code: number, by = 1): void {
  map.set(code, (map.get(code) ?? 0) + by);
}

export function sortedCodes(map: Map<number, number>): Record<string, number> {
  return Object.fromEntries([...map].sort((a, b) => a[0] - b[0]));
}

/** Counts an answer outside a table's own columns under its business code, or `not JSON`. */
export function countOther(other: Record<string, number>, code: number | undefined): void {
  const key = code === undefined ? 'not JSON' : String(code);
  other[key] = (other[key] ?? 0) + 1;
}

/** Counts by code for a table cell, `200: 7, 429001: 3`; `empty` when there are none. */
export function codesText(codes: Record<string, number>, empty: string): string {
  return (
    Object.entries(codes)
      .map(([c, n]) => `${c}: ${n}`)
      .join(', ') || empty
  );
}

/**
 * Collects one scenario's measurements. Times are performance.now() milliseconds; `origin` is the
 * scenario's start instant on that clock, so second t covers [origin + 1000 t, origin + 1000 (t + 1)).
 */
export class Recorder {
  readonly counts = zeroCounts();
  readonly codes = new Map<number, number>();
  readonly latency = newHistogram();
  private readonly buckets: Bucket[] = [];

  constructor(
    readonly origin: number,
    /** Open model: per-second `requested` is meaningful. */
    private readonly openModel: boolean,
  ) {}

  private bucket(at: number): Bucket {
    const t = Math.max(0, Math.floor((at - this.origin) / 1000));
    while (this.buckets.length <= t) {
      this.buckets.push({ requested: 0, sent: 0, answered: 0, dropped: 0, errors: 0, codes: new Map(), histogram: undefined });
    }
    return this.buckets[t]!;
  }

  due(at: number): void {
    this.counts.due++;
    this.bucket(at).requested++;
  }

  sent(at: number): void {
    this.counts.sent++;
    this.bucket(at).sent++;
  }

  /** An arrival not sent: `busy` when every connection had an answer outstanding, else it was late. */
  dropped(at: number, busy = false): void {
    this.counts.dropped++;
    if (busy) this.counts.droppedBusy++;
    this.bucket(at).dropped++;
  }

  /** A request that got no answer (connection error or timeout). */
  failed(at: number): void {
    this.counts.errors++;
    this.bucket(at).errors++;
  }

  /** An answer; `code` is its business code (undefined: not a JSON envelope). */
  answered(at: number, latencyMs: number, status: number, code: number | undefined): void {
    this.counts.answered++;
    const bucket = this.bucket(at);
    bucket.answered++;
    if (status < 200 || status > 299) {
      this.counts.non2xx++;
      bucket.errors++;
    }
    if (code === undefined) this.counts.notEnvelope++;
    else {
      addCode(this.codes, code);
      addCode(bucket.codes, code);
    }
    recordMs(this.latency, latencyMs);
    recordMs((bucket.histogram ??= newHistogram()), latencyMs);
  }

  series(): SecondSample[] {
    return this.buckets.map((b, t) => ({
      t,
      requested: this.openModel ? b.requested : null,
      sent: b.sent,
      answered: b.answered,
      dropped: b.dropped,
      errors: b.errors,
      codes: sortedCodes(b.codes),
      ...secondLatency(b.histogram),
    }));
  }

  measured(endpoints: EndpointStats[] = []): Measured {
    return {
      counts: { ...this.counts },
      codes: sortedCodes(this.codes),
      latency: { ...latencyFigures(this.latency), hdr: encodeHistogram(this.latency) },
      series: this.series(),
      endpoints,
    };
  }
}

/** A second's latency figures (null when it had no answer) and its histogram, encoded for merging. */
function secondLatency(histogram: Histogram | undefined): Pick<SecondSample, 'p50' | 'p95' | 'p99' | 'hdr'> {
  const figures = histogram?.totalCount ? latencyFigures(histogram) : undefined;
  return { p50: figures?.p50 ?? null, p95: figures?.p95 ?? null, p99: figures?.p99 ?? null, hdr: encodeHistogram(histogram ?? newHistogram()) };
}

const addRecords = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
};

const sortRecord = (record: Record<string, number>) => Object.fromEntries(Object.entries(record).sort((a, b) => Number(a[0]) - Number(b[0])));

/** Adds runners' measurements of one scenario: counts summed, histograms added, seconds aligned on t. */
export function mergeMeasured(parts: Measured[]): Measured {
  const counts = zeroCounts();
  const codes: Record<string, number> = {};
  const latency = newHistogram();
  const seconds = new Map<number, { sample: SecondSample; histogram: Histogram }>();
  const endpoints = new Map<string, EndpointStats>();
  for (const part of parts) {
    for (const key of Object.keys(counts) as Array<keyof Counts>) counts[key] += part.counts[key] ?? 0;
    addRecords(codes, part.codes);
    latency.add(decodeHistogram(part.latency.hdr));
    for (const s of part.series) {
      let merged = seconds.get(s.t);
      if (!merged) {
        merged = { sample: { ...s, requested: s.requested === null ? null : 0, codes: {}, sent: 0, answered: 0, dropped: 0, errors: 0 }, histogram: newHistogram() };
        seconds.set(s.t, merged);
      }
      merged.sample.sent += s.sent;
      merged.sample.answered += s.answered;
      merged.sample.dropped += s.dropped;
      merged.sample.errors += s.errors;
      if (merged.sample.requested !== null) merged.sample.requested += s.requested ?? 0;
      addRecords(merged.sample.codes, s.codes);
      merged.histogram.add(decodeHistogram(s.hdr));
    }
    for (const e of part.endpoints) {
      const into = endpoints.get(e.name) ?? { name: e.name, path: e.path, sent: 0, codes: {}, unexpected: 0 };
      into.sent += e.sent;
      into.unexpected += e.unexpected;
      addRecords(into.codes, e.codes);
      endpoints.set(e.name, into);
    }
  }
  const series = [...seconds.values()]
    .sort((a, b) => a.sample.t - b.sample.t)
    .map(({ sample, histogram }) => ({ ...sample, codes: sortRecord(sample.codes), ...secondLatency(histogram) }));
  return {
    counts,
    codes: sortRecord(codes),
    latency: { ...latencyFigures(latency), hdr: encodeHistogram(latency) },
    series,
    endpoints: [...endpoints.values()].map((e) => ({ ...e, codes: sortRecord(e.codes) })),
  };
}

/** The p99 (ms) of the answers in the seconds [from, to) of a series, from their added histograms. */
export function p99Between(series: SecondSample[], from: number, to: number): number | null {
  const histogram = newHistogram();
  for (const s of series) if (s.t >= from && s.t < to) histogram.add(decodeHistogram(s.hdr));
  return histogram.totalCount ? latencyFigures(histogram).p99 : null;
}
