// The signed operations of REFERENCE §2, as data: one row per endpoint, with a request body the
// target answers with code 200 (from the target's fixture keys) and the body's key field. Rule tests
// iterate this table so every rule is checked on every operation where it applies.
import type { FixtureKeys } from './target.ts';

export type Family = 'file' | 'apk' | 'lnx' | 'url' | 'configuration' | 'win' | 'mac' | 'tauri' | 'electron';
export type OperationKind = 'upgrade' | 'version' | 'report';

export interface Operation {
  path: string;
  kind: OperationKind;
  family: Family | 'app';
  /** The app-key field (`apkKey`, …). */
  keyField: string;
  /** Required request fields (REFERENCE §2), in the order the official SDKs send them. */
  required: string[];
  /** `arch` rule: required enum, optional (win), or not a field. */
  arch: 'required' | 'optional' | 'none';
  /** A body the target answers with HTTP 200 / code 200 (code 0 for the report). */
  okBody(fx: Fixtures): Record<string, unknown>;
  /** Code of a successful answer to okBody. */
  okCode: 0 | 200;
}

export interface Fixtures {
  versions: { current: number; next: number; missing: number };
  apps: Record<string, Record<string, string | number>>;
  [key: string]: unknown;
}

export function asFixtures(raw: FixtureKeys): Fixtures {
  return raw as unknown as Fixtures;
}

const app = (fx: Fixtures, family: string, role = 'upgrading') => String(fx.apps[family]?.[role] ?? `missing-fixture-${family}-${role}`);

function upgrade(family: Family, arch: Operation['arch']): Operation {
  const keyField = `${family}Key`;
  return {
    path: `/v1/${family}/upgrade`,
    kind: 'upgrade',
    family,
    keyField,
    required: arch === 'required' ? [keyField, 'arch', 'versionCode'] : [keyField, 'versionCode'],
    arch,
    okCode: 200,
    okBody: (fx) => ({
      [keyField]: app(fx, family),
      ...(arch === 'required' ? { arch: 'x64' } : {}),
      versionCode: fx.versions.current,
      appointVersionCode: 0,
      devModelKey: '',
      devKey: '',
    }),
  };
}

function version(family: Family, arch: Operation['arch']): Operation {
  const keyField = `${family}Key`;
  return {
    path: `/v1/${family}/version`,
    kind: 'version',
    family,
    keyField,
    required: arch === 'required' ? [keyField, 'versionCode', 'arch'] : [keyField, 'versionCode'],
    arch,
    okCode: 200,
    okBody: (fx) => ({
      [keyField]: app(fx, family),
      versionCode: fx.versions.current,
      ...(arch === 'required' ? { arch: 'x64' } : {}),
    }),
  };
}

export const OPERATIONS: Operation[] = [
  upgrade('file', 'none'),
  upgrade('apk', 'none'),
  upgrade('lnx', 'required'),
  upgrade('url', 'none'),
  upgrade('configuration', 'none'),
  upgrade('win', 'optional'),
  upgrade('mac', 'required'),
  version('file', 'none'),
  version('url', 'none'),
  version('configuration', 'none'),
  version('apk', 'none'),
  version('lnx', 'required'),
  version('win', 'required'),
  version('mac', 'required'),
  {
    path: '/v1/tauri/version',
    kind: 'version',
    family: 'tauri',
    keyField: 'tauriKey',
    required: ['tauriKey', 'versionName', 'target', 'arch'],
    arch: 'none',
    okCode: 200,
    okBody: (fx) => {
      const t = fx.apps.tauri ?? {};
      return { tauriKey: String(t.versioned), versionName: String(t.versionName), target: String(t.target), arch: String(t.arch) };
    },
  },
  {
    path: '/v1/electron/version',
    kind: 'version',
    family: 'electron',
    keyField: 'electronKey',
    required: ['electronKey', 'versionName', 'platform', 'arch'],
    arch: 'none',
    okCode: 200,
    okBody: (fx) => {
      const e = fx.apps.electron ?? {};
      return { electronKey: String(e.versioned), versionName: String(e.versionName), platform: String(e.platform), arch: String(e.arch) };
    },
  },
  {
    path: '/v1/app/report',
    kind: 'report',
    family: 'app',
    keyField: 'appKey',
    required: ['eventType', 'timestamp', 'appKey'],
    arch: 'none',
    okCode: 0,
    okBody: (fx) => ({
      eventType: 'app_upgrade_download',
      timestamp: '2025-02-17T10:34:55+08:00',
      appKey: app(fx, 'apk'),
      eventData: { downloadVersionCode: fx.versions.next, devModelKey: 'stv1', devKey: 'contract-report-device' },
    }),
  },
];

export const UPGRADE_OPERATIONS = OPERATIONS.filter((o) => o.kind === 'upgrade');
export const VERSION_OPERATIONS = OPERATIONS.filter((o) => o.kind === 'version');
export const SEED_PATHS = ['/v1/file/upgrade', '/v1/apk/upgrade', '/v1/lnx/upgrade', '/v1/file/version'];

export function operation(path: string): Operation {
  const found = OPERATIONS.find((o) => o.path === path);
  if (!found) throw new Error(`no operation ${path} in the table`);
  return found;
}
