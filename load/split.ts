// `load:split`: the throughput scenario spread over processes, like k6 execution segments. Each part
// is a separate `load/throughput.ts --segment a:b` process taking its share of the rate and of the
// request budget (two parts: 0:1/2 and 1/2:1); afterwards the parts are checked to add up to what a
// single process would have been asked for.
//
//   npm run load:split -- --rate 400 --duration 5            # two local processes, embedded sandbox
//   npm run load:split -- --segments 4 --rate 800
//   npm run load:split -- --merge a.json b.json              # parts run on different machines
//
// On several machines, run on each `npm run load:throughput -- --rate R --duration D --segment i/n:(i+1)/n
// --out-name load-throughput-part<i>.json` against the same UPGRADELINK_BASE_URL, collect the JSON
// files, and check them here with --merge (load/README.md, "Beyond one process").
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cliMain, finishRun, numberOption, TARGET_CLI_OPTIONS, targetRequest } from './cli.ts';
import { DEFAULT_MIX, readMix } from './mix.ts';
import { scenarioResult, type ScenarioResult, type Threshold } from './report.ts';
import { parseSegment, type ThroughputFigures } from './throughput.ts';
import { assertSafe, LoadUsageError, openTarget, probe } from './target.ts';

/** What a part's JSON report carries (load-throughput*.json). */
export interface PartReport extends ThroughputFigures {
  passed: boolean;
  target: string;
  plan: { rate: number; durationSeconds: number; connections: number; segment: string; mix: string };
  thresholds: Array<{ name: string; ok: boolean }>;
}

const EPSILON = 1e-9;

/** Checks that the parts of one split cover the load exactly once and add up to a single run. */
export function combineParts(parts: Array<{ file: string; report: PartReport }>, wallSeconds: number, startedAt: number): ScenarioResult {
  if (parts.length === 0) throw new LoadUsageError('no part reports to combine');
  const first = parts[0]!.report.plan;
  const rate = first.rate;
  const durationSeconds = first.durationSeconds;
  const budget = Math.round(rate * durationSeconds);
  const sameRun = parts.every((p) => p.report.plan.rate === rate && p.report.plan.durationSeconds === durationSeconds);
  const segments = parts.map((p) => parseSegment(p.report.plan.segment)).sort((a, b) => a.start - b.start);
  let covered = segments[0]!.start < EPSILON;
  for (let i = 1; i < segments.length; i++) covered &&= Math.abs(segments[i]!.start - segments[i - 1]!.end) < EPSILON;
  covered &&= Math.abs(segments[segments.length - 1]!.end - 1) < EPSILON;
  const sum = (pick: (r: PartReport) => number) => parts.reduce((n, p) => n + pick(p.report), 0);
  const budgets = sum((r) => r.budget);
  const rates = sum((r) => r.requestedRate);
  const sent = sum((r) => r.sent);
  const answered = sum((r) => r.answered);
  const achieved = sum((r) => r.achievedRate);
  const partsPassed = parts.filter((p) => p.report.passed).length;
  const thresholds: Threshold[] = [
    { name: 'parts reported, each with its own thresholds passed', limit: `= ${parts.length}`, actual: partsPassed, ok: partsPassed === parts.length },
    { name: 'parts are of one run (same --rate and --duration)', limit: 'yes', actual: sameRun ? 'yes' : 'no', ok: sameRun },
    { name: `segments cover 0:1 exactly once (${segments.map((s) => s.text).join(', ')})`, limit: 'yes', actual: covered ? 'yes' : 'no', ok: covered },
    { name: 'sum of part budgets = single-process budget (rate × duration)', limit: `= ${budget}`, actual: budgets, ok: budgets === budget },
    { name: 'sum of part rates = requested rate', limit: `= ${rate}`, actual: rates, ok: rates === rate },
    { name: 'sum of requests sent / single-process budget', limit: '>= 95% and <= 100%', actual: `${((sent / budget) * 100).toFixed(1)}%`, ok: sent >= 0.95 * budget && sent <= budget },
    { name: 'combined achieved rate / requested rate', limit: '>= 95%', actual: `${((achieved / rate) * 100).toFixed(1)}%`, ok: achieved >= 0.95 * rate },
  ];
  return scenarioResult({
    scenario: 'split',
    title: `Throughput split over ${parts.length} processes`,
    target: parts[0]!.report.target,
    startedAt: new Date(startedAt).toISOString(),
    wallSeconds,
    plan: { rate, durationSeconds, parts: parts.length, segments: segments.map((s) => s.text).join(', ') },
    metrics: {
      'requested req/s (total)': rate,
      'achieved req/s (sum of parts)': Number(achieved.toFixed(2)),
      'single-process budget': budget,
      'sent (sum of parts)': sent,
      'answered (sum of parts)': answered,
      'not sent in time (sum)': sum((r) => r.shortfall),
    },
    tables: [
      {
        title: 'Parts',
        columns: ['report', 'segment', 'requested req/s', 'achieved req/s', 'budget', 'sent', 'answered', 'not sent in time', 'passed'],
        rows: parts.map((p) => [
          p.file,
          p.report.segment,
          p.report.requestedRate,
          Number(p.report.achievedRate.toFixed(2)),
          p.report.budget,
          p.report.sent,
          p.report.answered,
          p.report.shortfall,
          p.report.passed ? 'yes' : 'NO',
        ]),
      },
    ],
    thresholds,
    data: { rate, durationSeconds, budget, sent, answered, achievedRate: achieved, parts: parts.map((p) => ({ file: p.file, ...p.report })) },
  });
}

