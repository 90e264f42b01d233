// generated/ is what openapi/ produces (gen:check passes, comparing each generated file), and
// the drift check can fail: a tampered or missing file, operations.ts included, is reported by name.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const tmp = mkdtempSync(join(tmpdir(), 'upgradelink-spec-gen-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function genCheck(...args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'scripts', 'gen-check.mjs'), ...args], { cwd: ROOT, encoding: 'utf8' });
}

/** The files gen:check names as drifted, in its order. */
const drifted = (stderr: string) => [...stderr.matchAll(/^ {2}drifted: (.+)$/gm)].map((m) => m[1]);

describe('gen:check', () => {
  it('passes: generated/ matches openapi/, every generated file compared', () => {
    const result = genCheck();
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('gen:check ok');
    for (const file of ['openapi.yaml', 'openapi.json', 'operations.ts', 'api-types.ts', 'docs/index.html']) {
      expect(result.stdout, `${file} is compared`).toContain(`generated/${file}`);
    }
  }, 60_000);

  it('fails and names each drifted file, and only those', () => {
    const copy = join(tmp, 'generated');
    cpSync(join(ROOT, 'generated'), copy, { recursive: true });
    appendFileSync(join(copy, 'api-types.ts'), '\n// hand edit\n');
    writeFileSync(join(copy, 'openapi.json'), '{}\n');
    // A hand edit of a generated fact: the operations module says code 200 is 201.
    const operations = readFileSync(join(copy, 'operations.ts'), 'utf8');
    expect(operations).toContain('  OK: 200,');
    writeFileSync(join(copy, 'operations.ts'), operations.replace('  OK: 200,', '  OK: 201,'));
    const result = genCheck('--against', copy);
    expect(result.status).toBe(1);
    expect(drifted(result.stderr)).toEqual(['openapi.json', 'operations.ts', 'api-types.ts'].map((file) => join(copy, file)));
  }, 60_000);

  it('fails when a generated file is missing', () => {
    const copy = join(tmp, 'generated-missing');
    cpSync(join(ROOT, 'generated'), copy, { recursive: true });
    rmSync(join(copy, 'operations.ts'));
    const result = genCheck('--against', copy);
    expect(result.status).toBe(1);
    expect(drifted(result.stderr)).toEqual([`${join(copy, 'operations.ts')} (missing)`]);
  }, 60_000);
});
