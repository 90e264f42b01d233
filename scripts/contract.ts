// `npm run test:contract [-- --runtime container|process|auto] [--target sandbox|mock|remote] [vitest args…]`
// Sets UPGRADELINK_RUNTIME / CONTRACT_TARGET from the flags and runs the contract suite with vitest;
// every other argument goes to vitest unchanged (e.g. a file filter or `-t 'replay'`).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseRuntime, PROJECT_ROOT } from '../harness/index.ts';

const TARGETS = ['sandbox', 'mock', 'remote'];

export interface ContractArgs {
  env: Record<string, string>;
  vitestArgs: string[];
}

/** Splits the wrapper's own flags from vitest's; throws with the flag named on a bad value. */
export function parseContractArgs(argv: string[]): ContractArgs {
  const env: Record<string, string> = {};
  const vitestArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--(runtime|target)(?:=(.*))?$/.exec(arg);
    if (!m) {
      vitestArgs.push(arg);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === '') throw new Error(`--${m[1]} needs a value`);
    if (m[1] === 'runtime') {
      parseRuntime(value); // throws: runtime must be container, process or auto
      env.UPGRADELINK_RUNTIME = value;
    } else {
      if (!TARGETS.includes(value)) throw new Error(`--target must be ${TARGETS.join(', ')}; got "${value}"`);
      env.CONTRACT_TARGET = value;
    }
  }
  return { env, vitestArgs };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(PROJECT_ROOT, 'scripts', 'contract.ts');
if (isMain) {
  let parsed: ContractArgs;
  try {
    parsed = parseContractArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`test:contract: ${(error as Error).message.replace(/^runtime/, '--runtime')}`);
    process.exit(2);
  }
  const vitest = path.join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const child = spawn(process.execPath, [vitest, 'run', '--config', 'contract/vitest.config.ts', ...parsed.vitestArgs], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
    env: { ...process.env, ...parsed.env },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
