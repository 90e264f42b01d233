// The signed operations the sandbox routes: the generated module's OPERATIONS, each with its request
// validator compiled once, at start, from the bundled spec (lib/spec), and the facts the handlers
// read from it turned into sets.

import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import {
  OPERATIONS,
  loadBundle,
  requestSchemaPointer,
  specValidators,
  type Bundle,
  type OperationFacts,
} from '../lib/spec/index.ts';

export { SpecError } from '../lib/spec/index.ts';
// Relative to this file, not lib/spec's BUNDLE_JSON: bundled into one file (the sandbox image,
// docker/sandbox.Dockerfile), the sandbox finds generated/ next to its own folder.
export const DEFAULT_SPEC_PATH = fileURLToPath(new URL('../generated/openapi.json', import.meta.url));

/** Request fields a version lookup matches exactly, besides the version itself (REFERENCE §6.6). */
const LOOKUP_FIELDS = ['arch', 'target', 'platform'] as const;
type LookupField = (typeof LOOKUP_FIELDS)[number];

export interface SignedOperation extends Omit<OperationFacts, 'integerFields'> {
  validate: ValidateFunction;
  /** The operation's `integerFields`, dotted paths of int64 fields (`eventData.code`), for the raw-literal check. */
  integerFields: ReadonlySet<string>;
  /** Version operations: the fields a version must match exactly. */
  lookupFields: readonly LookupField[];
  /** Version operations named by `versionName` (MAJOR.MINOR.PATCH) rather than `versionCode`. */
  byVersionName: boolean;
}

/** Whether the operation names versions by `versionName` (MAJOR.MINOR.PATCH): its request requires it. */
export function byVersionName(op: Pick<OperationFacts, 'required'>): boolean {
  return op.required.includes('versionName');
}

/** Every operation of the spec by path, its validator compiled (validators are cached per bundle). */
export function compileOperations(spec: string | Bundle = DEFAULT_SPEC_PATH): Map<string, SignedOperation> {
  const validators = specValidators(typeof spec === 'string' ? loadBundle(spec) : spec);
  const operations = new Map<string, SignedOperation>();
  for (const op of OPERATIONS) {
    const required: readonly string[] = op.required;
    operations.set(op.path, {
      ...op,
      validate: validators.validatorAt(requestSchemaPointer(op.path, op.method)),
      integerFields: new Set(op.integerFields),
      lookupFields: op.kind === 'version' ? LOOKUP_FIELDS.filter((field) => required.includes(field)) : [],
      byVersionName: byVersionName(op),
    });
  }
  return operations;
}
