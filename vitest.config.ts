import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Unit tests: `*.test.ts` beside the code they test. Contract tests (`*.contract.test.ts`) have their
// own config in contract/vitest.config.ts, because they need a target started in global setup.
export default defineConfig({
  test: {
    include: ['{lib,harness,sandbox,cli,scripts,spec,load,contract}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/*.contract.test.ts'],
    // Many files mostly wait (on spawned processes, containers, a browser): at least two workers even
    // on two CPUs, where vitest's default (CPUs − 1) would run them one by one (~240 s instead of ~150 s).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
