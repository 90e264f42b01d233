// harness/: the choice, the process launcher always, the container launcher when a Docker engine
// answers and the images are built (otherwise those tests skip with the reason: test-support.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendRaw, signedHeaders } from '../lib/client/raw.ts';
import { containersOfThisProcess, OWNER_LABEL } from './container.ts';
import { engineEndpoint } from './probe.ts';
import { chooseLauncher, freePort, imageNames, parseRuntime, sourceHash, stopAll, type RunningService } from './index.ts';
import { needContainers } from './test-support.ts';

const logDir = mkdtempSync(path.join(tmpdir(), 'harness-test-'));
const log = (name: string) => path.join(logDir, `${name}.log`);
const UNREACHABLE = { ...process.env, DOCKER_HOST: `unix://${path.join(logDir, 'no-engine.sock')}` };
const ACCESS_KEY = 'ak-sandbox-0001';
const SECRET_KEY = 'test-secret-DO-NOT-USE-0001';

async function checkForUpdate(baseUrl: string, secretKey = SECRET_KEY) {
  const target = '/v1/apk/upgrade';
  const body = JSON.stringify({ apkKey: 'apk-basic', versionCode: 1 });
  const headers = signedHeaders({ method: 'POST', target, body, accessKey: ACCESS_KEY, secretKey });
  return sendRaw({ baseUrl, method: 'POST', target, body, headers: { 'Content-Type': 'application/json', ...headers }, timeoutMs: 10_000 });
}

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

