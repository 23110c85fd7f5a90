/**
 * JSON values as the client wrote them. The original (Python) kept `30.0` a float and `30` an int, and both
 * its hashes and its texts show the difference (`json.dumps` writes "30.0"; `str()` prints "30.0"), which a
 * JavaScript number forgets. A lossless JSON parser (the edge uses `lossless-json`) keeps every number as
 * its text; this module is the domain's view of such a number, duck-typed so the domain stays free of the
 * parser: `{ isLosslessNumber: true, value: "30.0" }`.
 */
export interface WrittenNumber {
  readonly isLosslessNumber: true;
  readonly value: string;
}

export const isWrittenNumber = (value: unknown): value is WrittenNumber =>
  typeof value === 'object' &&
  value !== null &&
  (value as { isLosslessNumber?: unknown }).isLosslessNumber === true &&
  typeof (value as { value?: unknown }).value === 'string';

/** Written without a fraction or an exponent: an int for Python (`1e3` and `30.0` were floats). */
export const writtenIsInteger = (n: WrittenNumber): boolean => !/[.eE]/.test(n.value);

/**
 * The numeric value a Python expression like `params["timeout"] * 1000` would have used: numbers (written
 * or plain) and booleans (Python's bool is an int). Anything else, on which the original raised, is null.
 */
export function numericValue(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (isWrittenNumber(value)) return Number(value.value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return null;
}

/** The same value with plain JS numbers, e.g. to store it (numbers beyond a double's range become ±Infinity). */
export function plainJson(value: unknown): unknown {
  if (isWrittenNumber(value)) return Number(value.value);
  if (Array.isArray(value)) return value.map(plainJson);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: plainJson(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}
