// The runner as users run it: the smoke end to end (every report, no secret anywhere, the HTML page's
// charts drawn by headless Chromium, screenshot in reports/load-report.png), each scenario's thresholds
// failing against the sandbox fault that breaks its rule, and bad input: exit 2, one line naming the
// flag and what is allowed, never a stack trace.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from './run.ts';
import { LoadUsageError } from './target.ts';

const SECRET = 'test-secret-DO-NOT-USE';

function load(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string; out: string }> {
  const out = mkdtempSync(join(tmpdir(), 'load-run-'));
  const base: NodeJS.ProcessEnv = { ...process.env, UPGRADELINK_RUNTIME: 'process' };
  delete base.UPGRADELINK_BASE_URL;
  delete base.UPGRADELINK_ACCESS_KEY;
  delete base.UPGRADELINK_SECRET_KEY;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'load/run.ts', ...args, '--out', out], { env: { ...base, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => resolve({ status, stdout, stderr, out }));
  });
}

describe('load run > the smoke profile', () => {
  let smoke: Awaited<ReturnType<typeof load>>;
  beforeAll(async () => {
    smoke = await load(['smoke', '--duration', '2']);
  }, 90_000);

  it('load run > passes against the sandbox, runs every scenario and writes every report', () => {
    expect(smoke.status, smoke.stdout + smoke.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(smoke.out, 'load-summary.json'), 'utf8'));
    expect(summary).toMatchObject({ run: 'load:smoke', profile: 'smoke', passed: true });
    expect(summary.scenarios.map((s: { scenario: string }) => s.scenario)).toEqual(['journey', 'throughput', 'replay', 'ratelimit']);
    expect(summary.requests.total).toBe(1 + summary.scenarios.reduce((n: number, s: { measured: { counts: { sent: number } } }) => n + s.measured.counts.sent, 0));
    expect(readdirSync(smoke.out).sort()).toEqual([
      'load-journey.json',
      'load-junit.xml',
      'load-ratelimit.json',
      'load-replay.json',
      'load-report.html',
      'load-smoke.md',
      'load-summary.json',
      'load-throughput.json',
      'sandbox.log',
    ]);
    // Per-second samples with their own histograms, for the charts and for load:merge.
    const throughput = JSON.parse(readFileSync(join(smoke.out, 'load-throughput.json'), 'utf8'));
    expect(throughput.measured.series.length).toBeGreaterThanOrEqual(1);
    expect(throughput.measured.series[0]).toMatchObject({ t: 0, requested: expect.any(Number), sent: expect.any(Number), p99: expect.any(Number), hdr: expect.any(String) });
    expect(throughput.measured.latency.hdr).toMatch(/^[A-Za-z0-9+/=]+$/);
    const junit = readFileSync(join(smoke.out, 'load-junit.xml'), 'utf8');
    expect(junit.match(/<testcase /g)?.length).toBe(summary.thresholds.total);
    expect(junit).not.toContain('<failure');
    expect(readFileSync(join(smoke.out, 'load-smoke.md'), 'utf8')).toMatch(/^# Load smoke: passed/);
    expect(smoke.stdout).toMatch(/^load:smoke: all thresholds passed$/m);
    // The rate-limit windows, each shown: exactly 1 × 200 and 9 × 429001.
    const ratelimit = summary.scenarios[3];
    expect(ratelimit.data.windows.map((w: { success: number; limited: number; exact: boolean }) => [w.success, w.limited, w.exact])).toEqual([
      [1, 9, true],
      [1, 9, true],
      [1, 9, true],
    ]);
    // The secret appears nowhere: not in the output, not in any report.
    expect(smoke.stdout + smoke.stderr).not.toContain(SECRET);
    for (const file of readdirSync(smoke.out)) expect(readFileSync(join(smoke.out, file), 'utf8'), file).not.toContain(SECRET);
  });

  it('load run > the HTML report draws its charts offline in headless Chromium (reports/load-report.png)', { timeout: 60_000 }, async () => {
    if (!existsSync('/usr/bin/chromium')) throw new Error('/usr/bin/chromium is missing: run `bash scripts/setup.sh` (installs Debian chromium)');
    const html = join(smoke.out, 'load-report.html');
    const page = readFileSync(html, 'utf8');
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+href=|url\(\s*['"]?https?:/);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true });
      const tab = await context.newPage();
      const blocked: string[] = [];
      const errors: string[] = [];
      await tab.route('**/*', (route) => (route.request().url().startsWith('file://') ? route.continue() : (blocked.push(route.request().url()), route.abort())));
      tab.on('pageerror', (error) => errors.push(String(error)));
      await tab.goto(pathToFileURL(html).href, { waitUntil: 'load' });
      await tab.waitForFunction(() => Array.isArray((window as unknown as { __loadCharts?: unknown[] }).__loadCharts), null, { timeout: 15_000 });
      const charts = (await tab.evaluate(() => (window as unknown as { __loadCharts: unknown[] }).__loadCharts)) as Array<{ id: string; points: number; series: number[]; canvas: boolean }>;
      expect(errors).toEqual([]);
      expect(blocked).toEqual([]);
      // journey, throughput and replay: throughput, latency, codes; ratelimit: those and 200 vs 429001 per window.
      expect(charts.map((c) => c.id)).toEqual([
        'journey-throughput',
        'journey-latency',
        'journey-codes',
        'throughput-throughput',
        'throughput-latency',
        'throughput-codes',
        'replay-throughput',
        'replay-latency',
        'replay-codes',
        'ratelimit-throughput',
        'ratelimit-latency',
        'ratelimit-codes',
        'ratelimit-windows',
      ]);
      for (const chart of charts) {
        expect(chart.canvas, chart.id).toBe(true);
        expect(chart.points, chart.id).toBeGreaterThan(0);
        for (const n of chart.series) expect(n, chart.id).toBeGreaterThan(0);
      }
      const windows = charts.find((c) => c.id === 'ratelimit-windows')!;
      expect(windows.points).toBe(3);
      // Each canvas has drawn something beyond its background.
      const inked = await tab.evaluate(() =>
        Array.from(document.querySelectorAll('.chart canvas')).map((canvas) => {
          const c = canvas as HTMLCanvasElement;
          const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
          return n;
        }),
      );
      expect(inked).toHaveLength(13);
      for (const n of inked) expect(n).toBeGreaterThan(500);
      mkdirSync('reports', { recursive: true });
      await tab.screenshot({ path: 'reports/load-report.png', fullPage: true });
      expect(existsSync('reports/load-report.png')).toBe(true);
    } finally {
      await browser.close();
    }
  });
});

describe('load run > thresholds fail when the target breaks the rule', () => {
  it('load run > ratelimit fails against a server that allows one request too many per window', { timeout: 60_000 }, async () => {
    const r = await load(['ratelimit', '--windows', '2', '--fault', 'flow-limit-off-by-one', '--quiet']);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL windows where exactly 1 answer\(s\) were code 200 and every other answer 429001: 0 \(limit = 2\)/);
    const report = JSON.parse(readFileSync(join(r.out, 'load-ratelimit.json'), 'utf8'));
    expect(report.data.windows.map((w: { success: number; limited: number; exact: boolean }) => [w.success, w.limited, w.exact])).toEqual([
      [2, 8, false],
      [2, 8, false],
    ]);
  });

  it('load run > replay fails when the server forgets nonces; the journey when it answers the wrong business code', { timeout: 90_000 }, async () => {
    const [replay, journey] = await Promise.all([
      load(['replay', '--rounds', '1', '--duration', '0.5', '--fault', 'forget-nonces', '--quiet']),
      load(['smoke', '--scenarios', 'journey', '--duration', '1', '--fault', 'latest-code-200', '--quiet']),
    ]);
    expect(replay.status, replay.stdout + replay.stderr).toBe(1);
    expect(replay.stdout).toMatch(/FAIL replay rounds where exactly one copy got through: 0 \(limit = 1\)/);
    expect(journey.status, journey.stdout + journey.stderr).toBe(1);
    expect(journey.stdout).toMatch(/FAIL business codes outside the request's expected set/);
    const junit = readFileSync(join(journey.out, 'load-junit.xml'), 'utf8');
    expect(junit).toMatch(/<testcase classname="load.journey" name="business codes outside the request&apos;s expected set = 0" time="0">\s*<failure /);
  });
});

describe('load run > bad input', () => {
  const refused = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      await main(args);
    } catch (error) {
      expect(error).toBeInstanceOf(LoadUsageError);
      return (error as Error).message;
    } finally {
      for (const key of Object.keys(env)) if (saved[key] === undefined) delete process.env[key];
      Object.assign(process.env, saved);
    }
    throw new Error(`not refused: ${args.join(' ')}`);
  };

  it('load run > every invalid flag or value is refused with one line naming it and what is allowed', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['smoke', '--rate', '-5'], /^--rate must be a positive number of requests per second \(at most 50 against a remote target\); got "-5"$/],
      [['smoke', '--rate', 'fast'], /^--rate must be a positive number .*; got "fast"$/],
      [['smoke', '--rate'], /^--rate needs a value: /],
      [['smoke', '--bogus'], /^unknown flag --bogus; the flags are --base-url .* --help \(npm run load -- --help\)$/],
      [['smoke', '--quiet=yes'], /^--quiet takes no value$/],
      [['smoke', '--duration', '0'], /^--duration must be a positive number of seconds \(at most 120 on loopback, 300 against a remote target\); got "0"$/],
      [['smoke', '--duration', '500'], /^--duration must be a positive number of seconds \(at most 120\); got "500"$/],
      [['smoke', '--connections', '1.5'], /^--connections must be a positive whole number .*; got "1.5"$/],
      [['smoke', '--connections', '65'], /^--connections must be a positive whole number \(at most 64\); got "65"$/],
      [['smoke', '--p99-ms', '-1'], /^--p99-ms must be a positive number of milliseconds; got "-1"$/],
      [['smoke', '--runtime', 'k8s'], /^--runtime must be container, process or auto; got "k8s"$/],
      [['smoke', '--runner', 'k6'], /^--runner must be process or container; got "k6"$/],
      [['smoke', '--mode', 'sometimes'], /^--mode must be auto, clock or wall; got "sometimes"$/],
      [['smoke', '--windows', '1'], /^--windows must be a whole number of windows, at least 2; got "1"$/],
      [['smoke', '--limit', '2', '--per-window', '2'], /^--per-window must be a whole number of requests per window, more than --limit; got "2"$/],
      [['smoke', '--copies', '1'], /^--copies must be a whole number of copies, at least 2; got "1"$/],
      [['smoke', '--fault', 'nope'], /^--fault must name a sandbox fault switch .*; got "nope"$/],
      [['smoke', '--scenarios', 'journey,nope'], /^--scenarios must list scenarios of smoke \(journey, throughput, replay, ratelimit\); got "journey,nope"$/],
      [['nope'], /^unknown profile or scenario "nope"; profiles: smoke, average, stress, spike, soak; scenarios: /],
      [['smoke', 'average'], /^one profile or scenario at a time; got "smoke", "average"$/],
      [[], /^name a profile: npm run load -- <smoke\|average\|stress\|spike\|soak> \[flags\]/],
      [['average', '--segment', '2/2', '--start-at', '2030-01-01T00:00:00Z'], /^--segment must be INDEX\/COUNT with 0 ≤ INDEX < COUNT ≤ 64 \(e\.g\. 0\/2\); got "2\/2"$/],
      [['average', '--segment', '0/2'], /^a distributed runner needs the shared start instant: --start-at or LOAD_START_AT/],
      [['average', '--segment', '0/2', '--start-at', 'tomorrow'], /^--start-at \(LOAD_START_AT\) must be an ISO 8601 instant such as 2030-01-01T12:00:00Z; got "tomorrow"$/],
      [['smoke', '--segment', '0/2', '--start-at', '2030-01-01T00:00:00Z'], /^--scenarios: replay cannot be split over runners/],
      [['smoke', '--base-url', 'not a url'], /^--base-url must be an http or https URL such as http:\/\/127\.0\.0\.1:8787; got "not a url"$/],
      [['smoke', '--mix', '/nonexistent/mix.json'], /^--mix: cannot read the request mix \/nonexistent\/mix\.json: ENOENT/],
      [['smoke', '--base-url', 'https://staging.example.com', '--rate', '400'], /^--rate must be a positive number of requests per second \(at most 50 against a remote target\); got "400"$/],
    ];
    for (const [args, expected] of cases) {
      const message = await refused(args, { UPGRADELINK_RUNTIME: 'process' });
      expect(message, args.join(' ')).toMatch(expected);
      expect(message.includes('\n'), args.join(' ')).toBe(false);
    }
  });

  it('load run > as a process: exit 2 and one line on stderr, no stack trace', { timeout: 60_000 }, async () => {
    const runs = await Promise.all([
      load(['smoke', '--rate', '-5']),
      load(['smoke', '--bogus', 'x']),
      load(['smoke', '--base-url', 'https://staging.example.com', '--rate', '5'], { UPGRADELINK_ACCESS_KEY: 'ak', UPGRADELINK_SECRET_KEY: 'sk', LOAD_CONFIRM_HOST: '' }),
    ]);
    for (const r of runs) {
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
    }
    expect(runs[0]!.stderr.trim()).toBe('load: --rate must be a positive number of requests per second (at most 50 against a remote target); got "-5"');
    expect(runs[1]!.stderr).toMatch(/^load: unknown flag --bogus;/);
    expect(runs[2]!.stderr).toMatch(/^load: refusing to run: staging\.example\.com is not this machine: to load it, set LOAD_CONFIRM_HOST=staging\.example\.com/);
  });
});
