import { EXACT_POWERS_OF_TEN, scaledHalfEven, scaledHalfEvenFast } from './exactDouble';

/**
 * Python's `round(x, digits)` for floats: round half to even, decided on the EXACT binary value of the double
 * (docs/domain.md §2.2: "the original used Python's `round`").
 *
 * How: a finite double is exactly `m · 2^e` (m a 53-bit integer). So `|x| · 10^digits` is exactly the
 * rational `num / den` with BigInt numerator and denominator; integer division gives the floor `q` and the
 * remainder `r`, and comparing `2r` with `den` tells below / exactly at / above the half point with no
 * floating-point error. A true tie (only possible when the double is exactly representable as …5 at that
 * position, e.g. 0.5, 2.5, 0.125) goes to the even `q`. The result `q · 10^-digits` is turned back into a
 * double by parsing the decimal string `"<q>e<-digits>"`, which JS rounds correctly to the nearest double —
 * the same thing CPython does (it formats the rounded decimal and calls strtod).
 *
 * So `roundHalfEven(2.675, 2) === 2.67` (2.675 is 2.67499999999999982236431605997495353221893310546875),
 * `roundHalfEven(0.5) === 0`, `roundHalfEven(1.5) === 2`, `roundHalfEven(2.5) === 2`,
 * `roundHalfEven(0.125, 2) === 0.12`, `roundHalfEven(1250, -2) === 1200`.
 *
 * Differences from Python, on purpose:
 *  - a zero result is always +0 (Python's `round(-0.4, 0)` is `-0.0`; `round(-0.4)` is the int `0`).
 *    Jest's `toEqual` and `Object.is` tell -0 from 0, and nothing here wants a negative zero.
 *  - NaN and ±Infinity are returned unchanged (Python's `round(x)` without digits raises for them).
 * Like Python: `digits` above 323 returns x unchanged (every double is already exact there), `digits` below
 * -308 gives 0, and a result too large for a double throws (Python's OverflowError). `digits` must be an
 * integer.
 */
export function roundHalfEven(x: number, digits = 0): number {
  if (!Number.isInteger(digits)) throw new RangeError(`digits must be an integer, got ${digits}`);
  if (!Number.isFinite(x)) return x;
  if (x === 0) return 0;
  if (digits > MAX_DIGITS) return x;
  if (digits < MIN_DIGITS) return 0;
  // Fast path: an integral double needs no rounding at a non-negative number of digits.
  if (digits >= 0 && Number.isInteger(x)) return x;

  // The common case without BigInt: q is an exact integer and 10^digits an exact double, so one IEEE
  // division is the correctly rounded q · 10^-digits, as parsing "<q>e<-digits>" below is.
  const fast = scaledHalfEvenFast(x, digits);
  if (fast !== null) {
    if (fast === 0) return 0;
    const magnitude = fast / EXACT_POWERS_OF_TEN[digits]!;
    return x < 0 ? -magnitude : magnitude;
  }
  const q = scaledHalfEven(x, digits);
  if (q === 0n) return 0;

  const magnitude = Number(`${q}e${-digits}`);
  if (!Number.isFinite(magnitude)) throw new RangeError(`rounded value too large to represent: ${x}`);
  return x < 0 ? -magnitude : magnitude;
}

/** CPython's NDIGITS_MAX / NDIGITS_MIN for float rounding. */
const MAX_DIGITS = 323;
const MIN_DIGITS = -308;
