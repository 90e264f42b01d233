import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { prismTuning } from '../contract/global-setup.ts';
import { parseContractArgs } from './contract.ts';

describe('test:contract flags', () => {
  it('takes --runtime and --target, in both spellings, and passes everything else to vitest', () => {
    expect(parseContractArgs(['--runtime', 'container', '--target=mock', '-t', 'replay', 'contract/replay'])).toEqual({
      env: { UPGRADELINK_RUNTIME: 'container', CONTRACT_TARGET: 'mock' },
      vitestArgs: ['-t', 'replay', 'contract/replay'],
    });
    expect(parseContractArgs(['--runtime=process']).env).toEqual({ UPGRADELINK_RUNTIME: 'process' });
    expect(parseContractArgs([])).toEqual({ env: {}, vitestArgs: [] });
  });

  it('rejects bad values, naming the flag and the choices', () => {
    expect(() => parseContractArgs(['--runtime', 'k8s'])).toThrow(/container, process or auto; got "k8s"/);
    expect(() => parseContractArgs(['--runtime'])).toThrow(/--runtime needs a value/);
    expect(() => parseContractArgs(['--target', 'prod'])).toThrow(/--target must be sandbox, mock, remote; got "prod"/);
  });

  it('exits 2 with the message before starting anything', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/contract.ts', '--runtime', 'k8s'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe('test:contract: --runtime must be container, process or auto; got "k8s"');
  });
});

describe('Prism tuning for the contract suite', () => {
  it('logs warnings only, without CORS and (proxy) without request validation', () => {
    expect(prismTuning('proxy', undefined)).toEqual({ logLevel: 'warn', extraArgs: ['--cors', 'false', '--validate-request', 'false'] });
    expect(prismTuning('mock', undefined)).toEqual({ logLevel: 'warn', extraArgs: ['--cors', 'false'] });
  });

  it('CONTRACT_PRISM_ARGS replaces the arguments; its -v sets the log level', () => {
    expect(prismTuning('proxy', '--cors true')).toEqual({ logLevel: 'info', extraArgs: ['--cors', 'true'] });
    expect(prismTuning('proxy', '-v debug --errors')).toEqual({ logLevel: 'debug', extraArgs: ['--errors'] });
    expect(() => prismTuning('proxy', '-v loud')).toThrow(/CONTRACT_PRISM_ARGS: -v needs one of trace, debug, info/);
  });
});

describe('contract JUnit report', () => {
  it('gives skipped tests their reason and failures their Expected/Received, escaped, with counts', async () => {
    const { renderJunit } = await import('../contract/reporters/conformance.ts');
    const xml = renderJunit({
      generatedAt: '2026-11-24T00:00:00.000Z',
      target: {},
      wallTimeMs: 1500,
      reason: 'failed',
      totals: { tests: 3, passed: 1, failed: 1, skipped: 1 },
      families: {},
      unhandledErrors: [],
      tests: [
        { family: 'signing', fullName: 'signing > a & b', file: 'contract/signing.contract.test.ts', state: 'passed', durationMs: 12 },
        { family: 'replay', fullName: 'replay > skipped one', file: 'contract/replay.contract.test.ts', state: 'skipped', durationMs: 0, skipReason: 'target "mock" lacks rejectsReplays' },
        {
          family: 'replay',
          fullName: 'replay > <failing>',
          file: 'contract/replay.contract.test.ts',
          state: 'failed',
          durationMs: 5,
          failure: { message: '[code] wrong code', expected: 'code 401001', received: 'code 200' },
        },
      ],
    });
    expect(xml).toContain('<testsuites name="upgradelink-contract" tests="3" failures="1" errors="0" skipped="1" time="1.500">');
    expect(xml).toContain('<testcase classname="signing" file="contract/signing.contract.test.ts" name="a &amp; b" time="0.012"/>');
    expect(xml).toContain('<skipped message="target &quot;mock&quot; lacks rejectsReplays"/>');
    expect(xml).toContain('name="&lt;failing&gt;"');
    expect(xml).toMatch(/<failure message="\[code\] wrong code" type="AssertionError">Expected: code 401001\nReceived: code 200\n\[code\] wrong code<\/failure>/);
    expect(xml.match(/<testsuite /g)).toHaveLength(2);
  });
});
