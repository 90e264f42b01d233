// Redocly plugin: assertion functions for the configurable rules in ../../redocly.yaml.
// Built-in assertions test keys and scalar values; "this list holds a $ref to each of these
// parameters" needs a function, so only that check lives here.

const SIGNING_HEADERS = ['X-Timestamp', 'X-Nonce', 'X-AccessKey', 'X-Signature'];

/**
 * `value` is an operation's `parameters` list; `options.headers` names the header parameters
 * that must be referenced from components (never inlined) and required.
 */
function signingHeaders(value, options, ctx) {
  const wanted = Array.isArray(options?.headers) ? options.headers : SIGNING_HEADERS;
  const list = Array.isArray(value) ? value : [];
  const found = new Map();
  for (const item of list) {
    if (!item || typeof item !== 'object') continue;
    const isRef = typeof item.$ref === 'string';
    const resolved = isRef ? ctx.resolve(item)?.node : item;
    if (resolved && resolved.in === 'header' && typeof resolved.name === 'string') {
      found.set(resolved.name.toLowerCase(), { isRef, required: resolved.required === true });
    }
  }
  const problems = [];
  for (const name of wanted) {
    const hit = found.get(name.toLowerCase());
    if (!hit) problems.push({ message: `signed operation must reference the ${name} header parameter`, location: ctx.baseLocation });
    else if (!hit.isRef) problems.push({ message: `${name} must be a $ref to the shared component, not inline`, location: ctx.baseLocation });
    else if (!hit.required) problems.push({ message: `${name} must be required`, location: ctx.baseLocation });
  }
  return problems;
}

export default function upgradelinkPlugin() {
  return {
    id: 'upgradelink',
    assertions: { signingHeaders },
  };
}
