// Every request example of the bundle is executable: sent to the reference sandbox (in-process, a
// free port) as JSON.stringify(value), signed with the fixtures' main access key pair, it gets the
// answer of the response example its `x-response` names: the same HTTP status, `code` and `data`,
// compared exactly (`msg`, `docs` and `traceId` never are). And the check can fail: a wrong pairing
// and a changed fixture value are each reported, against a second sandbox with an in-memory copy of
// the fixtures, so nothing is left changed.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRaw, signedHeaders } from '../lib/client/index.ts';
import { loadBundle, operationNodes } from '../lib/spec/index.ts';
import { startSandbox, type SandboxHandle } from '../sandbox/index.ts';
import type { SandboxFixtures } from '../sandbox/fixtures.ts';
import { type RequestExample, type ResponseExample, requestExamples, responseExamples } from './support/examples.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/sandbox.json', import.meta.url));
const fixtures = JSON.parse(readFileSync(FIXTURES, 'utf8')) as SandboxFixtures;
/** The main pair (fixtures/README.md); access keys are not bound to apps. */
const MAIN_ACCESS_KEY = 'ak-sandbox-0001';
const mainPair = fixtures.accessKeys.find((k) => k.accessKey === MAIN_ACCESS_KEY);
if (!mainPair) throw new Error(`fixtures/sandbox.json has no access key ${MAIN_ACCESS_KEY}`);

const bundle = loadBundle();
const examples = requestExamples(bundle);

/** The parts of an answer the contract lets tests compare (REFERENCE §1). */
interface Answer {
  status: number;
  code: unknown;
  data: unknown;
}

async function send(baseUrl: string, example: RequestExample): Promise<Answer> {
  const body = JSON.stringify(example.value);
  const target = example.path;
  const signing = signedHeaders({ method: 'POST', target, body, accessKey: mainPair!.accessKey, secretKey: mainPair!.secretKey });
  const response = await sendRaw({ baseUrl, method: 'POST', target, headers: { 'Content-Type': 'application/json', ...signing }, body });
  const envelope = (response.json ?? {}) as { code?: unknown; data?: unknown };
  return { status: response.status, code: envelope.code, data: envelope.data };
}

/** What a response example documents: the HTTP status it is listed under, its `code` and `data`. */
function documented(response: ResponseExample): Answer {
  const value = (response.value ?? {}) as { code?: unknown; data?: unknown };
  return { status: Number(response.status), code: value.code, data: value.data };
}

const show = (value: unknown) => (value === undefined ? '(absent)' : JSON.stringify(value));

/**
 * One line per difference, `<where>: expected <documented>, received <answered>`; empty when equal.
 * Objects are compared key by key (absent and extra keys included), everything else exactly.
 */
export function differences(expected: unknown, received: unknown, where = ''): string[] {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isRecord(expected) && isRecord(received)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(received)])];
    return keys.flatMap((key) => differences(expected[key], received[key], where ? `${where}.${key}` : key));
  }
  return isDeepStrictEqual(expected, received) ? [] : [`${where || '(root)'}: expected ${show(expected)}, received ${show(received)}`];
}

let sandbox: SandboxHandle;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, fixtures: FIXTURES });
});

afterAll(async () => {
  await sandbox?.close();
});

describe('examples', () => {
  it('every operation has a request example', () => {
    expect([...new Set(examples.map((e) => e.operationId))]).toEqual(operationNodes(bundle).map((op) => op.operationId));
  });

  for (const operationId of new Set(examples.map((e) => e.operationId))) {
    describe(operationId, () => {
      for (const example of examples.filter((e) => e.operationId === operationId)) {
        it(example.key, async () => {
          expect(example.problem, 'x-response names one response example').toBeNull();
          const received = await send(sandbox.url, example);
          expect(differences(documented(example.response!), received), `answer to ${example.key} vs ${example.responseKey}`).toEqual([]);
        });
      }
    });
  }
});

describe('examples > the check can fail', () => {
  const apkOperation = operationNodes(bundle).find((op) => op.operationId === 'apkUpgrade')!;
  const apkResponses = responseExamples(bundle, apkOperation);
  const seedRequest = examples.find((e) => e.operationId === 'apkUpgrade' && e.key === 'full')!;
  const pairedWith = (key: string) => apkResponses.find((r) => r.key === key)!;

  it.each([
    ['equal', { status: 200, code: 200, data: { a: 1 } }, { status: 200, code: 200, data: { a: 1 } }, []],
    ['another value', { data: { a: 1 } }, { data: { a: 2 } }, ['data.a: expected 1, received 2']],
    ['a key the example lacks', { data: { a: 1 } }, { data: { a: 1, b: '' } }, ['data.b: expected (absent), received ""']],
    ['a key the answer lacks', { data: { a: 1, b: 2 } }, { data: { a: 1 } }, ['data.b: expected 2, received (absent)']],
    ['null against an object', { data: null }, { data: { a: 1 } }, ['data: expected null, received {"a":1}']],
    ['arrays compared whole', { data: { c: [1, 2] } }, { data: { c: [2, 1] } }, ['data.c: expected [1,2], received [2,1]']],
  ])('differences > %s', (_name, expected, received, lines) => {
    expect(differences(expected, received)).toEqual(lines);
  });

  it('a wrong pairing is reported: the seed request paired with the already-latest answer', async () => {
    const received = await send(sandbox.url, seedRequest);
    expect(differences(documented(pairedWith(seedRequest.responseKey!)), received)).toEqual([]);
    const lines = differences(documented(pairedWith('code0')), received);
    expect(lines).toContain('code: expected 0, received 200');
    expect(lines).toContain('data.apkKey: expected "", received "isVZBUvkFhv6oHxk_X-D0Q"');
  });

  it('a wrong pairing is reported: an error example is told apart by its HTTP status', async () => {
    const lines = differences(documented(pairedWith('code404001')), await send(sandbox.url, seedRequest));
    expect(lines[0]).toBe('status: expected 404, received 200');
  });

  it('a changed fixture value is reported (a second sandbox on an in-memory copy)', async () => {
    const changed = structuredClone(fixtures);
    const app = changed.apps.find((a) => a.family === 'apk' && a.key === 'isVZBUvkFhv6oHxk_X-D0Q')!;
    const offered = app.versions.find((v) => v.versionCode === 2)!;
    offered.urlFileSize = 7214;
    const other = await startSandbox({ port: 0, fixtures: changed });
    try {
      const received = await send(other.url, seedRequest);
      expect(differences(documented(seedRequest.response!), received)).toEqual(['data.urlFileSize: expected 7213, received 7214']);
    } finally {
      await other.close();
    }
    // The shipped fixtures are untouched: the main sandbox still gives the documented answer.
    expect(differences(documented(seedRequest.response!), await send(sandbox.url, seedRequest))).toEqual([]);
  });
});
