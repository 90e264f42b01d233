// lib/runtime: the process runtime always; the container runtime when a Docker engine answers and the
// images are built. Without them the container tests skip with the reason, except in CI with
// UPGRADELINK_REQUIRE_CONTAINERS=1, where they fail: a CI that promised containers must not go green
// without them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { sendRaw, signedHeaders } from '../lib/client/raw.ts';
import { engineEndpoint, engineRequest, inspectImage, OWNER_LABEL, probeEngine, sourceHash } from './probe.ts';
import { freePort, imageNames, loadImageName, parseRuntime, resolveRuntime, runLoadRunner, startServices, type Services } from './index.ts';
import { openTarget } from '../load/target.ts';

const logDir = mkdtempSync(path.join(tmpdir(), 'runtime-test-'));
const UNREACHABLE = { ...process.env, DOCKER_HOST: `unix://${path.join(logDir, 'no-engine.sock')}` };

async function checkForUpdate(baseUrl: string) {
  const target = '/v1/apk/upgrade';
  const body = JSON.stringify({ apkKey: 'apk-basic', versionCode: 1 });
  const headers = signedHeaders({ method: 'POST', target, body, accessKey: 'ak-sandbox-0001', secretKey: 'test-secret-DO-NOT-USE-0001' });
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

describe('runtime choice', () => {
  it('parses --runtime values and rejects others', () => {
    expect(parseRuntime(undefined)).toBeUndefined();
    expect(parseRuntime('auto')).toBe('auto');
    expect(parseRuntime('container')).toBe('container');
    expect(parseRuntime('process')).toBe('process');
    expect(() => parseRuntime('k8s')).toThrow(/container, process or auto/);
  });

  it('takes image names from the environment', () => {
    expect(imageNames({})).toEqual({ sandbox: 'upgradelink/sandbox:local', prism: 'upgradelink/prism:local' });
    expect(imageNames({ UPGRADELINK_PRISM_IMAGE: 'stoplight/prism:5' }).prism).toBe('stoplight/prism:5');
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
    const services = await startServices({ runtime: 'auto', env: UNREACHABLE, logDir, sandbox: {}, notice: (l) => lines.push(l) });
    try {
      expect(services.runtime).toBe('process');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^upgradelink runtime: falling back to local processes: no Docker engine reachable at .*no-engine\.sock \(connect ENOENT\)$/);
      expect(services.fallbackReason).toBe(lines[0]!.replace(/^.*processes: /, ''));
    } finally {
      await services.stop();
    }
  });

  it('an engine that accepts but never answers is given up on (probe timeout), not waited for', async () => {
    const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    try {
      const env = { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}` };
      const decision = await resolveRuntime('auto', { sandbox: true, prism: true }, env);
      expect(decision).toEqual({ runtime: 'process', reason: expect.stringMatching(/^no Docker engine reachable at 127\.0\.0\.1:\d+ \(no answer within 500 ms\)$/) });
    } finally {
      silent.close();
    }
  });

  it('runtime container never falls back: it says why it cannot run', async () => {
    await expect(startServices({ runtime: 'container', env: UNREACHABLE, logDir, notice: () => {} })).rejects.toThrow(
      /runtime container: no Docker engine reachable/,
    );
  });

  it('the image source hash is `sha256sum FILES | sha256sum`, as scripts/build-images.sh computes it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'runtime-hash-'));
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

describe('load target runtime', () => {
  it('rejects an unknown --runtime and --runtime with a remote target, naming the flag', async () => {
    await expect(openTarget({ runtime: 'k8s' })).rejects.toThrow(/^--runtime: runtime must be container, process or auto; got "k8s"$/);
    await expect(openTarget({ runtime: 'container', baseUrl: 'http://127.0.0.1:9' })).rejects.toThrow(/--runtime applies to the embedded sandbox only/);
  });

  it('--runtime container with no engine says why and what to use instead', async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = UNREACHABLE.DOCKER_HOST;
    try {
      await expect(openTarget({ runtime: 'container' })).rejects.toThrow(/^--runtime container: no Docker engine reachable at .*; or use --runtime process$/);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  it('--runtime process runs the sandbox in this process', async () => {
    const target = await openTarget({ runtime: 'process' });
    try {
      expect(target.runtime).toBe('process');
      expect((await checkForUpdate(target.baseUrl)).json).toMatchObject({ code: 200 });
    } finally {
      await target.close();
    }
  });
});

describe('process runtime', () => {
  it('starts the sandbox behind a Prism proxy, answers a signed check-for-update, and stops everything', async () => {
    const services = await startServices({ runtime: 'process', logDir, sandbox: { controlPort: true }, prism: { mode: 'proxy' } });
    let urls: string[] = [];
    try {
      expect(services.runtime).toBe('process');
      expect(services.baseUrl).toBe(services.prismUrl);
      urls = [services.sandboxUrl!, services.controlUrl!, services.prismUrl!];
      const res = await checkForUpdate(services.prismUrl!);
      expect(res.status, res.bodyText).toBe(200);
      expect(res.json).toMatchObject({ code: 200, data: { apkKey: 'apk-basic' } });
      expect(res.headers['sl-violations']).toBeUndefined();
    } finally {
      await services.stop();
    }
    for (const url of urls) expect(await portOpen(url), url).toBe(false);
  });

  it('waits on the port for a Prism at log level warn (no "listening" line) and passes its extra arguments', async () => {
    const services = await startServices({
      runtime: 'process',
      logDir,
      sandbox: {},
      prism: { mode: 'proxy', logLevel: 'warn', extraArgs: ['--cors', 'false', '--validate-request', 'false'] },
    });
    try {
      const res = await checkForUpdate(services.prismUrl!);
      expect(res.status, res.bodyText).toBe(200);
      // --cors false: Prism adds no CORS headers of its own.
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await services.stop();
    }
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(path.join(logDir, 'prism-proxy.log'), 'utf8')).not.toMatch(/Prism is listening/);
  });

  it('stops what it started when a later service fails', async () => {
    const busy = net.createServer().listen(await freePort(), '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const busyPort = (busy.address() as net.AddressInfo).port;
    const lines: string[] = [];
    try {
      const attempt = startServices({
        runtime: 'process',
        logDir,
        sandbox: { port: await freePort() },
        prism: { mode: 'proxy', port: busyPort },
        notice: (l) => lines.push(l),
        startupTimeoutMs: 20_000,
      });
      await expect(attempt).rejects.toThrow(/prism proxy/);
    } finally {
      busy.close();
    }
    expect(lines).toEqual([]);
  });
});

// ---- container runtime ----------------------------------------------------------------------------
const probe = await probeEngine(500);
let unavailable: string | undefined = probe.ok ? undefined : probe.reason;
if (probe.ok) {
  try {
    await resolveRuntime('container', { sandbox: true, prism: true });
    if (!(await inspectImage(probe.endpoint, loadImageName()))) unavailable = `image ${loadImageName()} not found (build it: npm run docker:build)`;
  } catch (error) {
    unavailable = (error as Error).message.replace(/^runtime container: /, '');
  }
}
const requireContainers = !!process.env.CI && process.env.UPGRADELINK_REQUIRE_CONTAINERS === '1';

function needContainers(ctx: TestContext): void {
  if (unavailable === undefined) return;
  if (requireContainers) throw new Error(`CI with UPGRADELINK_REQUIRE_CONTAINERS=1, but containers cannot run: ${unavailable}`);
  console.warn(`lib/runtime container tests skipped: ${unavailable}`);
  ctx.skip(`containers unavailable: ${unavailable}`);
}

async function ourContainers(): Promise<string[]> {
  if (!probe.ok) return [];
  const filters = encodeURIComponent(JSON.stringify({ label: [`${OWNER_LABEL}=${process.pid}`] }));
  const res = await engineRequest(probe.endpoint, 'GET', `/containers/json?all=1&filters=${filters}`, 2000);
  return (JSON.parse(res.body) as Array<{ Names: string[] }>).map((c) => c.Names[0]!);
}

describe('container runtime', () => {
  const open: Services[] = [];
  afterAll(async () => {
    await Promise.all(open.map((s) => s.stop()));
  });

  it('starts the sandbox and a Prism proxy as containers (host network), answers, and removes them', { timeout: 120_000 }, async (ctx) => {
    needContainers(ctx);
    const services = await startServices({ runtime: 'container', logDir, sandbox: { controlPort: true }, prism: { mode: 'proxy' } });
    open.push(services);
    let urls: string[] = [];
    try {
      expect(services.runtime).toBe('container');
      expect(services.images).toEqual(imageNames());
      expect(await ourContainers()).toHaveLength(2);
      urls = [services.sandboxUrl!, services.controlUrl!, services.prismUrl!];
      const res = await checkForUpdate(services.prismUrl!);
      expect(res.status, res.bodyText).toBe(200);
      expect(res.json).toMatchObject({ code: 200, data: { apkKey: 'apk-basic' } });
      expect(res.headers['sl-violations']).toBeUndefined();
      const direct = await checkForUpdate(services.sandboxUrl!);
      expect(direct.json).toMatchObject({ code: 200 });
    } finally {
      await services.stop();
    }
    expect(await ourContainers()).toEqual([]);
    for (const url of urls) expect(await portOpen(url), url).toBe(false);
  });

  it('runs a Prism mock alone; passes fault switches and a fixtures file to the sandbox container', { timeout: 120_000 }, async (ctx) => {
    needContainers(ctx);
    const mock = await startServices({ runtime: 'container', logDir, sandbox: false, prism: { mode: 'mock' } });
    open.push(mock);
    try {
      expect(mock.sandboxUrl).toBeUndefined();
      const res = await checkForUpdate(mock.prismUrl!);
      expect(res.status).toBeGreaterThanOrEqual(200);
    } finally {
      await mock.stop();
    }
    const withFixtures = await startServices({
      runtime: 'container',
      logDir,
      sandbox: { fixtures: 'fixtures/sandbox.json', faults: ['accept-any-signature'] },
    });
    open.push(withFixtures);
    try {
      expect(await checkForUpdate(withFixtures.sandboxUrl!).then((r) => r.json)).toMatchObject({ code: 200 });
      // The fault switch reached the container: a wrong signature is accepted.
      const target = '/v1/apk/upgrade';
      const body = JSON.stringify({ apkKey: 'apk-basic', versionCode: 1 });
      const headers = signedHeaders({ method: 'POST', target, body, accessKey: 'ak-sandbox-0001', secretKey: 'wrong-secret' });
      const forged = await sendRaw({ baseUrl: withFixtures.sandboxUrl!, method: 'POST', target, body, headers: { 'Content-Type': 'application/json', ...headers } });
      expect(forged.json).toMatchObject({ code: 200 });
    } finally {
      await withFixtures.stop();
    }
    expect(await ourContainers()).toEqual([]);
  });

  it('runs a quiet Prism (log level warn, ready on its port) in front of the sandbox container', { timeout: 120_000 }, async (ctx) => {
    needContainers(ctx);
    const services = await startServices({ runtime: 'container', logDir, sandbox: {}, prism: { mode: 'proxy', logLevel: 'warn' } });
    open.push(services);
    try {
      const res = await checkForUpdate(services.prismUrl!);
      expect(res.status, res.bodyText).toBe(200);
      expect(res.headers['sl-violations']).toBeUndefined();
    } finally {
      await services.stop();
    }
    expect(await ourContainers()).toEqual([]);
  });

  it('gives the load scenarios a sandbox container whose clock they drive over the control port', { timeout: 120_000 }, async (ctx) => {
    needContainers(ctx);
    const target = await openTarget({ runtime: 'container', logDir });
    try {
      expect(target).toMatchObject({ runtime: 'container', embedded: true, loopback: true });
      expect(target.label).toMatch(/^sandbox container upgradelink\/sandbox:local at http:\/\/127\.0\.0\.1:\d+$/);
      // Frozen an hour ahead, a request signed now is outside the replay window: 401001.
      await target.clock!.freezeAt(Date.now() + 3_600_000);
      expect((await checkForUpdate(target.baseUrl)).json).toMatchObject({ code: 401001 });
      await target.clock!.release();
      expect((await checkForUpdate(target.baseUrl)).json).toMatchObject({ code: 200 });
    } finally {
      await target.close();
    }
    expect(await ourContainers()).toEqual([]);
  });

  it('runs the load-runner image to completion against a sandbox container and keeps its exit code and reports', { timeout: 120_000 }, async (ctx) => {
    needContainers(ctx);
    const target = await openTarget({ runtime: 'container', logDir });
    const out = mkdtempSync(path.join(tmpdir(), 'runner-test-'));
    const output: string[] = [];
    try {
      const args = ['--base-url', target.baseUrl, '--control-url', target.controlUrl!, '--scenarios', 'journey,ratelimit', '--duration', '1', '--connections', '2'];
      const env = { UPGRADELINK_ACCESS_KEY: target.accessKey, UPGRADELINK_SECRET_KEY: target.secretKey };
      const passed = await runLoadRunner({ args, out, env, secret: target.secretKey, onOutput: (t) => output.push(t) });
      expect(passed, output.join('')).toEqual({ exitCode: 0, image: loadImageName() });
      const { readdirSync, readFileSync } = await import('node:fs');
      expect(readdirSync(out)).toEqual(expect.arrayContaining(['load-smoke.md', 'load-ratelimit.json', 'load-junit.xml', 'load-runner.log']));
      expect(output.join('')).toMatch(/load:smoke: all thresholds passed/);
      // The secret is masked in what the container printed.
      expect(output.join('') + readFileSync(path.join(out, 'load-runner.log'), 'utf8')).not.toContain(target.secretKey);
      // A failed threshold is exit code 1, not an exception: 2 requests cannot meet --p99-ms 0.0001.
      const failed = await runLoadRunner({ args: [...args, '--scenarios', 'journey', '--p99-ms', '0.0001'], out, env, secret: target.secretKey });
      expect(failed.exitCode).toBe(1);
    } finally {
      await target.close();
    }
    expect(await ourContainers()).toEqual([]);
  });

  it('removes the container when the service fails to start', { timeout: 120_000 }, async (ctx) => {
    needContainers(ctx);
    await expect(
      startServices({ runtime: 'container', logDir, sandbox: { faults: ['no-such-fault'] }, prism: { mode: 'proxy' }, startupTimeoutMs: 30_000 }),
    ).rejects.toThrow(/sandbox \(container .*\) did not start/);
    expect(await ourContainers()).toEqual([]);
  });
});
