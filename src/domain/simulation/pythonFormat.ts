/**
 * The original service's texts were Python f-strings and `str()` of values; its clients and stored records
 * read those texts, so they are reproduced exactly (docs/domain.md §2, §6). JavaScript's own formatting differs:
 * `toFixed` rounds exact ties up (Python: half to even, `f"{0.125:.2f}"` is "0.12"), drops the sign of
 * `-0`, and `String(3.0)` is "3" where Python's float repr is "3.0".
 */
import { scaledHalfEven } from './exactDouble';
import { type WrittenNumber, isWrittenNumber, writtenIsInteger } from './writtenJson';

/** Python `format(x, f'.{digits}f')` for a float: correctly rounded, exact ties to even, sign kept on -0. */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const text = scaledHalfEven(x, digits).toString();
  if (digits <= 0) return sign + text;
  const padded = text.padStart(digits + 1, '0');
  return `${sign}${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
}

/**
 * Python `format(x, f'.{digits}%')`: CPython multiplies by 100 in floating point first, then formats
 * that double with 'f' (so the tie rule applies to the product's exact value), then appends '%'.
 */
export const formatPercent = (x: number, digits: number): string => `${formatFixed(x * 100, digits)}%`;

/**
 * Python's `repr(float)` (also `str(float)` and what `json.dumps` writes): the shortest digits that read
 * back as the same double (JavaScript finds the same digits), positional from 1e-4 up to 1e16 with at
 * least one decimal (`3.0`, `0.0001`), exponent form outside (`1e-05`, `1e+16`, `1.5e+300`).
 */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // Where both write positional digits (JavaScript from 1e-6 up to 1e21, Python from 1e-4 up to 1e16),
  // String() is the same shortest digits in the same place; Python adds ".0" to an integral value.
  const magnitude = Math.abs(x);
  if (magnitude >= 1e-4 && magnitude < 1e16) {
    const text = String(x);
    return text.includes('.') ? text : `${text}.0`;
  }
  const [mantissa, expText] = x.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  let body: string;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) body = `0.${'0'.repeat(-exp - 1)}${digits}`;
    else if (digits.length > exp + 1) body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    else body = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  } else {
    const lead = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${lead}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return negative ? `-${body}` : body;
}

/** A JSON number as Python held it: an int when written without fraction or exponent, else a float. */
export function pythonNumberText(value: number | WrittenNumber): string {
  if (isWrittenNumber(value)) {
    // Python's int(text) drops a leading '-' on zero and is exact at any size.
    if (writtenIsInteger(value)) return BigInt(value.value).toString();
    return floatRepr(Number(value.value));
  }
  // A plain JS number no longer says how it was written; an integral one is taken as an int.
  return Number.isSafeInteger(value) ? String(value) : floatRepr(value);
}

/** Characters Python's `str.isprintable()` rejects (the space excepted), which `repr` escapes. */
const NON_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

/** Python 3's `repr(s)` for a str. */
export function pythonStrRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of value) {
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      const cp = ch.codePointAt(0) ?? 0;
      if (cp < 0x100) out += `\\x${cp.toString(16).padStart(2, '0')}`;
      else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
      else out += `\\U${cp.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

/** Python's `repr()` of a value that came from JSON (what `str()` of a list or dict prints inside it). */
export function pythonRepr(value: unknown): string {
  return typeof value === 'string' ? pythonStrRepr(value) : pythonStr(value);
}

/**
 * Python's `str()` of a value that came from JSON: `123` → "123", `[1, 2]` → "[1, 2]", `{'a': 1}`,
 * `True`, `None`, `1.0` (a number written with a fraction was a float). The original measured a non-string
 * prompt this way (`len(str(prompt))`).
 */
export function pythonStr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number' || isWrittenNumber(value)) return pythonNumberText(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${pythonStrRepr(k)}: ${pythonRepr(v)}`).join(', ')}}`;
  }
  return String(value);
}

/** Python's `str(list_of_str)`: `['a', 'b']`. */
export const pythonListRepr = (items: readonly string[]): string =>
  `[${items.map(pythonStrRepr).join(', ')}]`;

/** Python's `len(str(value))`: code points, not UTF-16 units. */
export function pythonLen(value: unknown): number {
  const text = pythonStr(value);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // a high surrogate followed by a low one is one code point
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
