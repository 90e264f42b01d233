// Talks to the Docker engine API directly (HTTP over the unix socket, or tcp:// from DOCKER_HOST) with
// short timeouts. Used to decide `auto` quickly: testcontainers' own discovery tries several
// strategies and can take seconds when no engine is there.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createHash } from 'node:crypto';
import path from 'node:path';

export interface EngineEndpoint {
  /** Human-readable: the socket path or host:port. */
  label: string;
  socketPath?: string;
  host?: string;
  port?: number;
}

/** Where the engine should be: DOCKER_HOST (unix:// or tcp://) or /var/run/docker.sock. */
export function engineEndpoint(env: NodeJS.ProcessEnv = process.env): EngineEndpoint | { unsupported: string } {
  const dockerHost = env.DOCKER_HOST?.trim();
  if (!dockerHost) return { label: '/var/run/docker.sock', socketPath: '/var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) {
    const socketPath = dockerHost.slice('unix://'.length);
    return { label: socketPath, socketPath };
  }
  if (dockerHost.startsWith('tcp://') || dockerHost.startsWith('http://')) {
    const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    if (env.DOCKER_TLS_VERIFY) return { unsupported: `DOCKER_HOST=${dockerHost} with TLS (probe supports plain tcp and unix sockets)` };
    return { label: `${url.hostname}:${url.port || 2375}`, host: url.hostname, port: Number(url.port || 2375) };
  }
  return { unsupported: `DOCKER_HOST=${dockerHost} (probe supports unix:// and tcp://)` };
}

export interface EngineResponse {
  status: number;
  body: string;
}

/** One engine API call; rejects on connection errors and after timeoutMs. */
export function engineRequest(
  endpoint: EngineEndpoint,
  method: string,
  apiPath: string,
  timeoutMs = 500,
): Promise<EngineResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...(endpoint.socketPath ? { socketPath: endpoint.socketPath } : { host: endpoint.host, port: endpoint.port }),
        method,
        path: apiPath,
        headers: { Host: 'docker' },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function describeError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${e.syscall ?? 'connect'} ${e.code}` : e.message;
}

export type EngineProbe = { ok: true; endpoint: EngineEndpoint; version: string } | { ok: false; reason: string };

/** Pings the engine; answers within about timeoutMs either way. */
export async function probeEngine(timeoutMs = 500, env: NodeJS.ProcessEnv = process.env): Promise<EngineProbe> {
  const endpoint = engineEndpoint(env);
  if ('unsupported' in endpoint) return { ok: false, reason: `cannot probe ${endpoint.unsupported}` };
  try {
    const ping = await engineRequest(endpoint, 'GET', '/_ping', timeoutMs);
    if (ping.status !== 200) return { ok: false, reason: `Docker engine at ${endpoint.label} answered /_ping with HTTP ${ping.status}` };
    const version = await engineRequest(endpoint, 'GET', '/version', timeoutMs);
    const parsed = JSON.parse(version.body) as { Version?: string };
    return { ok: true, endpoint, version: parsed.Version ?? 'unknown' };
  } catch (error) {
    return { ok: false, reason: `no Docker engine reachable at ${endpoint.label} (${describeError(error)})` };
  }
}

export interface ImageInfo {
  id: string;
  labels: Record<string, string>;
  sizeBytes: number;
}

/** Inspects a local image; undefined when the engine does not have it. */
export async function inspectImage(endpoint: EngineEndpoint, name: string, timeoutMs = 1000): Promise<ImageInfo | undefined> {
  const res = await engineRequest(endpoint, 'GET', `/images/${encodeURIComponent(name)}/json`, timeoutMs);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`inspecting image ${name}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  const parsed = JSON.parse(res.body) as { Id: string; Size?: number; Config?: { Labels?: Record<string, string> | null } };
  return { id: parsed.Id, labels: parsed.Config?.Labels ?? {}, sizeBytes: parsed.Size ?? 0 };
}

/** Label key on every container lib/runtime starts; the value is the starting process's PID. */
export const OWNER_LABEL = 'org.upgradelink.runtime.owner-pid';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes containers left behind by runs that died before their teardown (their owner PID is gone).
 * Ryuk (testcontainers' own reaper) is disabled here, because it needs a registry image.
 */
export async function removeOrphans(endpoint: EngineEndpoint): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [OWNER_LABEL] }));
  const res = await engineRequest(endpoint, 'GET', `/containers/json?all=1&filters=${filters}`, 2000);
  if (res.status !== 200) return [];
  const removed: string[] = [];
  for (const c of JSON.parse(res.body) as Array<{ Id: string; Names?: string[]; Labels?: Record<string, string> }>) {
    const owner = Number(c.Labels?.[OWNER_LABEL]);
    if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) continue;
    const del = await engineRequest(endpoint, 'DELETE', `/containers/${c.Id}?force=1&v=1`, 10_000);
    if (del.status === 204 || del.status === 404) removed.push(c.Names?.[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12));
  }
  return removed;
}

/**
 * The hash scripts/build-images.sh stores in the sandbox image: `sha256sum FILES | sha256sum` over the
 * files listed in the image's label, in that order. Undefined when a listed file is missing.
 */
export function sourceHash(root: string, files: string[]): string | undefined {
  let listing = '';
  for (const file of files) {
    let content: Buffer;
    try {
      content = readFileSync(path.join(root, file));
    } catch {
      return undefined;
    }
    listing += `${createHash('sha256').update(content).digest('hex')}  ${file}\n`;
  }
  return createHash('sha256').update(listing).digest('hex');
}
