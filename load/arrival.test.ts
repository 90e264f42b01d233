// Exact rates. The schedule puts exactly the requested arrivals into each second, evenly; the executor
// never puts more than that into any 1-second window; and, through a counting proxy on loopback in
// front of the sandbox (what the target receives), no second of the Unix clock ever holds more than
// --rate, and the report's sent count is exactly what arrived.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseLauncher, type RunningSandbox } from '../harness/index.ts';
import { arrivalCount, dueOffsets, runArrivals, type Transport } from './arrival.ts';
import { Recorder } from './metrics.ts';
import { SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY } from './target.ts';

const perSecond = (offsets: number[]) => {
  const counts: number[] = [];
  for (const o of offsets) counts[Math.floor(o / 1000)] = (counts[Math.floor(o / 1000)] ?? 0) + 1;
  return [...counts].map((n) => n ?? 0);
};

describe('load arrival > the schedule', () => {
  it('load arrival > a constant rate puts exactly R arrivals into each second, evenly spaced, none at the tick', () => {
    const offsets = [...dueOffsets({ startRate: 50, stages: [{ seconds: 4, target: 50 }] })];
    expect(offsets).toHaveLength(200);
    expect(perSecond(offsets)).toEqual([50, 50, 50, 50]);
    expect(offsets[0]).toBeCloseTo(10, 6);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]! - offsets[i - 1]!).toBeCloseTo(20, 6);
  });

  it('load arrival > a ramp follows the integrated rate, second by second', () => {
    // 0 → 100 req/s over 2 s, then 100 → 0 over 2 s: 25, 75, 75, 25.
    const curve = { startRate: 0, stages: [{ seconds: 2, target: 100 }, { seconds: 2, target: 0 }] };
    const offsets = [...dueOffsets(curve)];
    expect(arrivalCount(curve)).toBe(200);
    expect(offsets).toHaveLength(200);
    expect(perSecond(offsets)).toEqual([25, 75, 75, 25]);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]!).toBeGreaterThan(offsets[i - 1]!);
  });

  it('load arrival > the executor never puts more than K requests into any 1000 ms, drops what it cannot send in time', async () => {
    // A transport that answers after 1 ms and records when each request was handed to it.
    const sends: number[] = [];
    let inFlight = 0;
    const transport: Transport = {
      get inFlight() {
        return inFlight;
      },
      send(_request, hooks) {
        const at = performance.now();
        sends.push(at);
        inFlight++;
        hooks.onSent?.(at);
        setTimeout(() => {
          inFlight--;
          const now = performance.now();
          hooks.onAnswer?.({ status: 200, body: '{"code":0}', headers: {}, at: now, latencyMs: now - at });
        }, 1);
      },
      drain: async () => {
        while (inFlight > 0) await new Promise((r) => setTimeout(r, 2));
      },
      close() {},
    };
    const origin = performance.now() + 20;
    const recorder = new Recorder(origin, true);
    // Block the event loop for 120 ms once: the arrivals due meanwhile must be dropped, not bunched.
    setTimeout(() => {
      const until = performance.now() + 120;
      while (performance.now() < until);
    }, 500);
    await runArrivals(
      transport,
      { curve: { startRate: 200, stages: [{ seconds: 2, target: 200 }] }, budget: 400, connections: 4, origin },
      { next: () => ({ request: { path: '/', body: Buffer.alloc(0), headers: {} }, tag: 0 }), onAnswer: () => 0 },
      recorder,
    );
    let worst = 0;
    for (let i = 0, j = 0; i < sends.length; i++) {
      while (sends[j]! <= sends[i]! - 1000) j++;
      worst = Math.max(worst, i - j + 1);
    }
    expect(worst).toBeLessThanOrEqual(200);
    expect(recorder.counts.due).toBe(400);
    expect(recorder.counts.sent + recorder.counts.dropped).toBe(400);
    expect(recorder.counts.dropped).toBeGreaterThanOrEqual(15); // about 24 were due during the stall
    // After the stall nothing was sent in a burst: at most the arrivals due within the grace (20 ms at
    // 200 req/s: 4, and the one due then) go together, never the ~24 that were due during the stall.
    let cluster = 1;
    let biggest = 1;
    for (let i = 1; i < sends.length; i++) {
      cluster = sends[i]! - sends[i - 1]! < 0.5 ? cluster + 1 : 1;
      biggest = Math.max(biggest, cluster);
    }
    expect(biggest).toBeLessThanOrEqual(5);
    expect(recorder.series().map((s) => s.sent)).toSatisfy((perSec: number[]) => perSec.every((n) => n <= 200));
  });
});

// ---- through a counting proxy on loopback ---------------------------------------------------------------

interface Arrival {
  at: number;
}

let sandbox: RunningSandbox;
let proxy: http.Server;
let proxyUrl: string;
let arrivals: Arrival[] = [];

