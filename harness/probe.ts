// "Is there a Docker engine at all?", answered in milliseconds, for the `auto` decision. This is the
// only place the harness talks to the engine itself; everything after the answer (image labels,
// orphans, containers) goes through testcontainers' client. Measured on this machine
// (testcontainers 11.14.0, see harness/README.md): importing testcontainers alone takes 0.6-0.9 s;
// its discovery then takes about 5 ms without a socket, but never returns (still waiting after 30 s)
// when DOCKER_HOST accepts connections and does not answer, since dockerode sets no timeout; and when
// DOCKER_HOST names a missing socket it quietly uses /var/run/docker.sock instead. This probe pings
// exactly DOCKER_HOST (or /var/run/docker.sock) with a 500 ms timeout.
import http from 'node:http';

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

/** GET /_ping; resolves with the HTTP status, rejects on connection errors and after timeoutMs. */
function ping(endpoint: EngineEndpoint, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...(endpoint.socketPath ? { socketPath: endpoint.socketPath } : { host: endpoint.host, port: endpoint.port }),
        method: 'GET',
        path: '/_ping',
        headers: { Host: 'docker' },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () => resolve(res.statusCode ?? 0));
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

export type EngineProbe = { ok: true } | { ok: false; reason: string };

/** Pings the engine; answers within about timeoutMs either way. */
export async function probeEngine(timeoutMs = 500, env: NodeJS.ProcessEnv = process.env): Promise<EngineProbe> {
  const endpoint = engineEndpoint(env);
  if ('unsupported' in endpoint) return { ok: false, reason: `cannot probe ${endpoint.unsupported}` };
  try {
    const status = await ping(endpoint, timeoutMs);
    if (status !== 200) return { ok: false, reason: `Docker engine at ${endpoint.label} answered /_ping with HTTP ${status}` };
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `no Docker engine reachable at ${endpoint.label} (${describeError(error)})` };
  }
}
