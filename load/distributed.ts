// `npm run load:distributed -- --local N [profile] [flags]`: a distributed run on this machine, the way
// load/k8s/job.yaml runs one on Kubernetes. N load-runner containers (harness launcher, testcontainers,
// host network) get exactly the environment the Indexed Job gives its pods (JOB_COMPLETION_INDEX,
// LOAD_SEGMENTS, LOAD_START_AT, UPGRADELINK_BASE_URL/ACCESS_KEY/SECRET_KEY, LOAD_CONFIRM_HOST) and the
// same arguments; each runs its execution segment from the shared instant. Their logs are merged as
// `kubectl logs` output would be (load/merge.ts) into the usual reports plus reports/load-distributed.json
// (runners, totals, merged percentiles).
//
// The embedded sandbox (or --base-url) is the target; the profile defaults to `average`. Exit 0 when
// every runner finished and every merged threshold passed, 1 when a threshold failed, 2 on bad input or
// when containers cannot run.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chooseLauncher, containerFailure } from '../harness/index.ts';
import { nextWholeSecond } from './arrival.ts';
import { mergeRuns, overallLatency, readRunnerOutputs } from './merge.ts';
import { mixForContainer } from './mix.ts';
import { reportsToShow, textSummary, writeReportFile, writeRunReports } from './report.ts';
import { parseCli, resolveRun } from './run.ts';
import { assertSafe, LoadUsageError, loopbackUrl, openTarget, runCommand } from './target.ts';

/** What the Job gives pod `index` of `count` (load/k8s/job.yaml), besides the Secret's credentials. */
export function runnerEnv(index: number, count: number, startAt: string, credentials: { baseUrl: string; accessKey: string; secretKey: string }, confirmHost?: string): Record<string, string> {
  return {
    JOB_COMPLETION_INDEX: String(index),
    LOAD_SEGMENTS: String(count),
    LOAD_START_AT: startAt,
    UPGRADELINK_BASE_URL: credentials.baseUrl,
    UPGRADELINK_ACCESS_KEY: credentials.accessKey,
    UPGRADELINK_SECRET_KEY: credentials.secretKey,
    ...(confirmHost ? { LOAD_CONFIRM_HOST: confirmHost } : {}),
  };
}

