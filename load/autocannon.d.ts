// The few parts of autocannon's API this project uses (the package ships no types).
declare module 'autocannon' {
  namespace autocannon {
    interface Histogram {
      average: number;
      mean: number;
      p50: number;
      p90: number;
      p97_5: number;
      p99: number;
      max: number;
      min: number;
      total: number;
    }
    interface Result {
      requests: Histogram & { sent: number };
      latency: Histogram;
      throughput: Histogram;
      errors: number;
      timeouts: number;
      non2xx: number;
      duration: number;
      '2xx': number;
    }
    /** A request as autocannon builds it; setupRequest may return a changed copy (or null to skip). */
    type RequestParams = Record<string, any>;
    interface RequestSpec {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      setupRequest?: (request: RequestParams, context: Record<string, unknown>) => RequestParams | null;
      onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string | string[]>) => void;
    }
    interface Options {
      url: string;
      connections?: number;
      duration?: number;
      amount?: number;
      overallRate?: number;
      maxOverallRequests?: number;
      timeout?: number;
      sampleInt?: number;
      requests?: RequestSpec[];
      [option: string]: unknown;
    }
    interface Instance {
      on(event: 'tick', listener: (counter: { counter: number; bytes: number }) => void): Instance;
      on(event: string, listener: (...args: unknown[]) => void): Instance;
      stop(): void;
    }
  }
  function autocannon(options: autocannon.Options, callback: (error: Error | null, result: autocannon.Result) => void): autocannon.Instance;
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export type Options = autocannon.Options;
  export type Result = autocannon.Result;
  export type Instance = autocannon.Instance;
  export default autocannon;
}
