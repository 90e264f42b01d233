// The GitHub Actions workflows shipped for users (.github/workflows/*.yml): valid YAML with the shape
// Actions needs, every `npm run X` names a script in package.json, and every local file they name exists.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(PROJECT_ROOT, '.github', 'workflows');
const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
const scripts = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  name?: string;
  on?: unknown;
  jobs?: Record<string, { 'runs-on'?: string; steps?: Step[]; needs?: string | string[] }>;
}

function load(file: string): Workflow {
  const text = readFileSync(path.join(dir, file), 'utf8');
  return parse(text, { prettyErrors: true, strict: true, uniqueKeys: true }) as Workflow;
}

/** `npm run NAME` / `npm run-script NAME` in a run block (`npm test`/`npm start` are covered too). */
function npmScripts(run: string): string[] {
  const names = [...run.matchAll(/\bnpm\s+(?:run|run-script)\s+(?:--\S+\s+)*([\w:.-]+)/g)].map((m) => m[1]!);
  for (const m of run.matchAll(/\bnpm\s+(test|start)\b/g)) names.push(m[1]!);
  return names;
}

/** Repository paths a step names: `bash|node|tsx X`, `./X`, and the `path`/`report_paths` inputs. */
function localPaths(step: Step): string[] {
  const found: string[] = [];
  if (step.run) {
    for (const m of step.run.matchAll(/(?:^|\s)(?:bash|sh|node|npx tsx|tsx)\s+((?:\.\/)?[\w./-]+\.(?:sh|mjs|js|ts))\b/g)) found.push(m[1]!);
    for (const m of step.run.matchAll(/(?:^|[\s"'])(\.\/[\w./-]+)/g)) found.push(m[1]!);
  }
  if (step.uses?.startsWith('./')) found.push(step.uses);
  return found;
}

describe('GitHub workflows', () => {
  it('exist: contract on pull requests, a scheduled staging load run, docs to Pages', () => {
    expect(files).toEqual(expect.arrayContaining(['contract.yml', 'load-staging.yml', 'docs-pages.yml']));
  });

  it('finds the npm scripts and paths a step names (self-check of the extractors)', () => {
    expect(npmScripts('npm ci && npm run load:smoke -- --rate 10\nnpm run --silent gen:check; npm test')).toEqual(['load:smoke', 'gen:check', 'test']);
    expect(localPaths({ run: 'bash scripts/docker-engine.sh stop && node ./bin/x.mjs' })).toEqual(['scripts/docker-engine.sh', './bin/x.mjs', './bin/x.mjs']);
    expect(localPaths({ uses: './.github/actions/setup' })).toEqual(['./.github/actions/setup']);
  });

  it.each(files)('%s is valid YAML with jobs that have steps', (file) => {
    const wf = load(file);
    expect(wf.name, 'name').toBeTruthy();
    expect(wf.on, 'on').toBeTruthy();
    expect(Object.keys(wf.jobs ?? {}).length, 'jobs').toBeGreaterThan(0);
    for (const [id, job] of Object.entries(wf.jobs!)) {
      expect(job['runs-on'], `${id}.runs-on`).toBeTruthy();
      expect(job.steps?.length, `${id}.steps`).toBeGreaterThan(0);
      for (const need of [job.needs ?? []].flat()) expect(Object.keys(wf.jobs!), `${id}.needs`).toContain(need);
      for (const step of job.steps!) {
        expect(!!step.uses !== !!step.run, `${id}: a step has exactly one of uses/run: ${JSON.stringify(step)}`).toBe(true);
        // Pinned actions: owner/repo@ref.
        if (step.uses && !step.uses.startsWith('./')) expect(step.uses).toMatch(/^[\w.-]+\/[\w./-]+@[\w.-]+$/);
      }
    }
  });

  it.each(files)('%s runs only npm scripts that exist and names only files that exist', (file) => {
    const wf = load(file);
    const steps = Object.values(wf.jobs ?? {}).flatMap((job) => job.steps ?? []);
    for (const step of steps) {
      for (const name of npmScripts(step.run ?? '')) {
        if (name === 'test' || name === 'start') expect(scripts, `npm ${name}`).toHaveProperty(name);
        else expect(Object.keys(scripts), `npm run ${name} in ${file}`).toContain(name);
      }
      for (const p of localPaths(step)) expect(existsSync(path.join(PROJECT_ROOT, p)), `${p} in ${file}`).toBe(true);
    }
  });

  it('the contract workflows publish the JUnit file the contract runner writes', () => {
    const report = readFileSync(path.join(PROJECT_ROOT, 'contract', 'report.ts'), 'utf8');
    expect(report).toContain("['contract-junit.xml', renderJunit(report)]");
    for (const [file, command] of [['contract.yml', 'npm run test:contract'], ['contract-staging.yml', 'npx upgradelink-contract check']] as const) {
      const steps = Object.values(load(file).jobs!).flatMap((job) => job.steps!);
      const junit = steps.find((s) => s.uses?.startsWith('mikepenz/action-junit-report@'));
      expect(junit?.with?.report_paths, file).toBe('reports/contract-junit.xml');
      expect(steps.some((s) => s.run?.includes(command)), file).toBe(true);
    }
  });

  it('the staging load run takes its target from secrets and the confirmation from a variable', () => {
    const text = readFileSync(path.join(dir, 'load-staging.yml'), 'utf8');
    const wf = load('load-staging.yml');
    expect(wf.on).toHaveProperty('schedule');
    for (const secret of ['UPGRADELINK_BASE_URL', 'UPGRADELINK_ACCESS_KEY', 'UPGRADELINK_SECRET_KEY']) {
      expect(text).toContain(`${secret}: \${{ secrets.${secret} }}`);
    }
    expect(text).toContain('LOAD_CONFIRM_HOST: ${{ vars.LOAD_CONFIRM_HOST }}');
    expect(text).toContain('npm run load:smoke -- --rate 10');
  });

  it('the Pages workflow uploads the rendered docs, with the rule catalogue where they link to it', () => {
    const wf = load('docs-pages.yml');
    const steps = Object.values(wf.jobs!).flatMap((job) => job.steps!);
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-pages-artifact@'));
    expect(upload?.with?.path).toBe('_site');
    const stage = steps.find((s) => s.run?.includes('_site'))?.run ?? '';
    expect(stage).toContain('cp -r generated/docs _site/generated/docs');
    expect(stage).toContain('cp contract/RULES.md _site/contract/RULES.md');
    expect(readFileSync(path.join(PROJECT_ROOT, 'openapi', 'info-description.md'), 'utf8')).toContain('](../../contract/RULES.md)');
    expect(existsSync(path.join(PROJECT_ROOT, 'generated', 'docs', 'index.html'))).toBe(true);
    expect(steps.some((s) => s.uses?.startsWith('actions/deploy-pages@'))).toBe(true);
  });
});
