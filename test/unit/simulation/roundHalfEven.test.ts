import { roundHalfEven } from '../../../src/domain/simulation/roundHalfEven';

describe('roundHalfEven (Python round semantics)', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [3.5, 4],
    [10.5, 10],
    [-1.5, -2],
    [-2.5, -2],
  ])('rounds the exact tie %p to the even integer %p', (x, expected) => {
    expect(roundHalfEven(x)).toBe(expected);
  });

  it('differs from Math.round on ties towards an even floor', () => {
    expect(Math.round(2.5)).toBe(3);
    expect(roundHalfEven(2.5)).toBe(2);
  });

  it('gives +0, never -0, for negative values that round to zero', () => {
    expect(Object.is(roundHalfEven(-0.5), 0)).toBe(true);
    expect(Object.is(roundHalfEven(-0.4), 0)).toBe(true);
    expect(Object.is(roundHalfEven(-0.004, 2), 0)).toBe(true);
    expect(Object.is(roundHalfEven(-0), 0)).toBe(true);
  });

  it('decides on the exact binary value, not the decimal literal', () => {
    // 2.675 is 2.67499999999999982236431605997495353221893310546875 in binary
    expect(roundHalfEven(2.675, 2)).toBe(2.67);
    // 1.005 is 1.00499999999999989341858963598497211933135986328125
    expect(roundHalfEven(1.005, 2)).toBe(1);
    // 0.285 is 0.284999999999999975575093458246556110680103302001953125
    expect(roundHalfEven(0.285, 2)).toBe(0.28);
    // 5e-5 is 5.00000000000000023960868011929647991564706899225711822509765625e-5: above the half
    expect(roundHalfEven(0.00005, 4)).toBe(0.0001);
  });

  it('breaks true binary ties at a digit position towards even', () => {
    expect(roundHalfEven(0.125, 2)).toBe(0.12);
    expect(roundHalfEven(0.375, 2)).toBe(0.38);
    expect(roundHalfEven(-0.125, 2)).toBe(-0.12);
  });

  it('rounds values next to a tie by their side of it', () => {
    expect(roundHalfEven(2.5000000000000004)).toBe(3);
    expect(roundHalfEven(2.4999999999999996)).toBe(2);
  });

  it('returns the nearest double to the rounded decimal', () => {
    expect(roundHalfEven(0.1 + 0.2, 2)).toBe(0.3);
    expect(roundHalfEven(0.61873956, 4)).toBe(0.6187);
    expect(roundHalfEven(3.5352, 2)).toBe(3.54);
    expect(roundHalfEven(123.456, 1)).toBe(123.5);
    expect(roundHalfEven(1802.2)).toBe(1802);
  });

  it('supports negative digits (tens, hundreds)', () => {
    expect(roundHalfEven(1250, -2)).toBe(1200);
    expect(roundHalfEven(1350, -2)).toBe(1400);
    expect(roundHalfEven(1251, -2)).toBe(1300);
    expect(roundHalfEven(25, -1)).toBe(20);
  });

  it('leaves integers, NaN and infinities alone', () => {
    expect(roundHalfEven(42)).toBe(42);
    expect(roundHalfEven(1e300)).toBe(1e300);
    expect(roundHalfEven(Number.NaN)).toBeNaN();
    expect(roundHalfEven(Number.POSITIVE_INFINITY, 2)).toBe(Number.POSITIVE_INFINITY);
    expect(roundHalfEven(Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('follows Python at the extremes of digits', () => {
    expect(roundHalfEven(0.1, 324)).toBe(0.1);
    expect(roundHalfEven(5e-324, 323)).toBe(0);
    expect(roundHalfEven(1e300, -309)).toBe(0);
    expect(() => roundHalfEven(1.7976931348623157e308, -308)).toThrow(RangeError);
  });

  it('rejects non-integer digits', () => {
    expect(() => roundHalfEven(1.25, 1.5)).toThrow(RangeError);
  });
});
