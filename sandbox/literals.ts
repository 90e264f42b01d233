// JSON.parse cannot tell `1.0` from `1` nor see an int64 overflow, yet the contract wants int64
// fields as plain integer literals (REFERENCE §7). This scanner finds, in already-valid JSON text,
// the dotted key paths (objects only, depth ≤ 3) whose last value is a number literal that is not a
// plain integer within int64. Duplicate keys: the last one wins, as in JSON.parse.

const MAYBE_BAD = /[0-9][.eE]|[0-9]{19}/;
const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';

/** Quick filter: false means no literal can be bad, so the scan can be skipped. */
export function mayHaveBadIntegers(text: string): boolean {
  return MAYBE_BAD.test(text);
}

function plainInt64(literal: string): boolean {
  const negative = literal.charCodeAt(0) === 45;
  const digits = negative ? literal.slice(1) : literal;
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  if (digits.length < 19) return true;
  if (digits.length > 19) return false;
  return digits <= (negative ? INT64_MIN_ABS : INT64_MAX);
}

/** Paths whose (last) value is a non-plain or out-of-int64 number literal. Input must be valid JSON. */
export function badIntegerPaths(text: string): Set<string> {
  const bad = new Set<string>();
  // Stack of containers: for objects, the dotted path of the object and its pending key.
  const stack: Array<{ object: boolean; path: string; key: string | null }> = [];
  let i = 0;
  const n = text.length;
  const readString = (): string => {
    const start = ++i;
    let escaped = false;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 92) {
        escaped = true;
        i++;
      } else if (c === 34) break;
    }
    const raw = text.slice(start, i);
    i++;
    return escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
  };
  const valuePath = (): string | null => {
    const top = stack[stack.length - 1];
    if (!top || !top.object || top.key === null || stack.length > 3) return null;
    if (top.path === null) return null;
    return top.path ? `${top.path}.${top.key}` : top.key;
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 123 /* { */) {
      const path = stack.length === 0 ? '' : (valuePath() ?? '\u0000');
      stack.push({ object: true, path, key: null });
      i++;
    } else if (c === 91 /* [ */) {
      const path = valuePath();
      if (path !== null) bad.delete(path);
      stack.push({ object: false, path: '\u0000', key: null });
      i++;
    } else if (c === 125 || c === 93) {
      stack.pop();
      i++;
    } else if (c === 34 /* " */) {
      const top = stack[stack.length - 1];
      if (top && top.object && top.key === null) {
        top.key = readString();
      } else {
        const path = valuePath();
        if (path !== null) bad.delete(path);
        readString();
      }
    } else if (c === 44 /* , */) {
      const top = stack[stack.length - 1];
      if (top && top.object) top.key = null;
      i++;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      const start = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 48 && d <= 57) || d === 45 || d === 43 || d === 46 || d === 101 || d === 69) i++;
        else break;
      }
      const path = valuePath();
      if (path !== null && !path.includes('\u0000')) {
        if (plainInt64(text.slice(start, i))) bad.delete(path);
        else bad.add(path);
      }
    } else if (c === 116 || c === 102 || c === 110 /* true false null */) {
      const path = valuePath();
      if (path !== null) bad.delete(path);
      i += c === 102 ? 5 : 4;
    } else {
      i++; // whitespace, ':'
    }
  }
  return bad;
}
