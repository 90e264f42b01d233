// Business codes for the situations the pages name (404001 for an unknown app, 0 for already latest)
// and those the project chose (404002, 500001, 500002), on every operation they apply to.
import { describe } from 'vitest';
import { Code, OPERATIONS } from '../lib/spec/index.ts';
import type { PostPath } from '../lib/client/index.ts';
import { patch } from './support/bodies.ts';
import { expectCode } from './support/checks.ts';
import { fx, okBody, operation, send, test, use } from './support/context.ts';
import type { RuleId } from './rules.ts';

describe('codes', () => {
  for (const op of OPERATIONS) {
    const path = op.path as PostPath;
    describe(`POST ${op.path}`, () => {
      test('codes.app-not-found', `an unknown ${op.keyField} is answered 404001`, { op }, async (ctx) => {
        expectCode(await send({ target: path, body: { ...okBody(ctx, path), [op.keyField]: 'contract-unknown-app-key' } }), Code.RESOURCE_NOT_FOUND, { rule: 'codes.app-not-found' });
      });
      test('codes.internal-error', 'a request naming an app flagged to fail internally is answered 500001', { op, needs: ['faultFixtures'] }, async (ctx) => {
        const app = use(ctx, fx.failInternally[op.family ?? 'file']);
        expectCode(await send({ target: path, body: { ...okBody(ctx, path), [op.keyField]: app } }), Code.INTERNAL_ERROR, { rule: 'codes.internal-error' });
      });
      if (op.kind === 'version') {
        test('codes.version-not-found', 'a version the app does not have is answered 404002', { op }, async (ctx) => {
          const body: Record<string, unknown> = { ...okBody(ctx, path) };
          if (op.family === 'tauri' || op.family === 'electron') body.versionName = use(ctx, fx.semver[op.family]).missingVersionName;
          else body.versionCode = fx.versions.missing;
          expectCode(await send({ target: path, body }), Code.RECORD_NOT_FOUND, { rule: 'codes.version-not-found' });
        });
      }
      if (op.kind === 'upgrade') {
        test('codes.already-latest', 'a client already on the newest version gets HTTP 200 with code 0', { op }, async (ctx) => {
          expectCode(await send({ target: path, body: { ...okBody(ctx, path), versionCode: fx.versions.next } }), Code.LATEST, { rule: 'codes.already-latest' });
        });
        test('codes.already-latest', 'an app with no strategy gets HTTP 200 with code 0', { op }, async (ctx) => {
          const app = use(ctx, fx.latestOnly[op.family as keyof typeof fx.latestOnly]);
          expectCode(await send({ target: path, body: { ...okBody(ctx, path), [op.keyField]: app } }), Code.LATEST, { rule: 'codes.already-latest' });
        });
      }
    });
  }

  describe('POST /v1/file/upgrade', () => {
    test('codes.app-not-found', 'an apk app key sent to /v1/file/upgrade is unknown in that family (404001)', { op: operation('/v1/file/upgrade') }, async (ctx) => {
      const apkKey = use(ctx, fx.upgrading.apk);
      expectCode(await send({ target: '/v1/file/upgrade', body: patch(okBody(ctx, '/v1/file/upgrade'), { fileKey: apkKey }) }), Code.RESOURCE_NOT_FOUND, { rule: 'codes.app-not-found' });
    });
  });

  describe('POST /v1/apk/upgrade', () => {
    const op = operation('/v1/apk/upgrade');
    // Each bad record is met only by a server that applies what it configures: one that ignores gray
    // release, say, never reads the gray limit (already a finding of its own).
    const inconsistent: Array<[string, keyof typeof fx.inconsistent, RuleId[]]> = [
      ['a strategy whose target version is missing', 'missingVersion', []],
      ['upgradeType outside 1–3', 'upgradeType', ['upgrade.upgrade-type']],
      ['a device-targeting type outside 0–2', 'targetingType', ['upgrade.device-targeting']],
      ['a flow-rule dimension outside 1–4', 'flowDimension', ['upgrade.flow-limit']],
      ['a flow limit below 1', 'flowLimit', ['upgrade.flow-limit']],
      ['a gray limit below 1', 'grayLimit', ['upgrade.gray-release']],
    ];
    for (const [name, key, after] of inconsistent) {
      test('codes.data-invalid', `inconsistent data (${name}) is answered 500002`, { op, needs: ['faultFixtures'], after }, async (ctx) => {
        const app = use(ctx, fx.inconsistent[key]);
        expectCode(await send({ target: op.path, body: { apkKey: app, versionCode: fx.versions.current, devKey: 'contract-device-500002' } }), Code.DATA_INVALID, { rule: 'codes.data-invalid' });
      });
    }
  });
});
