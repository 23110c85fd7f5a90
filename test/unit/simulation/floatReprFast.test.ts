import fc from 'fast-check';
import { floatRepr } from '../../../src/domain/simulation/pythonFormat';

/**
 * floatRepr's String() shortcut writes what Python's repr algorithm (shortest digits from toExponential,
 * placed by the exponent: the way floatRepr did it for every value before) writes, for doubles of every
 * size, the edges of the positional range (1e-4, 1e16) and their neighbours included.
 */
function reprByExponent(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = x.toExponential().split('e') as [string, string];
  const exp = Number(expText);
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
  return mantissa.startsWith('-') ? `-${body}` : body;
}

const neighbours = (x: number) => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  return [-2n, -1n, 0n, 1n, 2n].map((d) => {
    view.setBigInt64(0, bits + d);
    return view.getFloat64(0);
  });
};

test('floatRepr writes what the exponent-placed shortest digits are, for any finite double', () => {
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
      expect(floatRepr(x)).toBe(reprByExponent(x));
    }),
    { numRuns: 50000 },
  );
  fc.assert(
    fc.property(fc.double({ min: -1e17, max: 1e17, noNaN: true }), (x) => {
      expect(floatRepr(x)).toBe(reprByExponent(x));
    }),
    { numRuns: 50000 },
  );
});

test('the edges of the positional range and their neighbours', () => {
  const edges = [1e-4, 1e16, 1e-5, 1e15, 123456789012345.6, 0.5, 3, 100, 1e-7, 1e21];
  for (const e of edges)
    for (const x of [...neighbours(e), ...neighbours(-e)]) {
      expect(floatRepr(x)).toBe(reprByExponent(x));
    }
  expect(floatRepr(1e16)).toBe('1e+16');
  expect(floatRepr(1e-4)).toBe('0.0001');
  expect(floatRepr(3)).toBe('3.0');
});
