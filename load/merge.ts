// `npm run load:merge -- <runner outputs…> [--out DIR]`: the runners of a distributed run (the pods of
// load/k8s/job.yaml, or load:distributed --local N) into one report, identical in form to a
// single-machine run. Each input is a runner's load-summary.json, or its log (`kubectl logs`) with the
// summary in `load-summary k/n …` lines. Counts are summed, latency histograms added: percentiles come
// from the merged histogram, never from averaged percentiles; per-second samples add up second by
// second (the runners share the start instant). Thresholds are evaluated again on the merged figures.
// Exit 0: every threshold passed; 1: one failed; 2: the inputs are not the N segments of one run.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { decodeHistogram, latencyFigures, mergeMeasured, newHistogram, type LatencyFigures } from './metrics.ts';
import { reportsToShow, textSummary, writeRunReports, type RunSummary, type ScenarioResult } from './report.ts';
import { judgeScenario } from './scenarios.ts';
import { LoadUsageError, runCommand } from './target.ts';

/** A runner's summary from its load-summary.json or from its log's `load-summary k/n` lines. */
export function parseRunnerOutput(text: string, file: string): RunSummary {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed) as RunSummary;
    } catch (error) {
      throw new LoadUsageError(`${file} is not a load summary: ${(error as Error).message}`);
    }
  }
  const chunks = new Map<number, string>();
  let total = 0;
  // Anything may precede the marker on a line (kubectl logs --prefix, timestamps).
  for (const m of text.matchAll(/load-summary (\d+)\/(\d+) ([A-Za-z0-9+/=]+)\s*$/gm)) {
    chunks.set(Number(m[1]), m[3]!);
    total = Number(m[2]);
  }
  if (total === 0) throw new LoadUsageError(`${file} holds no load summary (neither load-summary.json nor a runner log with load-summary lines)`);
  const missing = Array.from({ length: total }, (_, i) => i + 1).filter((i) => !chunks.has(i));
  if (missing.length) throw new LoadUsageError(`${file}: the summary is cut short (lines ${missing.join(', ')} of ${total} missing)`);
  const encoded = Array.from({ length: total }, (_, i) => chunks.get(i + 1)!).join('');
  return JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8')) as RunSummary;
}

