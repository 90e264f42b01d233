import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { missingRequirement, readCounts, runSteps, sumCounts } from './steps.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'steps-test-'));
const NO_ENGINE: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${path.join(dir, 'no-engine.sock')}` };
delete NO_ENGINE.UPGRADELINK_REQUIRE_CONTAINERS;

describe('step results', () => {
  it('counts vitest JSON files and the contract suite results alike', () => {
    const vitestFile = path.join(dir, 'unit.json');
    const contractFile = path.join(dir, 'contract-results.json');
    writeFileSync(vitestFile, JSON.stringify({ numPassedTests: 5, numFailedTests: 1, numPendingTests: 2, numTodoTests: 1 }));
    writeFileSync(contractFile, JSON.stringify({ totals: { tests: 10, passed: 7, failed: 0, skipped: 3 } }));
    expect(readCounts(vitestFile)).toEqual({ passed: 5, failed: 1, skipped: 3 });
    expect(readCounts(contractFile)).toEqual({ passed: 7, failed: 0, skipped: 3 });
    expect(readCounts(path.join(dir, 'missing.json'))).toBeUndefined();
    expect(sumCounts([{ name: 'a', command: 'true', results: vitestFile }, { name: 'b', command: 'true', results: contractFile }])).toEqual({
      passed: 12,
      failed: 1,
      skipped: 6,
    });
  });
});

describe('steps that need containers', () => {
  afterEach(() => vi.restoreAllMocks());

  it('names the missing engine and the command that starts one', async () => {
    expect(await missingRequirement(undefined, NO_ENGINE)).toBeUndefined();
    expect(await missingRequirement('engine', NO_ENGINE)).toMatch(/no Docker engine reachable at .*no-engine\.sock .*npm run docker:engine/);
    expect(await missingRequirement('containers', NO_ENGINE)).toMatch(/no Docker engine reachable.*npm run docker:engine && npm run docker:build/);
  });

  it('reports a step it cannot run as NOT RUN with the reason, never silently, and does not run it', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const marker = path.join(dir, 'ran');
    const results = await runSteps('t', [{ name: 'needs-containers', command: `touch ${marker}`, requires: 'containers' }], { env: NO_ENGINE });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ ok: true, notRun: expect.stringMatching(/no Docker engine reachable/) });
    expect(lines.join('\n')).toMatch(/needs-containers NOT RUN: no Docker engine reachable/);
    expect(lines.join('\n')).toMatch(/NOT RUN needs-containers .*\(no Docker engine/);
    const { existsSync } = await import('node:fs');
    expect(existsSync(marker)).toBe(false);
  });

  it('fails that step when CI requires containers (UPGRADELINK_REQUIRE_CONTAINERS=1)', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const results = await runSteps(
      't',
      [
        { name: 'needs-containers', command: 'true', requires: 'containers' },
        { name: 'after', command: 'true' },
      ],
      { env: { ...NO_ENGINE, UPGRADELINK_REQUIRE_CONTAINERS: '1' } },
    );
    expect(results).toHaveLength(1);
    expect(results[0]!.ok).toBe(false);
    expect(lines.join('\n')).toMatch(/needs-containers FAILED: UPGRADELINK_REQUIRE_CONTAINERS=1 but no Docker engine reachable/);
    expect(lines.join('\n')).toMatch(/skip {4}after \(not run: an earlier step failed\)/);
  });
});
