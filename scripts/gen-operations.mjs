// The `operations` step of scripts/gen.mjs: reads the bundled spec (openapi.json) and writes
// operations.ts, the one module of facts the sandbox, the contract suite, the load suite and the CLI
// import instead of keeping tables by hand:
//
//   FAMILIES     the app families: the tags of the operations, minus `report`
//   Code, CODES  every business code, named by the `x-enum-varnames` of the `code` enums, with the
//                HTTP status of the response it is documented under and its meaning
//                (`x-enum-descriptions`)
//   OPERATIONS   every operation: operationId, method, path, kind (the path's last segment), family,
//                key field (the one required `…Key` field), required fields, the `arch` rule, the int64
//                fields (dotted paths), the documented statuses and business codes, the seed page
//
// Everything is derived, and anything the derivation cannot decide (a code named twice differently,
// a code under two HTTP statuses, an operation without exactly one required key field) stops the
// build with a message naming the place in the spec.

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

class GenError extends Error {}

function escapePointer(segment) {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function resolve(doc, node, seen = 0) {
  if (node && typeof node === 'object' && typeof node.$ref === 'string') {
    if (seen > 32) throw new GenError(`$ref loop at ${node.$ref}`);
    const target = node.$ref
      .replace(/^#\//, '')
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((n, key) => (n && typeof n === 'object' ? n[key] : undefined), doc);
    if (target === undefined) throw new GenError(`unresolvable $ref ${node.$ref}`);
    // A $ref with siblings (JSON Schema 2020-12): the siblings refine the target.
    const { $ref, ...siblings } = node;
    const resolved = resolve(doc, target, seen + 1);
    return Object.keys(siblings).length ? { ...resolved, ...siblings } : resolved;
  }
  return node;
}

/** Dotted paths of the properties typed integer, through $ref, allOf/anyOf/oneOf and if/then/else. */
function integerFields(doc, schema, prefix = '', out = new Set(), depth = 0) {
  const node = resolve(doc, schema);
  if (!node || typeof node !== 'object' || depth > 8) return out;
  const type = node.type;
  if (prefix && (type === 'integer' || (Array.isArray(type) && type.includes('integer')))) out.add(prefix);
  for (const [name, sub] of Object.entries(node.properties ?? {})) integerFields(doc, sub, prefix ? `${prefix}.${name}` : name, out, depth + 1);
  for (const key of ['allOf', 'anyOf', 'oneOf']) for (const sub of node[key] ?? []) integerFields(doc, sub, prefix, out, depth + 1);
  for (const key of ['then', 'else']) if (node[key]) integerFields(doc, node[key], prefix, out, depth + 1);
  return out;
}

/** The `code` enum of an envelope schema, with its names and meanings. */
function codeEnum(doc, schema, where) {
  const envelope = resolve(doc, schema);
  const code = resolve(doc, envelope?.properties?.code);
  if (!code || !Array.isArray(code.enum)) throw new GenError(`${where}: the envelope has no \`code\` enum`);
  const names = code['x-enum-varnames'];
  const meanings = code['x-enum-descriptions'];
  if (!Array.isArray(names) || names.length !== code.enum.length) throw new GenError(`${where}: \`code\` needs x-enum-varnames, one per enum value`);
  if (!Array.isArray(meanings) || meanings.length !== code.enum.length) throw new GenError(`${where}: \`code\` needs x-enum-descriptions, one per enum value`);
  return code.enum.map((value, i) => ({ value, name: names[i], meaning: meanings[i] }));
}

export function operationFacts(doc) {
  const codes = new Map(); // value -> { name, meaning, httpStatus, where }
  const families = [];
  const operations = [];
  for (const tag of doc.tags ?? []) if (tag.name !== 'report') families.push(tag.name);

  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const where = `${method.toUpperCase()} ${path}`;
      if (!op.operationId) throw new GenError(`${where}: no operationId`);
      const tag = op.tags?.[0];
      const kind = path.split('/').pop();
      if (!['upgrade', 'version', 'report'].includes(kind)) throw new GenError(`${where}: the path must end in /upgrade, /version or /report`);
      const family = tag === 'report' ? null : tag;
      if (family !== null && !families.includes(family)) throw new GenError(`${where}: tag ${tag} is not declared`);

      const mediaPointer = `#/paths/${escapePointer(path)}/${method}/requestBody/content/${escapePointer('application/json')}`;
      const requestSchema = resolve(doc, op.requestBody?.content?.['application/json']?.schema);
      if (!requestSchema) throw new GenError(`${where}: no application/json request schema (${mediaPointer})`);
      const required = [...(requestSchema.required ?? [])];
      const keyFields = required.filter((f) => f.endsWith('Key'));
      if (keyFields.length !== 1) throw new GenError(`${where}: expected exactly one required …Key field, found ${JSON.stringify(keyFields)}`);
      const archSchema = resolve(doc, requestSchema.properties?.arch);
      const arch = !archSchema ? 'none' : required.includes('arch') ? 'required' : 'optional';

      const statuses = [];
      const opCodes = [];
      for (const [status, raw] of Object.entries(op.responses ?? {})) {
        const response = resolve(doc, raw);
        const schema = response?.content?.['application/json']?.schema;
        statuses.push(status);
        if (!schema) continue;
        const httpStatus = Number(status);
        if (!Number.isInteger(httpStatus)) throw new GenError(`${where}: response ${status} is not a plain HTTP status`);
        for (const c of codeEnum(doc, schema, `${where} → ${status}`)) {
          const known = codes.get(c.value);
          if (!known) codes.set(c.value, { ...c, httpStatus, where: `${where} → ${status}` });
          else {
            if (known.name !== c.name) throw new GenError(`code ${c.value} is named ${known.name} at ${known.where} but ${c.name} at ${where} → ${status}`);
            if (known.meaning !== c.meaning) throw new GenError(`code ${c.value} means "${known.meaning}" at ${known.where} but "${c.meaning}" at ${where} → ${status}`);
            if (known.httpStatus !== httpStatus) throw new GenError(`code ${c.value} is documented under HTTP ${known.httpStatus} at ${known.where} but ${httpStatus} at ${where}`);
          }
          if (!opCodes.includes(c.value)) opCodes.push(c.value);
        }
      }
      operations.push({
        id: op.operationId,
        method: method.toUpperCase(),
        path,
        kind,
        family,
        keyField: keyFields[0],
        required,
        arch,
        archValues: Array.isArray(archSchema?.enum) ? archSchema.enum : [],
        integerFields: [...integerFields(doc, requestSchema)],
        statuses,
        codes: opCodes.sort((a, b) => a - b),
        seedPage: op['x-seed-page'] ?? null,
      });
    }
  }
  const sortedCodes = [...codes.values()].sort((a, b) => a.value - b.value);
  return { families, codes: sortedCodes, operations };
}