async function main(argv: string[]): Promise<number> {
  // --local and --start-in are this command's; everything else is the runners' (checked by run.ts).
  let local: string | undefined;
  let startIn = '10';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i]!.split(/=(.*)/s);
    if (name === '--local' || name === '--start-in') {
      const value = inline ?? argv[++i];
      if (name === '--local') local = value;
      else startIn = value ?? '';
    } else rest.push(argv[i]!);
  }
  const count = Number(local);
  if (local === undefined || !Number.isInteger(count) || count < 1 || count > 8) {
    throw new LoadUsageError(`--local must be the number of runner containers, 1 to 8 (without a cluster; with one, use load/k8s/job.yaml); got ${local === undefined ? 'nothing' : `"${local}"`}`);
  }
  const lead = Number(startIn);
  if (!Number.isFinite(lead) || lead < 2 || lead > 120) throw new LoadUsageError(`--start-in must be the seconds until the shared start, 2 to 120 (time for the containers to start); got "${startIn}"`);
  const { target: named, values } = parseCli(rest);
  if (values.segment || values['start-at'] || values.runner) throw new LoadUsageError('--segment, --start-at and --runner are set by load:distributed itself');
  const profile = named ?? 'average';
  const out = values.out ?? 'reports';
  // Check the flags as a runner will, before anything starts.
  const probeStart = new Date(nextWholeSecond(lead * 1000)).toISOString();
  const segmentEnv = { ...process.env, JOB_COMPLETION_INDEX: '0', LOAD_SEGMENTS: String(count), LOAD_START_AT: probeStart };
  const givenUrl = values['base-url'] ?? process.env.UPGRADELINK_BASE_URL;
  resolveRun(profile, values, givenUrl === undefined || loopbackUrl(givenUrl), segmentEnv);

  const target = await openTarget({ baseUrl: values['base-url'], runtime: values.runtime, logDir: out, faults: values.fault ?? [] });
  try {
    const run = resolveRun(profile, values, target.loopback, segmentEnv);
    // The caps hold for the whole run: the total rate and connections of all runners together.
    assertSafe({
      baseUrl: target.baseUrl,
      durationSeconds: run.durationSeconds,
      connections: Math.max(run.connections, count),
      rate: run.rate,
      confirmHost: process.env.LOAD_CONFIRM_HOST,
    });
    let launcher;
    try {
      launcher = await chooseLauncher({ choice: 'container', needs: { loadRunner: true } });
    } catch (error) {
      throw new LoadUsageError(`--local ${count}: ${containerFailure(error)} (npm run docker:engine && npm run docker:build)`);
    }
    const startAt = new Date(nextWholeSecond(lead * 1000)).toISOString();
    // The arguments the Job's pods get: the profile and the flags, minus what only this process uses.
    const localOnly = new Set(['out', 'runtime', 'fault', 'base-url', 'mix', 'quiet']);
    const runnerArgs = [profile];
    for (const [name, value] of Object.entries(values)) {
      if (localOnly.has(name) || value === undefined) continue;
      if (typeof value === 'boolean') runnerArgs.push(`--${name}`);
      else runnerArgs.push(`--${name}=${value}`);
    }
    const { files, args: mixArgs } = mixForContainer(values.mix);
    runnerArgs.push(...mixArgs);
    console.log(`load:distributed: ${count} runner containers (${launcher.images.loadRunner}), ${profile} ${runnerArgs.slice(1).join(' ')} against ${target.label}, starting together at ${startAt}`);
    const dir = path.join(out, 'distributed');
    const runners = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const runnerOut = path.join(dir, `runner-${index}`);
        mkdirSync(runnerOut, { recursive: true });
        const env = runnerEnv(index, count, startAt, { baseUrl: target.baseUrl, accessKey: target.accessKey, secretKey: target.secretKey }, process.env.LOAD_CONFIRM_HOST);
        const prefix = `[runner ${index}] `;
        let pending = '';
        const result = await launcher.runLoadRunner({
          args: runnerArgs,
          out: runnerOut,
          env,
          files,
          secret: target.secretKey,
          onOutput: (text) => {
            // The summary lines are for load:merge, not for the terminal.
            pending += text;
            const lines = pending.split('\n');
            pending = lines.pop()!;
            for (const line of lines) if (!line.includes('load-summary ')) process.stdout.write(`${prefix}${line}\n`);
          },
        });
        return { index, exitCode: result.exitCode, image: result.image, log: path.join(runnerOut, 'load-runner.log') };
      }),
    );
    const failed = runners.filter((r) => r.exitCode > 1);
    if (failed.length) throw new Error(`runner(s) ${failed.map((r) => `${r.index} (exit ${r.exitCode}, ${r.log})`).join(', ')} did not finish`);
    const outputs = await readRunnerOutputs(runners.map((r) => r.log));
    const merged = mergeRuns(outputs);
    const written = await writeRunReports(out, merged, target.secretKey);
    const latency = overallLatency(merged);
    const total = (key: 'due' | 'sent' | 'answered' | 'dropped' | 'errors' | 'non2xx') => merged.scenarios.reduce((n, s) => n + s.measured.counts[key], 0);
    const report = {
      profile,
      target: target.label,
      startAt,
      passed: merged.passed,
      runners: runners.map((r, i) => {
        const summary = outputs[i]!.summary;
        const scenarios = summary.scenarios;
        return {
          index: r.index,
          segment: `${summary.segment!.index}/${summary.segment!.count}`,
          exitCode: r.exitCode,
          log: r.log,
          rate: scenarios.map((s) => s.plan.peakRate ?? null),
          budget: scenarios.map((s) => s.plan.budget ?? null),
          requests: summary.requests.total,
          sent: scenarios.reduce((n, s) => n + s.measured.counts.sent, 0),
          answered: scenarios.reduce((n, s) => n + s.measured.counts.answered, 0),
          dropped: scenarios.reduce((n, s) => n + s.measured.counts.dropped, 0),
          p99Ms: scenarios.map((s) => s.measured.latency.p99),
          passed: summary.passed,
        };
      }),
      totals: { due: total('due'), sent: total('sent'), answered: total('answered'), dropped: total('dropped'), failed: total('errors') + total('non2xx'), probe: merged.requests.probe, requests: merged.requests.total },
      latencyMs: { p50: latency.p50, p90: latency.p90, p95: latency.p95, p99: latency.p99, max: latency.max, count: latency.count, from: 'the runners’ HDR histograms, added' },
      scenarios: merged.scenarios.map((s) => ({
        scenario: s.scenario,
        passed: s.passed,
        due: s.measured.counts.due,
        sent: s.measured.counts.sent,
        answered: s.measured.counts.answered,
        dropped: s.measured.counts.dropped,
        maxSentInASecond: s.figures.max_sent_in_a_second ?? null,
        requestedRate: s.plan.peakRate ?? null,
        latencyMs: { p50: s.measured.latency.p50, p95: s.measured.latency.p95, p99: s.measured.latency.p99, max: s.measured.latency.max },
      })),
    };
    const file = await writeReportFile(out, 'load-distributed.json', `${JSON.stringify(report, null, 2)}\n`, target.secretKey);
    console.log(textSummary(merged.scenarios, `load:distributed (${count} runners merged)`).join('\n'));
    console.log(
      `load:distributed: ${report.totals.requests} requests sent by ${count} runners (${report.totals.dropped} dropped); merged p50 ${latency.p50} ms, p99 ${latency.p99} ms; ` +
        `reports ${file}, ${reportsToShow(written).join(', ')}`,
    );
    writeFileSync(path.join(dir, 'runners.txt'), `${runners.map((r) => r.log).join('\n')}\n`);
    return merged.passed ? 0 : 1;
  } finally {
    await target.close();
  }
}

if (/[/\\]distributed\.(ts|mjs|js)$/.test(process.argv[1] ?? '')) {
  await runCommand('load:distributed', () => main(process.argv.slice(2)));
}
