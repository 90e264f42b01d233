// The one spec loader: the bundled spec (generated/openapi.json), JSON-pointer access into it, and
// Ajv 2020-12 validators (with ajv-formats) compiled once per schema. The sandbox compiles its request
// validators from it at start, the contract suite validates every answer with it, and the spec tests
// check the examples with it. The facts derived from the spec at build time (operations, families,
// business codes) are re-exported from generated/operations.ts, so this is the one import for both.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

export * from '../../generated/operations.ts';

export const BUNDLE_JSON = fileURLToPath(new URL('../../generated/openapi.json', import.meta.url));
export const BUNDLE_YAML = fileURLToPath(new URL('../../generated/openapi.yaml', import.meta.url));
/** The base URI the bundle is registered under with Ajv; `#/components/…` refs resolve inside it. */
const BUNDLE_ID = 'urn:upgradelink:openapi.json';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export interface Bundle extends JsonObject {
  paths: { [path: string]: JsonObject };
  components: JsonObject;
}

export class SpecError extends Error {
  override name = 'SpecError';
}

// ajv-formats is CommonJS with `exports.default`: under Node's ESM loader the default import is the
// module object, under Vite's interop it is the function itself.
type AddFormats = (ajv: Ajv2020) => Ajv2020;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as unknown as AddFormats;

const bundles = new Map<string, Bundle>();

/** Reads the bundle once per file. Throws SpecError saying how to build it when it is missing. */
export function loadBundle(file: string = BUNDLE_JSON): Bundle {
  let bundle = bundles.get(file);
  if (!bundle) {
    try {
      bundle = JSON.parse(readFileSync(file, 'utf8')) as Bundle;
    } catch (error) {
      throw new SpecError(`cannot load the bundled spec ${file}: ${(error as Error).message}; build it with \`npm run gen\``);
    }
    bundles.set(file, bundle);
  }
  return bundle;
}

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** `#/a/b~1c` from segments `a`, `b/c`. */
export function pointerOf(...segments: string[]): string {
  return `#/${segments.map(escapePointer).join('/')}`;
}

