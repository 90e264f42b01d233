// generated/ is what openapi/ produces (gen:check passes), and the drift check can fail: a
// tampered copy is reported with the drifted file's name.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/openapi.ts';

const tmp = mkdtempSync(join(tmpdir(), 'upgradelink-spec-gen-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function genCheck(...args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'scripts', 'gen-check.mjs'), ...args], { cwd: ROOT, encoding: 'utf8' });
}

describe('gen:check', () => {
  it('passes: generated/ matches openapi/', () => {
    const result = genCheck();
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('gen:check ok');
  }, 60_000);

  it('fails and names each drifted file', () => {
    const copy = join(tmp, 'generated');
    cpSync(join(ROOT, 'generated'), copy, { recursive: true });
    appendFileSync(join(copy, 'api-types.ts'), '\n// hand edit\n');
    writeFileSync(join(copy, 'openapi.json'), '{}\n');
    const result = genCheck('--against', copy);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(join(copy, 'api-types.ts'));
    expect(result.stderr).toContain(join(copy, 'openapi.json'));
    expect(result.stderr).not.toContain(join(copy, 'openapi.yaml'));
    expect(result.stderr).not.toContain(join(copy, 'docs', 'index.html'));
  }, 60_000);
});
