/**
 * JSON exactly as the original (Python) service wrote it for hashing: `json.dumps(value, sort_keys=True,
 * separators=(",", ":"))` with its default `ensure_ascii=True`. Hashes of provenance written by the original
 * must match ours (domain.md §2.3), so every difference from JSON.stringify matters:
 *  - keys sorted by code point (JS's default sort compares UTF-16 units, which differs above U+FFFF);
 *  - every character outside printable ASCII (space..~) escaped: \n \r \t \b \f as such, the rest as
 *    \uXXXX in lowercase hex on UTF-16 units (so astral characters become surrogate pairs), DEL included;
 *  - numbers as Python's repr: exponent form below 1e-4 and from 1e16 up (`1e-05`, `1e+16`).
 * One difference cannot be recovered from parsed JSON: Python kept `30.0` a float and printed "30.0", while
 * a JS number has no such memory; an integral number up to 2^53 is printed as an integer here.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return pythonNumber(value);
  if (typeof value === 'string') return pythonString(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => compareCodePoints(a, b));
    return `{${entries.map(([k, v]) => `${pythonString(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`cannot encode ${typeof value} as JSON`);
}

function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function pythonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    const short = SHORT_ESCAPES[ch];
    if (short) out += short;
    else if (code >= 0x20 && code <= 0x7e) out += ch;
    else out += `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

function pythonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError('NaN and Infinity are not JSON'); // Python would write NaN
  // A safe integer was an int for Python too; beyond 2^53 a JS number cannot have come from an exact JSON
  // integer, so it is written the way Python writes the float it most likely was (6.02e+23).
  if (Number.isSafeInteger(n)) return String(n);
  // Shortest round-trip digits (JS and Python agree on them), laid out the way Python's repr does.
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  if (exp >= -4 && exp < 16) {
    // positional, as repr() writes floats in this range
    let text: string;
    if (exp < 0) text = `0.${'0'.repeat(-exp - 1)}${digits}`;
    else if (digits.length > exp + 1) text = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    else text = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
    return negative ? `-${text}` : text;
  }
  const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const sign = exp < 0 ? '-' : '+';
  return `${negative ? '-' : ''}${body}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
}