const isObject = (value: Json | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The node at a local JSON pointer (`#/a/b`), or undefined. */
export function at(bundle: Bundle, pointer: string): Json | undefined {
  if (!pointer.startsWith('#/')) throw new SpecError(`not a local JSON pointer: ${pointer}`);
  let node: Json | undefined = bundle;
  for (const raw of pointer.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[Number(key)] : node[key];
  }
  return node;
}

/** Follows a chain of local `$ref`s; returns the final node and its pointer. */
export function deref(bundle: Bundle, node: Json | undefined, pointer: string): { node: Json | undefined; pointer: string } {
  let current = node;
  let where = pointer;
  for (let hops = 0; isObject(current) && typeof current.$ref === 'string'; hops++) {
    if (hops > 20) throw new SpecError(`$ref loop at ${pointer}`);
    where = current.$ref;
    current = at(bundle, where);
  }
  return { node: current, pointer: where };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

export interface OperationNode {
  path: string;
  /** Lowercase, as in the spec. */
  method: string;
  operationId: string;
  pointer: string;
  operation: JsonObject;
}

/** Every operation object of the bundle (for walking the spec itself; the facts are in OPERATIONS). */
export function operationNodes(bundle: Bundle): OperationNode[] {
  const out: OperationNode[] = [];
  for (const [path, item] of Object.entries(bundle.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      out.push({ path, method, operationId: String(operation.operationId), pointer: pointerOf('paths', path, method), operation });
    }
  }
  return out;
}

/** Pointer of the JSON request-body schema of an operation. */
export function requestSchemaPointer(path: string, method = 'post'): string {
  return pointerOf('paths', path, method.toLowerCase(), 'requestBody', 'content', 'application/json', 'schema');
}

/** The spec's response key for an HTTP status: exact, then `4XX`, then `default`; undefined if none. */
export function matchStatus(bundle: Bundle, method: string, path: string, status: number): string | undefined {
  const responses = at(bundle, pointerOf('paths', path, method.toLowerCase(), 'responses'));
  if (!isObject(responses)) return undefined;
  const exact = String(status);
  for (const key of [exact, `${exact[0]}XX`, `${exact[0]}xx`, 'default']) if (key in responses) return key;
  return undefined;
}

export function documentedStatuses(bundle: Bundle, method: string, path: string): string[] {
  const responses = at(bundle, pointerOf('paths', path, method.toLowerCase(), 'responses'));
  return isObject(responses) ? Object.keys(responses) : [];
}

export function isDocumented(bundle: Bundle, method: string, path: string): boolean {
  return isObject(at(bundle, pointerOf('paths', path, method.toLowerCase())));
}

/**
 * Pointer of the JSON schema of a response (following a shared-response `$ref`, e.g. 400 →
 * `#/components/responses/BadRequest/content/application~1json/schema`), or null when the response has
 * no JSON body. Throws when the status is not documented.
 */
export function responseSchemaPointer(bundle: Bundle, path: string, status: number | string, method = 'post'): string | null {
  const responsePointer = pointerOf('paths', path, method.toLowerCase(), 'responses', String(status));
  const { node, pointer } = deref(bundle, at(bundle, responsePointer), responsePointer);
  if (!isObject(node)) throw new SpecError(`${method.toUpperCase()} ${path} documents no ${status} response`);
  const content = isObject(node.content) ? node.content : {};
  const media = Object.keys(content).find((m) => m.startsWith('application/json'));
  return media && isObject(content[media]) && (content[media] as JsonObject).schema !== undefined
    ? `${pointer}/content/${escapePointer(media)}/schema`
    : null;
}

/** Pointer of the schema of a shared response (`components/responses/<name>`), or null without a JSON body. */
export function sharedResponseSchemaPointer(bundle: Bundle, name: string): string | null {
  const pointer = pointerOf('components', 'responses', name);
  const node = at(bundle, pointer);
  if (!isObject(node)) return null;
  const content = isObject(node.content) ? node.content : {};
  const media = Object.keys(content).find((m) => m.startsWith('application/json'));
  return media ? `${pointer}/content/${escapePointer(media)}/schema` : null;
}

export interface Verdict {
  valid: boolean;
  errors: ErrorObject[];
}

export interface SpecValidators {
  bundle: Bundle;
  /** The validator for the schema at a local pointer into the bundle, compiled on first use, then kept. */
  validatorAt(pointer: string): ValidateFunction;
  validate(pointer: string, data: unknown): Verdict;
}

const validatorSets = new WeakMap<Bundle, SpecValidators>();

/**
 * Ajv 2020-12 with ajv-formats over the bundle, one per bundle: every schema is compiled once, the
 * first time it is asked for (the sandbox asks for all of its request schemas at start).
 */
export function specValidators(bundle: Bundle = loadBundle()): SpecValidators {
  const known = validatorSets.get(bundle);
  if (known) return known;
  // Not strict: the bundle's root and its OpenAPI objects are not JSON Schema, and schemas carry
  // OpenAPI annotations (`example`, `x-enum-varnames`, …).
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: false, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ ...bundle, $id: BUNDLE_ID });
  const cache = new Map<string, ValidateFunction>();
  const validatorAt = (pointer: string): ValidateFunction => {
    let fn = cache.get(pointer);
    if (!fn) {
      if (at(bundle, pointer) === undefined) throw new SpecError(`the bundled spec has no schema at ${pointer}`);
      try {
        fn = ajv.compile({ $ref: BUNDLE_ID + pointer });
      } catch (error) {
        throw new SpecError(`cannot compile the schema at ${pointer}: ${(error as Error).message}`);
      }
      cache.set(pointer, fn);
    }
    return fn;
  };
  const set: SpecValidators = {
    bundle,
    validatorAt,
    validate(pointer, data) {
      const fn = validatorAt(pointer);
      const valid = fn(data) as boolean;
      return { valid, errors: valid ? [] : [...(fn.errors ?? [])] };
    },
  };
  validatorSets.set(bundle, set);
  return set;
}

/** One line per Ajv error: `body.data.versionCode must be integer`, enum and extra keys spelled out. */
export function formatErrors(errors: readonly ErrorObject[] | null | undefined, root = 'body'): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath === '' ? root : `${root}${e.instancePath.replace(/\//g, '.')}`;
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : e.keyword === 'enum'
          ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
          : '';
    return `${where} ${e.message ?? e.keyword}${extra}`;
  });
}

export function isRequiredError(error: ErrorObject): boolean {
  return error.keyword === 'required' || error.keyword === 'dependentRequired';
}
