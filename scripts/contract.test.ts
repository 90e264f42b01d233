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