function segmentsOf(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${i === 0 ? '0' : `${i}/${n}`}:${i + 1 === n ? '1' : `${i + 1}/${n}`}`);
}

/** Runs one part as its own process; resolves with its exit code. Lines are prefixed with the part. */
function runPart(index: number, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'load/throughput.ts', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = (chunk: Buffer) =>
      chunk
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => `  [part ${index + 1}] ${line}\n`)
        .join('');
    child.stdout.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
    child.stderr.on('data', (c: Buffer) => process.stderr.write(prefix(c)));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

async function readPart(file: string): Promise<PartReport> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as PartReport;
  } catch (error) {
    throw new LoadUsageError(`cannot read the part report ${file}: ${(error as Error).message}`);
  }
}

async function main(): Promise<boolean> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      ...TARGET_CLI_OPTIONS,
      mix: { type: 'string', default: DEFAULT_MIX },
      rate: { type: 'string', default: '400' },
      duration: { type: 'string', default: '5' },
      connections: { type: 'string', default: '8' },
      segments: { type: 'string', default: '2' },
      'p99-ms': { type: 'string', default: '100' },
      merge: { type: 'boolean', default: false },
    },
  });
  const startedAt = Date.now();
  if (values.merge) {
    if (positionals.length < 1) throw new LoadUsageError('--merge needs the part reports: load:split -- --merge a.json b.json');
    const parts = await Promise.all(positionals.map(async (file) => ({ file, report: await readPart(file) })));
    const result = combineParts(parts, (Date.now() - startedAt) / 1000, startedAt);
    return finishRun({ run: 'load:split', results: [result], out: values.out, startedAt });
  }
  if (positionals.length) throw new LoadUsageError(`unexpected arguments: ${positionals.join(' ')} (did you mean --merge?)`);
  const rate = numberOption('rate', values.rate, { integer: true, min: 1 })!;
  const durationSeconds = numberOption('duration', values.duration)!;
  const connections = numberOption('connections', values.connections, { integer: true, min: 1 })!;
  const n = numberOption('segments', values.segments, { integer: true, min: 2 })!;
  if (n > 8) throw new LoadUsageError('--segments: at most 8 local processes');
  const mix = await readMix(values.mix);
  const target = await openTarget(targetRequest(values));
  try {
    assertSafe({ baseUrl: target.baseUrl, durationSeconds, connections, rate, confirmHost: process.env.LOAD_CONFIRM_HOST });
    await probe(target, mix[0]!.path, JSON.stringify(mix[0]!.body));
    const env: NodeJS.ProcessEnv = { ...process.env, UPGRADELINK_ACCESS_KEY: target.accessKey, UPGRADELINK_SECRET_KEY: target.secretKey };
    console.log(`load:split: ${rate} req/s for ${durationSeconds}s as ${n} processes (${segmentsOf(n).join(', ')}) against ${target.label}`);
    const files = segmentsOf(n).map((_, i) => `load-throughput-part${i + 1}.json`);
    const codes = await Promise.all(
      segmentsOf(n).map((segment, i) =>
        runPart(
          i,
          [
            '--base-url', target.baseUrl,
            '--mix', values.mix,
            '--rate', String(rate),
            '--duration', String(durationSeconds),
            '--connections', String(connections),
            '--segment', segment,
            '--p99-ms', values['p99-ms'],
            '--out', values.out,
            '--out-name', files[i]!,
            '--quiet',
          ],
          env,
          (durationSeconds + 60) * 1000,
        ),
      ),
    );
    if (codes.some((c) => c !== 0 && c !== 1)) throw new Error(`a part did not finish (exit codes ${codes.join(', ')})`);
    const parts = await Promise.all(files.map(async (file) => ({ file: join(values.out, file), report: await readPart(join(values.out, file)) })));
    const result = combineParts(parts, (Date.now() - startedAt) / 1000, startedAt);
    return await finishRun({ run: 'load:split', results: [result], out: values.out, startedAt, secret: target.secretKey });
  } finally {
    await target.close();
  }
}

await cliMain('load:split', main);