/** Adds the runners of one distributed run; throws LoadUsageError when they are not its N segments. */
export function mergeRuns(runs: Array<{ file: string; summary: RunSummary }>): RunSummary {
  if (runs.length === 0) throw new LoadUsageError('give the runner outputs: npm run load:merge -- runner-0.log runner-1.log …');
  const unsegmented = runs.find((r) => !r.summary.segment);
  if (unsegmented) throw new LoadUsageError(`${unsegmented.file} is not from a runner of a distributed run (it has no segment)`);
  const first = runs[0]!.summary;
  const count = first.segment!.count;
  const seen = new Map<number, string>();
  for (const { file, summary } of runs) {
    const s = summary.segment!;
    if (s.count !== count) throw new LoadUsageError(`${file} is segment ${s.index}/${s.count}, ${runs[0]!.file} is of ${count}: not one run`);
    if (s.startAt !== first.segment!.startAt || summary.profile !== first.profile) {
      throw new LoadUsageError(`${file} is from another run (${summary.profile} from ${s.startAt}; ${runs[0]!.file}: ${first.profile} from ${first.segment!.startAt})`);
    }
    if (seen.has(s.index)) throw new LoadUsageError(`segment ${s.index}/${count} is given twice (${seen.get(s.index)} and ${file})`);
    seen.set(s.index, file);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) throw new LoadUsageError(`segment(s) ${missing.map((i) => `${i}/${count}`).join(', ')} missing: a merged run needs every runner's output`);
  const names = first.scenarios.map((s) => s.scenario).join(',');
  for (const { file, summary } of runs) {
    if (summary.scenarios.map((s) => s.scenario).join(',') !== names) throw new LoadUsageError(`${file} ran other scenarios (${summary.scenarios.map((s) => s.scenario).join(', ')}) than ${runs[0]!.file} (${names})`);
  }

  const scenarios: ScenarioResult[] = first.scenarios.map((head, i) => {
    const parts = runs.map((r) => r.summary.scenarios[i]!);
    const measured = mergeMeasured(parts.map((p) => p.measured));
    const totalPeak = head.openModel ? Number(head.plan.totalPeakRate ?? head.plan.peakRate) : null;
    const { figures, thresholds, passed } = judgeScenario(head.kind, measured, totalPeak, head.executorFigures, head.params, { openModel: head.openModel, wallClock: head.wallClock }, head.vars);
    const { segment: _segment, startAt: _startAt, ...plan } = head.plan;
    const sum = (key: string) => parts.reduce((n, p) => n + Number(p.plan[key] ?? 0), 0);
    // The curve of the whole run: the first runner's scaled by its share of the peak.
    const scale = totalPeak && Number(head.plan.peakRate) ? totalPeak / Number(head.plan.peakRate) : 1;
    const wholeCurve = Array.isArray(plan.stages)
      ? { stages: (plan.stages as Array<{ seconds: number; target: number }>).map((st) => ({ seconds: st.seconds, target: Number((st.target * scale).toFixed(3)) })), startRate: Number((Number(plan.startRate ?? 0) * scale).toFixed(3)) }
      : {};
    return {
      ...head,
      startedAt: parts.map((p) => p.startedAt).sort()[0]!,
      wallSeconds: Math.max(...parts.map((p) => p.wallSeconds)),
      plan: {
        ...plan,
        connections: sum('connections'),
        ...(head.openModel ? { budget: sum('budget'), peakRate: totalPeak, ...wholeCurve } : {}),
        runners: count,
        startAt: head.plan.startAt,
      },
      measured,
      figures,
      thresholds,
      passed,
    };
  });
  const all = scenarios.flatMap((s) => s.thresholds);
  const probe = runs.reduce((n, r) => n + r.summary.requests.probe, 0);
  const sent = scenarios.reduce((n, s) => n + s.measured.counts.sent, 0);
  return {
    run: first.run,
    profile: first.profile,
    startedAt: runs.map((r) => r.summary.startedAt).sort()[0]!,
    wallSeconds: Math.max(...runs.map((r) => r.summary.wallSeconds)),
    target: first.target.replace(/ \(load generated in a runner container\)$/, ''),
    passed: scenarios.length > 0 && scenarios.every((s) => s.passed),
    thresholds: { total: all.length, failed: all.filter((t) => !t.ok).length },
    requests: { probe, scenarios: sent, total: probe + sent },
    runners: count,
    scenarios,
  };
}

/** The whole run's latency over every scenario: the runners' histograms added. */
export function overallLatency(summary: RunSummary): LatencyFigures {
  const histogram = newHistogram();
  for (const s of summary.scenarios) histogram.add(decodeHistogram(s.measured.latency.hdr));
  return latencyFigures(histogram);
}

export async function readRunnerOutputs(files: string[]): Promise<Array<{ file: string; summary: RunSummary }>> {
  return Promise.all(
    files.map(async (file) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new LoadUsageError(`cannot read ${file}: ${(error as Error).message}`);
      }
      return { file, summary: parseRunnerOutput(text, file) };
    }),
  );
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { out: { type: 'string', default: 'reports' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new LoadUsageError(`${(error as Error).message.split('\n')[0]} (usage: npm run load:merge -- [--out DIR] runner outputs…)`);
  }
  const merged = mergeRuns(await readRunnerOutputs(parsed.positionals));
  const written = await writeRunReports(parsed.values.out!, merged);
  console.log(textSummary(merged.scenarios, `${merged.run} (${merged.runners} runners merged)`).join('\n'));
  const latency = overallLatency(merged);
  console.log(`load:merge: ${merged.requests.total} requests sent by ${merged.runners} runners; p50 ${latency.p50} ms, p99 ${latency.p99} ms (merged histograms); reports ${reportsToShow(written).join(', ')}`);
  return merged.passed ? 0 : 1;
}

if (/[/\\]merge\.(ts|mjs|js)$/.test(process.argv[1] ?? '')) {
  await runCommand('load:merge', () => main(process.argv.slice(2)));
}
