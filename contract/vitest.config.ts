// The contract suite's vitest project. It is run by contract/run.ts (`npm run test:contract`,
// `upgradelink-contract check`), which starts the target, runs the preflight, provides the resolved
// target to the tests (`inject('contract')`) and sets the reporters; it is not meant for `npx vitest`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

export default defineConfig({
  root,
  test: {
    name: 'contract',
    include: ['contract/**/*.contract.test.ts'],
    // Requests are I/O bound: a few workers keep the target busy on a small machine.
    pool: 'threads',
    maxWorkers: 3,
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
