// The four seed pages are covered: every fact in spec/seed-facts.json (transcribed from the
// official pages) is in the bundle — request fields with their required flag and type, response
// data fields, headers, and every business code with its HTTP status and a named example.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Json, type JsonObject, at, deref, escapePointer, loadBundle, pointerOf, requestSchemaPointer, responseSchemaPointer } from '../lib/spec/index.ts';

interface FieldFact { name: string; required?: boolean; type: 'string' | 'int'; enum?: string[]; optional?: boolean; override?: string }
interface HeaderFact { name: string; required: boolean; type: string; example: string }
interface EndpointFact { page: string; method: string; path: string; headers: HeaderFact[]; request: FieldFact[]; response: FieldFact[]; codes: { http: number; code: number }[] }
interface SeedFacts { server: string; endpoints: EndpointFact[] }

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const facts = JSON.parse(readFileSync(join(ROOT, 'spec', 'seed-facts.json'), 'utf8')) as SeedFacts;
const bundle = loadBundle();
const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function resolved(pointer: string): JsonObject {
  const { node } = deref(bundle, at(bundle, pointer), pointer);
  if (!isObject(node)) throw new Error(`nothing at ${pointer}`);
  return node;
}
/** The schema pointer of a response; each seed operation's response has a JSON body. */
function responseSchema(path: string, status: number): string {
  const pointer = responseSchemaPointer(bundle, path, status);
  if (pointer === null) throw new Error(`${path}: HTTP ${status} has no JSON body`);
  return pointer;
}
function resolveNode(node: Json | undefined): JsonObject | undefined {
  const { node: target } = deref(bundle, node, '#');
  return isObject(target) ? target : undefined;
}
/** The object schema of `data` in a code-200 answer (skipping the `null` branch of a oneOf). */
function dataSchema(path: string): JsonObject {
  const envelope = resolved(responseSchema(path, 200));
  const data = resolveNode(isObject(envelope.properties) ? envelope.properties.data : undefined);
  if (!data) throw new Error(`${path}: 200 envelope has no data schema`);
  if (Array.isArray(data.oneOf)) {
    const objectBranch = data.oneOf.map(resolveNode).find((s) => s?.type === 'object');
    if (!objectBranch) throw new Error(`${path}: data has no object branch`);
    return objectBranch;
  }
  return data;
}
function expectType(schema: JsonObject | undefined, type: FieldFact['type'], label: string) {
  expect(schema, `${label} is declared`).toBeDefined();
  if (type === 'int') {
    expect(schema!.type, `${label} type`).toBe('integer');
    // Counters and sizes are int64; a small enumerated int such as upgradeType needs no format.
    if (schema!.format !== undefined || !Array.isArray(schema!.enum)) expect(schema!.format, `${label} format`).toBe('int64');
  } else {
    expect(schema!.type, `${label} type`).toBe('string');
  }
}

describe('seed facts', () => {
  it('cover the four seed pages', () => {
    expect(facts.endpoints.map((e) => e.path).sort()).toEqual(['/v1/apk/upgrade', '/v1/file/upgrade', '/v1/file/version', '/v1/lnx/upgrade']);
  });

  it('server > the production URL of the pages is a server', () => {
    const servers = (bundle.servers as JsonObject[]).map((s) => s.url);
    expect(servers).toContain(facts.server);
  });

  for (const endpoint of facts.endpoints) {
    const op = `${endpoint.page} (${endpoint.method} ${endpoint.path})`;
    const opPointer = pointerOf('paths', endpoint.path, endpoint.method.toLowerCase());

    describe(op, () => {
      it('operation exists', () => {
        expect(isObject(at(bundle, opPointer))).toBe(true);
      });

      for (const h of endpoint.headers) {
        it(`header > ${h.name} is required`, () => {
          if (h.name === 'Content-Type') {
            // OpenAPI ignores a Content-Type header parameter; the required JSON body says it.
            const body = resolved(`${opPointer}/requestBody`);
            expect(body.required).toBe(true);
            expect(Object.keys(body.content as JsonObject)).toEqual([h.example]);
            return;
          }
          const params = (at(bundle, `${opPointer}/parameters`) as Json[] | undefined) ?? [];
          const param = params.map(resolveNode).find((p) => p?.in === 'header' && p.name === h.name);
          expect(param, `${h.name} parameter`).toBeDefined();
          expect(param!.required).toBe(true);
          expect(resolveNode(param!.schema)?.type).toBe(h.type);
        });
      }

      const request = resolved(requestSchemaPointer(endpoint.path));
      for (const field of endpoint.request) {
        it(`request > ${field.name} (${field.required ? 'required' : 'optional'} ${field.type})`, () => {
          const props = request.properties as JsonObject;
          expectType(resolveNode(props[field.name]), field.type, field.name);
          expect(((request.required as string[]) ?? []).includes(field.name), `${field.name} required flag`).toBe(field.required);
          if (field.enum) expect(resolveNode(props[field.name])?.enum).toEqual(field.enum);
        });
      }

      for (const field of endpoint.response) {
        it(`response > data.${field.name} (${field.type}${field.optional ? ', optional' : ''})`, () => {
          const data = dataSchema(endpoint.path);
          expectType(resolveNode((data.properties as JsonObject)[field.name]), field.type, `data.${field.name}`);
          expect(((data.required as string[]) ?? []).includes(field.name), `data.${field.name} required flag`).toBe(!field.optional);
        });
      }

      for (const { http, code } of endpoint.codes) {
        it(`code > ${code} on HTTP ${http} has a named example`, () => {
          const schemaPointer = responseSchema(endpoint.path, http);
          const envelope = resolved(schemaPointer);
          const codeSchema = resolveNode((envelope.properties as JsonObject).code);
          expect(codeSchema?.enum, `HTTP ${http} allows code ${code}`).toContain(code);
          const media = resolved(schemaPointer.replace(/\/schema$/, ''));
          const values = Object.entries(media.examples as JsonObject).map(([key, ex]) => resolveNode(ex)?.value ?? `(${escapePointer(key)}: no value)`);
          expect(values.some((v) => isObject(v) && v.code === code), `an example with code ${code}`).toBe(true);
        });
      }
    });
  }
});
