// `npm test`: everything CI checks, in order, with one line per step and a closing count.
import { rmSync } from 'node:fs';
import { runSteps, sumCounts, type Step } from './steps.ts';

const steps: Step[] = [
  { name: 'setup', command: 'bash scripts/setup.sh', hint: 'system packages are missing: run `bash scripts/setup.sh` as root' },
  { name: 'gen:check', command: 'npm run --silent gen:check', hint: 'generated/ is stale: run `npm run gen` and commit generated/' },
  { name: 'spec:lint', command: 'npm run --silent spec:lint', hint: 'fix the spec under openapi/ (see the lint output above)' },
  { name: 'typecheck', command: 'npm run --silent typecheck' },
  {
    name: 'test:unit',
    command: 'npx vitest run --reporter=default --reporter=json --outputFile.json=reports/unit-results.json',
    vitestJson: 'reports/unit-results.json',
  },
  { name: 'test:contract', command: 'npm run --silent test:contract', vitestJson: 'reports/contract-vitest.json' },
  { name: 'test:mutants', command: 'npm run --silent test:mutants', hint: 'a sandbox fault survived: a contract test is missing (reports/mutants.md)' },
  { name: 'load:smoke', command: 'npm run --silent load:smoke', hint: 'see reports/load-smoke.md' },
];

for (const step of steps) if (step.vitestJson) rmSync(step.vitestJson, { force: true });
const results = await runSteps('test', steps);
const counts = sumCounts(steps);
const failedSteps = results.filter((r) => !r.ok).length + (steps.length - results.length);
console.log(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exit(failedSteps === 0 && counts.failed === 0 ? 0 : 1);
