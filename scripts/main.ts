// `npm start`, the main job: the contract suite and a short load smoke against the embedded
// sandbox, then one summary of where the reports are.
import { writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { runSteps, type Step } from './steps.ts';

const steps: Step[] = [
  { name: 'test:contract', command: 'node bin/upgradelink-contract.mjs check', hint: 'see reports/contract-report.md: each finding names its rule' },
  { name: 'load:smoke', command: 'node --import tsx load/run.ts smoke', hint: 'see reports/load-smoke.md and reports/load-report.html' },
];

const results = await runSteps('main', steps, { keepGoing: true });
const reports = [
  ['Contract report (findings first)', 'reports/contract-report.md'],
  ['Contract findings, for tools', 'reports/contract-findings.json'],
  ['Contract JUnit (one testcase per rule)', 'reports/contract-junit.xml'],
  ['Load smoke report', 'reports/load-smoke.md'],
  ['Load report with charts (open in a browser)', 'reports/load-report.html'],
  ['Rendered API docs (open in a browser)', 'generated/docs/index.html'],
].filter(([, file]) => existsSync(file!));
const ok = results.every((r) => r.ok);
mkdirSync('reports', { recursive: true });
writeFileSync(
  'reports/summary.md',
  `# upgradelink-contract: ${ok ? 'passed' : 'FAILED'}\n\n` +
    results.map((r) => `- ${r.ok ? 'pass' : '**FAIL**'} ${r.step.name} (${r.seconds.toFixed(1)} s)`).join('\n') +
    `\n\n## Reports\n\n${reports.map(([title, file]) => `- ${title}: \`${file}\``).join('\n')}\n`,
);
console.log(`\nmain: ${ok ? 'passed' : 'FAILED'}; reports:`);
for (const [title, file] of reports) console.log(`  ${title}: ${file}`);
console.log('  Summary: reports/summary.md');
process.exit(ok ? 0 : 1);
