#!/usr/bin/env node
// Regenerates generated/ from the authored spec in openapi/ (never edit generated/ by hand).
//
//   node scripts/gen.mjs                              every step: bundle, operations, types, docs
//   node scripts/gen.mjs bundle|operations|types|docs one or more steps
//   node scripts/gen.mjs --out <dir>       write into <dir> instead (gen-check.mjs uses a temp dir)
//
// Steps, each reading the previous step's output from the same directory:
//   bundle      redocly bundle  -> openapi.yaml, openapi.json (one file, components kept as $refs)
//   operations  scripts/gen-operations.mjs openapi.json -> operations.ts (operations, families, codes)
//   types       openapi-typescript openapi.json -> api-types.ts (its "do not edit" banner kept)
//   docs        redocly build-docs --inlineBundle openapi.yaml -> docs/index.html (self-contained)
// All three outputs are deterministic: running twice gives identical bytes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderOperationsModule } from './gen-operations.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const STEPS = ['bundle', 'operations', 'types', 'docs'];
export const DOCS_TITLE = 'UpgradeLink client API';
/** Files this script writes, relative to the output directory. gen-check.mjs compares exactly these. */
export const OUTPUTS = ['openapi.yaml', 'openapi.json', 'operations.ts', 'api-types.ts', 'docs/index.html'];

// Redocly phones home unless told not to; the build must work offline.
const ENV = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };

function run(bin, args, { quiet } = {}) {
  const result = spawnSync(join(BIN, bin), args, { cwd: ROOT, env: ENV, encoding: 'utf8' });
  if (result.status !== 0) {
    process.stderr.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
    throw new Error(`${bin} ${args.join(' ')} failed with exit code ${result.status}`);
  }
  if (!quiet) process.stdout.write(`  ${bin} ${args[0]} ok\n`);
}

function bundle(out) {
  // `main` is the API alias in redocly.yaml (root: openapi/openapi.yaml), so lint settings apply.
  run('redocly', ['bundle', 'main', '--output', join(out, 'openapi.yaml')]);
  run('redocly', ['bundle', 'main', '--ext', 'json', '--output', join(out, 'openapi.json')]);
}

function operations(out) {
  const input = join(out, 'openapi.json');
  if (!existsSync(input)) throw new Error(`${input} is missing: run the bundle step first`);
  writeFileSync(join(out, 'operations.ts'), renderOperationsModule(JSON.parse(readFileSync(input, 'utf8'))));
  process.stdout.write('  operations.ts ok\n');
}

function types(out) {
  const input = join(out, 'openapi.json');
  if (!existsSync(input)) throw new Error(`${input} is missing: run the bundle step first`);
  // openapi-typescript uses only redocly.yaml's `apis` when the file exists, and the project's
  // redocly.yaml points at the multi-file source; a throwaway config points it at the bundle.
  const tmp = mkdtempSync(join(tmpdir(), 'upgradelink-types-'));
  try {
    const config = join(tmp, 'redocly.yaml');
    writeFileSync(
      config,
      ['extends: [minimal]', 'apis:', '  types:', `    root: ${JSON.stringify(input)}`, '    x-openapi-ts:', `      output: ${JSON.stringify(join(out, 'api-types.ts'))}`, ''].join('\n'),
    );
    run('openapi-typescript', ['--redocly', config]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function docs(out) {
  const input = join(out, 'openapi.yaml');
  if (!existsSync(input)) throw new Error(`${input} is missing: run the bundle step first`);
  mkdirSync(join(out, 'docs'), { recursive: true });
  run('redocly', ['build-docs', input, '--output', join(out, 'docs', 'index.html'), '--inlineBundle', '--title', DOCS_TITLE]);
}

export function generate({ out = join(ROOT, 'generated'), steps = STEPS } = {}) {
  mkdirSync(out, { recursive: true });
  const impl = { bundle, operations, types, docs };
  for (const step of STEPS) if (steps.includes(step)) impl[step](out);
}

function parseArgs(argv) {
  const steps = [];
  let out;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out') out = resolve(argv[++i] ?? '');
    else if (STEPS.includes(arg)) steps.push(arg);
    else throw new Error(`unknown argument ${arg}; usage: gen.mjs [${STEPS.join('|')} ...] [--out <dir>]`);
  }
  return { out, steps: steps.length ? steps : STEPS };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { out, steps } = parseArgs(process.argv.slice(2));
    generate({ out, steps });
    process.stdout.write(`generated ${steps.join(', ')} into ${out ?? join(ROOT, 'generated')}\n`);
  } catch (error) {
    process.stderr.write(`gen: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
