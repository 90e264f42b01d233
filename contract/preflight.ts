// Fail fast: before any test, the target must answer (connect and first-byte timeouts), answer like an
// UpgradeLink API (a JSON envelope), accept the credentials (one signed happy path), and hold the
// fixture apps the roles name (one side-effect-free version lookup per app; a missing one only skips
// the tests that need it). A target that cannot be judged ends the run with exit 2 and the reason,
// naming the URL, within seconds rather than after a thousand failures.
import net from 'node:net';
import { sendRaw, signedHeaders, type RawResponse } from '../lib/client/raw.ts';
import { Code, CODES, type Family } from '../generated/operations.ts';
import type { SemverApp } from './fixtures.ts';

export const CONNECT_TIMEOUT_MS = 3_000;
export const FIRST_ANSWER_TIMEOUT_MS = 5_000;
export const FIXTURE_PROBE_TIMEOUT_MS = 5_000;

export interface PreflightTarget {
  url: string;
  accessKey: string;
  secretKey: string;
  /** A remote target's refusal of the credentials ends the run; the local sandbox's cannot (its pair is known good). */
  credentialsKnownGood: boolean;
}

export type PreflightOutcome = { ok: true; missing: Array<{ role: string; reason: string }>; notes: string[] } | { ok: false; reason: string };

function connect(url: URL, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const socket = net.connect({ host: url.hostname, port });
    const done = (why: string | undefined) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(`no TCP connection within ${timeoutMs / 1000} s (is the host reachable?)`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(`${error.code ?? error.message} (nothing is listening there, or the host is wrong)`));
  });
}

async function signedPost(t: PreflightTarget, path: string, body: unknown, timeoutMs: number): Promise<RawResponse> {
  const text = JSON.stringify(body);
  const headers = signedHeaders({ method: 'POST', target: path, body: text, accessKey: t.accessKey, secretKey: t.secretKey });
  return sendRaw({ baseUrl: t.url, method: 'POST', target: path, headers: { 'Content-Type': 'application/json', ...headers }, body: text, timeoutMs });
}

function envelopeCode(response: RawResponse): number | undefined {
  const code = (response.json as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export interface FixtureApp {
  family: Family;
  key: string;
  role: string;
}

/** The body of a version lookup for an app: no strategy, quota or state is touched. */
function lookupBody(app: FixtureApp, semver: { tauri?: SemverApp; electron?: SemverApp }): { path: string; body: Record<string, unknown> } {
  const path = `/v1/${app.family}/version`;
  if (app.family === 'tauri') return { path, body: { tauriKey: app.key, versionName: semver.tauri?.versionName ?? '1.0.0', target: semver.tauri?.variant ?? 'windows', arch: semver.tauri?.arch ?? 'x86_64' } };
  if (app.family === 'electron') return { path, body: { electronKey: app.key, versionName: semver.electron?.versionName ?? '1.0.0', platform: semver.electron?.variant ?? 'win32', arch: semver.electron?.arch ?? 'x64' } };
  const arch = app.family === 'lnx' || app.family === 'win' || app.family === 'mac' ? { arch: 'x64' } : {};
  return { path, body: { [`${app.family}Key`]: app.key, versionCode: 1, ...arch } };
}

export async function preflight(
  t: PreflightTarget,
  happy: { path: string; body: unknown } | undefined,
  apps: FixtureApp[],
  semver: { tauri?: SemverApp; electron?: SemverApp },
  progress: (line: string) => void = () => {},
): Promise<PreflightOutcome> {
  let url: URL;
  try {
    url = new URL(t.url);
  } catch {
    return { ok: false, reason: `the base URL ${JSON.stringify(t.url)} is not a URL (--base-url or UPGRADELINK_BASE_URL)` };
  }
  const refused = await connect(url, CONNECT_TIMEOUT_MS);
  if (refused) return { ok: false, reason: `cannot connect to ${t.url}: ${refused}` };

  const notes: string[] = [];
  if (happy) {
    let response: RawResponse;
    try {
      response = await signedPost(t, happy.path, happy.body, FIRST_ANSWER_TIMEOUT_MS);
    } catch (error) {
      const message = (error as Error).message;
      return {
        ok: false,
        reason: /timed? ?out|within/i.test(message)
          ? `${t.url} accepted the connection but sent no answer to POST ${happy.path} within ${FIRST_ANSWER_TIMEOUT_MS / 1000} s (a silent server, or the wrong port)`
          : `POST ${t.url}${happy.path} failed: ${message}`,
      };
    }
    const code = envelopeCode(response);
    if (code === undefined) {
      const type = response.headers['content-type'] ?? 'no Content-Type';
      return {
        ok: false,
        reason: `${t.url} answered POST ${happy.path} with HTTP ${response.status} (${type}) and a body that is not an UpgradeLink JSON envelope {"code","msg",…}: ${JSON.stringify(response.bodyText.slice(0, 120))}. Is this the API's base URL?`,
      };
    }
    if ((code === Code.AUTH_FAILED || code === Code.SIGNATURE_FAILED) && !t.credentialsKnownGood) {
      const date = Date.parse(response.headers.date ?? '');
      const skew = Number.isNaN(date) ? '' : ` This machine's clock is ${Math.round((Date.now() - date) / 1000)} s off the target's (its Date header); more than 300 s also gives ${Code.AUTH_FAILED}.`;
      return {
        ok: false,
        reason: `${t.url} rejected a correctly signed request with code ${code} (${CODES[code].meaning}): check UPGRADELINK_ACCESS_KEY (${t.accessKey}) and UPGRADELINK_SECRET_KEY.${skew} If they are right, the deployment signs differently: \`npx upgradelink-contract explain\` names the usual mistakes.`,
      };
    }
    if (code === Code.AUTH_FAILED || code === Code.SIGNATURE_FAILED) notes.push(`the target rejected the known-good credentials of the happy path with code ${code}: expect baseline findings`);
  }

  const missing: Array<{ role: string; reason: string }> = [];
  const distinct = new Map<string, FixtureApp[]>();
  for (const app of apps) distinct.set(`${app.family}/${app.key}`, [...(distinct.get(`${app.family}/${app.key}`) ?? []), app]);
  const queue = [...distinct.values()];
  let checked = 0;
  let failure: string | undefined;
  const worker = async () => {
    while (queue.length > 0 && !failure) {
      const group = queue.shift()!;
      const app = group[0]!;
      const { path, body } = lookupBody(app, semver);
      try {
        const response = await signedPost(t, path, body, FIXTURE_PROBE_TIMEOUT_MS);
        if (envelopeCode(response) === Code.RESOURCE_NOT_FOUND) {
          for (const a of group) missing.push({ role: a.role, reason: `fixture role ${a.role}: the ${a.family} app "${a.key}" is not on the target (POST ${path} answered ${Code.RESOURCE_NOT_FOUND} in the preflight)` });
        }
      } catch (error) {
        failure = `${t.url} stopped answering during the preflight (POST ${path}: ${(error as Error).message})`;
      }
      checked++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  if (failure) return { ok: false, reason: failure };
  progress(`contract: preflight ok: ${t.url} answers, ${checked} fixture app(s) checked, ${missing.length} role(s) missing on the target`);
  return { ok: true, missing, notes };
}
