// The vitest reporter of a contract run: a progress line while the tests run, and at the end every test
// as a TestRecord (rule, operation, state, the first failing check, the last request) handed to the
// runner, which turns them into findings and reports. Tests name their rule and operation in their
// task meta (support/context.ts); failures are ContractFailure messages (`[rule] title`, `Expected:`,
// `Received:`), anything else is an error of the suite.
import path from 'node:path';
import type { SerializedError } from '@vitest/utils';
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';
import type { RecordedExchange, TestRecord } from './findings.ts';

export interface RunResult {
  tests: TestRecord[];
  /** Errors outside any test (a file that failed to load, an unhandled rejection). */
  unhandled: string[];
  wallTimeMs: number;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

function errorText(e: SerializedError | undefined): string {
  if (!e) return '';
  return String(e.message ?? e).replace(ANSI, '');
}

/** `[rule] title` / `Expected: …` / `Received: …`, as ContractFailure writes it. */
export function parseFailure(message: string, check?: string): NonNullable<TestRecord['failure']> {
  const head = /^\[([a-z0-9.-]+)\] (.*)$/m.exec(message);
  const expected = /^Expected: (.*)$/m.exec(message)?.[1];
  const received = /^Received: (.*)$/m.exec(message)?.[1];
  if (!head) return { title: message.split('\n')[0] ?? 'failed', message };
  return {
    rule: head[1]!,
    ...(check ? { check } : {}),
    title: head[2]!,
    ...(expected !== undefined ? { expected } : {}),
    ...(received !== undefined ? { received } : {}),
    message,
  };
}

function toRecord(test: TestCase, root: string): TestRecord {
  const result = test.result();
  const meta = test.meta() as { rule?: string; operation?: string | null; after?: string[]; exchanges?: RecordedExchange[]; requestCount?: number };
  const record: TestRecord = {
    name: test.fullName,
    file: path.relative(root, test.module.moduleId),
    ...(meta.rule ? { rule: meta.rule } : /\[([a-z0-9.-]+)\]$/.test(test.name) ? { rule: /\[([a-z0-9.-]+)\]$/.exec(test.name)![1]! } : {}),
    operation: meta.operation ?? null,
    ...(meta.after ? { after: meta.after } : {}),
    state: result.state === 'pending' ? 'skipped' : result.state,
    durationMs: Math.round(test.diagnostic()?.duration ?? 0),
  };
  if (result.state === 'skipped') record.skipReason = result.note ?? 'skipped without a reason';
  if (result.state === 'failed') {
    const first = result.errors[0];
    const check = (first as unknown as { check?: string } | undefined)?.check;
    record.failure = parseFailure(errorText(first), check);
  }
  if (meta.requestCount) record.requestCount = meta.requestCount;
  const last = meta.exchanges?.[meta.exchanges.length - 1];
  if (last) record.exchange = last;
  return record;
}

export class ContractReporter implements Reporter {
  private root = process.cwd();
  private done = 0;
  private failed = 0;
  private skipped = 0;
  private lastPrint = 0;
  private readonly started = Date.now();
  result: RunResult | undefined;

  constructor(private readonly progress: (line: string) => void = () => {}) {}

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
  }

  onTestCaseResult(test: TestCase): void {
    this.done++;
    const state = test.result().state;
    if (state === 'failed') this.failed++;
    if (state === 'skipped') this.skipped++;
    const now = Date.now();
    if (now - this.lastPrint >= 1000) {
      this.lastPrint = now;
      this.progress(`contract: ${this.done} tests done, ${this.failed} failing, ${this.skipped} skipped (${((now - this.started) / 1000).toFixed(0)} s)`);
    }
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    const tests: TestRecord[] = [];
    for (const module of testModules) for (const test of module.children.allTests()) tests.push(toRecord(test, this.root));
    const moduleErrors = testModules.flatMap((m) =>
      m.state() === 'failed' ? m.errors().map((e) => `${m.relativeModuleId}: ${errorText(e as SerializedError)}`) : [],
    );
    this.result = { tests, unhandled: [...unhandledErrors.map((e) => errorText(e)), ...moduleErrors], wallTimeMs: Date.now() - this.started };
  }
}
