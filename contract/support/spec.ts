// In-process response validation against the bundled spec (generated/openapi.json).
//
// This is the suite's own conformance check, independent of Prism: it runs on every response, also
// for requests sent straight to the target (which Prism would alter, see README) and in the mutation
// self-test, where Prism is not started. Validators are compiled once per worker, lazily.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { PROJECT_ROOT } from './target.ts';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

export const SPEC_FILE = path.join(PROJECT_ROOT, 'generated', 'openapi.json');
const SPEC_ID = 'https://upgradelink-contract.invalid/openapi.json';

type Json = Record<string, unknown>;

export interface SchemaVerdict {
  ok: boolean;
  /** What was validated, e.g. `POST /v1/apk/upgrade → 200 application/json`. */
  against: string;
  errors: string[];
}

interface OperationSpec {
  path: string;
  method: string;
  /** status key as in the spec ('200', '4XX', 'default') → JSON pointer of its JSON schema (or null: no body) */
  responses: Map<string, string | null>;
}

let loaded: { doc: Json; ajv: Ajv2020; operations: Map<string, OperationSpec>; compiled: Map<string, ValidateFunction> } | undefined;

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function resolvePointer(doc: Json, pointer: string): unknown {
  let node: unknown = doc;
  for (const raw of pointer.replace(/^#\/?/, '').split('/')) {
    if (raw === '') continue;
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = (node as Json | undefined)?.[key];
  }
  return node;
}

/** Follows `$ref`s of non-schema objects (responses), returning the final object and its pointer. */
function deref(doc: Json, node: unknown, pointer: string): { node: Json; pointer: string } {
  let current = node as Json;
  let at = pointer;
  for (let hops = 0; current && typeof current.$ref === 'string' && hops < 10; hops++) {
    at = current.$ref as string;
    current = resolvePointer(doc, at) as Json;
  }
  return { node: current, pointer: at.replace(/^#/, '') };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function load() {
  if (loaded) return loaded;
  let doc: Json;
  try {
    doc = JSON.parse(readFileSync(SPEC_FILE, 'utf8')) as Json;
  } catch (error) {
    throw new Error(`cannot read the bundled spec ${SPEC_FILE} (run the spec bundle first): ${(error as Error).message}`);
  }
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, validateFormats: true });
  addFormats(ajv);
  // OpenAPI-only keywords that may appear inside schemas.
  for (const keyword of ['example', 'discriminator', 'xml', 'externalDocs', 'x-examples']) {
    if (!ajv.getKeyword(keyword)) ajv.addKeyword(keyword);
  }
  ajv.addSchema({ ...doc, $id: SPEC_ID }, SPEC_ID);
  const operations = new Map<string, OperationSpec>();
  const paths = (doc.paths ?? {}) as Record<string, Json>;
  for (const [p, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const responses = new Map<string, string | null>();
      for (const [status, response] of Object.entries((op.responses ?? {}) as Json)) {
        const basePointer = `/paths/${escapePointer(p)}/${method}/responses/${escapePointer(status)}`;
        const { node, pointer } = deref(doc, response, basePointer);
        const content = (node?.content ?? {}) as Record<string, Json>;
        const mediaType = Object.keys(content).find((m) => m.startsWith('application/json')) ?? Object.keys(content)[0];
        responses.set(
          status,
          mediaType && content[mediaType]?.schema ? `${pointer}/content/${escapePointer(mediaType)}/schema` : null,
        );
      }
      operations.set(`${method.toUpperCase()} ${p}`, { path: p, method: method.toUpperCase(), responses });
    }
  }
  loaded = { doc, ajv, operations, compiled: new Map() };
  return loaded;
}

export function specDocument(): Json {
  return load().doc;
}

/** Documented `METHOD path` pairs. */
export function documentedOperations(): string[] {
  return [...load().operations.keys()];
}

export function isDocumented(method: string, specPath: string): boolean {
  return load().operations.has(`${method.toUpperCase()} ${specPath}`);
}

export function documentedStatuses(method: string, specPath: string): string[] {
  return [...(load().operations.get(`${method.toUpperCase()} ${specPath}`)?.responses.keys() ?? [])];
}

/** The spec's response key for an HTTP status: exact, then `4XX`, then `default`. */
export function matchStatus(method: string, specPath: string, status: number): string | undefined {
  const op = load().operations.get(`${method.toUpperCase()} ${specPath}`);
  if (!op) return undefined;
  const exact = String(status);
  if (op.responses.has(exact)) return exact;
  const range = `${exact[0]}XX`;
  if (op.responses.has(range)) return range;
  if (op.responses.has(range.toLowerCase())) return range.toLowerCase();
  if (op.responses.has('default')) return 'default';
  return undefined;
}

function validatorFor(pointer: string): ValidateFunction {
  const state = load();
  let validate = state.compiled.get(pointer);
  if (!validate) {
    validate = state.ajv.compile({ $ref: `${SPEC_ID}#${pointer}` });
    state.compiled.set(pointer, validate);
  }
  return validate;
}

export function formatAjvErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).slice(0, 8).map((e) => {
    const where = e.instancePath === '' ? 'body' : `body${e.instancePath.replace(/\//g, '.')}`;
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : e.keyword === 'enum'
          ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
          : '';
    return `${where} ${e.message ?? e.keyword}${extra}`;
  });
}

/** Validates a response body against the schema documented for (method, path, status). */
export function validateResponseBody(method: string, specPath: string, status: number, body: unknown): SchemaVerdict {
  const key = matchStatus(method, specPath, status);
  const against = `${method.toUpperCase()} ${specPath} → ${key ?? status}`;
  if (key === undefined) return { ok: false, against, errors: [`status ${status} is not documented`] };
  const pointer = load().operations.get(`${method.toUpperCase()} ${specPath}`)!.responses.get(key);
  if (!pointer) return { ok: true, against: `${against} (no body schema)`, errors: [] };
  const validate = validatorFor(pointer);
  const ok = validate(body) as boolean;
  return { ok, against: `${against} application/json`, errors: ok ? [] : formatAjvErrors(validate.errors) };
}

/** components/responses entry per error status, for answers outside any documented operation. */
const ERROR_RESPONSES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  429: 'TooManyRequests',
  500: 'InternalServerError',
};

/**
 * Answers outside any documented operation (unknown paths, other methods) are still §5 envelopes:
 * validated against the shared error response the spec gives for that status.
 */
export function validateEnvelope(status: number, body: unknown): SchemaVerdict {
  const name = ERROR_RESPONSES[status];
  const responses = ((load().doc.components as Json | undefined)?.responses ?? {}) as Record<string, Json>;
  if (!name || !responses[name]) {
    return { ok: false, against: 'the shared error responses (components/responses)', errors: [`HTTP ${status} has no shared error response in the spec`] };
  }
  const content = (responses[name]!.content ?? {}) as Record<string, Json>;
  const mediaType = Object.keys(content).find((m) => m.startsWith('application/json'));
  if (!mediaType) return { ok: true, against: `#/components/responses/${name} (no body schema)`, errors: [] };
  const pointer = `/components/responses/${name}/content/${escapePointer(mediaType)}/schema`;
  const validate = validatorFor(pointer);
  const ok = validate(body) as boolean;
  return { ok, against: `#/components/responses/${name} (${status})`, errors: ok ? [] : formatAjvErrors(validate.errors) };
}
