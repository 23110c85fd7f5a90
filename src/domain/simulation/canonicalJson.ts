import { floatRepr, pythonNumberText } from './pythonFormat';
import { isWrittenNumber } from './writtenJson';

/**
 * A number that was a float in the original, whatever its value (V2's step estimates: `round(0.0, 2)` is
 * the float `0.0`, written "0.0" by json.dumps, where a plain JS 0 would be written "0").
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

export const asFloat = (value: number): PyFloat => new PyFloat(value);

/**
 * JSON exactly as the original (Python) service wrote it for hashing: `json.dumps(value, sort_keys=True,
 * separators=(",", ":"))` with its defaults `ensure_ascii=True, allow_nan=True` (docs/domain.md §2.3). Hashes of
 * provenance written by the original must match ours, so every difference from JSON.stringify matters:
 *  - keys sorted by code point (JavaScript's default sort compares UTF-16 units, which differs above U+FFFF);
 *  - every character outside printable ASCII (space..~) escaped: \n \r \t \b \f as such, the rest as
 *    \uXXXX in lowercase hex on UTF-16 units (so astral characters become surrogate pairs), DEL included;
 *  - numbers as Python held them: a number as the client wrote it (a lossless-parsed WrittenNumber: "30.0"
 *    and "1e3" were floats, written "30.0" and "1000.0"; "-0" was the int 0), a PyFloat as a float, a plain
 *    JS number as an int when integral; floats in Python's repr (`1e-07`, `1e+16`, `-0.0`) and NaN/±inf as
 *    `NaN`, `Infinity`, `-Infinity` (allow_nan).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return pythonJsonString(value);
  if (typeof value === 'number') return nonFinite(value) ?? pythonNumberText(value);
  if (value instanceof PyFloat) return nonFinite(value.value) ?? floatRepr(value.value);
  if (isWrittenNumber(value)) {
    const n = Number(value.value);
    return Number.isFinite(n) ? pythonNumberText(value) : (nonFinite(n) ?? 'null');
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalJson(value[i]);
    return `${out}]`;
  }
  if (typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    // Without surrogates, UTF-16 order (sort's default) is code-point order: no comparator needed.
    if (keys.some((k) => SURROGATE.test(k))) keys.sort(compareCodePoints);
    else keys.sort();
    let out = '{';
    for (const k of keys) {
      const v = object[k];
      if (v === undefined) continue;
      out += `${out.length > 1 ? ',' : ''}${pythonJsonString(k)}:${canonicalJson(v)}`;
    }
    return `${out}}`;
  }
  throw new TypeError(`cannot encode ${typeof value} as JSON`);
}

/** json.dumps with allow_nan=True (its default). An integer text too large for a double stays an int. */
function nonFinite(n: number): string | null {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return null;
}

const SURROGATE = /[\ud800-\udfff]/;

/** Python's str order (code points); JavaScript's `<` compares UTF-16 units, which differs above U+FFFF. */
function compareCodePoints(a: string, b: string): number {
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = [...a]; // for..of yields whole pairs, and a lone surrogate as itself, like Python's str
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

/** Strings of printable ASCII without quotes or backslashes need no escaping (the common case). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function pythonJsonString(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
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