beforeAll(async () => {
  const launcher = await chooseLauncher({ choice: 'process', needs: { sandbox: true } });
  sandbox = await launcher.startSandbox({ controlPort: true, secret: SANDBOX_SECRET_KEY, logFile: join(mkdtempSync(join(tmpdir(), 'arrival-')), 'sandbox.log') });
  const upstream = new URL(sandbox.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  proxy = http.createServer((req, res) => {
    arrivals.push({ at: Date.now() });
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await sandbox?.stop();
});

function runLoad(args: string[]): Promise<{ status: number | null; output: string; out: string }> {
  const out = mkdtempSync(join(tmpdir(), 'arrival-run-'));
  const env: NodeJS.ProcessEnv = { ...process.env, UPGRADELINK_ACCESS_KEY: SANDBOX_ACCESS_KEY, UPGRADELINK_SECRET_KEY: SANDBOX_SECRET_KEY };
  delete env.UPGRADELINK_BASE_URL;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'load/run.ts', ...args, '--base-url', proxyUrl, '--out', out, '--quiet'], { env });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('close', (status) => resolve({ status, output, out }));
  });
}

/** Arrivals per second of the Unix clock, as a server counts them (REFERENCE.md §6.5). */
function countsBySecond(list: Arrival[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const a of list) counts.set(Math.floor(a.at / 1000), (counts.get(Math.floor(a.at / 1000)) ?? 0) + 1);
  return counts;
}

describe('load arrival > through a counting proxy', () => {
  it('load arrival > load:smoke at --rate 50: never more than 50 in any second at the target, and sent = received', { timeout: 90_000 }, async () => {
    arrivals = [];
    const run = await runLoad(['smoke', '--rate', '50', '--duration', '4', '--connections', '10', '--control-url', sandbox.controlUrl!]);
    expect([0, 1], run.output).toContain(run.status);
    const summary = JSON.parse(readFileSync(join(run.out, 'load-summary.json'), 'utf8'));
    const seconds = countsBySecond(arrivals);
    const worst = Math.max(...seconds.values());
    expect(worst, JSON.stringify([...seconds])).toBeLessThanOrEqual(50);
    expect(arrivals.length).toBe(summary.requests.total);
    expect(summary.scenarios.map((s: { scenario: string }) => s.scenario)).toEqual(['journey', 'throughput', 'replay', 'ratelimit']);
    const journey = summary.scenarios[0];
    expect(journey.executor).toBe('arrival');
    // 4 s at 50 req/s: 200 due; what was not sent in time is counted as dropped, never sent late.
    expect(journey.measured.counts.due).toBe(200);
    expect(journey.measured.counts.sent + journey.measured.counts.dropped).toBe(200);
    // (On a machine this busy some may be dropped; the achieved-rate threshold judges that, not this test.)
    expect(journey.measured.counts.sent).toBeGreaterThanOrEqual(160);
    // Spread evenly, not bunched at the tick: a tenth of a second holds its 5 arrivals, plus at most the
    // 2 that the grace (40 ms at 50 req/s) lets through late from the tenth before.
    const tenths = new Map<number, number>();
    for (const a of arrivals) tenths.set(Math.floor(a.at / 100), (tenths.get(Math.floor(a.at / 100)) ?? 0) + 1);
    const journeyStart = Date.parse(journey.startedAt);
    const journeyTenths = [...tenths].filter(([t]) => t * 100 >= journeyStart && t * 100 < journeyStart + 4000).map(([, n]) => n);
    expect(Math.max(...journeyTenths)).toBeLessThanOrEqual(7);
    expect(run.output).not.toContain(SANDBOX_SECRET_KEY);
  });

  it('load arrival > a ramping rate: each second holds what the ramp asks for, never more, and sent = received', { timeout: 60_000 }, async () => {
    arrivals = [];
    const run = await runLoad(['ramp', '--rate', '60', '--duration', '4', '--connections', '8']);
    expect([0, 1], run.output).toContain(run.status);
    const summary = JSON.parse(readFileSync(join(run.out, 'load-summary.json'), 'utf8'));
    const ramp = summary.scenarios[0];
    const start = Date.parse(ramp.startedAt);
    expect(start % 1000).toBe(0);
    // Up to 60 over 0.4 s, 60 for 3.2 s, down over 0.4 s: the schedule's seconds.
    const expected = ramp.measured.series.map((s: { requested: number }) => s.requested);
    expect(expected.reduce((a: number, b: number) => a + b, 0)).toBe(ramp.measured.counts.due);
    const seconds = countsBySecond(arrivals.filter((a) => a.at >= start));
    expected.forEach((requested: number, t: number) => expect(seconds.get(start / 1000 + t) ?? 0, `second ${t}`).toBeLessThanOrEqual(requested));
    expect(Math.max(...seconds.values())).toBeLessThanOrEqual(60);
    expect(arrivals.length).toBe(summary.requests.total);
  });
});
