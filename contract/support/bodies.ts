// Request bodies, typed from generated/api-types.ts: a field the spec does not have is a type error.
// `OK_BODIES` holds, per operation, a body the target answers with success from the fixture roles;
// tests derive their negative bodies from it with `patch` (typed field names, any value) or
// `withUnknownFields` (names the spec does not have, on purpose).
import type { PostPath, RequestBodyOf } from '../../lib/client/index.ts';
import { isMissing, type Fixtures, type MissingRole, type Role } from '../fixtures.ts';

type Builder<P extends PostPath> = (fx: Fixtures) => Role<RequestBodyOf<P>>;

/** Unwraps roles: the first missing one becomes the result (the test is skipped, naming it). */
function using<A extends unknown[], T>(roles: { [K in keyof A]: Role<A[K]> }, make: (...values: A) => T): Role<T> {
  const gone = roles.find((r) => isMissing(r)) as MissingRole | undefined;
  return gone ?? make(...(roles as unknown as A));
}

const upgrade = { appointVersionCode: 0, devModelKey: '', devKey: '' } as const;

/** A body each operation answers with success (code 200; 0 for the report), from the fixture roles. */
export const OK_BODIES: { [P in PostPath]: Builder<P> } = {
  '/v1/file/upgrade': (fx) => using([fx.upgrading.file], (fileKey) => ({ fileKey, versionCode: fx.versions.current, ...upgrade })),
  '/v1/apk/upgrade': (fx) => using([fx.upgrading.apk], (apkKey) => ({ apkKey, versionCode: fx.versions.current, ...upgrade })),
  '/v1/lnx/upgrade': (fx) => using([fx.upgrading.lnx], (lnxKey) => ({ lnxKey, arch: 'x64' as const, versionCode: fx.versions.current, ...upgrade })),
  '/v1/url/upgrade': (fx) => using([fx.upgrading.url], (urlKey) => ({ urlKey, versionCode: fx.versions.current, ...upgrade })),
  '/v1/configuration/upgrade': (fx) => using([fx.upgrading.configuration], (configurationKey) => ({ configurationKey, versionCode: fx.versions.current, ...upgrade })),
  '/v1/win/upgrade': (fx) => using([fx.upgrading.win], (winKey) => ({ winKey, versionCode: fx.versions.current, ...upgrade })),
  '/v1/mac/upgrade': (fx) => using([fx.upgrading.mac], (macKey) => ({ macKey, arch: 'x64' as const, versionCode: fx.versions.current, ...upgrade })),
  '/v1/file/version': (fx) => using([fx.upgrading.file], (fileKey) => ({ fileKey, versionCode: fx.versions.current })),
  '/v1/url/version': (fx) => using([fx.upgrading.url], (urlKey) => ({ urlKey, versionCode: fx.versions.current })),
  '/v1/apk/version': (fx) => using([fx.upgrading.apk], (apkKey) => ({ apkKey, versionCode: fx.versions.current })),
  '/v1/configuration/version': (fx) => using([fx.upgrading.configuration], (configurationKey) => ({ configurationKey, versionCode: fx.versions.current })),
  '/v1/lnx/version': (fx) => using([fx.upgrading.lnx], (lnxKey) => ({ lnxKey, versionCode: fx.versions.current, arch: 'x64' as const })),
  '/v1/win/version': (fx) => using([fx.upgrading.win], (winKey) => ({ winKey, versionCode: fx.versions.current, arch: 'x64' as const })),
  '/v1/mac/version': (fx) => using([fx.upgrading.mac], (macKey) => ({ macKey, versionCode: fx.versions.current, arch: 'x64' as const })),
  '/v1/tauri/version': (fx) => using([fx.semver.tauri], (t) => ({ tauriKey: t.app, versionName: t.versionName, target: t.variant, arch: t.arch })),
  '/v1/electron/version': (fx) => using([fx.semver.electron], (e) => ({ electronKey: e.app, versionName: e.versionName, platform: e.variant, arch: e.arch })),
  '/v1/app/report': (fx) =>
    using([fx.upgrading.apk], (appKey) => ({
      eventType: 'app_upgrade_download' as const,
      timestamp: '2025-02-17T10:34:55+08:00',
      appKey,
      eventData: { downloadVersionCode: fx.versions.next, devModelKey: 'stv1', devKey: 'contract-report-device' },
    })),
};

/** A body with some of its own fields set to any value (or removed with `undefined`): for invalid bodies. */
export function patch<B extends object>(body: B, changes: { [K in keyof B]?: unknown }): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete copy[k];
    else copy[k] = v;
  }
  return copy;
}

/** A body with fields the spec does not declare, on purpose (unknown keys, case-changed names). */
export function withUnknownFields<B extends object>(body: B, extra: Record<string, unknown>): Record<string, unknown> {
  return { ...body, ...extra };
}

/** A body without one of its fields. */
export function without<B extends object>(body: B, field: keyof B | string): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  delete copy[field as string];
  return copy;
}