describe('choosing a launcher', () => {
  it('parses --runtime values and rejects others', () => {
    expect(parseRuntime(undefined)).toBeUndefined();
    expect(parseRuntime('auto')).toBe('auto');
    expect(parseRuntime('container')).toBe('container');
    expect(parseRuntime('process')).toBe('process');
    expect(() => parseRuntime('k8s')).toThrow(/container, process or auto/);
  });

  it('takes image names from the environment', () => {
    expect(imageNames({})).toEqual({ sandbox: 'upgradelink/sandbox:local', prism: 'upgradelink/prism:local', loadRunner: 'upgradelink/load:local' });
    expect(imageNames({ UPGRADELINK_PRISM_IMAGE: 'stoplight/prism:5' }).prism).toBe('stoplight/prism:5');
    expect(imageNames({ UPGRADELINK_LOAD_IMAGE: 'me/load:1' }).loadRunner).toBe('me/load:1');
  });

  it('reads DOCKER_HOST', () => {
    expect(engineEndpoint({})).toEqual({ label: '/var/run/docker.sock', socketPath: '/var/run/docker.sock' });
    expect(engineEndpoint({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).toMatchObject({ socketPath: '/run/user/1000/docker.sock' });
    expect(engineEndpoint({ DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toMatchObject({ host: '127.0.0.1', port: 2375 });
    expect(engineEndpoint({ DOCKER_HOST: 'ssh://me@host' })).toHaveProperty('unsupported');
  });

  // How fast the fallback is decided is measured by `npm run bench:runtime` (printed, not asserted).
  it('auto falls back to processes with exactly one line saying why', async () => {
    const lines: string[] = [];
    const launcher = await chooseLauncher({ choice: 'auto', needs: { sandbox: true }, env: UNREACHABLE, notice: (l) => lines.push(l) });
    expect(launcher.kind).toBe('process');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^upgradelink runtime: falling back to local processes: no Docker engine reachable at .*no-engine\.sock \(connect ENOENT\)$/);
    expect(launcher.kind === 'process' && launcher.fallbackReason).toBe(lines[0]!.replace(/^.*processes: /, ''));
  });

  it('UPGRADELINK_RUNTIME is the default choice; process is chosen without a probe or a notice', async () => {
    const lines: string[] = [];
    const launcher = await chooseLauncher({ needs: { sandbox: true }, env: { ...UNREACHABLE, UPGRADELINK_RUNTIME: 'process' }, notice: (l) => lines.push(l) });
    expect(launcher).toMatchObject({ kind: 'process' });
    expect(launcher).not.toHaveProperty('fallbackReason');
    expect(lines).toEqual([]);
  });

  it('an engine that accepts but never answers is given up on (probe timeout), not waited for', async () => {
    const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    try {
      const env = { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}` };
      const launcher = await chooseLauncher({ choice: 'auto', needs: { sandbox: true, prism: true }, env, notice: () => {} });
      expect(launcher).toEqual({
        kind: 'process',
        fallbackReason: expect.stringMatching(/^no Docker engine reachable at 127\.0\.0\.1:\d+ \(no answer within 500 ms\)$/),
        startSandbox: expect.any(Function),
        startPrism: expect.any(Function),
      });
    } finally {
      silent.close();
    }
  });

  it('runtime container never falls back: it says why it cannot run', async () => {
    await expect(chooseLauncher({ choice: 'container', needs: { sandbox: true }, env: UNREACHABLE, notice: () => {} })).rejects.toThrow(
      /^runtime container: no Docker engine reachable/,
    );
  });

  it('the image source hash is `sha256sum FILES | sha256sum`, as scripts/build-images.sh computes it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'harness-hash-'));
    mkdirSync(path.join(dir, 'a'));
    writeFileSync(path.join(dir, 'a', 'one.ts'), 'export const one = 1;\n');
    writeFileSync(path.join(dir, 'two.json'), '{"two":2}');
    const files = ['a/one.ts', 'two.json'];
    const shell = spawnSync('bash', ['-c', 'sha256sum "$@" | sha256sum | cut -c1-64', 'hash', ...files], { cwd: dir, encoding: 'utf8' });
    expect(shell.status).toBe(0);
    expect(sourceHash(dir, files)).toBe(shell.stdout.trim());
    expect(sourceHash(dir, ['missing.ts'])).toBeUndefined();
  });
});

describe('process launcher', () => {
  it('starts the sandbox behind a Prism proxy, answers a signed check-for-update, and stops everything', async () => {
    const launcher = await chooseLauncher({ choice: 'process', needs: { sandbox: true, prism: true } });
    const sandbox = await launcher.startSandbox({ controlPort: true, logFile: log('sandbox'), secret: SECRET_KEY });
    let prism: RunningService | undefined;
    try {
      prism = await launcher.startPrism({ mode: 'proxy', upstream: sandbox.url, logFile: log('prism-proxy') });
      const res = await checkForUpdate(prism.url);
      expect(res.status, res.bodyText).toBe(200);
      expect(res.json).toMatchObject({ code: 200, data: { apkKey: 'apk-basic' } });
      expect(res.headers['sl-violations']).toBeUndefined();
    } finally {
      await stopAll([sandbox, prism]);
    }
    for (const url of [sandbox.url, sandbox.controlUrl!, prism.url]) expect(await portOpen(url), url).toBe(false);
  });

  it('waits on the port for a Prism at log level warn (no "listening" line) and passes its extra arguments', async () => {
    const launcher = await chooseLauncher({ choice: 'process', needs: { sandbox: true, prism: true } });
    const sandbox = await launcher.startSandbox({ logFile: log('sandbox') });
    let prism: RunningService | undefined;
    try {
      prism = await launcher.startPrism({
        mode: 'proxy',
        upstream: sandbox.url,
        logLevel: 'warn',
        extraArgs: ['--cors', 'false', '--validate-request', 'false'],
        logFile: log('prism-quiet'),
      });
      const res = await checkForUpdate(prism.url);
      expect(res.status, res.bodyText).toBe(200);
      // --cors false: Prism adds no CORS headers of its own.
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await stopAll([sandbox, prism]);
    }
    expect(readFileSync(log('prism-quiet'), 'utf8')).not.toMatch(/Prism is listening/);
  });

  it('a proxy without an upstream, or a port already taken, fails with the reason', async () => {
    const launcher = await chooseLauncher({ choice: 'process', needs: { prism: true } });
    await expect(launcher.startPrism({ mode: 'proxy' })).rejects.toThrow(/a Prism proxy needs an upstream/);
    const busy = net.createServer().listen(await freePort(), '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    try {
      const port = (busy.address() as net.AddressInfo).port;
      await expect(launcher.startPrism({ mode: 'mock', port, logFile: log('prism-busy'), timeoutMs: 20_000 })).rejects.toThrow(/prism mock \(process\)/);
    } finally {
      busy.close();
    }
  });
});

describe('container launcher', () => {
  it('starts the sandbox and a Prism proxy as containers (host network), answers, and removes them', { timeout: 120_000 }, async (ctx) => {
    const launcher = await needContainers(ctx, 'harness');
    const sandbox = await launcher.startSandbox({ controlPort: true, logFile: log('c-sandbox'), secret: SECRET_KEY });
    let prism: RunningService | undefined;
    try {
      prism = await launcher.startPrism({ mode: 'proxy', upstream: sandbox.url, logFile: log('c-prism-proxy') });
      expect(launcher.images).toEqual(imageNames());
      expect(await containersOfThisProcess()).toHaveLength(2);
      const res = await checkForUpdate(prism.url);
      expect(res.status, res.bodyText).toBe(200);
      expect(res.json).toMatchObject({ code: 200, data: { apkKey: 'apk-basic' } });
      expect(res.headers['sl-violations']).toBeUndefined();
      expect((await checkForUpdate(sandbox.url)).json).toMatchObject({ code: 200 });
    } finally {
      await stopAll([sandbox, prism]);
    }
    expect(await containersOfThisProcess()).toEqual([]);
    for (const url of [sandbox.url, sandbox.controlUrl!, prism.url]) expect(await portOpen(url), url).toBe(false);
  });

  it('runs a Prism mock alone; passes fault switches and a fixtures file to the sandbox container', { timeout: 120_000 }, async (ctx) => {
    const launcher = await needContainers(ctx, 'harness');
    const mock = await launcher.startPrism({ mode: 'mock', logFile: log('c-prism-mock') });
    try {
      expect((await checkForUpdate(mock.url)).status).toBeGreaterThanOrEqual(200);
    } finally {
      await mock.stop();
    }
    const sandbox = await launcher.startSandbox({ fixtures: 'fixtures/sandbox.json', faults: ['accept-any-signature'], logFile: log('c-sandbox-faults') });
    try {
      expect((await checkForUpdate(sandbox.url)).json).toMatchObject({ code: 200 });
      // The fault switch reached the container: a wrong signature is accepted.
      expect((await checkForUpdate(sandbox.url, 'wrong-secret')).json).toMatchObject({ code: 200 });
    } finally {
      await sandbox.stop();
    }
    expect(await containersOfThisProcess()).toEqual([]);
  });

  it('runs a quiet Prism (log level warn, ready on its port) in front of the sandbox container', { timeout: 120_000 }, async (ctx) => {
    const launcher = await needContainers(ctx, 'harness');
    const sandbox = await launcher.startSandbox({ logFile: log('c-sandbox') });
    let prism: RunningService | undefined;
    try {
      prism = await launcher.startPrism({ mode: 'proxy', upstream: sandbox.url, logLevel: 'warn', logFile: log('c-prism-quiet') });
      const res = await checkForUpdate(prism.url);
      expect(res.status, res.bodyText).toBe(200);
      expect(res.headers['sl-violations']).toBeUndefined();
    } finally {
      await stopAll([sandbox, prism]);
    }
    expect(await containersOfThisProcess()).toEqual([]);
  });

  it('runs the load-runner job to completion against a sandbox container and keeps its exit code and reports', { timeout: 120_000 }, async (ctx) => {
    const launcher = await needContainers(ctx, 'harness');
    const sandbox = await launcher.startSandbox({ controlPort: true, logFile: log('c-sandbox-load'), secret: SECRET_KEY });
    const out = mkdtempSync(path.join(tmpdir(), 'runner-test-'));
    const output: string[] = [];
    try {
      const args = ['smoke', '--base-url', sandbox.url, '--control-url', sandbox.controlUrl!, '--scenarios', 'journey,ratelimit', '--duration', '1', '--connections', '2'];
      const env = { UPGRADELINK_ACCESS_KEY: ACCESS_KEY, UPGRADELINK_SECRET_KEY: SECRET_KEY };
      const passed = await launcher.runLoadRunner({ args, out, env, secret: SECRET_KEY, onOutput: (t) => output.push(t) });
      expect(passed, output.join('')).toEqual({ exitCode: 0, image: imageNames().loadRunner });
      expect(readdirSync(out)).toEqual(expect.arrayContaining(['load-smoke.md', 'load-ratelimit.json', 'load-junit.xml', 'load-runner.log']));
      expect(output.join('')).toMatch(/load:smoke: all thresholds passed/);
      // The secret is masked in what the container printed.
      expect(output.join('') + readFileSync(path.join(out, 'load-runner.log'), 'utf8')).not.toContain(SECRET_KEY);
      // A failed threshold is exit code 1, not an exception: 2 requests cannot meet --p99-ms 0.0001.
      const failed = await launcher.runLoadRunner({ args: [...args, '--scenarios', 'journey', '--p99-ms', '0.0001'], out, env, secret: SECRET_KEY });
      expect(failed.exitCode).toBe(1);
    } finally {
      await sandbox.stop();
    }
    expect(await containersOfThisProcess()).toEqual([]);
  });

  it('removes the container when the service fails to start', { timeout: 120_000 }, async (ctx) => {
    const launcher = await needContainers(ctx, 'harness');
    await expect(launcher.startSandbox({ faults: ['no-such-fault'], logFile: log('c-sandbox-bad'), timeoutMs: 30_000 })).rejects.toThrow(
      /sandbox \(container .*\) did not start/,
    );
    expect(await containersOfThisProcess()).toEqual([]);
  });

  it('removes containers whose starting process is gone, once, before its first start', { timeout: 60_000 }, async (ctx) => {
    await needContainers(ctx, 'harness');
    const exited = spawnSync(process.execPath, ['-e', '']);
    const deadPid = exited.pid!;
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    const name = `upgradelink-orphan-test-${process.pid}`;
    await client.container.create({ Image: imageNames().sandbox, name, Labels: { [OWNER_LABEL]: String(deadPid) } });
    const lines: string[] = [];
    const launcher = await chooseLauncher({ choice: 'container', needs: { sandbox: true }, notice: (l) => lines.push(l) });
    expect(lines).toEqual([]);
    const sandbox = await launcher.startSandbox({ logFile: log('c-sandbox-orphans') });
    await sandbox.stop();
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^upgradelink runtime: removed containers left by earlier runs: (.*, )?${name}(,|$)`))]);
    const left = await client.container.dockerode.listContainers({ all: true, filters: { name: [name] } });
    expect(left).toEqual([]);
  });

  it('refuses a service the launcher was not chosen for (its image was never checked)', { timeout: 30_000 }, async (ctx) => {
    await needContainers(ctx, 'harness');
    const sandboxOnly = await chooseLauncher({ choice: 'container', needs: { sandbox: true } });
    expect(sandboxOnly.images).toEqual({ sandbox: imageNames().sandbox });
    await expect(sandboxOnly.startPrism({ mode: 'mock' })).rejects.toThrow(/was not told this run needs the prism \(needs\.prism\)/);
  });
});
