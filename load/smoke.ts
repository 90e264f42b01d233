// Load smoke: every scenario, briefly, with thresholds on (the CI entry; `npm start` and `npm test`
// run it). In order, against one target:
//   journey     the weighted check-for-update mix (load/mix.json) for --duration seconds
//   throughput  the mix at a constant rate for 2 s, achieved vs requested
//   replay      2 rounds of one nonce sent by many connections, then 1 s of fresh nonces
//   ratelimit   3 windows of a flow-limited strategy, sandbox clock stepped per window
//
// Default target: the embedded sandbox, started here on a free loopback port. Against staging:
//   UPGRADELINK_BASE_URL=https://staging.example.com LOAD_CONFIRM_HOST=staging.example.com \
//   UPGRADELINK_ACCESS_KEY=… UPGRADELINK_SECRET_KEY=… npm run load:smoke -- --rate 10 --mix my-mix.json
// (on a remote target ratelimit runs only when asked for with --scenarios, as it uses up a quota).
//
// Reports: reports/load-<scenario>.json (journey also as load-smoke.json), load-summary.json,
// load-report.html, load-junit.xml and load-smoke.md. A failed threshold exits 1.
//
// --runner container runs the load generator itself in the load-runner image (upgradelink/load:local,
// the role a k6 image plays) through testcontainers on the host network, against the same target:
// this process starts the sandbox (per --runtime), checks safety and credentials, then hands the run
// to the container, which writes the reports into --out.
// The driver is autocannon (MIT); k6 is ruled out by licence policy: see load/README.md.
import { parseArgs } from 'node:util';
import { cliMain, finishRun, isMain, numberOption, TARGET_CLI_OPTIONS, targetRequest } from './cli.ts';
import { runJourney } from './journey.ts';
import { DEFAULT_MIX, readMix } from './mix.ts';
import { rateLimitLoadPlan, rateLimitPlan, runRateLimit } from './ratelimit.ts';
import { runReplay, type ReplayPlan } from './replay.ts';
import type { ScenarioResult } from './report.ts';
import { runThroughput, type ThroughputPlan } from './throughput.ts';
import { assertSafe, LoadUsageError, openTarget, probe, type Target } from './target.ts';
import { chooseLauncher } from '../harness/index.ts';

export const SMOKE_SCENARIOS = ['journey', 'throughput', 'replay', 'ratelimit'] as const;
type SmokeScenario = (typeof SMOKE_SCENARIOS)[number];

