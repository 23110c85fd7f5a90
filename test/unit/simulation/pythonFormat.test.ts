import {
  floatRepr,
  formatFixed,
  formatPercent,
  pythonLen,
  pythonListRepr,
  pythonStr,
  pythonStrRepr,
} from '../../../src/domain/simulation/pythonFormat';
import { exactPow } from '../../../src/domain/simulation/exactDouble';

/** A number as lossless-json gives it (the client's text). */
const written = (text: string) => ({ isLosslessNumber: true as const, value: text });

/**
 * Known answers from CPython 3.11 (python3 on this machine), e.g.
 *   python3 -c "print([format(v,'.0f') for v in [0.5,1.5,2.5,0.125,...]])"
 * The expectations are pasted literally; the inputs are the same doubles in both languages.
 */
describe('formatFixed = Python format(x, ".Nf"): exact binary value, ties half to even', () => {
  test('.0f', () => {
    const inputs = [0.5, 1.5, 2.5, 0.125, 0.375, 2.675, -0.5, -0.0, 0.0, -0.4, 1e-7, 1e16, 123.456];
    expect(inputs.map((v) => formatFixed(v, 0))).toEqual([
      '0',
      '2',
      '2',
      '0',
      '0',
      '3',
      '-0',
      '-0',
      '0',
      '-0',
      '0',
      '10000000000000000',
      '123',
    ]);
    // the V1 description's `p*100` products
    expect(
      [0.05 * 100, 0.15 * 100, 0.005 * 100, 0.045, 0.285, 1.0000000000000002].map((v) => formatFixed(v, 0)),
    ).toEqual(['5', '15', '0', '0', '0', '1']);
  });

  test('.1f, .2f, .4f', () => {
    expect([0.25, 0.35, 0.05, 0.15, 12.25, -0.05, -0.0, 0.45].map((v) => formatFixed(v, 1))).toEqual([
      '0.2',
      '0.3',
      '0.1',
      '0.1',
      '12.2',
      '-0.1',
      '-0.0',
      '0.5',
    ]);
    expect([0.125, 0.375, 2.675, 1.005, -0.125, -0.001].map((v) => formatFixed(v, 2))).toEqual([
      '0.12',
      '0.38',
      '2.67',
      '1.00',
      '-0.12',
      '-0.00',
    ]);
    expect([0.28125, 0.21875, 0.03125, 5.40994, 0.2].map((v) => formatFixed(v, 4))).toEqual([
      '0.2812',
      '0.2188',
      '0.0312',
      '5.4099',
      '0.2000',
    ]);
  });

  test('JavaScript toFixed differs on exact ties (why this exists)', () => {
    expect((0.125).toFixed(2)).toBe('0.13');
    expect(formatFixed(0.125, 2)).toBe('0.12');
    expect((2.5).toFixed(0)).toBe('3');
    expect(formatFixed(2.5, 0)).toBe('2');
  });

  test('nan and inf as Python prints them', () => {
    expect([NaN, Infinity, -Infinity].map((v) => formatFixed(v, 2))).toEqual(['nan', 'inf', '-inf']);
  });
});

test('formatPercent = Python format(x, ".2%"): ×100 in floating point, then .2f', () => {
  const inputs = [0.0625, 0.25, 1 / 3, 0.05, 0.000125, 0.00125, 1.0, 0.1, 2 / 3, 0.105, 0.11];
  expect(inputs.map((v) => formatPercent(v, 2))).toEqual([
    '6.25%',
    '25.00%',
    '33.33%',
    '5.00%',
    '0.01%',
    '0.12%',
    '100.00%',
    '10.00%',
    '66.67%',
    '10.50%',
    '11.00%',
  ]);
});

test('floatRepr = Python repr(float)', () => {
  const inputs = [
    3.0,
    -0.0,
    1e-7,
    1e16,
    1e15,
    0.0001,
    0.00001,
    1.5e300,
    -2.5e-300,
    0.1 + 0.2,
    5e-324,
    1.2345678901234568e17,
    1e22,
    100.0,
  ];
  expect(inputs.map(floatRepr)).toEqual([
    '3.0',
    '-0.0',
    '1e-07',
    '1e+16',
    '1000000000000000.0',
    '0.0001',
    '1e-05',
    '1.5e+300',
    '-2.5e-300',
    '0.30000000000000004',
    '5e-324',
    '1.2345678901234568e+17',
    '1e+22',
    '100.0',
  ]);
});

describe("pythonStr = Python str() of a JSON value (a non-string prompt's length is len(str(prompt)))", () => {
  test('values', () => {
    expect(
      [
        123,
        [1, 2],
        { a: 1 },
        true,
        null,
        written('1.0'),
        [written('1.0'), 'x', null, false],
        { k: [{ n: 'é😀' }] },
        written('-0.0'),
        "it's",
        ['a"b'],
      ].map(pythonStr),
    ).toEqual([
      '123',
      '[1, 2]',
      "{'a': 1}",
      'True',
      'None',
      '1.0',
      "[1.0, 'x', None, False]",
      "{'k': [{'n': 'é😀'}]}",
      '-0.0',
      "it's",
      "['a\"b']",
    ]);
  });

  test("lengths: 123 → 3, [1, 2] → 6, {'a': 1} → 8, True → 4, None → 4; code points, not UTF-16 units", () => {
    expect([123, [1, 2], { a: 1 }, true, null].map(pythonLen)).toEqual([3, 6, 8, 4, 4]);
    expect(pythonLen('😀'.repeat(10))).toBe(10);
    expect(pythonLen('\ud800x')).toBe(2); // a lone surrogate is one code point, as in Python
  });

  test('numbers as written: ints exact at any size, "-0" is the int 0, "1e3" the float 1000.0', () => {
    expect(pythonStr(written('12345678901234567890'))).toBe('12345678901234567890');
    expect(pythonStr(written('-0'))).toBe('0');
    expect(pythonStr(written('1e3'))).toBe('1000.0');
    expect(pythonStr(written('1e400'))).toBe('inf');
  });

  test('repr of str and list of str', () => {
    expect(pythonListRepr(['a', 'b', 'b'])).toBe("['a', 'b', 'b']");
    expect(pythonListRepr([])).toBe('[]');
    expect(pythonStrRepr("it's")).toBe('"it\'s"');
    expect(pythonStrRepr('q"\'')).toBe("'q\"\\''");
    expect(pythonStrRepr('a\nb\tc\\')).toBe("'a\\nb\\tc\\\\'");
    expect(pythonStrRepr('a\u00a0b\u200b')).toBe("'a\\xa0b\\u200b'");
    expect(pythonStrRepr('é😀 x')).toBe("'é😀 x'");
  });
});

test('exactPow = CPython float ** int (correctly rounded), where V8 ** can be one unit off', () => {
  // python3 -c "print([1.0-((1.0-0.1)**3), 1.0-((1.0-0.05)**7)])"
  expect(1.0 - exactPow(1.0 - 0.1, 3)).toBe(0.2709999999999999);
  expect(1.0 - exactPow(1.0 - 0.05, 7)).toBe(0.3016627039062503);
  expect(exactPow(0.9, 0)).toBe(1);
  expect(exactPow(0.5, 3)).toBe(0.125);
  expect(exactPow(-2, 3)).toBe(-8);
});
