// The bundle's named examples, and each request example paired with the response example its
// `x-response` names (openapi/components/examples/README.md). examples.test.ts checks that every
// pairing resolves; examples.sandbox.test.ts sends every request example and expects its pair.
import {
  type Bundle,
  type Json,
  type JsonObject,
  type OperationNode,
  at,
  deref,
  escapePointer,
  operationNodes,
  requestSchemaPointer,
  responseSchemaPointer,
} from '../../lib/spec/index.ts';

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface NamedExample {
  key: string;
  /** The Example Object, `$ref`s followed. */
  example: JsonObject | undefined;
  value: Json | undefined;
}

/** The named examples of a media type object (`…/content/application~1json`). */
export function namedExamples(bundle: Bundle, mediaPointer: string): NamedExample[] {
  const media = at(bundle, mediaPointer);
  if (!isObject(media) || !isObject(media.examples)) return [];
  return Object.entries(media.examples).map(([key, raw]) => {
    const { node } = deref(bundle, raw, `${mediaPointer}/examples/${escapePointer(key)}`);
    return { key, example: isObject(node) ? node : undefined, value: isObject(node) ? node.value : undefined };
  });
}

export interface ResponseExample {
  /** The HTTP status (the key under `responses`) the example is documented under. */
  status: string;
  key: string;
  /** Pointer of the response's JSON schema. */
  schemaPointer: string;
  value: Json | undefined;
}

/** Every named example of every response of an operation, shared responses included. */
export function responseExamples(bundle: Bundle, op: OperationNode): ResponseExample[] {
  const responses = isObject(op.operation.responses) ? op.operation.responses : {};
  return Object.keys(responses).flatMap((status) => {
    const schemaPointer = responseSchemaPointer(bundle, op.path, status, op.method);
    if (schemaPointer === null) return [];
    return namedExamples(bundle, schemaPointer.replace(/\/schema$/, '')).map(({ key, value }) => ({ status, key, schemaPointer, value }));
  });
}

export interface RequestExample {
  operationId: string;
  path: string;
  method: string;
  key: string;
  schemaPointer: string;
  value: Json | undefined;
  /** `x-response` as written, when it is a string. */
  responseKey: string | undefined;
  /** The response example `x-response` names; null when it names none, or more than one. */
  response: ResponseExample | null;
  /** Why `response` is null. */
  problem: string | null;
}

/** Every request example of the bundle, in operation order, with the response example it is paired with. */
export function requestExamples(bundle: Bundle): RequestExample[] {
  return operationNodes(bundle).flatMap((op) => {
    const schemaPointer = requestSchemaPointer(op.path, op.method);
    const responses = responseExamples(bundle, op);
    return namedExamples(bundle, schemaPointer.replace(/\/schema$/, '')).map(({ key, example, value }) => {
      const declared = example?.['x-response'];
      const responseKey = typeof declared === 'string' ? declared : undefined;
      const matches = responses.filter((r) => r.key === responseKey);
      const problem =
        responseKey === undefined
          ? 'has no x-response (the key of the response example it gets)'
          : matches.length === 0
            ? `x-response ${responseKey} names no response example of ${op.operationId} (${responses.map((r) => r.key).join(', ')})`
            : matches.length > 1
              ? `x-response ${responseKey} is ambiguous: a response example of HTTP ${matches.map((r) => r.status).join(' and ')}`
              : null;
      return {
        operationId: op.operationId,
        path: op.path,
        method: op.method,
        key,
        schemaPointer,
        value,
        responseKey,
        response: problem === null ? matches[0]! : null,
        problem,
      };
    });
  });
}