async function main(): Promise<boolean> {
  const { values } = parseArgs({
    options: {
      ...TARGET_CLI_OPTIONS,
      // Where the load generator runs: process (default, here) or container (the load-runner image).
      runner: { type: 'string', default: 'process' },
      // A sandbox given with --base-url: its loopback control listener, to step its clock (ratelimit).
      'control-url': { type: 'string' },
      mix: { type: 'string', default: DEFAULT_MIX },
      duration: { type: 'string', default: '5' },
      connections: { type: 'string', default: '8' },
      rate: { type: 'string' },
      'p99-ms': { type: 'string', default: '100' },
      scenarios: { type: 'string' },
      // ratelimit on staging: a flow-limited app seeded there
      'app-key': { type: 'string' },
      limit: { type: 'string' },
      'window-seconds': { type: 'string' },
    },
  });
  const startedAt = Date.now();
  const mix = await readMix(values.mix);
  const durationSeconds = numberOption('duration', values.duration)!;
  const connections = numberOption('connections', values.connections, { integer: true, min: 1 })!;
  const rate = numberOption('rate', values.rate, { integer: true, min: 1 });
  const p99Ms = numberOption('p99-ms', values['p99-ms'])!;

  if (values.runner !== 'process' && values.runner !== 'container') throw new LoadUsageError(`--runner must be process or container, got "${values.runner}"`);
  const target = await openTarget({
    ...targetRequest(values),
    ...(values['control-url'] ? { controlUrl: values['control-url'] } : {}),
    controlListener: values.runner === 'container',
  });
  try {
    const defaults: SmokeScenario[] = target.loopback ? [...SMOKE_SCENARIOS] : ['journey', 'throughput', 'replay'];
    const wanted = values.scenarios ? values.scenarios.split(',').map((s) => s.trim()).filter(Boolean) : defaults;
    for (const name of wanted) {
      if (!(SMOKE_SCENARIOS as readonly string[]).includes(name)) throw new LoadUsageError(`--scenarios: unknown scenario "${name}" (known: ${SMOKE_SCENARIOS.join(', ')})`);
    }
    const confirmHost = process.env.LOAD_CONFIRM_HOST;
    const throughputPlan: ThroughputPlan = {
      mix,
      mixFile: values.mix,
      rate: rate ?? 200,
      durationSeconds: Math.min(2, durationSeconds),
      connections,
      segment: { start: 0, end: 1, text: '0:1' },
      p99Ms,
      quiet: true,
    };
    const replayPlan: ReplayPlan = {
      mix,
      mixFile: values.mix,
      connections: target.loopback ? 16 : Math.max(2, connections),
      rounds: 2,
      durationSeconds: Math.min(1, durationSeconds),
      freshConnections: connections,
      ...(rate ? { rate } : {}),
      minFresh: rate ? Math.max(1, Math.floor(rate / 2)) : 20,
      quiet: true,
    };
    const rlPlan = rateLimitPlan(
      {
        'app-key': values['app-key'] ?? 'apk-flow-second-1',
        limit: values.limit ?? '1',
        'window-seconds': values['window-seconds'] ?? '1',
        windows: '3',
        connections: String(connections),
        'version-code': '1',
        mode: 'auto',
      },
      true,
    );
    // Every part is checked before any traffic goes out.
    assertSafe({ baseUrl: target.baseUrl, durationSeconds, connections, rate, confirmHost });
    if (wanted.includes('throughput')) assertSafe({ baseUrl: target.baseUrl, durationSeconds: throughputPlan.durationSeconds, connections, rate: throughputPlan.rate, confirmHost });
    if (wanted.includes('replay')) assertSafe({ baseUrl: target.baseUrl, durationSeconds: replayPlan.durationSeconds, connections: replayPlan.connections, rate, confirmHost });
    if (wanted.includes('ratelimit')) assertSafe(rateLimitLoadPlan(rlPlan, target));
    await probe(target, mix[0]!.path, JSON.stringify(mix[0]!.body));

    if (values.runner === 'container') return await inRunnerContainer(target, values, wanted);
    console.log(`load:smoke: ${wanted.join(', ')} against ${target.label}`);
    const results: ScenarioResult[] = [];
    for (const name of wanted as SmokeScenario[]) {
      if (name === 'journey') results.push(await runJourney(target, { mix, mixFile: values.mix, durationSeconds, connections, ...(rate ? { rate } : {}), p99Ms }));
      if (name === 'throughput') results.push(await runThroughput(target, throughputPlan));
      if (name === 'replay') results.push(await runReplay(target, replayPlan));
      if (name === 'ratelimit') results.push(await runRateLimit(target, rlPlan));
    }
    return await finishRun({
      run: 'load:smoke',
      results,
      out: values.out,
      startedAt,
      secret: target.secretKey,
      runReports: true,
      markdown: 'load-smoke.md',
      fileNames: { journey: ['load-journey.json', 'load-smoke.json'] },
    });
  } finally {
    await target.close();
  }
}

/** Hands the run to the load-runner image; true when it exits 0 (every threshold passed). */
async function inRunnerContainer(target: Target, values: Record<string, string | boolean | string[] | undefined>, wanted: string[]): Promise<boolean> {
  const str = (name: string) => values[name] as string | undefined;
  const args = ['--base-url', target.baseUrl, '--scenarios', wanted.join(',')];
  if (target.controlUrl) args.push('--control-url', target.controlUrl);
  for (const name of ['duration', 'connections', 'rate', 'p99-ms', 'app-key', 'limit', 'window-seconds']) {
    const value = str(name);
    if (value !== undefined) args.push(`--${name}`, value);
  }
  const files: Array<{ source: string; target: string }> = [];
  const mix = str('mix')!;
  if (mix !== DEFAULT_MIX) {
    files.push({ source: mix, target: '/app/custom/mix.json' });
    args.push('--mix', '/app/custom/mix.json');
  }
  const env: Record<string, string> = {
    UPGRADELINK_ACCESS_KEY: target.accessKey,
    UPGRADELINK_SECRET_KEY: target.secretKey,
    LOAD_TARGET_LABEL: `${target.label} (load generated in a runner container)`,
  };
  if (process.env.LOAD_CONFIRM_HOST) env.LOAD_CONFIRM_HOST = process.env.LOAD_CONFIRM_HOST;
  console.log(`load:smoke: ${wanted.join(', ')} against ${target.label}, generated from a runner container`);
  let result;
  try {
    // Its own choice, always containers: the sandbox may run elsewhere (--runtime process).
    const launcher = await chooseLauncher({ choice: 'container', needs: { loadRunner: true } });
    result = await launcher.runLoadRunner({
      args,
      out: str('out')!,
      env,
      files,
      secret: target.secretKey,
      onOutput: (text) => process.stdout.write(text),
    });
  } catch (error) {
    throw new LoadUsageError(`--runner container: ${(error as Error).message.replace(/^runtime container: /, '')}; or use --runner process`);
  }
  console.log(`load:smoke: runner container ${result.image} exited ${result.exitCode}; its reports (/app/reports above) are in ${str('out')}/`);
  if (result.exitCode > 1) throw new Error(`the runner container exited ${result.exitCode}; see ${str('out')}/load-runner.log`);
  return result.exitCode === 0;
}

if (isMain(import.meta.url, 'smoke')) await cliMain('load:smoke', main);
