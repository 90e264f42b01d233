// `npm test`: everything CI checks, in order, with one line per step and a closing count.
// The contract suite and the load smoke run twice: through local processes, and through containers
// (sandbox and Prism images, testcontainers) when a Docker engine answers; the distributed load run
// (two runner containers, merged) only through containers. Without an engine the
// container steps are reported as NOT RUN with the command that enables them; CI sets
// UPGRADELINK_REQUIRE_CONTAINERS=1 so that they fail instead.
// Steps call what the npm script would (node_modules/.bin is on PATH: steps.ts), without npm and tsx's
// own launcher in between; only `typecheck`, which composes two commands, goes through npm.
import { rmSync } from 'node:fs';
import { runSteps, sumCounts, type Step } from './steps.ts';

const steps: Step[] = [
  { name: 'setup', command: 'bash scripts/setup.sh', hint: 'system packages are missing: run `bash scripts/setup.sh` as root' },
  { name: 'gen:check', command: 'node scripts/gen-check.mjs', hint: 'generated/ is stale: run `npm run gen` and commit generated/' },
  { name: 'spec:lint', command: 'redocly lint', hint: 'fix the spec under openapi/ (see the lint output above)' },
  { name: 'typecheck', command: 'npm run --silent typecheck' },
  { name: 'gen:rules --check', command: 'node --import tsx contract/catalogue.ts --check', hint: 'contract/RULES.md is stale: run `npm run gen:rules` and commit it' },
  // Before the unit tests: the harness's container tests use these images.
  { name: 'docker:build', command: 'bash scripts/build-images.sh', requires: 'engine', hint: 'see the build output above; `npm run docker:build` again after fixing' },
  {
    name: 'test:unit',
    command: 'vitest run --reporter=default --reporter=json --outputFile.json=reports/unit-results.json',
    results: 'reports/unit-results.json',
  },
  {
    name: 'test:contract (process)',
    command: 'node bin/upgradelink-contract.mjs check --runtime process',
    results: 'reports/contract-results.json',
    hint: 'see reports/contract-report.md: each finding names its rule',
  },
  {
    name: 'test:contract (container)',
    command: 'node bin/upgradelink-contract.mjs check --runtime container --report-dir reports/container',
    results: 'reports/container/contract-results.json',
    requires: 'containers',
    hint: 'see reports/container/contract-report.md and the service logs beside it',
  },
  { name: 'test:mutants', command: 'node --import tsx scripts/mutants.ts', hint: 'a sandbox fault is not caught by the rule it declares (reports/mutants.md)' },
  { name: 'test:fault-subsets', command: 'node --import tsx scripts/fault-subsets.ts --skip-clean', hint: 'several faults at once did not give exactly their rules (the seed in the output replays it)' },
  { name: 'load:smoke (process)', command: 'node --import tsx load/run.ts smoke --runtime process', hint: 'see reports/load-smoke.md and reports/load-report.html' },
  {
    name: 'load:smoke (container)',
    // The sandbox and the load generator (the load-runner image) both as containers.
    command: 'node --import tsx load/run.ts smoke --runtime container --runner container --out reports/container',
    requires: 'containers',
    hint: 'see reports/container/load-smoke.md and reports/container/sandbox.log',
  },
  {
    name: 'load:distributed --local 2',
    // Two load-runner containers with the Kubernetes Indexed Job's environment, merged (load/k8s/).
    command: 'node --import tsx load/distributed.ts --local 2 --out reports/distributed',
    requires: 'containers',
    hint: 'see reports/distributed/load-distributed.json and reports/distributed/distributed/runner-*/load-runner.log',
  },
];

for (const step of steps) if (step.results) rmSync(step.results, { force: true });
const results = await runSteps('test', steps);
const counts = sumCounts(steps);
const failedSteps = results.filter((r) => !r.ok).length + (steps.length - results.length);
const notRun = results.filter((r) => r.notRun).map((r) => r.step.name);
console.log(
  `tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (unit and contract tests)` +
    (notRun.length ? `; steps NOT RUN: ${notRun.join(', ')} (see the summary above)` : ''),
);
process.exit(failedSteps === 0 && counts.failed === 0 ? 0 : 1);
