import { defineConfig } from 'vitest/config';

// Unit tests: `*.test.ts` beside the code they test. Contract tests (`*.contract.test.ts`) have their
// own config in contract/vitest.config.ts, because they need a target started in global setup.
export default defineConfig({
  test: {
    include: ['{lib,harness,sandbox,cli,scripts,spec,load,contract}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/*.contract.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
