// `redocly lint` of openapi/ ends with 0 errors and 0 warnings, and each of the project's
// configurable rules can fail: a copy of the spec with one deviation per rule makes each report.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface LintReport { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string; location: { pointer?: string; source?: { ref?: string } }[] }[] }

function lint(cwd: string): LintReport {
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'redocly'), ['lint', '--format=json'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  });
  const start = result.stdout.indexOf('{');
  if (start < 0) throw new Error(`redocly lint printed no report: ${result.stderr}`);
  return JSON.parse(result.stdout.slice(start)) as LintReport;
}

const tmp = mkdtempSync(join(tmpdir(), 'upgradelink-spec-lint-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function edit(file: string, from: string | RegExp, to: string) {
  const text = readFileSync(file, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`deviation did not apply to ${file}: ${String(from)}`);
  writeFileSync(file, next);
}

describe('lint', () => {
  it('openapi/ lints clean (0 errors, 0 warnings)', () => {
    const report = lint(ROOT);
    expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 60_000);

  it('every custom rule reports its deviation', () => {
    cpSync(join(ROOT, 'openapi'), join(tmp, 'openapi'), { recursive: true });
    cpSync(join(ROOT, 'redocly.yaml'), join(tmp, 'redocly.yaml'));
    const paths = join(tmp, 'openapi', 'paths');
    // One deviation per rule, each in a different operation so they do not mask each other.
    edit(join(paths, 'v1_apk_upgrade.yaml'), /\n    - \$ref: \.\.\/components\/parameters\/XSignature\.yaml/, '');
    edit(join(paths, 'v1_file_version.yaml'), /\n    "401":\n      \$ref: \.\.\/components\/responses\/Unauthorized\.yaml/, '');
    edit(join(paths, 'v1_url_upgrade.yaml'), /\n    "429":\n      \$ref: \.\.\/components\/responses\/TooManyRequests\.yaml/, '');
    edit(join(paths, 'v1_mac_version.yaml'), /\n  x-codeSamples:[\s\S]*$/, '\n');
    edit(join(paths, 'v1_win_version.yaml'), /\n    "500":\n      \$ref: \.\.\/components\/responses\/InternalServerError\.yaml/,
      '\n    "500":\n      description: inline error\n      content:\n        application/json:\n          schema:\n            $ref: ../components/schemas/ServerError.yaml\n          examples:\n            code500001:\n              $ref: ../components/examples/InternalServerError500001.yaml');
    edit(join(paths, 'v1_lnx_version.yaml'), /\n  tags:/, '\n  security: []\n  tags:');
    edit(join(paths, 'v1_tauri_version.yaml'), /\n          examples:\n            code200:[\s\S]*?(?=\n    "400")/, '');
    edit(join(paths, 'v1_electron_version.yaml'), /\n        examples:\n          full:\n            \$ref: [^\n]+/, '');
    edit(join(tmp, 'openapi', 'components', 'examples', 'ApkVersionFound.yaml'), 'versionCode: 2', 'versionCode: "2"');

    const report = lint(tmp);
    const rules = new Set(report.problems.map((p) => p.ruleId));
    const expected = [
      'rule/signed-operation-signing-headers',
      'rule/operation-declares-shared-errors',
      'rule/upgrade-operation-declares-429',
      'rule/operation-has-code-samples',
      'rule/shared-error-responses-are-refs',
      'rule/operation-keeps-global-security',
      'rule/response-has-named-examples',
      'rule/request-has-named-examples',
      'no-invalid-media-type-examples',
    ];
    for (const rule of expected) expect(rules.has(rule), `${rule} reported`).toBe(true);
    const headers = report.problems.find((p) => p.ruleId === 'rule/signed-operation-signing-headers');
    expect(headers?.message).toContain('X-Signature');
  }, 60_000);
});
