// Helpers to read the bundled spec (generated/openapi.json) and validate data against its
// schemas with Ajv (draft 2020-12 + ajv-formats), independently of Redocly and Prism.
//
// Other suites may import these: `validatorAt(pointer)` compiles once per pointer, and the
// pointer helpers say where the request / response schema of an operation lives.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLE_JSON = join(ROOT, 'generated', 'openapi.json');
/** Base URI under which the bundle is registered with Ajv; `#/components/...` refs resolve inside it. */
export const BUNDLE_ID = 'urn:upgradelink:openapi.json';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export interface Bundle extends JsonObject {
  paths: { [path: string]: JsonObject };
  components: JsonObject;
}

// ajv and ajv-formats are CommonJS with `exports.default`; under NodeNext the default import is the
// module object, under Vite's interop it is already the class. Accept both.
type Ajv2020Ctor = typeof Ajv2020Module.default;
const Ajv2020: Ajv2020Ctor =
  (Ajv2020Module as unknown as { default?: Ajv2020Ctor }).default ?? (Ajv2020Module as unknown as Ajv2020Ctor);
type AddFormats = typeof addFormatsModule.default;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

export function loadBundle(file = BUNDLE_JSON): Bundle {
  return JSON.parse(readFileSync(file, 'utf8')) as Bundle;
}

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointerOf(...segments: string[]): string {
  return '#/' + segments.map(escapePointer).join('/');
}

/** The node at a local JSON pointer (`#/a/b`), or undefined. */
export function at(bundle: Bundle, pointer: string): Json | undefined {
  if (!pointer.startsWith('#/')) throw new Error(`not a local pointer: ${pointer}`);
  let node: Json | undefined = bundle;
  for (const raw of pointer.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[Number(key)] : node[key];
  }
  return node;
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Follows `$ref` chains (local refs only, as in the bundle) and returns the target and its pointer. */
export function deref(bundle: Bundle, node: Json | undefined, pointer: string): { node: Json | undefined; pointer: string } {
  let current = node;
  let where = pointer;
  for (let hops = 0; isObject(current) && typeof current.$ref === 'string'; hops++) {
    if (hops > 20) throw new Error(`$ref loop at ${pointer}`);
    where = current.$ref;
    current = at(bundle, where);
  }
  return { node: current, pointer: where };
}

export interface OperationInfo {
  path: string;
  method: string;
  operationId: string;
  tags: string[];
  summary: string;
  pointer: string;
  operation: JsonObject;
}

export function operations(bundle: Bundle): OperationInfo[] {
  const out: OperationInfo[] = [];
  for (const [path, item] of Object.entries(bundle.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      out.push({
        path,
        method,
        operationId: String(operation.operationId),
        tags: Array.isArray(operation.tags) ? operation.tags.map(String) : [],
        summary: String(operation.summary ?? ''),
        pointer: pointerOf('paths', path, method),
        operation,
      });
    }
  }
  return out;
}

/** Pointer of the JSON request-body schema of `POST path` (what the sandbox compiles). */
export function requestSchemaPointer(path: string, method = 'post'): string {
  return pointerOf('paths', path, method, 'requestBody', 'content', 'application/json', 'schema');
}

/**
 * Pointer of the JSON response schema for `path` and HTTP `status`, following a shared-response
 * `$ref` (e.g. 400 → `#/components/responses/BadRequest/content/application~1json/schema`).
 */
export function responseSchemaPointer(bundle: Bundle, path: string, status: number | string, method = 'post'): string {
  const responsePointer = pointerOf('paths', path, method, 'responses', String(status));
  const { node, pointer } = deref(bundle, at(bundle, responsePointer), responsePointer);
  if (!isObject(node)) throw new Error(`${method.toUpperCase()} ${path} declares no ${status} response`);
  return `${pointer}/content/${escapePointer('application/json')}/schema`;
}

export interface SpecValidator {
  bundle: Bundle;
  /** Compiled (and cached) validator for the schema at a local pointer into the bundle. */
  validatorAt(pointer: string): ValidateFunction;
  validate(pointer: string, data: unknown): { valid: boolean; errors: ErrorObject[] };
}

export function createSpecValidator(bundle: Bundle = loadBundle()): SpecValidator {
  // strictSchema off: the bundle root and OpenAPI objects are not JSON Schema keywords.
  const ajv = new Ajv2020({ allErrors: true, strictSchema: false, strictTypes: false, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ ...bundle, $id: BUNDLE_ID });
  const cache = new Map<string, ValidateFunction>();
  function validatorAt(pointer: string): ValidateFunction {
    let fn = cache.get(pointer);
    if (!fn) {
      if (at(bundle, pointer) === undefined) throw new Error(`no schema at ${pointer}`);
      fn = ajv.compile({ $ref: BUNDLE_ID + pointer });
      cache.set(pointer, fn);
    }
    return fn;
  }
  return {
    bundle,
    validatorAt,
    validate(pointer, data) {
      const fn = validatorAt(pointer);
      const valid = fn(data) as boolean;
      return { valid, errors: valid ? [] : [...(fn.errors ?? [])] };
    },
  };
}

export function formatErrors(errors: ErrorObject[]): string {
  return errors.map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`).join('; ');
}
