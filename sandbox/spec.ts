// The bundled spec is the single source of request validation: the route table below names each
// signed operation, and its body validator is compiled once, at start, from
// paths[p].post.requestBody.content['application/json'].schema of generated/openapi.json.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv } from './ajv.ts';
import type { Family } from './fixtures.ts';

export const DEFAULT_SPEC_PATH = fileURLToPath(new URL('../generated/openapi.json', import.meta.url));

export type OperationKind = 'upgrade' | 'version' | 'report';

export interface Operation {
  path: string;
  kind: OperationKind;
  /** The app family; report looks up every family. */
  family: Family | null;
  /** Body key carrying the app key. */
  keyField: string;
  validate: ValidateFunction;
  /** Dotted paths of int64 fields (e.g. `versionCode`, `eventData.code`), for the raw-literal check. */
  integerFields: ReadonlySet<string>;
}

const UPGRADE_FAMILIES: Family[] = ['file', 'apk', 'lnx', 'url', 'configuration', 'win', 'mac'];
const VERSION_FAMILIES: Family[] = ['file', 'url', 'apk', 'configuration', 'lnx', 'win', 'mac', 'tauri', 'electron'];

/** Every signed operation of the contract (REFERENCE §2). */
export const OPERATION_TABLE: ReadonlyArray<Pick<Operation, 'path' | 'kind' | 'family' | 'keyField'>> = [
  ...UPGRADE_FAMILIES.map((f) => ({ path: `/v1/${f}/upgrade`, kind: 'upgrade' as const, family: f, keyField: `${f}Key` })),
  ...VERSION_FAMILIES.map((f) => ({ path: `/v1/${f}/version`, kind: 'version' as const, family: f, keyField: `${f}Key` })),
  { path: '/v1/app/report', kind: 'report', family: null, keyField: 'appKey' },
];

export class SpecError extends Error {
  override name = 'SpecError';
}

type Json = Record<string, unknown>;

function pointerEscape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function resolveRef(bundle: Json, schema: unknown): Json | undefined {
  let node = schema as Json | undefined;
  for (let hops = 0; node && typeof node.$ref === 'string' && hops < 32; hops++) {
    const ref = node.$ref as string;
    if (!ref.startsWith('#/')) return undefined;
    node = ref
      .slice(2)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((n, key) => (n && typeof n === 'object' ? (n as Json)[key] : undefined), bundle) as Json | undefined;
  }
  return node;
}

/** Collects dotted paths of properties typed integer, through $ref, allOf and if/then. */
export function integerFieldsOf(bundle: Json, schema: unknown, prefix = '', out = new Set<string>(), depth = 0): Set<string> {
  const node = resolveRef(bundle, schema);
  if (!node || depth > 8) return out;
  const type = node.type;
  if (prefix && (type === 'integer' || (Array.isArray(type) && type.includes('integer')))) out.add(prefix);
  const properties = node.properties as Json | undefined;
  if (properties) {
    for (const [name, sub] of Object.entries(properties)) integerFieldsOf(bundle, sub, prefix ? `${prefix}.${name}` : name, out, depth + 1);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    if (Array.isArray(node[key])) for (const sub of node[key] as unknown[]) integerFieldsOf(bundle, sub, prefix, out, depth + 1);
  }
  for (const key of ['then', 'else'] as const) if (node[key]) integerFieldsOf(bundle, node[key], prefix, out, depth + 1);
  return out;
}

export function readBundle(source: string | Json = DEFAULT_SPEC_PATH): Json {
  if (typeof source !== 'string') return source;
  try {
    return JSON.parse(readFileSync(source, 'utf8')) as Json;
  } catch (error) {
    throw new SpecError(
      `cannot load the bundled spec ${source}: ${(error as Error).message}; build it first (generated/openapi.json comes from the spec bundle script)`,
    );
  }
}

/** Compiles one validator per operation, once. */
export function compileOperations(bundle: Json): Map<string, Operation> {
  const ajv = createAjv({ allErrors: true, strict: false, validateSchema: false, addUsedSchema: false });
  ajv.addSchema(bundle, 'openapi');
  const paths = (bundle.paths ?? {}) as Json;
  const operations = new Map<string, Operation>();
  for (const entry of OPERATION_TABLE) {
    const post = (paths[entry.path] as Json | undefined)?.post as Json | undefined;
    const schema = (((post?.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema;
    if (!schema) throw new SpecError(`the bundled spec has no POST ${entry.path} with an application/json request schema`);
    const pointer = `openapi#/paths/${pointerEscape(entry.path)}/post/requestBody/content/${pointerEscape('application/json')}/schema`;
    let validate: ValidateFunction;
    try {
      validate = ajv.compile({ $ref: pointer });
    } catch (error) {
      throw new SpecError(`cannot compile the request schema of POST ${entry.path}: ${(error as Error).message}`);
    }
    operations.set(entry.path, { ...entry, validate, integerFields: integerFieldsOf(bundle, schema) });
  }
  return operations;
}

export function isRequiredError(error: ErrorObject): boolean {
  return error.keyword === 'required' || error.keyword === 'dependentRequired';
}
