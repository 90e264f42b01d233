// Guards that keep load traffic where it belongs. Pure, so they are unit-tested (safety.test.ts).

export const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Caps for a target that is not this machine (staging): a smoke, never a stress test. */
export const REMOTE_CAPS = { maxRate: 50, maxDurationSeconds: 300, maxConnections: 10 } as const;
/** Caps for loopback: every loop is still bounded in time and requests. */
export const LOCAL_CAPS = { maxDurationSeconds: 120, maxConnections: 64, maxRequests: 2_000_000 } as const;

export interface LoadPlan {
  baseUrl: string;
  durationSeconds: number;
  connections: number;
  /** Overall requests per second; undefined means as fast as the target answers (loopback only). */
  rate?: number;
  /** LOAD_CONFIRM_HOST: must equal the target's host for a non-loopback target. */
  confirmHost?: string;
}

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Returns the problems with a plan; an empty list means it may run. */
export function checkPlan(plan: LoadPlan): string[] {
  const problems: string[] = [];
  let url: URL;
  try {
    url = new URL(plan.baseUrl);
  } catch {
    return [`base URL "${plan.baseUrl}" is not a URL: set UPGRADELINK_BASE_URL (or --base-url) to e.g. http://127.0.0.1:8787`];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`base URL must be http or https, got ${url.protocol}`);
  }
  if (!Number.isFinite(plan.durationSeconds) || plan.durationSeconds <= 0) {
    problems.push(`--duration must be a positive number of seconds, got ${plan.durationSeconds}`);
  }
  if (!Number.isInteger(plan.connections) || plan.connections < 1) {
    problems.push(`--connections must be a positive integer, got ${plan.connections}`);
  }
  if (plan.rate !== undefined && (!Number.isFinite(plan.rate) || plan.rate <= 0)) {
    problems.push(`--rate must be a positive number of requests per second, got ${plan.rate}`);
  }
  if (isLoopbackHost(url.hostname)) {
    if (plan.durationSeconds > LOCAL_CAPS.maxDurationSeconds) {
      problems.push(`--duration ${plan.durationSeconds}s is over the cap of ${LOCAL_CAPS.maxDurationSeconds}s`);
    }
    if (plan.connections > LOCAL_CAPS.maxConnections) {
      problems.push(`--connections ${plan.connections} is over the cap of ${LOCAL_CAPS.maxConnections}`);
    }
    return problems;
  }
  if (plan.confirmHost !== url.hostname) {
    problems.push(
      `${url.hostname} is not this machine: to load it, set LOAD_CONFIRM_HOST=${url.hostname} ` +
        `(confirming you own it and may load it)`,
    );
  }
  if (plan.rate === undefined) {
    problems.push(`a remote target needs --rate (at most ${REMOTE_CAPS.maxRate} requests per second)`);
  } else if (plan.rate > REMOTE_CAPS.maxRate) {
    problems.push(`--rate ${plan.rate} is over the remote cap of ${REMOTE_CAPS.maxRate} requests per second`);
  }
  if (plan.durationSeconds > REMOTE_CAPS.maxDurationSeconds) {
    problems.push(`--duration ${plan.durationSeconds}s is over the remote cap of ${REMOTE_CAPS.maxDurationSeconds}s`);
  }
  if (plan.connections > REMOTE_CAPS.maxConnections) {
    problems.push(`--connections ${plan.connections} is over the remote cap of ${REMOTE_CAPS.maxConnections}`);
  }
  return problems;
}
