// Where the load runner's embedded sandbox runs (--runtime): its own child process, or a container,
// both started through harness/ (the container tests skip with the reason when containers cannot run).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendRaw, signedHeaders } from '../lib/client/raw.ts';
import { containersOfThisProcess } from '../harness/container.ts';
import { needContainers } from '../harness/test-support.ts';
import { openTarget, type LoadTarget } from './target.ts';

const logDir = mkdtempSync(path.join(tmpdir(), 'load-target-test-'));

async function checkForUpdate(target: LoadTarget) {
  const route = '/v1/apk/upgrade';
  const body = JSON.stringify({ apkKey: 'apk-basic', versionCode: 1 });
  const headers = signedHeaders({ method: 'POST', target: route, body, accessKey: target.accessKey, secretKey: target.secretKey });
  return sendRaw({ baseUrl: target.baseUrl, method: 'POST', target: route, body, headers: { 'Content-Type': 'application/json', ...headers }, timeoutMs: 10_000 });
}

describe('load target runtime', () => {
  it('rejects an unknown --runtime and --runtime with a remote target, naming the flag', async () => {
    await expect(openTarget({ runtime: 'k8s' })).rejects.toThrow(/^--runtime: runtime must be container, process or auto; got "k8s"$/);
    await expect(openTarget({ runtime: 'container', baseUrl: 'http://127.0.0.1:9' })).rejects.toThrow(/--runtime applies to the embedded sandbox only/);
  });

  it('--runtime container with no engine says why and what to use instead', async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${path.join(logDir, 'no-engine.sock')}`;
    try {
      await expect(openTarget({ runtime: 'container' })).rejects.toThrow(/^--runtime container: no Docker engine reachable at .*; or use --runtime process$/);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  it('--runtime process runs the sandbox as its own process, never inside the load process', async () => {
    const target = await openTarget({ runtime: 'process', logDir });
    try {
      expect(target.runtime).toBe('process');
      expect(target.label).toMatch(/^sandbox process at http:\/\/127\.0\.0\.1:\d+$/);
      expect(target.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await checkForUpdate(target)).json).toMatchObject({ code: 200 });
    } finally {
      await target.close();
    }
  });

  it('--runtime container: a sandbox container whose clock the scenarios drive over its control port', { timeout: 120_000 }, async (ctx) => {
    await needContainers(ctx, 'load target');
    const target = await openTarget({ runtime: 'container', logDir });
    try {
      expect(target).toMatchObject({ runtime: 'container', embedded: true, loopback: true });
      expect(target.label).toMatch(/^sandbox container upgradelink\/sandbox:local at http:\/\/127\.0\.0\.1:\d+$/);
      // Frozen an hour ahead, a request signed now is outside the replay window: 401001.
      await target.clock!.freezeAt(Date.now() + 3_600_000);
      expect((await checkForUpdate(target)).json).toMatchObject({ code: 401001 });
      await target.clock!.release();
      expect((await checkForUpdate(target)).json).toMatchObject({ code: 200 });
    } finally {
      await target.close();
    }
    expect(await containersOfThisProcess()).toEqual([]);
  });
});