const js = (value) => JSON.stringify(value);

export function renderOperationsModule(doc) {
  const { families, codes, operations } = operationFacts(doc);
  const lines = [
    '// GENERATED by scripts/gen.mjs (step `operations`) from generated/openapi.json. Do not edit: change',
    '// openapi/ and run `npm run gen`; `npm run gen:check` fails on any drift. See generated/README.md.',
    '',
    '/** The app families: the tags of the spec\'s operations, minus `report`. */',
    `export const FAMILIES = ${js(families)} as const;`,
    'export type Family = (typeof FAMILIES)[number];',
    '',
    '/** Business codes by name (the `x-enum-varnames` of the spec\'s `code` enums). */',
    'export const Code = {',
    ...codes.map((c) => `  ${c.name}: ${c.value},`),
    '} as const;',
    'export type CodeName = keyof typeof Code;',
    'export type CodeValue = (typeof Code)[CodeName];',
    '',
    'export interface CodeFacts {',
    '  readonly name: CodeName;',
    '  /** The HTTP status of the response the code is documented under. */',
    '  readonly httpStatus: number;',
    '  /** The meaning, as the seed pages word it (`x-enum-descriptions`). */',
    '  readonly meaning: string;',
    '}',
    '',
    '/** Every business code the spec documents. */',
    'export const CODES: Readonly<Record<CodeValue, CodeFacts>> = {',
    ...codes.map((c) => `  ${c.value}: { name: ${js(c.name)}, httpStatus: ${c.httpStatus}, meaning: ${js(c.meaning)} },`),
    '};',
    '',
    "export type OperationKind = 'upgrade' | 'version' | 'report';",
    "/** `arch` in the request body: required, optional, or not a field. */",
    "export type ArchRule = 'required' | 'optional' | 'none';",
    '',
    'export interface OperationFacts {',
    '  readonly id: string;',
    "  readonly method: 'POST';",
    '  readonly path: string;',
    '  readonly kind: OperationKind;',
    '  /** null for the report, which accepts the key of an app of any family. */',
    '  readonly family: Family | null;',
    '  /** The body field carrying the app key. */',
    '  readonly keyField: string;',
    '  readonly required: readonly string[];',
    '  readonly arch: ArchRule;',
    '  /** The values `arch` may take (empty: any non-empty string). */',
    '  readonly archValues: readonly string[];',
    '  /** Dotted paths of the int64 fields of the body. */',
    '  readonly integerFields: readonly string[];',
    '  /** The documented HTTP statuses. */',
    '  readonly statuses: readonly string[];',
    '  /** The documented business codes, over all responses. */',
    '  readonly codes: readonly CodeValue[];',
    '  /** The official documentation page of this operation (`x-seed-page`), if it has one. */',
    '  readonly seedPage: string | null;',
    '}',
    '',
    '/** Every operation of the spec, in the order of its paths. */',
    'export const OPERATIONS = [',
    ...operations.map(
      (o) =>
        `  { id: ${js(o.id)}, method: ${js(o.method)}, path: ${js(o.path)}, kind: ${js(o.kind)}, family: ${js(o.family)}, keyField: ${js(o.keyField)}, ` +
        `required: ${js(o.required)}, arch: ${js(o.arch)}, archValues: ${js(o.archValues)}, integerFields: ${js(o.integerFields)}, ` +
        `statuses: ${js(o.statuses)}, codes: [${o.codes.join(', ')}], seedPage: ${js(o.seedPage)} },`,
    ),
    '] as const satisfies readonly OperationFacts[];',
    '',
    'export type Operation = (typeof OPERATIONS)[number];',
    "export type OperationPath = Operation['path'];",
    "export type OperationId = Operation['id'];",
    '',
    '/** The official documentation pages (the contract), by name. */',
    `export const SEED_PAGES = ${js([...new Set(operations.map((o) => o.seedPage).filter(Boolean))])} as const;`,
    'export type SeedPage = (typeof SEED_PAGES)[number];',
    '',
  ];
  return `${lines.join('\n')}`;
}

export { GenError };
