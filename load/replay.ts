// Scenario `replay`: replay protection under load (REFERENCE.md §4.2).
//
//   1. Replay rounds: one request is signed once (one nonce) and the very same bytes are sent by
//      --connections connections at once. Exactly one copy may get past the nonce check (a code the
//      mix expects for it); every other copy must be answered 401001.
//   2. Fresh nonces: the journey mix for --duration seconds, every request with its own nonce and
//      signature. None may be rejected for signature, nonce or timestamp (400004, 401001, 401002),
//      and every nonce the generator made is checked to be unique (no collisions).
import { parseArgs } from 'node:util';
import { cliMain, finishRun, isMain, numberOption, TARGET_CLI_OPTIONS, targetRequest } from './cli.ts';
import { envelopeCode, increment, runLoad, sortedCodes } from './engine.ts';
import { createFastSigner } from './fastsign.ts';
import { DEFAULT_MIX, MixTraffic, readMix, type MixEntry } from './mix.ts';
import { mustBeZero, scenarioResult, type ScenarioResult, type Threshold } from './report.ts';
import { assertSafe, openTarget, probe, type Target } from './target.ts';

export const REPLAYED = 401001;

export interface ReplayPlan {
  mix: MixEntry[];
  mixFile: string;
  /** Copies of each replayed request, one per connection, all at once. */
  connections: number;
  rounds: number;
  /** The fresh-nonce phase. */
  durationSeconds: number;
  freshConnections: number;
  rate?: number;
  /** Minimum fresh-nonce answers for the phase to count. */
  minFresh?: number;
  quiet?: boolean;
}

export interface ReplayRound {
  round: number;
  copies: number;
  answered: number;
  accepted: number;
  replayRejected: number;
  other: Record<string, number>;
}

export async function runReplay(target: Target, plan: ReplayPlan): Promise<ScenarioResult> {
  const startedAt = Date.now();
  const entry = plan.mix[0]!;
  const body = Buffer.from(JSON.stringify(entry.body), 'utf8');
  const signer = createFastSigner({ accessKey: target.accessKey, secretKey: target.secretKey });
  const nonces = new Set<string>();
  let noncesMade = 0;
  const track = (nonce: string) => {
    noncesMade++;
    nonces.add(nonce);
  };
  if (!plan.quiet) {
    console.log(
      `replay: ${plan.rounds} round(s) of one signed request sent by ${plan.connections} connections at once, ` +
        `then ${plan.durationSeconds}s of fresh nonces${plan.rate ? ` at ${plan.rate} req/s` : ''}, against ${target.label}`,
    );
  }

  // 1. One nonce, many copies at once.
  const rounds: ReplayRound[] = [];
  let roundErrors = 0;
  for (let r = 1; r <= plan.rounds; r++) {
    const headers = { 'content-type': 'application/json', ...signer.sign('POST', entry.path, body) };
    track(headers['X-Nonce']);
    const round: ReplayRound = { round: r, copies: 0, answered: 0, accepted: 0, replayRejected: 0, other: {} };
    const outcome = await runLoad<null>({
      url: target.baseUrl,
      connections: plan.connections,
      amount: plan.connections,
      next: () => {
        round.copies++;
        return { request: { path: entry.path, body, headers }, tag: null };
      },
      onResponse: (_tag, _status, text) => {
        round.answered++;
        const code = envelopeCode(text);
        if (code !== undefined && entry.expect.includes(code)) round.accepted++;
        else if (code === REPLAYED) round.replayRejected++;
        else {
          const key = code === undefined ? 'not JSON' : String(code);
          round.other[key] = (round.other[key] ?? 0) + 1;
        }
      },
    });
    roundErrors += outcome.errors + outcome.timeouts;
    rounds.push(round);
  }

  // 2. Valid traffic, a fresh nonce per request.
  const traffic = new MixTraffic(plan.mix, target);
  const fresh = await runLoad<number>({
    url: target.baseUrl,
    connections: plan.freshConnections,
    durationSeconds: plan.durationSeconds,
    ...(plan.rate ? { overallRate: plan.rate, maxRequests: Math.ceil(plan.rate * plan.durationSeconds) } : { maxRequests: 2_000_000 }),
    next: () => {
      const made = traffic.next();
      track(made.request.headers['X-Nonce']!);
      return made;
    },
    onResponse: (tag, _status, text) => traffic.record(tag, text),
  });
  const duplicates = noncesMade - nonces.size;
  const exactlyOne = rounds.filter((r) => r.accepted === 1).length;
  const rejected = rounds.reduce((n, r) => n + r.replayRejected, 0);
  const copies = rounds.reduce((n, r) => n + r.copies, 0);
  const freshFailures = traffic.unexpected + traffic.unparsable + fresh.errors + fresh.timeouts;
  const minFresh = plan.minFresh ?? 20;
  const thresholds: Threshold[] = [
    { name: `replay rounds where exactly one of ${plan.connections} copies got through`, limit: `= ${plan.rounds}`, actual: exactlyOne, ok: exactlyOne === plan.rounds },
    { name: 'replayed copies answered 401001', limit: `= ${copies - plan.rounds}`, actual: rejected, ok: rejected === copies - plan.rounds && roundErrors === 0 },
    mustBeZero('fresh-nonce requests rejected for signature, nonce or timestamp', traffic.signingRejections),
    mustBeZero(`duplicate nonces among the ${noncesMade} generated`, duplicates),
    mustBeZero('fresh-nonce answers outside the expected codes, errors or timeouts', freshFailures),
    { name: 'fresh-nonce requests answered', limit: `>= ${minFresh}`, actual: fresh.answered, ok: fresh.answered >= minFresh },
  ];
  return scenarioResult({
    scenario: 'replay',
    title: 'Replay protection under load',
    target: target.label,
    startedAt: new Date(startedAt).toISOString(),
    wallSeconds: (Date.now() - startedAt) / 1000,
    plan: {
      replayed: `${entry.name} (${entry.path})`,
      connections: plan.connections,
      rounds: plan.rounds,
      freshDurationSeconds: plan.durationSeconds,
      freshConnections: plan.freshConnections,
      rate: plan.rate ?? null,
      mix: plan.mixFile,
    },
    metrics: {
      'replay rounds': plan.rounds,
      'copies per round': plan.connections,
      'accepted per round': rounds.map((r) => r.accepted).join(', '),
      'fresh-nonce requests': fresh.answered,
      'fresh-nonce req/s': Number((fresh.answered / Math.max(fresh.wallSeconds, 1e-9)).toFixed(2)),
      'nonces generated': noncesMade,
      'duplicate nonces': duplicates,
      'fresh-nonce business codes': Object.entries(sortedCodes(traffic.codes))
        .map(([c, n]) => `${c}: ${n}`)
        .join(', '),
    },
    tables: [
      {
        title: 'Replay rounds (one nonce each)',
        columns: ['round', 'copies sent', 'answered', 'got through', '401001', 'other'],
        rows: rounds.map((r) => [
          r.round,
          r.copies,
          r.answered,
          r.accepted,
          r.replayRejected,
          Object.entries(r.other)
            .map(([c, n]) => `${c}: ${n}`)
            .join(', ') || '0',
        ]),
      },
    ],
    thresholds,
    data: {
      rounds,
      fresh: { answered: fresh.answered, sent: fresh.sent, codes: sortedCodes(traffic.codes), latencyMs: fresh.latencyMs },
      nonces: { generated: noncesMade, unique: nonces.size, duplicates },
    },
  });
}

