#!/usr/bin/env node
// Drift check: regenerates everything into a temp dir and compares it byte for byte with
// generated/. Exits 1 naming each drifted file, so CI catches a hand edit or a forgotten
// `npm run gen` after changing openapi/.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUTPUTS, generate } from './gen.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// `--against <dir>` compares another copy instead of generated/ (the self-test uses a tampered copy).
const againstAt = process.argv.indexOf('--against');
const committed = againstAt > 0 ? resolve(process.argv[againstAt + 1] ?? '') : join(ROOT, 'generated');
const shown = (file) => (againstAt > 0 ? join(committed, file) : `generated/${file}`);
const fresh = mkdtempSync(join(tmpdir(), 'upgradelink-gen-check-'));

try {
  generate({ out: fresh });
  const drifted = [];
  for (const file of OUTPUTS) {
    const have = join(committed, file);
    if (!existsSync(have)) {
      drifted.push(`${shown(file)} (missing)`);
      continue;
    }
    if (!readFileSync(have).equals(readFileSync(join(fresh, file)))) drifted.push(shown(file));
  }
  if (drifted.length) {
    process.stderr.write(
      `gen:check failed: generated files differ from what openapi/ produces.\n` +
        drifted.map((f) => `  drifted: ${f}\n`).join('') +
        `Run \`npm run gen\` and commit the result (never edit generated/ by hand).\n`,
    );
    process.exitCode = 1;
  } else {
    process.stdout.write(`gen:check ok: ${OUTPUTS.map((f) => `generated/${f}`).join(', ')} are up to date\n`);
  }
} catch (error) {
  process.stderr.write(`gen:check: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
