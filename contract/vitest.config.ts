// Contract suite: `npm run test:contract` (CONTRACT_TARGET=sandbox|mock|remote, see README.md).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

export default defineConfig({
  root,
  test: {
    name: 'contract',
    include: ['contract/**/*.contract.test.ts'],
    globalSetup: ['contract/global-setup.ts'],
    // Requests are I/O bound: a few workers keep the sandbox and Prism busy on a small machine.
    pool: 'threads',
    maxWorkers: 3,
    isolate: false,
    testTimeout: 15_000,
    hookTimeout: 60_000,
    reporters: [
      'default',
      './contract/reporters/conformance.ts',
    ],
  },
});
