// Plumbing shared by the load entry points: run a body against a target, turn usage problems into
// exit 2 with a message, write the reports, print the text summary, exit 1 on a failed threshold.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  renderMarkdown,
  summarize,
  textSummary,
  writeReportFile,
  writeRunReports,
  writeScenarioJson,
  type ScenarioResult,
} from './report.ts';
import { LoadUsageError, type TargetRequest } from './target.ts';

/** The flags every load command takes to choose and start its target (spread into its options). */
export const TARGET_CLI_OPTIONS = {
  'base-url': { type: 'string' },
  // Embedded sandbox: container | process | auto (default; UPGRADELINK_RUNTIME).
  runtime: { type: 'string' },
  out: { type: 'string', default: 'reports' },
  // Embedded sandbox only: start it with these fault switches, to show the thresholds can fail.
  fault: { type: 'string', multiple: true, default: [] as string[] },
} as const;

/** openTarget's request from the parsed TARGET_CLI_OPTIONS (a container's log goes beside the reports). */
export function targetRequest(values: { 'base-url'?: string | undefined; runtime?: string | undefined; out: string; fault: string[] }): TargetRequest {
  return { baseUrl: values['base-url'], runtime: values.runtime, logDir: values.out, faults: values.fault };
}

/**
 * True when the module at `moduleUrl` (file name `name`.ts) is the script node was started with. The
 * name matters in a bundle (the load-runner image bundles smoke.ts with the scenarios it imports): there
 * every module's import.meta.url is the bundle's, and only the entry's name matches the script's.
 */
export function isMain(moduleUrl: string, name: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  const scriptName = path.parse(script).name;
  return scriptName === name && (moduleUrl === pathToFileURL(script).href || path.parse(fileURLToPath(moduleUrl)).name === name);
}

export function numberOption(name: string, value: string | undefined, options: { integer?: boolean; min?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const min = options.min ?? Number.MIN_VALUE;
  if (value.trim() === '' || !Number.isFinite(n) || n < min || (options.integer && !Number.isInteger(n))) {
    throw new LoadUsageError(`--${name} must be ${options.integer ? 'an integer' : 'a number'} ≥ ${options.min ?? '> 0'}, got "${value}"`);
  }
  return n;
}

export interface FinishOptions {
  run: string;
  results: ScenarioResult[];
  out: string;
  startedAt: number;
  secret?: string;
  /** Also write load-summary.json, load-report.html, load-junit.xml (and the Markdown below). */
  runReports?: boolean;
  /** File name for a Markdown report of the whole run (e.g. load-smoke.md). */
  markdown?: string;
  /** File names for a scenario's JSON, instead of load-<scenario>.json (journey is also load-smoke.json). */
  fileNames?: Record<string, string[]>;
}

/** Writes the reports and prints the summary; returns whether every threshold passed. */
export async function finishRun(options: FinishOptions): Promise<boolean> {
  const { run, results, out, secret } = options;
  const written: string[] = [];
  for (const result of results) {
    for (const name of options.fileNames?.[result.scenario] ?? [`load-${result.scenario}.json`]) {
      written.push(await writeScenarioJson(out, result, secret, name));
    }
  }
  const summary = summarize(run, results, options.startedAt);
  if (options.runReports) written.push(...(await writeRunReports(out, summary, results, secret)));
  if (options.markdown) written.push(await writeReportFile(out, options.markdown, renderMarkdown(summary, results), secret));
  const lines = textSummary(results, run);
  console.log(secret ? lines.join('\n').split(secret).join('********') : lines.join('\n'));
  console.log(`${run}: reports ${written.join(', ')}`);
  return summary.passed;
}

/** Runs a CLI body: exit 0 when it returns true, 1 when false, 2 on a usage problem (with the message). */
export async function cliMain(name: string, body: () => Promise<boolean>): Promise<never> {
  try {
    const passed = await body();
    process.exit(passed ? 0 : 1);
  } catch (error) {
    if (error instanceof LoadUsageError) {
      console.error(`${name}: ${error.message}`);
      process.exit(2);
    }
    console.error(`${name}: ${(error as Error).stack ?? String(error)}`);
    process.exit(3);
  }
}