export const replayCliOptions = {
  ...TARGET_CLI_OPTIONS,
  mix: { type: 'string', default: DEFAULT_MIX },
  connections: { type: 'string', default: '32' },
  rounds: { type: 'string', default: '3' },
  duration: { type: 'string', default: '3' },
  'fresh-connections': { type: 'string', default: '8' },
  rate: { type: 'string' },
  quiet: { type: 'boolean', default: false },
} as const;

async function main(): Promise<boolean> {
  const { values } = parseArgs({ options: replayCliOptions });
  const startedAt = Date.now();
  const rate = numberOption('rate', values.rate, { integer: true, min: 1 });
  const plan: ReplayPlan = {
    mix: await readMix(values.mix),
    mixFile: values.mix,
    connections: numberOption('connections', values.connections, { integer: true, min: 2 })!,
    rounds: numberOption('rounds', values.rounds, { integer: true, min: 1 })!,
    durationSeconds: numberOption('duration', values.duration)!,
    freshConnections: numberOption('fresh-connections', values['fresh-connections'], { integer: true, min: 1 })!,
    ...(rate ? { rate } : {}),
    quiet: values.quiet,
  };
  const target = await openTarget(targetRequest(values));
  try {
    assertSafe({
      baseUrl: target.baseUrl,
      durationSeconds: plan.durationSeconds,
      connections: Math.max(plan.connections, plan.freshConnections),
      rate: plan.rate,
      confirmHost: process.env.LOAD_CONFIRM_HOST,
    });
    await probe(target, plan.mix[0]!.path, JSON.stringify(plan.mix[0]!.body));
    const result = await runReplay(target, plan);
    return await finishRun({ run: 'load:replay', results: [result], out: values.out, startedAt, secret: target.secretKey });
  } finally {
    await target.close();
  }
}

if (isMain(import.meta.url, 'replay')) await cliMain('load:replay', main);
