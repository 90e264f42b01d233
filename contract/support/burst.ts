// Concurrency tests need requests that really arrive together. Plain Promise.all over separate
// connections lets a fast server finish one request before the next arrives, so a non-atomic
// check-and-update would go unnoticed. This sends N requests with "last-byte synchronisation": each
// request's headers and all but the last body byte go out first; once every request has been
// written, the last bytes are released in one synchronous loop, so the server reads all N complete
// requests in the same turn of its event loop. Built on node:http like lib/client/raw.ts, whose
// sendRaw cannot hold a request open half-sent.
import http from 'node:http';
import { readResponse, type RawResponse } from '../../lib/client/raw.ts';

export interface BurstRequest {
  baseUrl: string;
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body: string;
}

export async function sendBurst(requests: BurstRequest[], timeoutMs = 15_000): Promise<RawResponse[]> {
  const pending: Array<{ req: http.ClientRequest; last: Buffer; response: Promise<RawResponse>; flushed: Promise<void> }> = [];
  for (const r of requests) {
    const base = new URL(r.baseUrl);
    const body = Buffer.from(r.body, 'utf8');
    if (body.length === 0) throw new Error('sendBurst needs a non-empty body to hold back its last byte');
    const flat: string[] = [];
    for (const [k, v] of r.headers) flat.push(k, v);
    flat.push('Host', base.host, 'Content-Length', String(body.length));
    const req = http.request({
      hostname: base.hostname,
      port: base.port,
      method: r.method,
      path: r.target,
      headers: flat as unknown as http.OutgoingHttpHeaders,
      setHost: false,
      agent: false,
      timeout: timeoutMs,
    });
    const started = performance.now();
    const response = new Promise<RawResponse>((resolve, reject) => {
      req.on('timeout', () => req.destroy(new Error(`burst request: no response within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        readResponse(res, started).then(resolve, reject);
      });
    });
    const flushed = new Promise<void>((resolve, reject) => {
      req.write(body.subarray(0, body.length - 1), (error) => (error ? reject(error) : resolve()));
    });
    pending.push({ req, last: body.subarray(body.length - 1), response, flushed });
  }
  await Promise.all(pending.map((p) => p.flushed));
  // Give the server time to read every partial request before the last bytes go out together.
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const p of pending) p.req.end(p.last);
  return Promise.all(pending.map((p) => p.response));
}
